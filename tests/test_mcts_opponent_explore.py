"""Opponent exploration (MCTSConfig.opponent_explore, ``net:...,oppc=K``): K times the exploration
where the root's opponent is to move and only there, checked against the PUCT formula worked out
by hand on a tree built by hand, and on whole searches, where a large K makes the opponent's
replies follow the priors whatever their values (the opponent modelled as a player of the policy)."""

import zlib

import numpy as np
import pytest

from games.connect4 import ConnectFour
from selfplay.mcts import MCTS, MCTSConfig
from selfplay.mcts import tree as trees
from selfplay.mcts.errors import MCTSConfigError
from selfplay.mcts.evaluators import Evaluator
from selfplay.mcts.selection import descend_puct
from selfplay.players import PlayerSpecError, make_player

GAME = ConnectFour()
PRIORS = np.array([0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.02], np.float32)


def hand_built_tree():
    """Root (ours, 10 visits): child 1 (column 1, prior 0.3, worth +0.6 to us over 6 visits) and
    child 2 (column 2, prior 0.7, worth 0 over 3 visits, not expanded). Child 1, the opponent
    to move, is expanded: its reply 3 (prior 0.9) is worth -0.8 to the opponent over 3 visits,
    its reply 4 (prior 0.1) +0.5 over 2 visits. With c = 1.25:
    at the root, explore 1: 0.6 + 1.25 * 0.3 * sqrt(10) / 7 = 0.769 > 0 + 1.25 * 0.7 * sqrt(10) / 4 = 0.692
      (child 1); explore 4: 0.6 + 0.678 = 1.278 < 2.767 (child 2);
    at child 1, explore 1: -0.8 + 1.25 * 0.9 * sqrt(6) / 4 = -0.111 < 0.5 + 1.25 * 0.1 * sqrt(6) / 3 = 0.602
      (reply 4, the opponent's best); explore 4: -0.8 + 2.756 = 1.956 > 0.5 + 0.408 = 0.908 (reply 3,
      the policy's)."""
    t = trees.allocate(1, 32)
    two = np.zeros(7, np.bool_)
    two[:2] = True
    trees.expand_node(t, 0, 0, two, np.array([0.3, 0.7, 0, 0, 0, 0, 0], np.float32), False, 0.0)
    t.visits[0, 0], t.value_sum[0, 0] = 10, 0.0
    t.visits[0, 1], t.value_sum[0, 1] = 6, -3.6   # stored for the opponent, to move there
    t.visits[0, 2], t.value_sum[0, 2] = 3, 0.0
    trees.expand_node(t, 0, 1, two, np.array([0.9, 0.1, 0, 0, 0, 0, 0], np.float32), False, 0.0)
    t.visits[0, 3], t.value_sum[0, 3] = 3, 2.4    # stored for us, to move there
    t.visits[0, 4], t.value_sum[0, 4] = 2, -1.0
    return t


@pytest.mark.parametrize("explore, leaf", [(1.0, 4), (4.0, 3)])
def test_only_the_opponents_nodes_explore_more(explore, leaf):
    t = hand_built_tree()
    params = MCTSConfig(c_puct=1.25, opponent_explore=explore).params()
    # The root kept child 1 (with explore 4 there it would have taken child 2, a leaf at depth 1);
    # child 1 took the opponent's best reply at 1 and the policy's reply at 4.
    assert descend_puct(GAME.kernel_id, t, 0, GAME.initial_state(), params, 0.0, False) == leaf


class FixedPriors(Evaluator):
    """The same priors on every leaf and a value fixed by the position (a hash), so that a search
    that follows values sends the opponent's visits far from the priors."""

    def evaluate(self, batch):
        values = np.array([np.random.default_rng(zlib.crc32(s.tobytes())).uniform(-0.9, 0.9)
                           for s in batch.states], np.float32)
        return np.tile(PRIORS, (len(batch), 1)), values


def reply_shares(explore):
    """The visit shares of the replies to the root's most visited move, after 3,000 simulations."""
    mcts = MCTS(GAME, FixedPriors(), MCTSConfig(num_simulations=3000, opponent_explore=explore, seed=0),
                batch_size=1)
    mcts.set_roots([GAME.initial_state()])
    result = mcts.search()
    t = mcts.tree
    child = trees.child_with_action(t, 0, 0, int(result.visit_counts[0].argmax()))
    start, n = t.first_child[0, child], t.num_children[0, child]
    visits = t.visits[0, start:start + n].astype(float)
    return visits / visits.sum(), visits.sum()


def test_a_large_factor_gives_the_opponents_replies_their_prior_shares():
    """PUCT with c * K far above any difference of Q picks argmax prior / (1 + visits): each visit
    goes to the reply furthest below its prior's share, so every reply stays within a visit or
    two of prior * total (the first visit of each is the parent's expansion order)."""
    shares, total = reply_shares(1e6)
    assert total > 300
    assert np.abs(shares - PRIORS).max() <= 2.0 / total
    plain, _ = reply_shares(1.0)
    assert np.abs(plain - PRIORS).max() > 0.1  # the plain search follows the values instead


def test_opponent_explore_is_refused_where_it_means_nothing():
    with pytest.raises(MCTSConfigError, match="opponent_explore must be > 0"):
        MCTSConfig(opponent_explore=0.0)
    with pytest.raises(MCTSConfigError, match="two-player game"):
        MCTSConfig(opponent_explore=2.0, gumbel=True)
    with pytest.raises(MCTSConfigError, match="two-player game"):
        MCTSConfig(opponent_explore=2.0, two_player=False)
    with pytest.raises(PlayerSpecError, match="oppc must be > 0"):
        make_player("net:c4,oppc=-1", GAME, check_only=True)
