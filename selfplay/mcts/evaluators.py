"""Evaluators: a batch of leaves in, priors [n, A] and values [n] out (float32).

A value is in [-1, 1] from the point of view of the player to move at the leaf. Priors are
probabilities (or logits when ``returns_logits``); whatever an evaluator puts on illegal
moves is ignored, because the tree only ever creates children for legal moves.

Evaluators that are themselves Numba kernels (uniform, random rollouts) carry a
``kernel_kind`` so that the search can run them inside its fused simulation loop; the others
(the network hook) are called once per round with every tree's leaves together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

from games import Game, kernels
from selfplay.mcts.errors import EvaluatorError, MCTSConfigError

# kernel_kind of the evaluators the fused search runs itself.
NOT_A_KERNEL, UNIFORM, ROLLOUT = -1, 0, 1


@dataclass
class LeafBatch:
    """The leaves of one round: row i is a position to evaluate.

    states      int64 [n, state size]   the positions (the game's state arrays)
    legal_mask  bool [n, A]             their legal moves
    planes      float32 [n, C, H, W]    encoded positions, or None unless the evaluator asks
    tree_index  int64 [n]               which tree of the batch each leaf belongs to
    """

    game: Game
    states: np.ndarray
    legal_mask: np.ndarray
    planes: np.ndarray | None
    tree_index: np.ndarray

    def __len__(self) -> int:
        return self.states.shape[0]


class Evaluator:
    """Base class: override ``evaluate``. An evaluator with ``reports_draws`` also leaves the
    draw probability of every row it just evaluated in ``last_draws`` (a win/draw/loss network),
    which a search with contempt reads."""

    needs_planes = False
    returns_logits = False
    kernel_kind = NOT_A_KERNEL
    num_rollouts = 0
    reports_draws = False
    last_draws: np.ndarray | None = None

    def evaluate(self, batch: LeafBatch) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class UniformEvaluator(Evaluator):
    """Uniform priors over the legal moves and value 0: search guided by terminal outcomes only."""

    kernel_kind = UNIFORM

    def evaluate(self, batch):
        legal = batch.legal_mask
        counts = np.maximum(legal.sum(axis=1, keepdims=True), 1)
        return (legal / counts).astype(np.float32), np.zeros(len(batch), dtype=np.float32)


class RolloutEvaluator(Evaluator):
    """Uniform priors and the mean outcome of ``num_rollouts`` random playouts (classic UCT)."""

    kernel_kind = ROLLOUT

    def __init__(self, num_rollouts: int = 1):
        if isinstance(num_rollouts, bool) or not isinstance(num_rollouts, int) or num_rollouts < 1:
            raise MCTSConfigError(f"rollouts must be an integer >= 1, got {num_rollouts!r}")
        self.num_rollouts = num_rollouts

    def evaluate(self, batch):
        values = np.empty(len(batch), dtype=np.float32)
        rollout_values(batch.game.kernel_id, batch.states, self.num_rollouts, values)
        return UniformEvaluator.evaluate(self, batch)[0], values


class NetworkEvaluator(Evaluator):
    """The hook a policy-value network plugs into: ``fn(planes, legal_mask)`` gets float32
    planes [n, C, H, W] and a bool mask [n, A] and returns (logits or priors [n, A], values [n])
    as arrays (a CPU torch tensor converts); ``outputs`` says which of the two it returns."""

    needs_planes = True

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], tuple], outputs: str = "logits"):
        if outputs not in ("logits", "priors"):
            raise MCTSConfigError(f"NetworkEvaluator outputs must be 'logits' or 'priors', got {outputs!r}")
        self.fn = fn
        self.returns_logits = outputs == "logits"

    def evaluate(self, batch):
        policy, values = self.fn(batch.planes, batch.legal_mask)
        return np.asarray(policy, dtype=np.float32), np.asarray(values, dtype=np.float32)


def checked_outputs(evaluator: Evaluator, batch: LeafBatch, outputs) -> tuple[np.ndarray, np.ndarray]:
    """The evaluator's (policy, values) as contiguous float32 arrays, or EvaluatorError naming
    the first problem: a wrong shape, a value outside [-1, 1], a non-finite entry on a legal
    move, or a negative probability."""
    name = type(evaluator).__name__
    try:
        policy, values = outputs
    except (TypeError, ValueError):
        raise EvaluatorError(f"{name} must return (policy, values), got {type(outputs).__name__}") from None
    policy = np.ascontiguousarray(policy, dtype=np.float32)
    values = np.ascontiguousarray(values, dtype=np.float32)
    if values.ndim == 2 and values.shape[1] == 1:  # a network's [n, 1] value head
        values = values[:, 0]
    n, num_actions = batch.legal_mask.shape
    if policy.shape != (n, num_actions):
        raise EvaluatorError(f"{name} returned a policy of shape {policy.shape}, expected {(n, num_actions)}")
    if values.shape != (n,):
        raise EvaluatorError(f"{name} returned values of shape {values.shape}, expected {(n,)}")
    bad = ~np.isfinite(values) | (np.abs(values) > 1.0 + 1e-5)
    if bad.any():
        i = int(np.argmax(bad))
        raise EvaluatorError(f"{name} returned value {values[i]} for leaf {i}; values must be finite and in [-1, 1]")
    legal = batch.legal_mask
    bad = legal & ~np.isfinite(policy)
    if not evaluator.returns_logits:
        bad |= legal & (policy < 0)
    if bad.any():
        i, a = map(int, np.argwhere(bad)[0])
        what = "logit" if evaluator.returns_logits else "probability"
        raise EvaluatorError(f"{name} returned {what} {policy[i, a]} for legal action {a} of leaf {i}")
    return policy, np.clip(values, -1.0, 1.0)


@njit(cache=True, inline="always")
def leaf_value(game, kind, num_rollouts, state, scratch):
    """The value a kernel evaluator gives ``state`` (uniform: 0; rollout: mean playout outcome)."""
    if kind == UNIFORM:
        return 0.0
    total = 0.0
    for _ in range(num_rollouts):
        scratch[:] = state
        total += kernels.rollout(game, scratch)
    return total / num_rollouts


@njit(cache=True)
def rollout_values(game, states, num_rollouts, out):
    scratch = np.empty(states.shape[1], dtype=np.int64)
    for i in range(states.shape[0]):
        out[i] = leaf_value(game, ROLLOUT, num_rollouts, states[i], scratch)
