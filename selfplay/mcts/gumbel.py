"""Gumbel search (Danihelka et al., 2022, "Policy improvement by planning with Gumbel"), the
root rule of mctx's gumbel_muzero_policy: sample Gumbel noise g, consider the top actions by
g + logit, and spend the simulations on them by sequential halving, keeping the half with the
best g + logit + sigma(q) at each stage. Inside the tree, the deterministic rule picks the
child whose share of visits lags most behind the improved policy.

sigma is mctx's ``qtransform_completed_by_mix_value``: unvisited children get the node's
mixed value (its raw value averaged with the prior-weighted Q of visited children), the
completed Q are rescaled to [0, 1] over the node's children (mctx rescales over all actions;
only legal moves are children here), then scaled by (maxvisit_init + max child visits) *
value_scale. The improved policy, the training target, is softmax(logit + sigma(q)).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from selfplay.mcts.config import MAXVISIT_INIT, SIGN, VALUE_SCALE

LOWEST_LOGIT = -1e9
TINY_PRIOR = 1e-30


def considered_visits(max_considered: int, num_simulations: int) -> list[int]:
    """The visit count an action must have to be chosen at the root, simulation by simulation,
    when ``max_considered`` actions start the sequential halving (mctx's schedule)."""
    if max_considered <= 1:
        return list(range(num_simulations))
    rounds = math.ceil(math.log2(max_considered))
    sequence: list[int] = []
    visits = [0] * max_considered
    considered = max_considered
    while len(sequence) < num_simulations:
        extra = max(1, int(num_simulations / (rounds * considered)))
        for _ in range(extra):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return sequence[:num_simulations]


def considered_visits_table(max_considered: int, num_simulations: int) -> np.ndarray:
    """int32 [max_considered + 1, max(num_simulations, 1)]: row m is the schedule for m actions."""
    width = max(num_simulations, 1)
    table = np.zeros((max_considered + 1, width), dtype=np.int32)
    for m in range(max_considered + 1):
        table[m, :num_simulations] = considered_visits(m, num_simulations)
    return table


@njit(cache=True)
def sigma_completed_q(tree, b, node, params, out):
    """out[j] = sigma(completed Q) of the j-th child of ``node``, from the node's point of view."""
    start, n = tree.first_child[b, node], tree.num_children[b, node]
    sign = params[SIGN]
    sum_visits, sum_prior, weighted_q, max_visits = 0, 0.0, 0.0, 0
    for j in range(n):
        k = start + j
        visits = tree.visits[b, k]
        if visits > 0:
            q = sign * tree.value_sum[b, k] / visits
            p = max(tree.prior[b, k], TINY_PRIOR)
            sum_visits += visits
            sum_prior += p
            weighted_q += p * q
            max_visits = max(max_visits, visits)
    raw = tree.raw_value[b, node]
    mixed = raw if sum_visits == 0 else (raw + sum_visits * weighted_q / sum_prior) / (sum_visits + 1)
    low, high = np.inf, -np.inf
    for j in range(n):
        k = start + j
        visits = tree.visits[b, k]
        q = sign * tree.value_sum[b, k] / visits if visits > 0 else mixed
        out[j] = q
        low = min(low, q)
        high = max(high, q)
    scale = (params[MAXVISIT_INIT] + max_visits) * params[VALUE_SCALE]
    spread = max(high - low, 1e-8)
    for j in range(n):
        out[j] = scale * (out[j] - low) / spread


@njit(cache=True)
def _logit(prior):
    return math.log(max(prior, TINY_PRIOR))


@njit(cache=True)
def interior_child(tree, b, node, params, scratch):
    """The child maximising improved_policy - visits / (1 + total visits) (mctx's interior rule)."""
    start, n = tree.first_child[b, node], tree.num_children[b, node]
    sigma_completed_q(tree, b, node, params, scratch)
    top = -np.inf
    total_visits = 0
    for j in range(n):
        scratch[j] += _logit(tree.prior[b, start + j])
        top = max(top, scratch[j])
        total_visits += tree.visits[b, start + j]
    z = 0.0
    for j in range(n):
        scratch[j] = math.exp(scratch[j] - top)
        z += scratch[j]
    best, best_score = start, -np.inf
    for j in range(n):
        score = scratch[j] / z - tree.visits[b, start + j] / (1.0 + total_visits)
        if score > best_score:
            best, best_score = start + j, score
    return best


@njit(cache=True)
def _root_scores(tree, b, params, noise, scratch):
    """scratch[j] = g + logit - max logit + sigma(q) for the root's j-th child, floored as mctx does."""
    start, n = tree.first_child[b, 0], tree.num_children[b, 0]
    sigma_completed_q(tree, b, 0, params, scratch)
    top = -np.inf
    for j in range(n):
        top = max(top, _logit(tree.prior[b, start + j]))
    for j in range(n):
        k = start + j
        score = noise[b, tree.action[b, k]] + _logit(tree.prior[b, k]) - top + scratch[j]
        scratch[j] = max(LOWEST_LOGIT, score)


@njit(cache=True)
def root_child(tree, b, params, noise, base_visits, table, num_considered, scratch):
    """Sequential halving: among the children whose visits in this search equal the count the
    schedule asks for now, the one with the best g + logit + sigma(q)."""
    start, n = tree.first_child[b, 0], tree.num_children[b, 0]
    _root_scores(tree, b, params, noise, scratch)
    done = 0
    for j in range(n):
        k = start + j
        done += tree.visits[b, k] - base_visits[b, tree.action[b, k]]
    wanted = table[num_considered[b], min(done, table.shape[1] - 1)]
    best, best_score = -1, -np.inf
    fallback, fallback_visits, fallback_score = start, 2**31 - 1, -np.inf
    for j in range(n):
        k = start + j
        new_visits = tree.visits[b, k] - base_visits[b, tree.action[b, k]]
        if new_visits == wanted and scratch[j] > best_score:
            best, best_score = k, scratch[j]
        if new_visits < fallback_visits or (new_visits == fallback_visits and scratch[j] > fallback_score):
            fallback, fallback_visits, fallback_score = k, new_visits, scratch[j]
    # With leaves in flight (virtual visits) no child may sit at the wanted count: take the least visited.
    return best if best >= 0 else fallback


@njit(cache=True)
def decide(tree, params, noise, base_visits, actions, improved_policy):
    """Per root: the action to play (most visited in this search, ties by g + logit + sigma(q))
    and the improved policy softmax(logit + sigma(completed Q)) over actions."""
    improved_policy[:, :] = 0.0
    scratch = np.empty(improved_policy.shape[1], dtype=np.float64)
    for b in range(actions.shape[0]):
        actions[b] = -1
        start, n = tree.first_child[b, 0], tree.num_children[b, 0]
        if start < 0:
            continue
        _root_scores(tree, b, params, noise, scratch)
        most = -1
        for j in range(n):
            k = start + j
            most = max(most, tree.visits[b, k] - base_visits[b, tree.action[b, k]])
        best_score = -np.inf
        for j in range(n):
            k = start + j
            if tree.visits[b, k] - base_visits[b, tree.action[b, k]] == most and scratch[j] > best_score:
                actions[b], best_score = tree.action[b, k], scratch[j]
        sigma_completed_q(tree, b, 0, params, scratch)
        top = -np.inf
        for j in range(n):
            scratch[j] += _logit(tree.prior[b, start + j])
            top = max(top, scratch[j])
        z = 0.0
        for j in range(n):
            scratch[j] = math.exp(scratch[j] - top)
            z += scratch[j]
        for j in range(n):
            improved_policy[b, tree.action[b, start + j]] = scratch[j] / z
