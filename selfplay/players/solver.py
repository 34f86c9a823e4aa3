"""A perfect Connect Four player over games.connect4_solver: the reference at the top of the
ladder, and the judge of how far from perfect a trained network plays.

Modes (spec option ``mode``):
- ``best`` (default): random among the moves with the exact best score (fastest win, slowest
  loss);
- ``outcome``: random among the moves that keep the game-theoretic outcome (any winning move
  when winning, any drawing move when drawing, any move when lost). It only needs the sign of
  each move's score, a cheaper search, and it plays more varied games.

Each move costs one solver search per legal column. The opening book (games/data) answers the
first plies at once; past it, a search takes seconds at most, and the transposition table is
kept from move to move.
"""

from __future__ import annotations

import sys

import numpy as np

from games import Game, GameError
from games.connect4_solver import ILLEGAL, NO_BOOK_NOTE, SLOW_BELOW, Solver
from selfplay.players import Player, PlayerSpecError, read_options

MODES = ("best", "outcome")


class SolverPlayer(Player):
    """Perfect play in Connect Four; ties broken at random with a seedable generator."""

    def __init__(self, seed: int | None = None, mode: str = "best", solver: Solver | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.rng = np.random.default_rng(seed)
        self.solver = solver if solver is not None else Solver()
        self.name = "solver" if mode == "best" else f"solver:mode={mode}"

    def optimal_moves(self, game: Game, state: np.ndarray) -> np.ndarray:
        """Columns this player may choose in ``state``: all of them equally good for its mode."""
        if game.name != "connect4":
            raise GameError(f"the solver player plays connect4 only, not {game.name}")
        scores = self.solver.move_scores(state, weak=self.mode == "outcome")
        legal = scores != ILLEGAL
        if self.mode == "outcome":
            scores = np.sign(scores)
        best = scores[legal].max()
        return np.flatnonzero(legal & (scores == best))

    def select_move(self, game, state):
        return int(self.rng.choice(self.optimal_moves(game, state)))


def make_solver(game, options, context):
    values = read_options("solver", options, seed=-1, mode="best")
    if values["mode"] not in MODES:
        raise PlayerSpecError(f"solver: mode={values['mode']!r} is not one of {', '.join(MODES)}")
    if game.name != "connect4":
        raise PlayerSpecError(f"solver: plays connect4 only, not {game.name}")
    if context.get("check_only"):
        return None  # the solver's table is hundreds of MB
    seed = values["seed"] if "seed" in options else None
    player = SolverPlayer(seed=seed, mode=values["mode"])
    if player.solver.book_depth < SLOW_BELOW - 2:  # its first moves would look like a freeze
        print(f"note: {NO_BOOK_NOTE}", file=sys.stderr)
    return player
