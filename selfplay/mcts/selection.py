"""Choosing a child (PUCT, or the Gumbel rules) and walking one simulation down a tree.

The walk replays the path's moves on a copy of the root state instead of storing a state
per node. Measured from the initial position after 800 simulations: on Connect Four the
replay costs nothing measurable (within the noise of a 130-190 ns walk); on 9x9 Go it costs
about 1 us per simulation, against about 30 us for a simulation with a rollout, while
stored states would take 12 kB per expanded node (the superko table travels in the state):
10 MB per tree of 800 simulations, 2.5 GB for a batch of 256. Replaying also keeps the
superko history right without any bookkeeping.
"""

from __future__ import annotations

import math

from numba import njit

from games import kernels
from selfplay.mcts.config import (
    C_BASE,
    C_PUCT,
    FORCED_K,
    FPU_ABSOLUTE,
    FPU_MODE,
    FPU_SCALED,
    FPU_VALUE,
    OPPONENT_EXPLORE,
    SIGN,
    STDEV_PRIOR,
    STDEV_SCALE,
    STDEV_WEIGHT,
)
from selfplay.mcts.gumbel import interior_child, root_child


@njit(cache=True, inline="always")
def puct_child(tree, b, node, params, visited_mass=1.0, explore=1.0):
    """argmax of Q + explore * c * prior * sqrt(N_node) / (1 + N_child), Q from the node's point
    of view, unvisited children valued by first-play urgency (the parent's value less fpu_value *
    sqrt(visited_mass), or fpu_value itself); ties go to the first child. ``tuned_child`` passes
    the last two arguments."""
    start, n = tree.first_child[b, node], tree.num_children[b, node]
    sign = params[SIGN]
    parent_visits = tree.visits[b, node]
    c = params[C_PUCT]
    if params[C_BASE] > 0:
        c += math.log((parent_visits + params[C_BASE] + 1.0) / params[C_BASE])
    scale = explore * c * math.sqrt(max(parent_visits, 1))
    # Conditional expressions rather than if/else blocks: Numba compiles variables assigned in
    # branches into code several times slower here.
    own = tree.value_sum[b, node] / parent_visits if parent_visits > 0 else 0.0
    fpu = params[FPU_VALUE] if params[FPU_MODE] == FPU_ABSOLUTE else own - params[FPU_VALUE] * math.sqrt(visited_mass)
    best, best_score = start, -math.inf
    for k in range(start, start + n):
        visits = tree.visits[b, k]
        q = sign * tree.value_sum[b, k] / visits if visits > 0 else fpu
        score = q + scale * tree.prior[b, k] / (1 + visits)
        if score > best_score:
            best, best_score = k, score
    return best


@njit(cache=True)
def tuned_child(tree, b, node, params, explore=1.0):
    """``puct_child`` with the options that read more of the node than the plain walk: Leela
    Zero's and KataGo's first-play urgency (fpu_mode "scaled": the reduction grows with the prior
    mass of the children visited so far), KataGo's dynamic cPUCT (``spread_factor``) and the
    walk's own factor ``explore`` (opponent_explore at the opponent's nodes). Kept out of
    ``puct_child``: a second loop there, even one never entered, cost the fused uniform search
    40% of its speed."""
    start, n = tree.first_child[b, node], tree.num_children[b, node]
    mass = 1.0
    if params[FPU_MODE] == FPU_SCALED:
        mass = 0.0
        for k in range(start, start + n):
            mass += tree.prior[b, k] if tree.visits[b, k] > 0 else 0.0
    return puct_child(tree, b, node, params, mass, explore * spread_factor(tree, b, node, params))


@njit(cache=True, inline="always")
def spread_factor(tree, b, node, params):
    """KataGo's dynamic cPUCT: 1 + scale * (s / prior - 1), at least 0, where s is the standard
    deviation of the values backed up through the node, with ``weight`` pseudo-values of
    variance prior**2 mixed in; 1 while the node has backed up one value or none. The walk has
    already counted its own visit here, whose value is not backed up yet."""
    scale, prior, weight = params[STDEV_SCALE], params[STDEV_PRIOR], params[STDEV_WEIGHT]
    done = tree.visits[b, node] - 1
    if scale <= 0 or done <= 1:
        return 1.0
    mean = tree.value_sum[b, node] / done
    square = max(tree.value_sq_sum[b, node] / done, mean * mean)
    variance = ((mean * mean + prior * prior) * weight + square * done) / (weight + done - 1) - mean * mean
    return max(0.0, 1.0 + scale * (math.sqrt(max(variance, 0.0)) / prior - 1.0))


@njit(cache=True)
def forced_root_child(tree, b, params):
    """KataGo's forced playouts: the root child furthest under its sqrt(k * prior * N_root)
    visits, or -1 when none is (then PUCT chooses). Kept out of ``puct_child``, whose loop runs
    at every node: a check there cost the uniform search about 30% of its speed."""
    start, n = tree.first_child[b, 0], tree.num_children[b, 0]
    total = params[FORCED_K] * tree.visits[b, 0]
    best, best_deficit = -1, 0.0
    for k in range(start, start + n):
        deficit = math.sqrt(total * tree.prior[b, k]) - tree.visits[b, k]
        if deficit > best_deficit:
            best, best_deficit = k, deficit
    return best


@njit(cache=True, inline="always")
def descend_puct(game, tree, b, state, params, pending_loss, solver):
    """Walk tree ``b`` by PUCT from the root to a node without children (unexpanded, pending
    or terminal) or a proven one, playing each move on ``state`` (a copy of the root state), counting a visit
    on every node of the path and charging ``pending_loss`` against each node below the root
    until ``backup`` replaces it with the leaf's value. Returns the leaf. ``solver`` is a
    constant where the fused loop calls it, so that a search without the solver never reads
    ``tree.proven`` (reading it cost the fused uniform search about a fifth of its speed).
    Players alternate, so the root's opponent is to move at odd depths: opponent_explore
    applies there."""
    sign = params[SIGN]
    node = 0
    tree.visits[b, 0] += 1
    forced = params[FORCED_K] > 0
    opponent_explore = params[OPPONENT_EXPLORE]
    tuned = params[FPU_MODE] == FPU_SCALED or params[STDEV_SCALE] > 0 or opponent_explore != 1.0
    odd = False
    while tree.first_child[b, node] >= 0 and not (solver and tree.proven[b, node] != 0):
        child = forced_root_child(tree, b, params) if forced and node == 0 else -1
        child = tuned_child(tree, b, node, params, opponent_explore if odd else 1.0) if tuned and child < 0 \
            else child
        child = puct_child(tree, b, node, params) if child < 0 else child
        tree.visits[b, child] += 1
        tree.value_sum[b, child] -= sign * pending_loss
        kernels.step(game, state, tree.action[b, child])
        node = child
        odd = not odd
    return node


@njit(cache=True, inline="always")
def descend_gumbel(game, tree, b, state, params, pending_loss, noise, base_visits, table, num_considered, scratch,
                   solver):
    """``descend_puct`` with the Gumbel rules: sequential halving at the root, the
    deterministic improved-policy rule below it.

    Callers pick one of the two walks with a conditional expression: a function that could
    call either costs PUCT walks about twice their time (Numba counts references to every
    array argument of the call it cannot inline)."""
    sign = params[SIGN]
    node = 0
    tree.visits[b, 0] += 1
    while tree.first_child[b, node] >= 0 and not (solver and tree.proven[b, node] != 0):
        child = root_child(tree, b, params, noise, base_visits, table, num_considered, scratch) if node == 0 \
            else interior_child(tree, b, node, params, scratch)
        tree.visits[b, child] += 1
        tree.value_sum[b, child] -= sign * pending_loss
        kernels.step(game, state, tree.action[b, child])
        node = child
    return node
