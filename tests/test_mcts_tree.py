"""The tree arrays: expansion, backup signs (two players and one agent), rerooting, growth,
root statistics and principal variations, on hand-made trees."""

import numpy as np
import pytest

from games.connect4 import ConnectFour
from selfplay.mcts import MCTS, Evaluator, MCTSConfig, NodeBudgetError, RolloutEvaluator
from selfplay.mcts import tree as trees
from selfplay.mcts.config import MCTSConfig as Config
from selfplay.mcts.selection import puct_child


def fresh(capacity=64, batch=1):
    t = trees.allocate(batch, capacity)
    for b in range(batch):
        trees.reset_tree(t, b)
    return t


def expand(t, node, legal, policy, logits=False, value=0.0, b=0):
    trees.expand_node(t, b, node, np.asarray(legal, np.bool_), np.asarray(policy, np.float32), logits, value)
    start = t.first_child[b, node]
    return list(range(start, start + t.num_children[b, node]))


def test_expansion_creates_legal_children_with_renormalised_priors():
    t = fresh()
    kids = expand(t, 0, [1, 0, 1, 1, 0], [0.1, 0.5, 0.2, 0.1, 0.1], value=0.3)
    assert t.num_nodes[0] == 4 and kids == [1, 2, 3]
    assert t.action[0, kids].tolist() == [0, 2, 3]
    assert t.prior[0, kids] == pytest.approx([0.25, 0.5, 0.25])
    assert (t.parent[0, kids] == 0).all() and (t.first_child[0, kids] == trees.UNEXPANDED).all()
    assert t.raw_value[0, 0] == pytest.approx(0.3)


def test_expansion_with_logits_is_a_softmax_over_legal_moves():
    t = fresh()
    logits = np.array([3.0, 100.0, -1.0, 0.5], np.float32)
    kids = expand(t, 0, [1, 0, 1, 1], logits, logits=True)
    legal = logits[[0, 2, 3]]
    expected = np.exp(legal - legal.max()) / np.exp(legal - legal.max()).sum()
    assert t.prior[0, kids] == pytest.approx(expected, rel=1e-5)


def test_policy_without_mass_on_legal_moves_becomes_uniform():
    t = fresh()
    kids = expand(t, 0, [0, 1, 1], [1.0, 0.0, 0.0])
    assert t.prior[0, kids] == pytest.approx([0.5, 0.5])


def make_chain(t):
    """root -(a=0)-> c -(a=1)-> g, visits counted as selection would."""
    c = expand(t, 0, [1, 1], [0.5, 0.5])[0]
    g = expand(t, c, [1, 1], [0.5, 0.5])[1]
    t.visits[0, [0, c, g]] += 1
    return c, g


@pytest.mark.parametrize("squares", [False, True])
def test_two_player_backup_flips_the_sign_each_level(squares):
    t = fresh()
    c, g = make_chain(t)
    trees.backup(t, 0, g, 0.6, -1.0, 1.0, 0.0, squares)
    assert t.value_sum[0, [g, c, 0]] == pytest.approx([0.6, -0.6, 0.6])
    # The squares only when asked for (the lower confidence bound's), the same at every level.
    assert t.value_sq_sum[0, [g, c, 0]] == pytest.approx([0.36] * 3 if squares else [0.0] * 3)


def test_a_discounted_backup_shrinks_the_value_by_the_discount_per_level():
    t = fresh()
    c, g = make_chain(t)
    sign, loss = -1.0, 1.0
    t.value_sum[0, c] -= sign * loss  # what selection charged: taken back undiscounted
    t.value_sum[0, g] -= sign * loss
    trees.backup(t, 0, g, 0.6, sign, 0.9, loss, False)
    assert t.value_sum[0, [g, c, 0]] == pytest.approx([0.6, -0.54, 0.486])  # 0.6, -0.9 * 0.6, 0.81 * 0.6


class Constant(Evaluator):
    """Uniform priors and the same value for every leaf (a Python evaluator: the batched path)."""

    def evaluate(self, batch):
        legal = batch.legal_mask.astype(np.float32)
        return legal / legal.sum(axis=1, keepdims=True), np.full(len(batch), 0.5, np.float32)


@pytest.mark.parametrize("two_player", [True, False])
def test_a_whole_search_discounts_each_leaf_by_its_depth(two_player):
    """Every simulation of 60 from the empty Connect Four board ends at a new leaf (no game ends
    that soon), valued 0.5 from its own side: the root's value sum is 0.5 for itself plus
    0.5 * (sign * discount) ** depth for every leaf, read off the tree's parent links."""
    mcts = MCTS(ConnectFour(), Constant(), MCTSConfig(num_simulations=60, value_discount=0.8, two_player=two_player,
                                                      seed=0), batch_size=1)
    mcts.set_roots([ConnectFour().initial_state()])
    mcts.search()
    t, step = mcts.tree, (-0.8 if two_player else 0.8)
    expected, undiscounted = 0.5, 0.5
    for node in range(1, t.num_nodes[0]):
        if t.visits[0, node] > 0:
            depth, up = 0, node
            while up > 0:
                depth, up = depth + 1, t.parent[0, up]
            expected += 0.5 * step ** depth
            undiscounted += 0.5 * np.sign(step) ** depth
    assert t.visits[0, 0] == 61 and t.value_sum[0, 0] == pytest.approx(expected)
    assert abs(expected - undiscounted) > 0.2  # the discount shows


def test_single_agent_backup_keeps_the_value_and_selection_maximises_it():
    t = fresh()
    c, g = make_chain(t)
    trees.backup(t, 0, g, 0.6, 1.0, 1.0, 0.0, False)
    assert t.value_sum[0, [g, c, 0]] == pytest.approx([0.6, 0.6, 0.6])
    # Root with two children: the agent should keep choosing the one with the better return.
    t = fresh()
    t.visits[0, 0] = 1
    a, b = expand(t, 0, [1, 1], [0.5, 0.5])
    for leaf, value in [(a, 0.8), (b, -0.5), (a, 0.8), (b, -0.5)]:
        t.visits[0, [0, leaf]] += 1
        trees.backup(t, 0, leaf, value, 1.0, 1.0, 0.0, False)
    assert t.value_sum[0, 0] == pytest.approx(2 * 0.8 - 2 * 0.5)  # plain sum, no sign flips
    assert puct_child(t, 0, 0, Config(two_player=False).params()) == a
    assert puct_child(t, 0, 0, Config(two_player=True).params()) == b  # the opponent's view


def test_backup_takes_back_the_virtual_loss():
    t = fresh()
    c, g = make_chain(t)
    sign, loss = -1.0, 1.0
    t.value_sum[0, c] -= sign * loss  # what selection charged
    t.value_sum[0, g] -= sign * loss
    trees.backup(t, 0, g, 0.25, sign, 1.0, loss, True)
    assert t.value_sum[0, [g, c, 0]] == pytest.approx([0.25, -0.25, 0.25])


def subtree_by_path(t, root, b=0):
    """{path of actions from ``root``: (visits, value_sum, raw_value, prior, status)} for the subtree."""
    out, stack = {}, [(root, ())]
    while stack:
        node, path = stack.pop()
        status = int(min(t.first_child[b, node], 0))
        prior = float(t.prior[b, node]) if path else 1.0
        out[path] = (int(t.visits[b, node]), float(t.value_sum[b, node]), float(t.raw_value[b, node]), prior, status)
        start = t.first_child[b, node]
        if start >= 0:
            for k in range(start, start + t.num_children[b, node]):
                assert t.parent[b, k] == node
                stack.append((k, path + (int(t.action[b, k]),)))
    return out


def test_reroot_keeps_exactly_the_childs_subtree_compacted():
    game = ConnectFour()
    mcts = MCTS(game, RolloutEvaluator(), MCTSConfig(num_simulations=3000, seed=0))
    mcts.set_roots([game.initial_state()])
    mcts.search()
    t = mcts.tree
    child = trees.child_with_action(t, 0, 0, 3)
    before = subtree_by_path(t, child)
    kept = trees.reroot(t, 0, 3)
    assert kept == len(before) == t.num_nodes[0]
    assert subtree_by_path(t, 0) == before
    assert t.parent[0, 0] == -1 and t.action[0, 0] == -1


def test_reroot_to_an_unvisited_child_resets_the_tree():
    t = fresh()
    t.visits[0, 0] = 1
    expand(t, 0, [1, 1, 1], [0.2, 0.3, 0.5])
    assert trees.reroot(t, 0, 1) == 0
    assert t.num_nodes[0] == 1 and t.first_child[0, 0] == trees.UNEXPANDED and t.visits[0, 0] == 0


def test_growth_copies_every_tree_and_refuses_when_disabled():
    t = fresh(capacity=8, batch=2)
    expand(t, 0, [1] * 5, [0.2] * 5, b=1)
    t.visits[1, :6] = np.arange(6)
    assert trees.ensure_capacity(t, np.array([2, 2]), grow=True) is t  # room enough: unchanged
    grown = trees.ensure_capacity(t, np.array([0, 5]), grow=True)
    assert grown.prior.shape == (2, 16) and grown.num_nodes.tolist() == [1, 6]
    for old, new in zip(t[:-1], grown[:-1]):
        assert (new[:, :8] == old).all()
    with pytest.raises(NodeBudgetError, match="tree 1 of the batch needs 11 nodes but its budget is 8"):
        trees.ensure_capacity(t, np.array([0, 5]), grow=False)


def test_root_statistics_and_principal_variation():
    t = fresh()
    t.visits[0, 0] = 10
    t.value_sum[0, 0] = 3.0
    a, b, c = expand(t, 0, [0, 1, 0, 1, 1], [0.0, 0.2, 0.0, 0.3, 0.5])
    t.visits[0, [a, b, c]] = [2, 7, 0]
    t.value_sum[0, [a, b, c]] = [1.0, -2.1, 0.0]
    d, e = expand(t, b, [1, 0, 0, 0, 1], [0.5, 0, 0, 0, 0.5])
    t.visits[0, [d, e]] = [1, 5]
    shape = (1, 5)
    visits, q, priors = np.zeros(shape, np.int32), np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    legal, value = np.zeros(shape, np.bool_), np.zeros(1, np.float32)
    trees.root_statistics(t, -1.0, visits, q, priors, legal, value)
    assert visits.tolist() == [[0, 2, 0, 7, 0]]
    assert legal.tolist() == [[False, True, False, True, True]]
    assert q[0, [1, 3]] == pytest.approx([-0.5, 0.3]) and np.isnan(q[0, [0, 2, 4]]).all()
    assert priors[0] == pytest.approx([0, 0.2, 0, 0.3, 0.5]) and value[0] == pytest.approx(0.3)
    pv = np.zeros((1, 4), np.int32)
    trees.principal_variations(t, pv)
    assert pv.tolist() == [[3, 4, -1, -1]]


def test_set_root_priors_touches_only_root_children():
    t = fresh()
    kids = expand(t, 0, [1, 1, 0], [0.5, 0.5, 0.0])
    grandkids = expand(t, kids[0], [1, 1, 1], [0.2, 0.3, 0.5])
    trees.set_root_priors(t, np.array([[0.9, 0.1, 0.0]], np.float32))
    assert t.prior[0, kids] == pytest.approx([0.9, 0.1])
    assert t.prior[0, grandkids] == pytest.approx([0.2, 0.3, 0.5])
