"""Go rules on hand-made positions (ASCII diagrams), and properties of random games checked
against a plain Python reference (flood-fill groups, brute-force legality with positional
superko, Tromp-Taylor area) and a from-scratch recomputation of the incremental bookkeeping."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games import go, kernels
from games.base import GameError, IllegalMoveError, MoveParseError
from games.go import BLACK, EMPTY, WHITE, GoGame

# ---- helpers -----------------------------------------------------------------------------------


def board_from_diagram(text: str) -> np.ndarray:
    """Rows of X (Black), O (White), . or + (empty), top row first, as board[row, col] with
    row 0 the bottom row (the engine's orientation)."""
    marks = {"X": BLACK, "O": WHITE, ".": EMPTY, "+": EMPTY}
    rows = [[marks[ch] for ch in line.split()] for line in text.strip().splitlines()]
    return np.array(rows[::-1], dtype=np.int64)


def position(diagram: str, to_play: str = "B", komi: float = 0.5, **kwargs):
    board = board_from_diagram(diagram)
    game = GoGame(board.shape[0], komi=komi, **kwargs)
    return game, game.from_board(board, to_play="BW".index(to_play))


def play(game, state, *moves):
    for move in moves:
        state = game.step(state, game.parse_move(move))
    return state


def neighbours(n, r, c):
    for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
        if 0 <= rr < n and 0 <= cc < n:
            yield rr, cc


def ref_groups(board):
    """[(colour, stones, liberties)] by flood fill."""
    n = board.shape[0]
    seen, groups = set(), []
    for r in range(n):
        for c in range(n):
            if board[r, c] == EMPTY or (r, c) in seen:
                continue
            colour, stones, libs, stack = board[r, c], {(r, c)}, set(), [(r, c)]
            seen.add((r, c))
            while stack:
                for q in neighbours(n, *stack.pop()):
                    if board[q] == EMPTY:
                        libs.add(q)
                    elif board[q] == colour and q not in seen:
                        seen.add(q)
                        stones.add(q)
                        stack.append(q)
            groups.append((colour, stones, libs))
    return groups


def ref_play(board, r, c, colour):
    """Board after colour plays (r, c), or None when the move is suicide."""
    b = board.copy()
    b[r, c] = colour
    for gc, stones, libs in ref_groups(b):
        if gc != colour and not libs:
            for s in stones:
                b[s] = EMPTY
    for gc, stones, libs in ref_groups(b):
        if (r, c) in stones and not libs:
            return None
    return b


def ref_area_difference(board):
    n = board.shape[0]
    diff = int((board == BLACK).sum() - (board == WHITE).sum())
    seen = set()
    for r in range(n):
        for c in range(n):
            if board[r, c] != EMPTY or (r, c) in seen:
                continue
            region, reach, stack = 0, set(), [(r, c)]
            seen.add((r, c))
            while stack:
                region += 1
                for q in neighbours(n, *stack.pop()):
                    if board[q] == EMPTY:
                        if q not in seen:
                            seen.add(q)
                            stack.append(q)
                    else:
                        reach.add(int(board[q]))
            if reach == {BLACK}:
                diff += region
            elif reach == {WHITE}:
                diff -= region
    return diff


def section(state, k):
    area = int(state[go.AREA])
    return state[go.HEADER + k * area:go.HEADER + (k + 1) * area]


def check_bookkeeping(game, state):
    """Everything the kernels keep incrementally equals a recomputation from the bare board."""
    n, width = game.size, int(state[go.WIDTH])
    board = game.board(state)
    point = lambda r, c: (r + 1) * width + c + 1  # noqa: E731
    head, nxt = section(state, go.HEAD), section(state, go.NEXT)
    stones, libs, ghash = section(state, go.STONES), section(state, go.LIBS), section(state, go.GHASH)
    expected_hash = go.EMPTY_BOARD_HASH
    for colour, members, liberties in ref_groups(board):
        assert liberties, f"a group without liberty at {sorted(members)}"
        points = {point(r, c) for r, c in members}
        heads = {int(head[p]) for p in points}
        assert len(heads) == 1
        g = heads.pop()
        assert g in points
        assert stones[g] == len(points)
        assert libs[g] == sum(board[q] == EMPTY for s in members for q in neighbours(n, *s))
        keys = np.bitwise_xor.reduce(go.ZOBRIST[colour, sorted(points)])
        assert ghash[g] == keys
        expected_hash ^= keys
        cycle, s = set(), g
        while True:
            cycle.add(int(s))
            s = nxt[s]
            if s == g:
                break
        assert cycle == points
    assert state[go.HASH] == expected_hash
    empties = {point(r, c) for r, c in zip(*np.nonzero(board == EMPTY))}
    count = int(state[go.NUM_EMPTY])
    listed = section(state, go.EMPTIES)[:count]
    assert set(listed.tolist()) == empties and count == len(empties)
    assert all(section(state, go.EMPTY_INDEX)[p] == i for i, p in enumerate(listed))
    planes = game.encode(state)
    me = game.to_play(state)
    assert (planes[0] == (board == 1 + me)).all() and (planes[1] == (board == 2 - me)).all()


def ref_legal_points(board, colour, history):
    """Points where colour may play: empty, not suicide, no earlier board recreated."""
    n = board.shape[0]
    legal = np.zeros(n * n + 1, dtype=bool)
    for r in range(n):
        for c in range(n):
            if board[r, c] == EMPTY:
                after = ref_play(board, r, c, colour)
                legal[r * n + c] = after is not None and after.tobytes() not in history
    legal[n * n] = True
    return legal


# ---- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=4), "board size"), (dict(size=20), "board size"), (dict(size=9.0), "board size"),
    (dict(komi=7.3), "multiple of 0.5"), (dict(komi="x"), "komi must be a number"),
    (dict(max_moves=0), "move cap"), (dict(max_moves=-5), "move cap"),
])
def test_bad_parameters_are_rejected_with_a_message(kwargs, message):
    with pytest.raises(GameError, match=message):
        GoGame(**kwargs)


def test_defaults_match_openspiel_conventions():
    game = GoGame(9)
    assert (game.num_actions, game.obs_shape, game.max_moves, game.komi) == (82, (11, 9, 9), 162, 7.5)
    assert game.kernel_id == kernels.GO and game.num_symmetries == 8
    assert game.parse_move("A1") == 0 and game.parse_move("J9") == 80 and game.parse_move("pass") == 81


# ---- captures, suicide, ko, superko ------------------------------------------------------------


def test_capture_of_a_group_with_one_liberty():
    game, state = position("""
        . . . . .
        . X X . .
        X O O X .
        . O X . .
        . X . . .
    """)
    assert game.legal_mask(state)[game.parse_move("A2")]
    after = play(game, state, "A2")
    assert (game.board(after) == WHITE).sum() == 0  # B3, C3 and B2 are gone
    assert game.captures(after) == (3, 0)
    check_bookkeeping(game, after)


def test_one_move_captures_two_groups():
    game, state = position("""
        . . . . .
        . . . . .
        X . . . .
        O X . . .
        . O X . .
    """)
    after = play(game, state, "A1")
    assert (game.board(after) == WHITE).sum() == 0 and game.captures(after) == (2, 0)
    check_bookkeeping(game, after)


def test_snapback():
    game, state = position("""
        . . . . .
        . . . . .
        X X X . .
        O O O X .
        O . . X .
    """)
    state = play(game, state, "B1")  # throw-in: self-atari
    state = play(game, state, "C1")  # White takes it, and is left in atari itself
    assert game.captures(state) == (0, 1)
    assert game.legal_mask(state)[game.parse_move("B1")]
    state = play(game, state, "B1")  # snapback: five stones
    assert game.captures(state) == (5, 1)
    assert (game.board(state) == WHITE).sum() == 0
    check_bookkeeping(game, state)


def test_suicide_is_refused_for_one_stone_and_for_a_group():
    game, state = position("""
        . . . . .
        . . . . .
        . . . . .
        O O . . .
        . X O . .
    """)
    a1 = game.parse_move("A1")
    assert not game.legal_mask(state)[a1]  # Black A1 would join B1 with no liberty left
    with pytest.raises(IllegalMoveError, match="A1 is not legal"):
        game.step(state, a1)
    state = play(game, state, "pass")
    assert game.legal_mask(state)[a1]  # for White, A1 captures B1 first
    game, state = position("""
        . . . . .
        . . . . .
        . . . . .
        O . . . .
        . O . . .
    """)
    assert not game.legal_mask(state)[game.parse_move("A1")]  # a lone stone in the corner


def test_ko_recapture_is_refused_until_a_move_elsewhere():
    game, state = position("""
        . . . . .
        . . . . .
        . X O . .
        X O . O .
        . X O . .
    """)
    state = play(game, state, "C2")  # Black takes the ko
    b2 = game.parse_move("B2")
    assert not game.legal_mask(state)[b2]
    state = play(game, state, "E5", "E4")  # a ko threat and its answer
    assert game.legal_mask(state)[b2]
    assert game.captures(play(game, state, "B2")) == (1, 1)


TRIPLE_KO = """
    . X O . . . . . .
    X . X O . . . . .
    . X O . . . . . .
    . X O . . . . . .
    X O . O . . . . .
    . X O . . . . . .
    . X O . . . . . .
    X O . O . . . . .
    . X O . . . . . .
"""


def test_positional_superko_refuses_the_end_of_a_triple_ko_cycle():
    game, state = position(TRIPLE_KO)
    start = game.board(state)
    # Each move takes one of the three kos, never the one just taken (simple ko allows them all).
    state = play(game, state, "C5", "B8", "C2", "B5", "C8")
    b2 = game.parse_move("B2")
    after = game.board(state)
    after[1, 1], after[1, 2] = WHITE, EMPTY  # what White B2 would give: the start again
    assert (after == start).all()
    assert not game.legal_mask(state)[b2]
    assert game.legal_mask(state)[game.pass_action]
    with pytest.raises(IllegalMoveError):
        game.step(state, b2)


# ---- the end of the game and scoring -----------------------------------------------------------


def test_two_passes_end_the_game():
    game = GoGame(5, komi=7.5)
    state = play(game, game.initial_state(), "pass")
    assert not game.is_terminal(state)
    state = play(game, state, "pass")
    assert game.is_terminal(state) and not game.legal_mask(state).any()
    assert game.result_string(state) == "W+7.5" and game.score(state) == -7.5
    assert game.to_play(state) == 0 and game.terminal_value(state) == -1.0
    assert game.returns(state) == (-1.0, 1.0)
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(state, 0)


def test_a_pass_between_moves_does_not_end_the_game():
    game = GoGame(5)
    state = play(game, game.initial_state(), "pass", "C3", "pass")
    assert not game.is_terminal(state)


def test_seki_points_count_for_neither_side():
    game, state = position("""
        X . O X .
        X . O X .
        O O O X .
        X X X X .
        . . . . .
    """, komi=0)
    # Black: 9 stones + 9 points reaching only Black; White: 5 stones; B5 and B4 touch both.
    assert game.score(state) == 13
    state = play(game, state, "pass", "pass")
    assert game.result_string(state) == "B+13"


SEVEN_POINTS = """
    . . X O .
    . . X O .
    . . X O .
    . . X O .
    . . . X O
"""


@pytest.mark.parametrize("komi, result, black_value", [(7, "Draw", 0.0), (6.5, "B+0.5", 1.0), (7.5, "W+0.5", -1.0)])
def test_scoring_with_komi_and_a_draw(komi, result, black_value):
    game, state = position(SEVEN_POINTS, komi=komi)
    # Black: 5 stones + 11 points (columns A-B and C1) = 16; White: 5 stones + E2-E5 = 9.
    assert go.area_difference(state) == 7
    state = play(game, state, "pass", "pass")
    assert game.score(state) == 7 - komi
    assert game.result_string(state) == result
    assert game.returns(state) == (black_value, -black_value)


def test_the_move_cap_ends_the_game():
    game = GoGame(5, komi=0.5, max_moves=3)
    state = play(game, game.initial_state(), "C3", "D4")
    assert not game.is_terminal(state)
    state = play(game, state, "pass")
    assert game.is_terminal(state) and game.result_string(state) == "W+0.5"
    assert game.legal_mask(state).sum() == 0


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
        p = go._sample_point(state, True, False)
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


# ---- humans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 9, 13, 19])
def test_gtp_vertices_round_trip(size):
    game = GoGame(size)
    for a in range(game.num_actions):
        text = game.format_move(a)
        assert game.parse_move(text) == a and game.parse_move(text.lower()) == a
        assert game.sgf_to_action(game.action_to_sgf(a)) == a
    assert "I" not in "".join(game.format_move(a) for a in range(game.num_actions - 1))


def test_known_coordinates():
    game = GoGame(19)
    assert game.format_move(0) == "A1" and game.format_move(18) == "T1" and game.format_move(360) == "T19"
    assert game.parse_move("J10") == 9 * 19 + 8 and game.parse_move(" k10 ") == 9 * 19 + 9
    assert game.action_to_sgf(game.parse_move("A19")) == "aa" and game.action_to_sgf(0) == "as"
    assert game.sgf_to_action("tt") == game.pass_action and game.sgf_to_action("") == game.pass_action
    assert GoGame(9).parse_move("C3") == 2 * 9 + 2


@pytest.mark.parametrize("text, message", [
    ("", "empty move"), ("   ", "empty move"), ("I3", "no column I"), ("K3", "column K is off"),
    ("A0", "row 0 is off"), ("A10", "row 10 is off"), ("A", "must be a number"), ("Ax", "must be a number"),
    ("33", "not a point"), ("?", "not a point"),
])
def test_bad_vertices_are_rejected_with_a_message(text, message):
    with pytest.raises(MoveParseError, match=message):
        GoGame(9).parse_move(text)


@pytest.mark.parametrize("text", ["a", "aj", "ja", "AA", "abc", "a1"])
def test_bad_sgf_points_are_rejected(text):
    with pytest.raises(MoveParseError, match="SGF point"):
        GoGame(9).sgf_to_action(text)


def test_render_marks_the_last_move_and_labels_every_edge():
    game = GoGame(5)
    state = play(game, game.initial_state(), "C3", "D3")
    assert game.render(state) == "\n".join([
        "    A B C D E",
        " 5  . . . . . 5",
        " 4  . . . . . 4",
        " 3  . . X(O). 3",
        " 2  . . . . . 2",
        " 1  . . . . . 1",
        "    A B C D E",
        "Black to move (move 3); captures: Black 0, White 0",
    ])
    assert game.player_name(0) == "Black" and game.player_name(1) == "White"


def test_from_board_rejects_groups_without_liberties():
    game = GoGame(5)
    board = np.zeros((5, 5), dtype=np.int64)
    board[0, 0], board[0, 1], board[1, 0] = BLACK, WHITE, WHITE
    with pytest.raises(GameError, match="group at A1 has no liberty"):
        game.from_board(board)
    with pytest.raises(GameError, match="shape"):
        game.from_board(np.zeros((4, 4)))
