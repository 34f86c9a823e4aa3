"""Child selection against the PUCT formula written out here, and the walk down a tree."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games.connect4 import ConnectFour
from selfplay.mcts import MCTSConfig
from selfplay.mcts import tree as trees
from selfplay.mcts.selection import descend_gumbel, descend_puct, puct_child, spread_factor, tuned_child
from selfplay.players import PlayerSpecError, make_player

GAME = ConnectFour()


def reference_puct(visits, value_sums, priors, parent_visits, parent_value_sum, config, explore=1.0):
    """Index of the best child by the formula of MCTSConfig's docstring (ties: the first);
    ``explore``: the dynamic cPUCT's factor, computed by hand in the tests below."""
    sign = -1.0 if config.two_player else 1.0
    c = config.c_puct
    if config.c_base > 0:
        c += math.log((parent_visits + config.c_base + 1) / config.c_base)
    c *= explore
    parent_value = parent_value_sum / parent_visits if parent_visits else 0.0
    if config.fpu_mode == "absolute":
        fpu = config.fpu_value
    elif config.fpu_mode == "scaled":
        fpu = parent_value - config.fpu_value * math.sqrt(sum(p for n, p in zip(visits, priors) if n))
    else:
        fpu = parent_value - config.fpu_value
    scores = [(sign * s / n if n else fpu) + c * p * math.sqrt(max(parent_visits, 1)) / (1 + n)
              for n, s, p in zip(visits, value_sums, priors)]
    return int(np.argmax(scores)), scores


@settings(max_examples=200, deadline=None)
@given(
    children=st.lists(st.tuples(st.integers(0, 50), st.floats(-1, 1), st.floats(0.001, 1)), min_size=1, max_size=9),
    parent_value=st.floats(-1, 1),
    c_puct=st.floats(0, 4),
    c_base=st.sampled_from([0.0, 19652.0, 10.0]),
    fpu=st.sampled_from([("reduction", 0.25), ("reduction", 0.0), ("absolute", 1.0), ("absolute", -1.0),
                          ("scaled", 0.2), ("scaled", 0.5)]),
    two_player=st.booleans(),
)
def test_puct_child_matches_the_formula(children, parent_value, c_puct, c_base, fpu, two_player):
    config = MCTSConfig(c_puct=c_puct, c_base=c_base, fpu_mode=fpu[0], fpu_value=fpu[1], two_player=two_player)
    t = trees.allocate(1, 16)
    n = len(children)
    legal = np.zeros(9, np.bool_)
    legal[:n] = True
    priors = np.array([p for _, _, p in children] + [0] * (9 - n), np.float32)
    trees.expand_node(t, 0, 0, legal, priors, False, 0.0)
    kids = slice(1, 1 + n)
    t.visits[0, kids] = [v for v, _, _ in children]
    t.value_sum[0, kids] = [v * mean for v, mean, _ in children]
    t.visits[0, 0] = 1 + t.visits[0, kids].sum()
    t.value_sum[0, 0] = parent_value * t.visits[0, 0]
    choose = tuned_child if config.fpu_mode == "scaled" else puct_child
    chosen = choose(t, 0, 0, config.params()) - 1
    best, scores = reference_puct(t.visits[0, kids], t.value_sum[0, kids], t.prior[0, kids], t.visits[0, 0],
                                  t.value_sum[0, 0], config)
    assert scores[chosen] == pytest.approx(scores[best], rel=1e-5, abs=1e-9)


def test_unvisited_children_get_first_play_urgency():
    t = trees.allocate(1, 16)
    trees.expand_node(t, 0, 0, np.ones(3, np.bool_), np.array([0.2, 0.2, 0.6], np.float32), False, 0.0)
    t.visits[0, :4] = [4, 2, 1, 0]
    t.value_sum[0, 1:3] = [0.9, -0.9]  # child 2 looks bad for its player to move: good for us
    absolute_high = MCTSConfig(c_puct=0.0, fpu_mode="absolute", fpu_value=1.0).params()
    assert puct_child(t, 0, 0, absolute_high) == 3  # an untried child beats anything
    reduction = MCTSConfig(c_puct=0.0, fpu_mode="reduction", fpu_value=0.25).params()
    assert puct_child(t, 0, 0, reduction) == 2  # Q = +0.9 beats the untried child's 0 - 0.25


def test_scaled_first_play_urgency_reduces_by_the_visited_prior_mass():
    """Leela Zero's FPU by hand: the parent's value +0.5 less 0.3 * sqrt(the visited children's prior)."""
    t = trees.allocate(1, 16)
    trees.expand_node(t, 0, 0, np.ones(3, np.bool_), np.array([0.04, 0.36, 0.6], np.float32), False, 0.0)
    t.visits[0, :4] = [3, 2, 0, 0]
    t.value_sum[0, 0] = 1.5       # the parent's value: +0.5
    t.value_sum[0, 1] = -0.8      # child 1 is worth +0.4 to the parent
    scaled = MCTSConfig(c_puct=0.0, fpu_mode="scaled", fpu_value=0.3).params()
    reduction = MCTSConfig(c_puct=0.0, fpu_mode="reduction", fpu_value=0.3).params()
    assert tuned_child(t, 0, 0, scaled) == 2      # untried: 0.5 - 0.3 * sqrt(0.04) = 0.44 > 0.4
    assert puct_child(t, 0, 0, reduction) == 1   # untried: 0.5 - 0.3 = 0.2 < 0.4
    t.visits[0, 0], t.value_sum[0, 0] = 4, 2.0    # the parent still at +0.5
    t.visits[0, 2], t.value_sum[0, 2] = 1, 0.5    # child 2 tried: worth -0.5
    assert tuned_child(t, 0, 0, scaled) == 1      # untried: 0.5 - 0.3 * sqrt(0.4) = 0.31 < 0.4
    assert descend_puct(GAME.kernel_id, t, 0, GAME.initial_state(), scaled, 0.0, False) == 1  # the walk reads the mode


def test_descend_replays_the_path_and_counts_virtual_visits():
    t = trees.allocate(1, 64)
    state = GAME.initial_state()
    config = MCTSConfig(leaves_per_round=2, virtual_loss=1.0)
    params = config.params()
    ones = np.ones(7, np.bool_)
    uniform = np.full(7, 1 / 7, np.float32)
    trees.expand_node(t, 0, 0, ones, uniform, False, 0.0)
    t.visits[0, 0] = 1
    trees.expand_node(t, 0, 4, ones, uniform, False, 0.0)  # child for column 4 (action 3), expanded
    t.visits[0, 4] = 1
    t.prior[0, 1:8] = [0, 0, 0, 1, 0, 0, 0]  # make the walk go through it
    t.prior[0, 8:15] = [0, 0, 0, 0, 0, 0, 1]
    walked = state.copy()
    leaf = descend_puct(GAME.kernel_id, t, 0, walked, params, 1.0, False)
    assert t.action[0, leaf] == 6 and t.parent[0, leaf] == 4
    assert (walked == GAME.state_from_moves("47")).all()
    assert t.visits[0, [0, 4, leaf]].tolist() == [2, 2, 1]
    # Virtual loss: each node below the root looks one loss worse to its parent until backup.
    assert t.value_sum[0, [4, leaf]].tolist() == [1.0, 1.0]


def test_gumbel_walk_stays_in_the_tree_and_counts_visits():
    t = trees.allocate(1, 64)
    ones = np.ones(7, np.bool_)
    trees.expand_node(t, 0, 0, ones, np.full(7, 1 / 7, np.float32), False, 0.0)
    t.visits[0, 0] = 1
    params = MCTSConfig(gumbel=True).params()
    noise = np.zeros((1, 7))
    noise[0, 5] = 3.0  # the Gumbel draw favours action 5 for the first visit
    table = np.zeros((8, 4), np.int32)
    state = GAME.initial_state()
    leaf = descend_gumbel(GAME.kernel_id, t, 0, state, params, 0.0, noise, np.zeros((1, 7), np.int32), table,
                          np.array([7], np.int32), np.zeros(7), False)
    assert t.action[0, leaf] == 5 and t.visits[0, leaf] == 1
    assert (state == GAME.state_from_moves("6")).all()


def _node_with_values(values):
    """A root whose walk is in flight (its visit counted) after ``values`` were backed up through it,
    two children with priors 0.9 and 0.1 that took half the values each (-0.95 and -0.85 for the root)."""
    t = trees.allocate(1, 16)
    trees.expand_node(t, 0, 0, np.array([True, True]), np.array([0.9, 0.1], np.float32), False, 0.0)
    t.visits[0, 0] = len(values) + 1
    t.value_sum[0, 0], t.value_sq_sum[0, 0] = sum(values), sum(v * v for v in values)
    half = len(values) // 2
    t.visits[0, 1:3] = half
    t.value_sum[0, 1:3] = [0.95 * half, 0.85 * half]
    return t


def test_the_dynamic_cpuct_factor_by_hand():
    on = MCTSConfig(cpuct_stdev_scale=0.85).params()  # KataGo's prior 0.4 at weight 2
    # Four values +1, -1, +1, -1: mean 0, mean square 1.
    # variance ((0 + 0.16) * 2 + 1 * 4) / (2 + 4 - 1) - 0 = 0.864, stdev 0.929516
    volatile = _node_with_values([1.0, -1.0, 1.0, -1.0])
    assert spread_factor(volatile, 0, 0, on) == pytest.approx(1 + 0.85 * (0.929516 / 0.4 - 1), rel=1e-5)
    assert spread_factor(volatile, 0, 0, MCTSConfig().params()) == 1.0  # off
    # 100 values of -1: variance ((1 + 0.16) * 2 + 100) / 101 - 1 = 0.0130693, stdev 0.114321
    settled = _node_with_values([-1.0] * 100)
    assert spread_factor(settled, 0, 0, on) == pytest.approx(1 + 0.85 * (0.114321 / 0.4 - 1), rel=1e-5)
    assert spread_factor(_node_with_values([1.0]), 0, 0, on) == 1.0  # one value: the prior alone


def test_a_settled_node_lets_a_small_difference_in_value_decide():
    """100 lost values: at c = 1.25 the favoured child (prior 0.9, Q -0.95) keeps its lead over the
    one worth -0.85: -0.95 + 1.25 * 0.9 * sqrt(101) / 51 = -0.728 > -0.85 + 0.025. With the
    dynamic factor 0.392933 (by hand above) the exploration term shrinks to 0.087 and the better
    value wins: -0.863 < -0.840."""
    settled = _node_with_values([-1.0] * 100)
    assert puct_child(settled, 0, 0, MCTSConfig().params()) == 1
    assert tuned_child(settled, 0, 0, MCTSConfig(cpuct_stdev_scale=0.85).params()) == 2
    visits, sums, priors = settled.visits[0, 1:3], settled.value_sum[0, 1:3], settled.prior[0, 1:3]
    best, _ = reference_puct(visits, sums, priors, 101, -100.0, MCTSConfig(), explore=0.392933)
    assert best == 1


def test_the_net_spec_takes_the_first_play_urgency():
    player = make_player("net:c4,sims=10,fpu=0.2,fpumode=scaled", GAME)
    assert (player.mcts.config.fpu_mode, player.mcts.config.fpu_value) == ("scaled", 0.2)
    assert "fpu=0.2,fpumode=scaled" in player.name
    assert "fpu" not in make_player("net:c4,sims=10", GAME).name
    tuned = make_player("net:c4,sims=10,cstdev=0.85", GAME)
    assert tuned.mcts.config.cpuct_stdev_scale == 0.85 and "cstdev=0.85" in tuned.name
    with pytest.raises(PlayerSpecError, match="net: cstdev must be >= 0"):
        make_player("net:c4,cstdev=-1", GAME)
    with pytest.raises(PlayerSpecError, match="net: fpumode must be one of reduction, absolute, scaled"):
        make_player("net:c4,fpumode=wide", GAME)
