"""Evaluators: outputs against exact expectations, and the checks on what an evaluator returns."""

from functools import lru_cache

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.tictactoe import TicTacToe
from selfplay.mcts import (
    EvaluatorError,
    MCTSConfigError,
    NetworkEvaluator,
    RolloutEvaluator,
    UniformEvaluator,
)
from selfplay.mcts.evaluators import LeafBatch, checked_outputs

TTT, C4 = TicTacToe(), ConnectFour()


def batch_of(game, states, planes=False):
    states = np.stack(states)
    legal = np.stack([game.legal_mask(s) for s in states])
    encoded = np.stack([game.encode(s) for s in states]) if planes else None
    return LeafBatch(game, states, legal, encoded, np.arange(len(states)))


def expected_random_playout(game, state):
    """Exact expected outcome of a uniformly random playout, for the player to move (recursion)."""

    @lru_cache(maxsize=None)
    def value(key):
        s = np.array(key, dtype=np.int64)
        if game.is_terminal(s):
            return game.terminal_value(s)
        return float(np.mean([-value(tuple(game.step(s, a))) for a in game.legal_actions(s)]))

    return value(tuple(state))


def test_uniform_evaluator():
    batch = batch_of(C4, [C4.initial_state(), C4.state_from_moves("444444")])
    priors, values = UniformEvaluator().evaluate(batch)
    assert priors.dtype == np.float32 and values.dtype == np.float32
    assert priors[0] == pytest.approx([1 / 7] * 7)
    assert priors[1] == pytest.approx([1 / 6] * 3 + [0] + [1 / 6] * 3)
    assert (values == 0).all()


def test_rollout_values_average_to_the_exact_playout_expectation():
    rng = np.random.default_rng(0)
    states = []
    while len(states) < 6:
        s = TTT.initial_state()
        for _ in range(rng.integers(3, 7)):
            s = TTT.step(s, rng.choice(TTT.legal_actions(s)))
            if TTT.is_terminal(s):
                break
        if not TTT.is_terminal(s):
            states.append(s)
    n = 4000
    _, values = RolloutEvaluator(n).evaluate(batch_of(TTT, states))
    for state, value in zip(states, values):
        # The mean of n outcomes in [-1, 1] has a standard deviation of at most 1 / sqrt(n).
        assert value == pytest.approx(expected_random_playout(TTT, state), abs=4 / np.sqrt(n))


def test_a_single_rollout_is_exact_when_only_one_move_is_left():
    state = TTT.initial_state()
    for a in [0, 1, 2, 4, 3, 5, 7, 6]:  # eight moves without a line: X to move, c3 left
        state = TTT.step(state, a)
    _, values = RolloutEvaluator(1).evaluate(batch_of(TTT, [state]))
    assert values[0] == expected_random_playout(TTT, state)


def test_rollouts_must_be_a_positive_integer():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(MCTSConfigError, match="rollouts"):
            RolloutEvaluator(bad)


def test_network_evaluator_passes_planes_and_masks():
    calls = []

    def network(planes, legal):
        calls.append((planes, legal))
        return np.ones(legal.shape), np.full((len(legal), 1), 0.5)  # a [n, 1] value head is fine

    evaluator = NetworkEvaluator(network, outputs="priors")
    assert evaluator.needs_planes and not evaluator.returns_logits
    batch = batch_of(C4, [C4.initial_state(), C4.state_from_moves("4")], planes=True)
    policy, values = checked_outputs(evaluator, batch, evaluator.evaluate(batch))
    assert calls[0][0] is batch.planes and calls[0][1] is batch.legal_mask
    assert policy.dtype == np.float32 and values.tolist() == [0.5, 0.5]
    with pytest.raises(MCTSConfigError, match="outputs"):
        NetworkEvaluator(network, outputs="probabilities")


@pytest.mark.parametrize("outputs, logits, message", [
    ((np.zeros((2, 6)), np.zeros(2)), True, r"policy of shape \(2, 6\), expected \(2, 7\)"),
    ((np.zeros((2, 7)), np.zeros(3)), True, r"values of shape \(3,\), expected \(2,\)"),
    ((np.zeros((2, 7)), np.array([0.0, 1.5])), True, "value 1.5 for leaf 1"),
    ((np.zeros((2, 7)), np.array([np.nan, 0.0])), True, "value nan for leaf 0"),
    ((np.full((2, 7), np.inf), np.zeros(2)), True, "logit inf for legal action 0 of leaf 0"),
    ((-np.ones((2, 7)), np.zeros(2)), False, "probability -1.0 for legal action 0"),
    ((np.zeros(2), np.zeros(2)), True, "policy of shape"),
    (None, True, "must return"),
])
def test_bad_outputs_are_named(outputs, logits, message):
    evaluator = NetworkEvaluator(lambda p, m: None, outputs="logits" if logits else "priors")
    batch = batch_of(C4, [C4.initial_state(), C4.state_from_moves("4")])
    with pytest.raises(EvaluatorError, match=message):
        checked_outputs(evaluator, batch, outputs)


def test_anything_goes_on_illegal_moves():
    batch = batch_of(C4, [C4.state_from_moves("444444")])
    policy = np.zeros((1, 7))
    policy[0, 3] = np.nan  # column 4 is full
    checked, _ = checked_outputs(NetworkEvaluator(lambda p, m: None), batch, (policy, np.zeros(1)))
    assert np.isnan(checked[0, 3])  # kept as given: the tree never reads it
