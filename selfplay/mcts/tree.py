"""The search trees: one struct of arrays with a batch axis, and the kernels that grow them.

Tree ``b`` of a batch owns row ``b`` of every array; a node is an index into that row and
slot 0 is the root. Expanding a node allocates all its legal children at once, as one
contiguous block ``first_child .. first_child + num_children``, so selection reads the
statistics of siblings from adjacent memory and no per-edge index is needed.

Sign convention: ``value_sum[b, i]`` and ``raw_value[b, i]`` are from the point of view of
the player to move at node ``i``. The parent sees a child's mean value times ``sign``
(-1 when two players alternate, +1 for a single agent).

``visits`` counts the values backed up through a node (its own evaluation included), so an
expanded node that is not terminal has ``visits = 1 + sum of its children's visits`` once a
round is complete, except when two selections of one round met at the same pending leaf
(``leaves_per_round > 1``): that leaf then counts both.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from selfplay.mcts.errors import NodeBudgetError

# first_child sentinels of a node that has no children block.
UNEXPANDED, TERMINAL, PENDING = -1, -2, -3

TreeArrays = namedtuple(
    "TreeArrays",
    ["prior", "visits", "value_sum", "value_sq_sum", "raw_value", "action", "first_child", "num_children", "parent",
     "proven", "num_nodes"],
)
TreeArrays.__doc__ = """Arrays [batch, capacity] of the trees (num_nodes is [batch]).

prior         float32  prior probability of the move into the node (from its parent's policy)
visits        int32    values backed up through the node, plus selections still in flight
value_sum     float64  sum of those values, from the node's player-to-move point of view
value_sq_sum  float64  sum of their squares, kept when the search uses the lower confidence bound (no virtual loss)
raw_value     float32  the evaluator's value of the node, or its terminal value
action        int32    the move from the parent into the node
first_child   int32    start of the children block, or UNEXPANDED / TERMINAL / PENDING
num_children  int32    size of the children block (the legal moves)
parent        int32    the parent node, -1 at the root
proven        int8     1: the node's game-theoretic value is known (search with the solver on), and
                       raw_value holds it; walks stop there as at a terminal node
num_nodes     int32    slots in use per tree
"""


def allocate(batch_size: int, capacity: int) -> TreeArrays:
    """Empty trees: every root unexpanded, one slot in use."""
    def full(dtype, value=0):
        return np.full((batch_size, capacity), value, dtype=dtype)

    tree = TreeArrays(
        prior=full(np.float32), visits=full(np.int32), value_sum=full(np.float64), value_sq_sum=full(np.float64),
        raw_value=full(np.float32),
        action=full(np.int32, -1), first_child=full(np.int32, UNEXPANDED), num_children=full(np.int32),
        parent=full(np.int32, -1), proven=full(np.int8), num_nodes=np.ones(batch_size, dtype=np.int32),
    )
    return tree


def capacity_of(tree: TreeArrays) -> int:
    return tree.prior.shape[1]


def ensure_capacity(tree: TreeArrays, needed: np.ndarray, grow: bool) -> TreeArrays:
    """The same trees with room for ``needed[b]`` more nodes in each tree ``b``: reallocated to
    twice the capacity (or more) when one lacks room, or NodeBudgetError when ``grow`` is off."""
    capacity = capacity_of(tree)
    want = int((tree.num_nodes.astype(np.int64) + needed).max())
    if want <= capacity:
        return tree
    if not grow:
        b = int(np.argmax(tree.num_nodes.astype(np.int64) + needed))
        raise NodeBudgetError(
            f"tree {b} of the batch needs {want} nodes but its budget is {capacity}; raise "
            f"mcts.initial_nodes or set mcts.grow_nodes=true")
    new_capacity = max(2 * capacity, want)
    if new_capacity >= 2**31:
        raise NodeBudgetError(f"a tree would need {new_capacity} nodes, more than a 32-bit index can address")
    grown = allocate(tree.prior.shape[0], new_capacity)
    for old, new in zip(tree[:-1], grown[:-1]):
        new[:, :capacity] = old
    grown.num_nodes[:] = tree.num_nodes
    return grown


@njit(cache=True)
def reset_tree(tree, b):
    """Tree ``b`` back to a single unexpanded root."""
    tree.num_nodes[b] = 1
    tree.prior[b, 0] = 1.0
    tree.visits[b, 0] = 0
    tree.value_sum[b, 0] = 0.0
    tree.value_sq_sum[b, 0] = 0.0
    tree.raw_value[b, 0] = 0.0
    tree.action[b, 0] = -1
    tree.first_child[b, 0] = UNEXPANDED
    tree.num_children[b, 0] = 0
    tree.parent[b, 0] = -1
    tree.proven[b, 0] = 0


@njit(cache=True, inline="always")
def expand_node(tree, b, node, legal, policy, are_logits, value):
    """Give ``node`` one child per legal action, with the policy renormalised over the legal
    moves (softmax when ``are_logits``; a policy without mass there becomes uniform), and
    record the evaluator's ``value``. The caller guarantees the room."""
    n = 0
    for a in range(legal.shape[0]):
        if legal[a]:
            n += 1
    start = tree.num_nodes[b]
    tree.num_nodes[b] = start + n
    tree.first_child[b, node] = start
    tree.num_children[b, node] = n
    tree.raw_value[b, node] = value
    top = -np.inf
    if are_logits:
        for a in range(legal.shape[0]):
            if legal[a] and policy[a] > top:
                top = policy[a]
    total = 0.0
    k = start
    for a in range(legal.shape[0]):
        if legal[a]:
            p = np.exp(policy[a] - top) if are_logits else max(policy[a], 0.0)
            tree.prior[b, k] = p
            total += p
            tree.visits[b, k] = 0
            tree.value_sum[b, k] = 0.0
            tree.value_sq_sum[b, k] = 0.0
            tree.raw_value[b, k] = 0.0
            tree.action[b, k] = a
            tree.first_child[b, k] = UNEXPANDED
            tree.num_children[b, k] = 0
            tree.parent[b, k] = node
            tree.proven[b, k] = 0
            k += 1
    for k in range(start, start + n):
        tree.prior[b, k] = tree.prior[b, k] / total if total > 0 else 1.0 / n


@njit(cache=True, inline="always")
def backup(tree, b, leaf, value, sign, discount, pending_loss, squares):
    """Add ``value`` (from the leaf's point of view) to every node from ``leaf`` to the root,
    times ``sign * discount`` per level, and take back the virtual loss ``pending_loss`` that
    selection charged to each non-root node of the path. Visits were counted during selection.
    ``squares``: also add the squared values (only the lower confidence bound reads them; the
    fused uniform search, no network to wait for, ran 0-3% faster without them)."""
    node = leaf
    step = sign * discount
    if squares:  # two loops, so that the common one tests nothing per level
        while node > 0:
            tree.value_sum[b, node] += value + sign * pending_loss
            tree.value_sq_sum[b, node] += value * value
            value = step * value
            node = tree.parent[b, node]
        tree.value_sq_sum[b, 0] += value * value
    else:
        while node > 0:
            tree.value_sum[b, node] += value + sign * pending_loss
            value = step * value
            node = tree.parent[b, node]
    tree.value_sum[b, 0] += value


@njit(cache=True, inline="always")
def settled(tree, b, node):
    """Whether the node's value is exact: a terminal position, or proven by the solver."""
    return tree.first_child[b, node] == TERMINAL or tree.proven[b, node] != 0


@njit(cache=True)
def propagate_proofs(tree, b, leaf, sign, discount):
    """MCTS-Solver (Winands et al., 2008), after a walk ended at the settled node ``leaf``: each
    ancestor whose value the settled children now fix is proven, from the leaf up, until one
    is not. A node is proven when a settled child is a win for the node's player to move
    (some move wins; the node's value the best such win, discount included) or when every
    child is settled (its value the best of them: a draw or the slowest loss). A proven node
    keeps raw_value = that value and its mean is set to it, so PUCT above sees the exact value
    at once; walks stop there and back the exact value up. Two-player searches only.

    With several walks of a round in flight (virtual loss), those through a node proven
    meanwhile leave its mean slightly off until more visits arrive; the proof itself is exact."""
    node = tree.parent[b, leaf]
    step = sign * discount
    while node >= 0:
        start, n = tree.first_child[b, node], tree.num_children[b, node]
        best, won, all_settled = -np.inf, False, True
        for k in range(start, start + n):
            if settled(tree, b, k):
                value = step * tree.raw_value[b, k]
                best = max(best, value)
                won = won or value > 0
            else:
                all_settled = False
        if not (won or all_settled):
            return
        if tree.proven[b, node] != 0 and tree.raw_value[b, node] == np.float32(best):
            return
        tree.proven[b, node] = 1
        tree.raw_value[b, node] = best
        tree.value_sum[b, node] = best * tree.visits[b, node]
        tree.value_sq_sum[b, node] = best * best * tree.visits[b, node]
        node = tree.parent[b, node]


@njit(cache=True)
def root_proofs(tree, sign, out):
    """Per root and action, the child's proven value from the root player's view (NaN when
    the child is not settled)."""
    out[:, :] = np.nan
    for b in range(out.shape[0]):
        start = tree.first_child[b, 0]
        if start < 0:
            continue
        for k in range(start, start + tree.num_children[b, 0]):
            if settled(tree, b, k):
                out[b, tree.action[b, k]] = sign * tree.raw_value[b, k]


@njit(cache=True)
def child_with_action(tree, b, node, action):
    """The child of ``node`` reached by ``action``, or -1."""
    start = tree.first_child[b, node]
    if start < 0:
        return -1
    for k in range(start, start + tree.num_children[b, node]):
        if tree.action[b, k] == action:
            return k
    return -1


@njit(cache=True)
def reroot(tree, b, action):
    """Make the child reached by ``action`` the root of tree ``b``, keeping its subtree and
    statistics and compacting it to the front of the row (breadth first, so every children
    block stays contiguous). Returns the nodes kept; 0 means the tree was reset."""
    child = child_with_action(tree, b, 0, action)
    if child < 0 or tree.visits[b, child] == 0:
        reset_tree(tree, b)
        return 0
    n = tree.num_nodes[b]
    prior = tree.prior[b, :n].copy()
    visits = tree.visits[b, :n].copy()
    value_sum = tree.value_sum[b, :n].copy()
    value_sq_sum = tree.value_sq_sum[b, :n].copy()
    raw_value = tree.raw_value[b, :n].copy()
    moves = tree.action[b, :n].copy()
    first_child = tree.first_child[b, :n].copy()
    num_children = tree.num_children[b, :n].copy()
    proven = tree.proven[b, :n].copy()
    old_of = np.empty(n, dtype=np.int32)  # old index of each new node, in breadth-first order
    old_of[0] = child
    head, tail = 0, 1
    while head < tail:
        old = old_of[head]
        tree.prior[b, head] = prior[old] if head > 0 else 1.0
        tree.visits[b, head] = visits[old]
        tree.value_sum[b, head] = value_sum[old]
        tree.value_sq_sum[b, head] = value_sq_sum[old]
        tree.raw_value[b, head] = raw_value[old]
        tree.action[b, head] = moves[old] if head > 0 else -1
        tree.num_children[b, head] = num_children[old]
        tree.proven[b, head] = proven[old]
        if first_child[old] >= 0:
            tree.first_child[b, head] = tail
            for j in range(num_children[old]):
                old_of[tail + j] = first_child[old] + j
                tree.parent[b, tail + j] = head
            tail += num_children[old]
        else:
            tree.first_child[b, head] = first_child[old]
        head += 1
    tree.parent[b, 0] = -1
    tree.num_nodes[b] = tail
    return tail


@njit(cache=True)
def root_statistics(tree, sign, visit_counts, q_values, priors, legal, root_value):
    """Per root and per action: visits, Q (root player's view; NaN unvisited), prior, legality."""
    for b in range(visit_counts.shape[0]):
        visit_counts[b, :] = 0
        q_values[b, :] = np.nan
        priors[b, :] = 0.0
        legal[b, :] = False
        n_root = tree.visits[b, 0]
        root_value[b] = tree.value_sum[b, 0] / n_root if n_root > 0 else 0.0
        start = tree.first_child[b, 0]
        if start < 0:
            continue
        for k in range(start, start + tree.num_children[b, 0]):
            a = tree.action[b, k]
            visit_counts[b, a] = tree.visits[b, k]
            priors[b, a] = tree.prior[b, k]
            legal[b, a] = True
            if tree.visits[b, k] > 0:
                q_values[b, a] = sign * tree.value_sum[b, k] / tree.visits[b, k]


@njit(cache=True)
def root_lower_bounds(tree, sign, z, min_share, out):
    """Per root and action, Leela Zero's lower confidence bound on the child's value (root
    player's view): mean - z * sqrt(variance / visits), the variance that of the values backed
    up through the child. -inf for an illegal move, a child with fewer than 2 visits, or one
    with fewer than ``min_share`` of the most visited child's visits: a bound on a handful of
    values says little, and a move the search hardly looked at should not win on it."""
    out[:, :] = -np.inf
    for b in range(out.shape[0]):
        start = tree.first_child[b, 0]
        if start < 0:
            continue
        most = 0
        for k in range(start, start + tree.num_children[b, 0]):
            most = max(most, tree.visits[b, k])
        for k in range(start, start + tree.num_children[b, 0]):
            n = tree.visits[b, k]
            if n < 2 or n < min_share * most:
                continue
            mean = tree.value_sum[b, k] / n
            variance = max(tree.value_sq_sum[b, k] / n - mean * mean, 0.0) * n / (n - 1)
            out[b, tree.action[b, k]] = sign * mean - z * np.sqrt(variance / n)


@njit(cache=True)
def principal_variations(tree, out):
    """Per tree, the line of most-visited children from the root (-1 padded) in ``out[b]``."""
    out[:, :] = -1
    for b in range(out.shape[0]):
        node = 0
        for depth in range(out.shape[1]):
            start = tree.first_child[b, node]
            if start < 0:
                break
            best, best_visits = -1, 0
            for k in range(start, start + tree.num_children[b, node]):
                if tree.visits[b, k] > best_visits:
                    best, best_visits = k, tree.visits[b, k]
            if best < 0:
                break
            out[b, depth] = tree.action[b, best]
            node = best


@njit(cache=True)
def set_root_priors(tree, priors):
    """Replace each expanded root's children priors by ``priors[b, action]``."""
    for b in range(priors.shape[0]):
        start = tree.first_child[b, 0]
        if start < 0:
            continue
        for k in range(start, start + tree.num_children[b, 0]):
            tree.prior[b, k] = priors[b, tree.action[b, k]]
