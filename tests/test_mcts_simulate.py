"""The round kernels: several walks per tree, duplicates of a pending leaf, terminal leaves
scored without the evaluator, cancelling a round, and the fused loop running out of room."""

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.tictactoe import TicTacToe
from selfplay.mcts import (
    MCTS,
    Evaluator,
    MCTSConfig,
    RolloutEvaluator,
    UniformEvaluator,
)
from selfplay.mcts import tree as trees
from selfplay.mcts.simulate import run_fused

TTT, C4 = TicTacToe(), ConnectFour()


class CountingEvaluator(Evaluator):
    """Uniform priors, value 0, and a record of every batch size."""

    def __init__(self):
        self.sizes = []

    def evaluate(self, batch):
        self.sizes.append(len(batch))
        legal = batch.legal_mask
        return legal / legal.sum(axis=1, keepdims=True), np.zeros(len(batch))


def two_cells_left():
    state = TTT.initial_state()
    for a in [0, 1, 2, 4, 3, 5, 7]:  # seven moves without a line: O to move, c1 and c3 empty
        state = TTT.step(state, a)
    return state


def test_walks_meeting_at_a_pending_leaf_share_one_evaluation():
    evaluator = CountingEvaluator()
    mcts = MCTS(TTT, evaluator, MCTSConfig(num_simulations=40, leaves_per_round=8, seed=0))
    mcts.set_roots([two_cells_left()])
    result = mcts.search()
    assert result.visit_counts.sum() == 40
    # The tree below the root has 2 + 2 nodes to evaluate at most: 8 walks a round share them.
    assert evaluator.sizes[0] == 1  # the root
    assert all(size <= 2 for size in evaluator.sizes[1:]) and sum(evaluator.sizes[1:]) <= 4
    assert len(evaluator.sizes) <= 3


def test_terminal_leaves_are_scored_by_the_rules_without_the_evaluator():
    state = two_cells_left()
    state = TTT.step(state, 6)  # one cell left: the only child is terminal
    evaluator = CountingEvaluator()
    mcts = MCTS(TTT, evaluator, MCTSConfig(num_simulations=30, fused=False, seed=0))
    mcts.set_roots([state])
    result = mcts.search()
    assert evaluator.sizes == [1]  # just the root
    outcome = TTT.terminal_value(TTT.step(state, 8))
    assert result.visit_counts[0, 8] == 30 and result.q_values[0, 8] == pytest.approx(-outcome)


def test_cancel_round_restores_the_tree_exactly():
    config = MCTSConfig(num_simulations=200, leaves_per_round=6, initial_nodes=5000, seed=0)
    mcts = MCTS(C4, UniformEvaluator(), config, batch_size=2)
    mcts.set_roots([C4.initial_state(), C4.state_from_moves("44")])
    mcts.search()
    before = [a.copy() for a in mcts.tree]
    mcts.begin(50)
    batch = mcts.next_leaves()
    assert len(batch) > 0
    assert any((a != b).any() for a, b in zip(mcts.tree, before))  # visits in flight
    mcts.abort()  # runs cancel_round
    for a, b in zip(mcts.tree, before):
        assert (a == b).all()


def test_fused_loop_stops_when_a_tree_is_full_and_resumes():
    mcts = MCTS(C4, RolloutEvaluator(), MCTSConfig(num_simulations=0, initial_nodes=40, seed=0), batch_size=2)
    mcts.set_roots([C4.initial_state()] * 2)
    mcts.search()  # expands the roots only
    remaining = np.array([100, 100], np.int64)
    args = (C4.kernel_id, mcts.tree, mcts.root_states, remaining, mcts._params, mcts._noise, mcts._base_visits,
            mcts._table, mcts._num_considered, RolloutEvaluator.kernel_kind, 1)
    full = run_fused(*args)
    assert full == 0 and 0 < remaining[0] < 100 and remaining[1] == 100
    assert mcts.tree.num_nodes[0] <= 40
    done = 100 - remaining[0]
    assert mcts.tree.visits[0, 0] == 1 + done  # the walk that found no room was undone
    grown = trees.ensure_capacity(mcts.tree, np.array([1000, 1000]), grow=True)
    assert run_fused(C4.kernel_id, grown, *args[2:]) == -1
    assert (remaining == 0).all() and grown.visits[:, 0].tolist() == [101, 101]
