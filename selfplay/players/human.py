"""A human at a terminal as a Player: reads moves, explains why bad input is refused.

Commands that are not moves (undo, hint, quit) are raised as exceptions for the game loop,
which owns the move history and the other players; the player itself never touches the game
state.
"""

from __future__ import annotations

import io
import sys
from typing import Callable

from games import Game, GameError
from selfplay.players import Player, Resignation, read_options


class QuitRequest(Exception):
    """The human asked to stop (quit, or end of input)."""


class UndoRequest(Exception):
    """The human asked to take back their last move."""


class HintRequest(Exception):
    """The human asked for the engine's evaluation of the position (``hint`` or ``eval``)."""


HELP = "moves: {example}; commands: hint (the engine's evaluation), undo, resign, quit, help"


def read_terminal_line(prompt: str) -> str:
    """``input``, reading bytes that are not UTF-8 as U+FFFD (a move then refused with its
    reason) instead of ending the game with a decoding error, whatever the locale."""
    if getattr(sys.stdin, "errors", "replace") != "replace":
        try:
            sys.stdin.reconfigure(errors="replace")
        except (AttributeError, io.UnsupportedOperation):  # not a text stream, or read from already
            pass
    return input(prompt)


class HumanPlayer(Player):
    def __init__(self, read_line: Callable[[str], str] = read_terminal_line, write: Callable[[str], None] = print):
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
            if command in ("quit", "exit", "q"):
                raise QuitRequest
            if command == "resign":
                raise Resignation(self.name)
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
