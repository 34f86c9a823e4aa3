"""Turning visit counts into moves and training targets, and the root's random draws.

All draws here use a numpy Generator that the caller seeds, so a search and the moves chosen
from it repeat exactly given a seed.
"""

from __future__ import annotations

import numpy as np

from selfplay.mcts.errors import MCTSConfigError


def visit_policy(visit_counts: np.ndarray, temperature: float) -> np.ndarray:
    """Rows of visits -> probabilities proportional to visits ** (1 / temperature); temperature
    0 spreads the mass evenly over the most visited actions. A row without visits stays zero."""
    if temperature < 0:
        raise MCTSConfigError(f"temperature must be >= 0, got {temperature}")
    counts = np.asarray(visit_counts, dtype=np.float64)
    top = counts.max(axis=-1, keepdims=True)
    if temperature == 0:
        weights = ((counts == top) & (top > 0)).astype(np.float64)
    else:
        with np.errstate(divide="ignore"):
            # visits / top first, so large counts and small temperatures cannot overflow.
            weights = np.where(counts > 0, np.exp(np.log(counts / np.maximum(top, 1)) / temperature), 0.0)
    total = weights.sum(axis=-1, keepdims=True)
    return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)


def prune_forced_visits(visit_counts: np.ndarray, q_values: np.ndarray, priors: np.ndarray, c_puct: float,
                        c_base: float, forced_k: float) -> np.ndarray:
    """KataGo's policy target pruning: the visits of a search with forced playouts, less the
    ones PUCT would not have given. For every child but the most visited, up to its
    sqrt(k * prior * N) forced visits are taken away as long as its PUCT score stays at or
    below the most visited child's; a child left with one visit or none drops out. N is the
    children's total visits; Q from the root player's view (NaN unvisited)."""
    visits = np.asarray(visit_counts, dtype=np.float64)
    total = visits.sum(axis=-1, keepdims=True)
    c = c_puct + (np.log((total + c_base + 1.0) / c_base) if c_base > 0 else 0.0)
    scale = c * np.sqrt(total)
    best = visits.argmax(axis=-1)[:, None]
    q = np.nan_to_num(np.asarray(q_values, dtype=np.float64), nan=0.0)
    p = np.asarray(priors, dtype=np.float64)
    best_score = np.take_along_axis(q, best, -1) + scale * np.take_along_axis(p, best, -1) / (
        1 + np.take_along_axis(visits, best, -1))
    gap = best_score - q
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = np.where(gap > 0, scale * p / np.where(gap > 0, gap, 1.0) - 1.0, np.inf)  # fewest visits at or below
    kept = np.minimum(np.ceil(np.maximum(needed, visits - np.sqrt(forced_k * p * total))), visits)
    kept = np.where(kept <= 1, 0.0, kept)
    np.put_along_axis(kept, best, np.take_along_axis(visits, best, -1), -1)
    return kept.astype(np.int32)


def sample_actions(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One action per row drawn from its probabilities (rows must sum to 1)."""
    probabilities = np.atleast_2d(probabilities)
    cumulative = np.cumsum(probabilities, axis=-1)
    draws = rng.random((probabilities.shape[0], 1)) * cumulative[:, -1:]
    actions = np.minimum((cumulative <= draws).sum(axis=-1), probabilities.shape[1] - 1)
    # Only rounding can put a draw past the last action with mass: step back to it.
    for i, a in enumerate(actions):
        while a > 0 and probabilities[i, a] == 0:
            a -= 1
        actions[i] = a
    return actions


def select_actions(visit_counts: np.ndarray, temperature: float, rng: np.random.Generator,
                   fallback: np.ndarray | None = None) -> np.ndarray:
    """An action per row: argmax of visits with a random tie-break at temperature 0, otherwise
    sampled from visits ** (1 / temperature). Rows without visits use ``fallback`` weights
    (the priors) instead."""
    probabilities = visit_policy(visit_counts, temperature)
    if fallback is not None:
        empty = probabilities.sum(axis=-1) == 0
        if empty.any():
            probabilities[empty] = visit_policy(np.asarray(fallback, dtype=np.float64)[empty], temperature)
    if (probabilities.sum(axis=-1) == 0).any():
        raise MCTSConfigError("cannot choose a move: a root has no visits and no prior mass on any move")
    return sample_actions(probabilities, rng)


def proof_moves(proven: np.ndarray, legal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the solver's proofs decide per row (``proven``: each move's proven value from the
    root player's view, NaN when open): the move to play, the best proven one, when some move
    is a proven win or every legal move is settled, else -1; and the mask of proven losses."""
    known = ~np.isnan(proven) & legal
    decided = (known & (proven > 0)).any(axis=-1) | (known == legal).all(axis=-1)
    best = np.where(known, proven, -np.inf).argmax(axis=-1)
    return np.where(decided, best, -1), known & (proven < 0)


def dirichlet_noise(legal_mask: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """Per row, a Dirichlet(alpha) sample over the legal actions (zero elsewhere), from gammas."""
    gammas = rng.standard_gamma(alpha, size=legal_mask.shape) * legal_mask
    total = gammas.sum(axis=-1, keepdims=True)
    # alpha small enough can make every gamma underflow to 0: fall back to uniform for that row.
    uniform = legal_mask / np.maximum(legal_mask.sum(axis=-1, keepdims=True), 1)
    return np.where(total > 0, gammas / np.where(total > 0, total, 1.0), uniform)


def mix_noise(priors: np.ndarray, noise: np.ndarray, fraction: float) -> np.ndarray:
    return ((1.0 - fraction) * priors + fraction * noise).astype(np.float32)


def gumbel_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    return scale * rng.gumbel(size=shape)
