"""Go playouts: rollouts that keep their eyes, the light playout (simple ko, no hashes) checked
move by move and against the full-rules one, uniform random moves, games that reach the end,
and the kernel switch running Go."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from go_reference import (
    check_bookkeeping,
    neighbours,
    position,
    ref_area_difference,
    ref_groups,
    ref_play,
    section,
)

from games import go, kernels
from games.go import BLACK, EMPTY, WHITE, GoGame
from games.go.board import is_legal_point, light_step
from games.go.playouts import (
    _playout_area_difference,
    full_rollout,
    sample_light,
    sample_point,
)
from games.go.scoring import area_difference, score2
from games.go.state import table_insert

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
    for kernel in (go.random_game, full_rollout, go.rollout):
        state = game.initial_state()
        result = kernel(state)
        assert game.is_terminal(state)
        if kernel is go.rollout:  # light moves: hashes, history planes and position table are stale
            check_bookkeeping(game, state, hashes=False)
        else:
            check_bookkeeping(game, state)
        if kernel is go.random_game:
            assert result == game.move_number(state)
        else:
            assert result == game.returns(state)[0]


# ---- the light playout -------------------------------------------------------------------------

def eyelike(board, r, c, colour):
    """is_eyelike on a bare board, for the reference."""
    n = board.shape[0]
    if any(board[q] != colour for q in neighbours(n, r, c)):
        return False
    diagonals = [(r + dr, c + dc) for dr in (-1, 1) for dc in (-1, 1)]
    inside = [q for q in diagonals if 0 <= q[0] < n and 0 <= q[1] < n]
    return sum(board[q] == 3 - colour for q in inside) + (len(inside) < 4) < 2


@pytest.mark.parametrize("size, seed", [(5, 1), (7, 2), (9, 3), (9, 4)])
def test_light_playout_moves_are_legal_under_simple_ko(size, seed):
    """Step by step as rollout plays (the first move by the full rules, then sample_light and
    light_step), each move checked against the plain Python rules: legal (no suicide), not the
    simple-ko point, never the mover's eye-like point, a pass only when no such move is left,
    the board after it as the reference plays it, and the ko point exactly the immediate
    recapture of a single stone by a single stone."""
    game = GoGame(size, komi=7.5)
    state = game.initial_state()
    go.seed(seed)
    ko = light_step(state, sample_point(state, False, True))
    x = seed * 7919 + 1
    kos = 0
    while not game.is_terminal(state):
        board, colour = game.board(state), int(state[go.TO_PLAY]) + 1
        ko_action = None if ko == 0 else int(go.action_of(state, ko))
        p, x = sample_light(state, ko, x)
        allowed = {r * size + c for r in range(size) for c in range(size)
                   if board[r, c] == EMPTY and r * size + c != ko_action
                   and ref_play(board, r, c, colour) is not None and not eyelike(board, r, c, colour)}
        if p == go.PASS_POINT:
            assert not allowed
            expected = board
        else:
            a = int(go.action_of(state, p))
            assert a in allowed
            expected = ref_play(board, a // size, a % size, colour)
        ko = light_step(state, p)
        after = game.board(state)
        assert (after == expected).all()
        if p != go.PASS_POINT:
            captured = np.argwhere((board == 3 - colour) & (after == EMPTY))
            r, c = a // size, a % size
            alone = all(after[q] != colour for q in neighbours(size, r, c))
            libs = [q for q in neighbours(size, r, c) if after[q] == EMPTY]
            is_ko = len(captured) == 1 and alone and len(libs) == 1
            assert ko == (go.point_of(state, int(captured[0][0] * size + captured[0][1])) if is_ko else 0)
            kos += is_ko
        else:
            assert ko == 0
        check_bookkeeping(game, state, hashes=False)
    assert game.is_terminal(state)
    assert kos > 0  # these seeds take at least one ko, so the ko point was checked


def test_simple_ko_forbids_the_immediate_recapture_only():
    game, state = position("""
        . X O . .
        X O . O .
        . X O . .
        . . . . .
        . . . . .
    """)
    ko = light_step(state, go.point_of(state, game.parse_move("C4")))  # Black takes B4
    assert ko == go.point_of(state, game.parse_move("B4"))
    counts = Counter()
    x = 99
    for _ in range(3000):
        p, x = sample_light(state.copy(), ko, x)
        counts[p] += 1
    assert ko not in counts and len(counts) > 5
    retake = Counter()
    for _ in range(3000):
        p, x = sample_light(state.copy(), 0, x)
        retake[p] += 1
    assert retake[ko] > 0  # legal but for the ko rule
    assert light_step(state.copy(), go.PASS_POINT) == 0  # a pass lifts the ko


@pytest.mark.parametrize("size", [5, 7, 9])
def test_light_rollout_ends_in_a_legal_position_scored_by_the_full_rules(size):
    """The final board is a legal position (from_board rejects a group without liberty) and
    the value is its area score by the full kernels (setup_stones then score2), and the
    plain Python count, from the point of view of the player to move at the start."""
    game = GoGame(size, komi=7.5)
    go.seed(size)
    opening = game.initial_state()
    for action in (size * size // 2, 0, size + 1):  # a few moves, so both colours may start
        for start in (0, 1):
            for _ in range(15):
                state = opening.copy()
                state[go.TO_PLAY] = start
                value = go.rollout(state)
                assert state[go.PASSES] == 2 or state[go.MOVE_NUMBER] == state[go.MAX_MOVES]
                board = game.board(state)
                reference = game.from_board(board)
                check_bookkeeping(game, reference)
                s = int(score2(reference))
                assert s == 2 * ref_area_difference(board) - 15
                black = np.sign(s)
                assert value == (black if start == 0 else -black)
        opening = game.step(opening, action)


def test_playout_scoring_counts_as_area_difference():
    """The playouts' scorer (one-point regions without a branch per point, else the flood fill)
    against area_difference: ends of playouts, ends of random games (larger regions) and
    positions in the middle of games."""
    game = GoGame(9, komi=7.5)
    go.seed(17)
    positions = []
    for _ in range(40):
        state = game.initial_state()
        go.rollout(state)
        positions.append(state)
        state = game.initial_state()
        go.random_game(state)
        positions.append(state)
        state = game.initial_state()
        for _ in range(30):
            state = game.step(state, int(go.action_of(state, sample_point(state, False, True))))
        positions.append(state)
    fallbacks = 0
    for state in positions:
        board = game.board(state)
        fallbacks += any(board[q] == EMPTY for r, c in zip(*np.nonzero(board == EMPTY)) for q in neighbours(9, r, c))
        assert _playout_area_difference(state) == area_difference(state) == ref_area_difference(board)
    assert 40 <= fallbacks < len(positions)  # both paths taken
    eyes, state = position(TWO_EYES)
    assert _playout_area_difference(state) == ref_area_difference(eyes.board(state)) == 25


def test_light_rollout_repeats_with_the_seed():
    game = GoGame(9, komi=7.5)
    runs = []
    for seed in (5, 5, 6):
        go.seed(seed)
        state = game.initial_state()
        value = go.rollout(state)
        runs.append((value, int(state[go.MOVE_NUMBER]), game.board(state)))
    assert runs[0][:2] == runs[1][:2] and (runs[0][2] == runs[1][2]).all()
    assert not (runs[0][2] == runs[2][2]).all()


def test_light_rollout_wins_as_often_as_the_full_rules_one():
    """White's win rate over 20000 playouts from the empty 9x9 board, komi 7.5 (about 0.58),
    under light rules and under the full ones: independent samples, so the difference has a
    standard deviation of sqrt(2 * 0.58 * 0.42 / 20000) = 0.005; 0.025 is five of them (the
    seeds are fixed, so the test is deterministic). Simple ko differs from positional superko
    only in long cycles, rare in random play."""
    game = GoGame(9, komi=7.5)
    template = game.initial_state()
    rates = []
    for kernel in (go.rollout, full_rollout):
        go.seed(2024)
        n = 20000
        white = sum(kernel(template.copy()) < 0 for _ in range(n))  # Black to move at the start
        rates.append(white / n)
    assert 0.5 < rates[0] < 0.66
    assert abs(rates[0] - rates[1]) < 0.025, rates


# ---- legal_mask at the leaves ------------------------------------------------------------------

def test_legal_mask_agrees_with_is_legal_point():
    """legal_mask (what rollout MCTS asks at every leaf) skips hash_after for a point with no
    stone next to it; point by point it still equals is_legal_point, over random games and when
    such a point's position is in the table (positional superko, put there by hand)."""
    game = GoGame(7, komi=7.5)
    go.seed(23)
    for _ in range(20):
        state = game.initial_state()
        while not game.is_terminal(state):
            me = int(state[go.TO_PLAY]) + 1
            expected = [bool(is_legal_point(state, go.point_of(state, a), me)) for a in range(49)] + [True]
            assert game.legal_mask(state).tolist() == expected
            p = sample_point(state, True, False)
            state = game.step(state, game.pass_action if p == go.PASS_POINT else int(go.action_of(state, p)))
    state = game.initial_state()
    state = game.step(state, 0)
    isolated = go.point_of(state, 24)  # the centre, no stone next to it; White to move
    assert game.legal_mask(state)[24]
    table_insert(state, state[go.HASH] ^ go.ZOBRIST[go.WHITE, isolated])
    assert not game.legal_mask(state)[24] and not is_legal_point(state, isolated, go.WHITE)
    assert game.legal_mask(state).sum() == 48  # A1 taken, the centre refused, pass


def test_kernel_switch_runs_go():
    game = GoGame(5)
    state = game.initial_state()
    out = np.zeros(game.num_actions, dtype=np.bool_)
    kernels.legal_mask(kernels.GO, state, out)
    assert out.all()
    kernels.step(kernels.GO, state, 12)
    assert kernels.to_play(kernels.GO, state) == 1
    assert kernels.rollout(kernels.GO, state) in (-1.0, 0.0, 1.0) and kernels.is_terminal(kernels.GO, state)
