"""A human at a terminal as a Player: reads moves, explains why bad input is refused.

Commands that are not moves (undo, hint, quit) are raised as exceptions for the game loop,
which owns the move history and the other players; the player itself never touches the game
state.
"""

from __future__ import annotations

from typing import Callable

from games import Game, GameError
from selfplay.players import Player, read_options


class QuitRequest(Exception):
    """The human asked to stop (quit, or end of input)."""


class UndoRequest(Exception):
    """The human asked to take back their last move."""


class HintRequest(Exception):
    """The human asked for the engine's evaluation of the position (``hint`` or ``eval``)."""


HELP = "moves: {example}; commands: hint (the engine's evaluation), undo, quit, help"


class HumanPlayer(Player):
    def __init__(self, read_line: Callable[[str], str] = input, write: Callable[[str], None] = print):
        self.read_line = read_line
        self.write = write
        self.name = "human"

    def select_move(self, game: Game, state):
        prompt = f"{game.player_name(game.to_play(state))} to move> "
        while True:
            try:
                text = self.read_line(prompt)
            except EOFError:
                raise QuitRequest from None
            command = text.strip().lower()
            if command in ("quit", "exit", "q", "resign"):
                raise QuitRequest
            if command == "undo":
                raise UndoRequest
            if command in ("hint", "eval"):
                raise HintRequest
            if command in ("help", "?", ""):
                self.write(HELP.format(example=game.move_hint()))
                continue
            try:
                action = game.parse_move(text)
                game.step(state, action)  # raises IllegalMoveError with the reason
            except GameError as e:
                self.write(f"  {e}")
                continue
            return action


def make_human(game, options, context):
    read_options("human", options)
    keep = {k: context[k] for k in ("read_line", "write") if k in context}
    return HumanPlayer(**keep)
