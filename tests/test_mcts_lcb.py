"""Leela Zero's move choice by lower confidence bound (MCTSConfig.lcb): the bounds against a
hand computation from the values backed up, the squares kept across tree reuse, and the
choice itself on the fused, batched and lock-step (arena) paths, where a move that wins at
once but trails on visits is played."""

import numpy as np
import pytest

from games.connect4 import ConnectFour
from selfplay.arena.lockstep import BatchedSearch
from selfplay.mcts import MCTS, MCTSConfig, MCTSPlayer
from selfplay.mcts import tree as trees
from selfplay.mcts.errors import MCTSConfigError
from selfplay.players import PlayerSpecError, make_player
from tests.test_mcts_solver import MisleadingPriors  # column 0 favoured, column 3 wins at once

C4 = ConnectFour()


def _walk(t, child, value):
    """One simulation through ``child`` of the root ending there with ``value`` (the child's view)."""
    t.visits[0, 0] += 1
    t.visits[0, child] += 1
    trees.backup(t, 0, child, value, -1.0, 1.0, 0.0, True)


def test_bounds_are_the_mean_less_z_standard_errors_of_the_backed_up_values():
    t = trees.allocate(1, 16)
    trees.reset_tree(t, 0)
    trees.expand_node(t, 0, 0, np.ones(4, np.bool_), np.full(4, 0.25, np.float32), False, 0.0)
    values = {1: [0.2, -0.4, 0.6, 0.1, -0.3, 0.5, 0.0, 0.3, -0.1, 0.4],  # root's view: minus these
              2: [-0.8, -0.6, -0.7],
              3: [0.9],                                               # one visit: no bound
              4: []}
    for child, vs in values.items():
        for v in vs:
            _walk(t, child, v)
    bounds = np.zeros((1, 4))
    trees.root_lower_bounds(t, -1.0, 2.0, 0.0, bounds)
    for child, vs in [(1, values[1]), (2, values[2])]:
        root_view = -np.array(vs)
        expected = root_view.mean() - 2.0 * root_view.std(ddof=1) / np.sqrt(len(vs))
        assert bounds[0, child - 1] == pytest.approx(expected)
    assert bounds[0, 2] == -np.inf and bounds[0, 3] == -np.inf
    # at least half the most visited child's visits (10): the 3-visit child drops out
    trees.root_lower_bounds(t, -1.0, 2.0, 0.5, bounds)
    assert np.isfinite(bounds[0]).tolist() == [True, False, False, False]


def test_reuse_keeps_the_squares_of_the_subtree():
    mcts = MCTS(C4, MisleadingPriors(), MCTSConfig(num_simulations=300, lcb=2.0, seed=0))
    mcts.set_root(0, C4.initial_state())
    mcts.search()
    start = mcts.tree.first_child[0, 0]
    child = start + int(np.argmax(mcts.tree.visits[0, start:start + 7]))
    sq, n = mcts.tree.value_sq_sum[0, child], mcts.tree.visits[0, child]
    mcts.advance([int(mcts.tree.action[0, child])])
    assert mcts.tree.value_sq_sum[0, 0] == sq and mcts.tree.visits[0, 0] == n
    # every node's squares are at least its mean squared times its visits (Cauchy-Schwarz)
    used = mcts.tree.num_nodes[0]
    visits, s, s2 = mcts.tree.visits[0, :used], mcts.tree.value_sum[0, :used], mcts.tree.value_sq_sum[0, :used]
    assert (s2 * np.maximum(visits, 1) >= s * s - 1e-9).all()


def _three_stacked():
    state = C4.initial_state()
    for a in [3, 4, 3, 4, 3, 5]:
        state = C4.step(state, a)
    return state


@pytest.mark.parametrize("lcb, move", [(0.0, 0), (2.0, 3)])
def test_the_bound_plays_the_win_the_visits_miss(lcb, move):
    mcts = MCTS(C4, MisleadingPriors(), MCTSConfig(num_simulations=200, lcb=lcb, seed=0))
    mcts.set_root(0, _three_stacked())
    result = mcts.search()
    assert result.visit_counts[0, 0] > result.visit_counts[0, 3] >= 2
    assert int(result.select_actions(0.0, mcts.rng)[0]) == move
    assert (result.lower_bounds is None) == (lcb == 0)
    if lcb:
        assert result.lower_bounds[0, 3] == 1.0  # every value through it is the win: no spread
        # a temperature samples from the visits as before
        assert result.select_actions(1.0, np.random.default_rng(0)).shape == (1,)


def test_the_arena_lock_step_path_plays_the_bound_and_the_solver():
    for config in (MCTSConfig(num_simulations=200, lcb=2.0, seed=0),
                   MCTSConfig(num_simulations=200, solver=True, seed=0)):
        searcher = BatchedSearch(MCTSPlayer(C4, MisleadingPriors(), config), C4, slots=3)
        for slot in range(3):
            searcher.start(slot, _three_stacked())
        assert searcher.moves([0, 2]) == [3, 3]


def test_specs_and_config_check_the_bound():
    player = make_player("mcts:sims=50,lcb=3,seed=1", C4)
    assert player.mcts.config.lcb == 3.0 and "lcb=3" in player.name
    with pytest.raises(PlayerSpecError, match="lcb must be >= 0"):
        make_player("mcts:sims=50,lcb=-1", C4)
    with pytest.raises(MCTSConfigError, match="Gumbel"):
        MCTSConfig(lcb=1.0, gumbel=True)
    with pytest.raises(MCTSConfigError, match="lcb_min_share"):
        MCTSConfig(lcb=1.0, lcb_min_share=1.5)


def test_the_net_spec_takes_the_policy_temperature():
    with pytest.raises(PlayerSpecError, match="ptemp must be > 0"):
        make_player("net:c4,sims=10,ptemp=0", C4)
