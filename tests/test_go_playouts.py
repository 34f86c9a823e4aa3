"""Go playouts: rollouts that keep their eyes, uniform random moves, games that reach the end,
and the kernel switch running Go."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from go_reference import check_bookkeeping, position

from games import go, kernels
from games.go import BLACK, EMPTY, WHITE, GoGame
from games.go.playouts import sample_point

# ---- playouts ----------------------------------------------------------------------------------

TWO_EYES = """
    . X X X X
    X X X X X
    X X . X X
    X X X X X
    X X X X X
"""


def test_rollout_never_fills_its_own_eyes():
    game, state = position(TWO_EYES, komi=0.5)
    for start in (0, 1):
        s = state.copy()
        s[go.TO_PLAY] = start
        value = go.rollout(s)
        assert (game.board(s) == game.board(state)).all()  # two passes, nothing filled
        assert value == (1.0 if start == 0 else -1.0)


@pytest.mark.parametrize("diagram, vertex, colour, eyelike", [
    (". . . . .\n. O X . .\n. X . X .\n. . X . .\n. . . . .", "C3", BLACK, True),  # one enemy diagonal
    (". . . . .\n. O X . .\n. X . X .\n. . X O .\n. . . . .", "C3", BLACK, False),  # two
    (". . . . .\n. . . . .\n. . . . .\n. X . . .\nX . X . .", "B1", BLACK, True),  # edge, none
    (". . . . .\n. . . . .\n. . . . .\n. X O . .\nX . X . .", "B1", BLACK, False),  # edge, one
    (". . . . .\n. . . . .\n. . . . .\nX . . . .\n. X . . .", "A1", BLACK, True),  # corner
    (". . . . .\n. . . . .\n. . . . .\nX . . . .\n. X . . .", "A1", WHITE, False),  # not White's
    (". . . . .\n. . . . .\n. . . . .\nX . . . .\n. . . . .", "A1", BLACK, False),  # open side
])
def test_eyelike_points(diagram, vertex, colour, eyelike):
    game, state = position(diagram)
    assert go.is_eyelike(state, go.point_of(state, game.parse_move(vertex)), colour) == eyelike


def test_random_moves_are_uniform_over_the_legal_actions():
    game, state = position("""
        . X O . .
        X . X O .
        . X O . O
        X O . O .
        . X O . .
    """)
    legal = np.flatnonzero(game.legal_mask(state))
    assert len(legal) < game.num_actions - (game.board(state) != EMPTY).sum()  # some empty points are illegal
    go.seed(11)
    draws = 20000
    counts = Counter()
    for _ in range(draws):
        p = sample_point(state, True, False)
        counts[game.pass_action if p == go.PASS_POINT else int(go.action_of(state, p))] += 1
    assert sorted(counts) == legal.tolist()
    expected = draws / len(legal)
    assert all(abs(c - expected) < 5 * expected ** 0.5 for c in counts.values())


def test_random_game_and_rollout_reach_the_end():
    game = GoGame(7)
    go.seed(3)
    for kernel in (go.random_game, go.rollout):
        state = game.initial_state()
        result = kernel(state)
        assert game.is_terminal(state)
        check_bookkeeping(game, state)
        if kernel is go.random_game:
            assert result == game.move_number(state)
        else:
            assert result == game.returns(state)[0]


def test_kernel_switch_runs_go():
    game = GoGame(5)
    state = game.initial_state()
    out = np.zeros(game.num_actions, dtype=np.bool_)
    kernels.legal_mask(kernels.GO, state, out)
    assert out.all()
    kernels.step(kernels.GO, state, 12)
    assert kernels.to_play(kernels.GO, state) == 1
    assert kernels.rollout(kernels.GO, state) in (-1.0, 0.0, 1.0) and kernels.is_terminal(kernels.GO, state)
