"""Matches between any players, by idea: who plays whom (schedule), the lock-step loop that
plays many games at once (lockstep), the arena that runs a schedule (runner), its results
file (results) and saved games (saving); ``play_game`` (match) plays one game at the terminal.
Import names from the module that defines them; scores and Elo are selfplay.rating's."""
