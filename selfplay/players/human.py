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


class SaveRequest(Exception):
    """The human asked to write the game so far to a file (``save FILE``)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


HELP = ("moves: {example}; commands: hint (the engine's evaluation), undo, save FILE (the game so far), "
        "resign, quit, help")

#: Said by the game loop once, before the first prompt, so that nobody has to guess the commands.
INTRODUCTION = "type a move ({example}), or help, hint, undo, save FILE, resign, quit"


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
        pass_to_confirm = False
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
            if command == "save" or command.startswith("save "):
                path = text.strip()[4:].strip()
                if not path:
                    self.write("  save: name a file, e.g. save game" + getattr(game, "record_suffix", ".txt"))
                    continue
                raise SaveRequest(path)
            try:
                action = game.parse_move(text)
                after = game.step(state, action)  # raises IllegalMoveError with the reason
            except GameError as e:
                self.write(f"  {e}")
                continue
            if self._pass_ends_game(game, action, after) and not pass_to_confirm:
                pass_to_confirm = True
                why = "two passes in a row" if game.last_move(state) == action else "the move limit"
                self.write(f"  this pass ends the game ({why}), result {game.result_string(after)}; "
                           "type pass again to confirm, or play a move")
                continue
            return action

    @staticmethod
    def _pass_ends_game(game: Game, action: int, after) -> bool:
        """Whether ``action`` is a pass that ends the game: asked to confirm, since a pass
        typed to see what the opponent does would otherwise end it with no way back."""
        return action == getattr(game, "pass_action", None) and game.is_terminal(after)


def make_human(game, options, context):
    read_options("human", options)
    keep = {k: context[k] for k in ("read_line", "write") if k in context}
    return HumanPlayer(**keep)
