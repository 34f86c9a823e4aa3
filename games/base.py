"""The Game contract: a thin Python class over a game's Numba kernels.

Every game keeps its whole position in one flat ``np.int64`` array (the *state*), so that
MCTS kernels can copy, step and score positions without Python in the loop. The kernels of
a game module mutate a state in place and never validate their input; this class is the
checked, copying surface that players, the CLI, the arena and the environments use.

Conventions shared by every game:
- players are 0 (first to move: Connect Four's X, Go's Black) and 1;
- ``terminal_value(s)`` is +1/0/-1 (or a fraction for Go's score-less outcome) from the point
  of view of the player *to move* in the terminal state ``s``;
- ``encode(s)`` returns float32 planes of shape ``obs_shape`` from the point of view of the
  player to move (own stones first).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np


class GameError(ValueError):
    """Base class of every error a game raises on bad input."""


class MoveParseError(GameError):
    """The text does not name a move in this game's notation."""


class IllegalMoveError(GameError):
    """The move is well formed but not legal in this position."""


class Rules(NamedTuple):
    """A game's kernels (see games/kernels.py for their contracts), called directly by ``Game``."""

    legal_mask: Callable
    step: Callable
    is_terminal: Callable
    terminal_value: Callable
    to_play: Callable
    encode: Callable
    rollout: Callable


@dataclass
class GameRecord:
    """A game read from a file (expert games for imitation learning)."""

    actions: list[int]
    returns: tuple[float, float] | None  # for players 0 and 1; None when the file names no result
    start: np.ndarray | None = None  # a starting position other than the initial one (Go setup stones)


class Game(ABC):
    """Rules of one game (with its parameters, such as Go's board size and komi)."""

    name: str
    #: Identifier of this game's kernels in ``games.kernels`` (the switch MCTS kernels use).
    kernel_id: int
    #: The game's own kernels, which this class calls without the switch.
    rules: Rules
    num_actions: int
    obs_shape: tuple[int, int, int]
    #: Number of symmetries (the identity included) that ``symmetry`` accepts.
    num_symmetries: int = 1
    #: 2: players alternate, values flip sign between them; 1: one agent (the token game).
    players: int = 2

    # ---- identity --------------------------------------------------------------------------
    def params(self) -> dict:
        """The parameters that rebuild this game: ``make_game(self.name, **self.params())``
        (what a checkpoint's ``game`` section holds)."""
        return {}

    def label(self) -> str:
        """The game with its parameters in one word (``connect4``, ``go-7x7-komi9``): results
        are comparable only within one label (the ``game`` column of a results file)."""
        return self.name

    # ---- positions -------------------------------------------------------------------------
    @abstractmethod
    def initial_state(self) -> np.ndarray: ...

    # The rules themselves: the game's own kernels (games/kernels.py switches over them for MCTS).
    def legal_mask(self, state: np.ndarray) -> np.ndarray:
        """Boolean mask of shape (num_actions,); all False in a terminal state."""
        out = np.zeros(self.num_actions, dtype=np.bool_)
        self.rules.legal_mask(state, out)
        return out

    def legal_actions(self, state: np.ndarray) -> np.ndarray:
        return np.flatnonzero(self.legal_mask(state))

    def step(self, state: np.ndarray, action: int) -> np.ndarray:
        """The position after ``action``; raises IllegalMoveError. ``state`` is unchanged."""
        action = int(action)
        if self.is_terminal(state):
            raise IllegalMoveError(f"{self.name}: the game is over, no move can be played")
        if not 0 <= action < self.num_actions:
            raise IllegalMoveError(f"{self.name}: action {action} is out of range 0..{self.num_actions - 1}")
        if not self.legal_mask(state)[action]:
            raise IllegalMoveError(f"{self.name}: {self.format_move(action)} is not legal here")
        child = state.copy()
        self.rules.step(child, action)
        return child

    def is_terminal(self, state: np.ndarray) -> bool:
        return bool(self.rules.is_terminal(state))

    def terminal_value(self, state: np.ndarray) -> float:
        """Outcome for the player to move in a terminal state: +1 win, 0 draw, -1 loss."""
        return float(self.rules.terminal_value(state))

    def to_play(self, state: np.ndarray) -> int:
        return int(self.rules.to_play(state))

    def returns(self, state: np.ndarray) -> tuple[float, float]:
        """Outcome of a terminal state for players 0 and 1."""
        v = self.terminal_value(state)
        return (v, -v) if self.to_play(state) == 0 else (-v, v)

    def final_ownership(self, state: np.ndarray) -> tuple[np.ndarray, float] | None:
        """KataGo's auxiliary targets of a finished game, for the first player: who owns each
        point (int8 (H, W), +1 the first player, -1 the second, 0 nobody) and the score margin
        per point of the board, in about [-1, 1]. None: the game has no such notion (only
        territory games do), and a network trained on it has no ownership head to teach."""
        return None

    @abstractmethod
    def result_string(self, state: np.ndarray) -> str:
        """Human-readable result of a terminal state ("X wins", "B+3.5", "draw")."""

    def resignation_string(self, state: np.ndarray) -> str:
        """The result when the player to move in ``state`` resigns ("W+R" in Go)."""
        return f"{self.player_name(1 - self.to_play(state))} wins by resignation"

    # ---- network input and data augmentation ------------------------------------------------
    def encode(self, state: np.ndarray) -> np.ndarray:
        """Float32 planes of shape obs_shape, from the point of view of the player to move."""
        out = np.zeros(self.obs_shape, dtype=np.float32)
        self.rules.encode(state, out)
        return out

    def symmetry(self, k: int, planes: np.ndarray, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Apply symmetry ``k`` (0 = identity) to encoded planes (..., H, W) and a policy over actions."""
        if k != 0:
            raise ValueError(f"{self.name} has no symmetry {k}")
        return planes, policy

    # ---- humans ----------------------------------------------------------------------------
    @abstractmethod
    def render(self, state: np.ndarray) -> str: ...

    @abstractmethod
    def parse_move(self, text: str) -> int:
        """Action of a move in human notation; raises MoveParseError naming what is wrong."""

    @abstractmethod
    def format_move(self, action: int) -> str: ...

    def player_name(self, player: int) -> str:
        return ("first", "second")[player]

    def move_hint(self) -> str:
        """How a move is typed, for a human who asked for help."""
        return "e.g. " + self.format_move(0)

    def split_moves(self, text: str) -> list[str]:
        """A line of moves (a game's start on the command line) as one text per move."""
        return text.split()

    # ---- saved games -----------------------------------------------------------------------
    #: File name suffix of a saved game record (``record_text``).
    record_suffix: str = ".txt"

    def record_text(self, actions, first: str, second: str, result: str, date: str) -> str:
        """A finished game as the text of a file: here its moves, space-separated; games with a
        record format of their own (SGF for Go) override this and ``record_suffix``."""
        return " ".join(self.format_move(a) for a in actions) + "\n"

    def read_records(self, path: str | Path) -> tuple[list[GameRecord], list[str]]:
        """The games in the records at ``path`` (a file or a folder, as the game's format has
        it) and, for each file skipped, why; GameError names a file that cannot be used."""
        raise GameError(f"{self.name}: there is no reader of game records for this game")

