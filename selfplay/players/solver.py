"""A perfect Connect Four player over games.connect4_solver: the reference at the top of the
ladder, and the judge of how far from perfect a trained network plays.

Modes (spec option ``mode``):
- ``best`` (default): random among the moves with the exact best score (fastest win, slowest
  loss);
- ``outcome``: random among the moves that keep the game-theoretic outcome (any winning move
  when winning, any drawing move when drawing, any move when lost). It only needs the sign of
  each move's score, a cheaper search, and it plays more varied games.

A move costs one search for the position's score (the opening book, games/data, knows it for
the first plies) and then one null-window probe per column, in a random order, up to the first
column that keeps that score; the transposition table is kept from move to move.
"""

from __future__ import annotations

import sys

import numpy as np

from games import Game, GameError
from games.connect4_solver import NO_BOOK_NOTE, SLOW_BELOW, Solver
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
        _check_game(game)
        return self.solver.best_moves(state, weak=self.mode == "outcome")

    def select_move(self, game, state):
        _check_game(game)
        # the first best move of a random order is a uniformly random best move, and the
        # columns after it need no probe
        return self.solver.first_best_move(state, self.rng.permutation(game.num_actions),
                                           weak=self.mode == "outcome")


def _check_game(game: Game) -> None:
    if game.name != "connect4":
        raise GameError(f"the solver player plays connect4 only, not {game.name}")


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
