"""Properties of random Go games checked against the plain Python reference of tests/go_reference.py
and the kernels' own bookkeeping, symmetries, and the history planes."""

from __future__ import annotations

import numpy as np
import pytest
from go_reference import check_bookkeeping, play, ref_area_difference, ref_legal_points
from hypothesis import given, settings
from hypothesis import strategies as st

from games import go
from games.go import BLACK, WHITE, GoGame

# ---- properties of random games ----------------------------------------------------------------


def random_actions(game, rng, num_moves, pass_rate):
    """(states, actions) of a random legal game: points uniform among the legal ones."""
    state, states, actions = game.initial_state(), [], []
    for _ in range(num_moves):
        if game.is_terminal(state):
            break
        points = np.flatnonzero(game.legal_mask(state)[:-1])
        a = game.pass_action if not len(points) or rng.random() < pass_rate else int(rng.choice(points))
        states.append(state)
        actions.append(a)
        state = game.step(state, a)
    states.append(state)
    return states, actions


@settings(max_examples=25, deadline=None)
@given(size=st.integers(5, 7), seed=st.integers(0, 2**32 - 1), num_moves=st.integers(1, 120),
       pass_rate=st.sampled_from([0.0, 0.03, 0.3]))
def test_random_games_match_the_reference_rules(size, seed, num_moves, pass_rate):
    game = GoGame(size, komi=0.5, max_moves=4 * size * size)
    states, actions = random_actions(game, np.random.default_rng(seed), num_moves, pass_rate)
    history = set()
    placed = [0, 0]
    for state, action in zip(states, actions):
        board = game.board(state).astype(np.int64)
        history.add(board.tobytes())
        check_bookkeeping(game, state)
        expected = ref_legal_points(board, BLACK + game.to_play(state), history)
        assert (game.legal_mask(state) == expected).all()
        for a in np.flatnonzero(expected[:-1]):  # the O(1) hash prediction behind superko
            child = state.copy()
            go.step(child, a)
            assert go.hash_after(state, go.point_of(state, a), BLACK + game.to_play(state)) == child[go.HASH]
        black, white = game.captures(state)
        assert (board == BLACK).sum() == placed[0] - white and (board == WHITE).sum() == placed[1] - black
        if action != game.pass_action:
            placed[game.to_play(state)] += 1
    final = states[-1]
    check_bookkeeping(game, final)
    assert go.area_difference(final) == ref_area_difference(game.board(final))


@settings(max_examples=10, deadline=None)
@given(size=st.sampled_from([5, 6, 9]), seed=st.integers(0, 2**32 - 1), num_moves=st.integers(0, 60))
def test_symmetries_commute_with_the_rules(size, seed, num_moves):
    game = GoGame(size)
    states, actions = random_actions(game, np.random.default_rng(seed), num_moves, 0.05)
    planes = game.encode(states[-1])
    mask = game.legal_mask(states[-1]).astype(np.float32)
    assert (planes[9].reshape(-1) == mask[:-1]).all()
    for k in range(8):
        state = game.initial_state()
        for a in actions:
            state = game.step(state, game.symmetry_action(k, a))
        sym_planes, sym_mask = game.symmetry(k, planes, mask)
        assert (game.encode(state) == sym_planes).all()
        assert (game.legal_mask(state) == sym_mask.astype(bool)).all()


def test_the_eight_symmetries_are_distinct_and_keep_pass():
    game = GoGame(5)
    policy = np.arange(game.num_actions, dtype=np.float32)
    planes = policy[:-1].reshape(1, 5, 5)
    images = set()
    for k in range(8):
        p, q = game.symmetry(k, planes, policy)
        assert q[-1] == policy[-1] and (p.reshape(-1) == q[:-1]).all()
        assert sorted(q.tolist()) == sorted(policy.tolist())
        images.add(q.tobytes())
    assert len(images) == 8
    with pytest.raises(ValueError):
        game.symmetry(8, planes, policy)


def test_history_planes_show_the_previous_positions():
    game = GoGame(5)
    state = play(game, game.initial_state(), "C3", "D4", "pass", "B2")
    planes = game.encode(state)  # Black to move: own stones are Black's
    c3, d4, b2 = (2, 2), (3, 3), (1, 1)
    assert planes[0][c3] == 1 and planes[1][d4] == 1 and planes[1][b2] == 1 and planes[0].sum() == 1
    assert planes[2][c3] == 1 and planes[3][d4] == 1 and planes[3][b2] == 0  # before B2
    assert planes[4][c3] == 1 and planes[5][d4] == 1 and planes[5].sum() == 1  # before the pass
    assert planes[6][c3] == 1 and planes[7].sum() == 0  # before D4
    assert planes[8].sum() == 25 and planes[10].sum() == 25
    assert planes[9][c3] == 0 and planes[9][0, 0] == 1 and planes[9].sum() == 25 - 3
    white = game.encode(play(game, state, "pass"))
    assert white[8].sum() == 0 and white[0][d4] == 1 and white[1][c3] == 1
