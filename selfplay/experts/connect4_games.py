"""Connect Four's expert games: the alpha-beta expert against itself through the arena's
lock-step loop, each game a line "MOVES RESULT" keyed by its move string."""

from __future__ import annotations

import numpy as np

from games.connect4 import ConnectFour
from selfplay.arena.lockstep import Outcome, SpecLineup, play_games
from selfplay.arena.schedule import Contestant, ScheduledGame, random_opening
from selfplay.experts.settings import Settings

#: The result of a line by the winner (0: X, 1: O, None: a draw).
RESULTS = {0: "1-0", 1: "0-1", None: "1/2-1/2"}


def play_connect4_games(settings: Settings, seed: int, count: int, timeout: float) -> list[tuple[str, str]]:
    """``count`` games of the expert at ``settings.depth`` against itself, each from
    ``random_plies`` random moves that leave the game going: (key, line) pairs. ``timeout``
    is unused: the expert plays in-process."""
    game = ConnectFour()
    rng = np.random.default_rng(seed)
    spec = f"expert:depth={settings.depth}"
    lineup = SpecLineup(game, (Contestant("first", spec), Contestant("second", spec)))
    games = [ScheduledGame(n, 0, 1, opening=random_opening(game, settings.random_plies, rng)) for n in range(count)]
    out = []

    def report(outcome: Outcome) -> bool:
        text = game.moves_to_string(outcome.actions)
        out.append((text, f"{text} {RESULTS[game.winner(outcome.final_state)]}"))
        return True

    play_games(game, lineup, games, 0, report, seed=int(rng.integers(2**31)))
    return out
