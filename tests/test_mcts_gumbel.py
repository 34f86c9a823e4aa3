"""Gumbel search: the sequential-halving schedule, sigma(completed Q) against a NumPy
re-derivation of mctx's transform, the interior rule, and whole searches that must find a win."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.connect4 import ConnectFour
from selfplay.mcts import MCTS, MCTSConfig, UniformEvaluator
from selfplay.mcts import tree as trees
from selfplay.mcts.gumbel import (
    considered_visits,
    considered_visits_table,
    interior_child,
    sigma_completed_q,
)

C4 = ConnectFour()


def test_schedules_worked_by_hand():
    assert considered_visits(1, 5) == [0, 1, 2, 3, 4]
    assert considered_visits(2, 6) == [0, 0, 1, 1, 2, 2]
    assert considered_visits(4, 8) == [0, 0, 0, 0, 1, 1, 2, 2]
    assert considered_visits(16, 32) == [0] * 16 + [1] * 8 + [2] * 4 + [3] * 4
    table = considered_visits_table(4, 8)
    assert table.shape == (5, 8) and table[4].tolist() == considered_visits(4, 8)


@settings(max_examples=100, deadline=None)
@given(m=st.integers(1, 20), n=st.integers(1, 150), seed=st.integers(0, 2**16))
def test_schedule_is_always_feasible(m, n, seed):
    """Playing the schedule with any preferences, some action always has the wanted visit count."""
    preference = np.random.default_rng(seed).permutation(m)
    visits = np.zeros(m, int)
    for wanted in considered_visits(m, n):
        candidates = [a for a in preference if visits[a] == wanted]
        assert candidates
        visits[candidates[0]] += 1
    assert visits.sum() == n


def reference_sigma(visits, q, priors, raw_value, value_scale=0.1, maxvisit_init=50.0):
    """mctx's qtransform_completed_by_mix_value, over the given children only."""
    visited = visits > 0
    if visits.sum() == 0:
        mixed = raw_value
    else:
        weights = np.where(visited, np.maximum(priors, 1e-30), 0)
        mixed = (raw_value + visits.sum() * (weights * q).sum() / weights.sum()) / (visits.sum() + 1)
    completed = np.where(visited, q, mixed)
    completed = (completed - completed.min()) / max(completed.max() - completed.min(), 1e-8)
    return (maxvisit_init + visits.max()) * value_scale * completed


def node_with_children(visits, means, priors, raw_value):
    t = trees.allocate(1, 32)
    n = len(visits)
    trees.expand_node(t, 0, 0, np.ones(n, np.bool_), np.asarray(priors, np.float32), False, raw_value)
    t.visits[0, 1:1 + n] = visits
    t.value_sum[0, 1:1 + n] = np.asarray(visits) * np.asarray(means)
    t.visits[0, 0] = 1 + sum(visits)
    return t


@settings(max_examples=100, deadline=None)
@given(children=st.lists(st.tuples(st.integers(0, 30), st.floats(-1, 1), st.floats(0.01, 1)), min_size=2, max_size=8),
       raw_value=st.floats(-1, 1))
def test_sigma_of_completed_q_matches_the_reference(children, raw_value):
    visits, means, priors = (np.array(x) for x in zip(*children))
    t = node_with_children(visits, means, priors, raw_value)
    out = np.zeros(len(children))
    params = MCTSConfig().params()
    sigma_completed_q(t, 0, 0, params, out)
    q = -means  # the node's view of its children (two players)
    expected = reference_sigma(visits, q, t.prior[0, 1:1 + len(children)].astype(np.float64), np.float32(raw_value))
    assert out == pytest.approx(expected, rel=1e-4, abs=1e-6)
    # The interior rule: the child whose visits lag furthest behind the improved policy.
    logits = np.log(t.prior[0, 1:1 + len(children)].astype(np.float64)) + expected
    improved = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    score = improved - visits / (1 + visits.sum())
    chosen = interior_child(t, 0, 0, params, np.zeros(len(children))) - 1
    assert score[chosen] == pytest.approx(score.max(), abs=1e-9)


@pytest.mark.parametrize("sims", [7, 8, 16, 32])  # at least one visit per legal move
def test_gumbel_search_with_few_simulations_plays_the_immediate_win(sims):
    state = C4.state_from_moves("112233")  # X wins in column 4 (action 3)
    for seed in range(10):
        mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=sims, gumbel=True, seed=seed))
        mcts.set_roots([state])
        result = mcts.search()
        assert result.gumbel_action[0] == 3
        assert result.select_actions(1.0, mcts.rng)[0] == 3
        policy = result.improved_policy[0]
        assert policy.sum() == pytest.approx(1.0) and int(np.argmax(policy)) == 3
        assert result.visit_counts.sum() == sims


def test_gumbel_policy_is_zero_on_illegal_moves_and_scale_zero_is_deterministic():
    state = C4.state_from_moves("4444445555556")
    legal = C4.legal_mask(state)
    actions = set()
    for seed in range(4):
        mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=20, gumbel=True, gumbel_scale=0.0, seed=seed))
        mcts.set_roots([state])
        result = mcts.search()
        assert (result.improved_policy[0][~legal] == 0).all() and (result.visit_counts[0][~legal] == 0).all()
        actions.add(int(result.gumbel_action[0]))
    assert len(actions) == 1


def test_gumbel_search_with_tree_reuse_and_batches():
    roots = [C4.initial_state(), C4.state_from_moves("112233"), C4.state_from_moves("44")]
    mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=24, gumbel=True, seed=1), batch_size=3)
    mcts.set_roots(roots)
    first = mcts.search()
    assert first.gumbel_action[1] == 3 and first.visit_counts.sum(axis=1).tolist() == [24] * 3
    mcts.advance(first.gumbel_action)
    kept = mcts.root_statistics()[0].sum(axis=1)
    active = np.array([True, False, True])  # tree 1's game is over
    second = mcts.search(active=active)
    assert (second.visit_counts.sum(axis=1) == kept + np.where(active, 24, 0)).all()


def test_gumbel_batched_path_with_several_leaves_per_round():
    state = C4.state_from_moves("112233")
    mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=16, gumbel=True, fused=False, leaves_per_round=4,
                                                   seed=3))
    mcts.set_roots([state])
    result = mcts.search()
    assert result.gumbel_action[0] == 3 and result.visit_counts.sum() == 16
