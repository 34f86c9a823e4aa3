"""The Connect Four solver: Pons's benchmark scores, a brute-force minimax written here, known
opening values, the opening book's consistency, bad input."""

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from games import connect4_solver as cs
from games.connect4 import MASK, MOVES, POSITION, ConnectFour

GAME = ConnectFour()
SAMPLE = Path(__file__).parent / "data" / "connect4_sample.txt"
DATA = Path(os.environ.get("SELFPLAY_C4_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "connect4"))
FILES = ("Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1")
DRAWN_GAME = "666165577462463234152541333211132724554777"  # 42 moves, nobody connects four
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=f"benchmark positions not found in {DATA} (SELFPLAY_C4_DATA)")


@pytest.fixture(scope="module")
def solver():
    return cs.Solver(log_size=20, book=False)


def read_lines(path, every=1):
    lines = [line.split() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [(moves, int(score)) for moves, score in lines[::every]]


def check_scores(solver, lines):
    wrong = [(moves, score, solver.solve(GAME.state_from_moves(moves))) for moves, score in lines]
    wrong = [w for w in wrong if w[1] != w[2]]
    assert not wrong, f"(moves, expected, got): {wrong[:5]}"


# ---- brute force ----------------------------------------------------------------------------
def brute_move_scores(moves: str) -> list:
    """Score of each column by plain minimax on a 2-D grid (memoised, no pruning), None when full."""
    cols = [[] for _ in range(7)]
    for i, ch in enumerate(moves):
        cols[int(ch) - 1].append(i % 2)
    return list(_brute_children(tuple(tuple(c) for c in cols), len(moves)))


def _connects(cols, col, player):
    row = len(cols[col]) - 1
    def owner(c, r):
        return cols[c][r] if 0 <= c < 7 and 0 <= r < len(cols[c]) else None
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        for start in range(-3, 1):
            if all(owner(col + (start + k) * dc, row + (start + k) * dr) == player for k in range(4)):
                return True
    return False


@lru_cache(maxsize=None)
def _brute_children(cols, n):
    player = n % 2
    out = []
    for c in range(7):
        if len(cols[c]) == 6:
            out.append(None)
            continue
        child = tuple(col + (player,) if i == c else col for i, col in enumerate(cols))
        if _connects(child, c, player):
            out.append(22 - (n // 2 + 1))  # the mover's stones once it has connected four
        elif n + 1 == 42:
            out.append(0)
        else:
            out.append(-max(s for s in _brute_children(child, n + 1) if s is not None))
    return tuple(out)


def random_late_position(rng, empty):
    """A position with ``empty`` empty cells where nobody has connected four yet."""
    while True:
        state, moves = GAME.initial_state(), ""
        while 42 - len(moves) > empty:
            safe = []
            for col in GAME.legal_actions(state):
                child = GAME.step(state, col)
                if not GAME.is_terminal(child):
                    safe.append(col)
            if not safe:
                break
            col = int(rng.choice(safe))
            state, moves = GAME.step(state, col), moves + str(col + 1)
        if 42 - len(moves) == empty:
            return moves


def test_solver_matches_brute_force_on_late_positions(solver):
    rng = np.random.default_rng(7)
    checked = 0
    for empty in [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] * 4:
        moves = random_late_position(rng, empty)
        expected = brute_move_scores(moves)
        state = GAME.state_from_moves(moves)
        got = solver.move_scores(state)
        assert [None if s == cs.ILLEGAL else int(s) for s in got] == expected, moves
        assert solver.solve(state) == max(s for s in expected if s is not None), moves
        weak = solver.move_scores(state, weak=True)
        assert [None if s == cs.ILLEGAL else int(s) for s in weak] == [None if s is None else int(np.sign(s)) for s in expected]
        checked += 1
    assert checked == 44


def test_best_moves_are_the_maxima_of_the_brute_force_scores(solver):
    """The probe-per-column search (best_moves, first_best_move) against plain minimax."""
    rng = np.random.default_rng(8)
    for empty in [3, 5, 7, 9, 11, 12] * 3:
        moves = random_late_position(rng, empty)
        expected = brute_move_scores(moves)
        state = GAME.state_from_moves(moves)
        for weak in (False, True):
            scores = [s if s is None or not weak else int(np.sign(s)) for s in expected]
            top = max(s for s in scores if s is not None)
            best = [c for c, s in enumerate(scores) if s == top]
            assert list(solver.best_moves(state, weak=weak)) == best, (moves, weak)
            for _ in range(3):
                order = rng.permutation(7)
                first = next(c for c in order if c in best)
                assert solver.first_best_move(state, order, weak=weak) == first, (moves, weak, order)


# ---- benchmark positions --------------------------------------------------------------------
def test_committed_sample_scores(solver):
    check_scores(solver, read_lines(SAMPLE))


def test_committed_sample_scores_with_book_and_fresh_tables():
    solver = cs.Solver(log_size=18)
    for moves, score in read_lines(SAMPLE):
        solver.reset()
        assert solver.solve(GAME.state_from_moves(moves)) == score, moves


@needs_data
@pytest.mark.parametrize("name", FILES)
def test_benchmark_file_sample(solver, name):
    check_scores(solver, read_lines(DATA / name, every=20))  # 50 positions per file


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize("name", FILES)
def test_benchmark_file_every_position(solver, name):
    check_scores(solver, read_lines(DATA / name))


def test_solve_batch_resets_between_positions(solver):
    lines = read_lines(SAMPLE)
    states = [GAME.state_from_moves(m) for m, _ in lines]
    pos = np.array([s[POSITION] for s in states])
    mask = np.array([s[MASK] for s in states])
    moves = np.array([s[MOVES] for s in states])
    out = np.zeros(len(states), dtype=np.int64)
    generation = solver.info[cs.GENERATION]
    cs.solve_batch(pos, mask, moves, True, solver.table, solver.order, solver.book, solver.info, out)
    assert list(out) == [score for _, score in lines]
    assert solver.info[cs.GENERATION] == generation + len(states) - 1


def test_generation_wraparound_clears_the_table():
    solver = cs.Solver(log_size=18, book=False)
    state = GAME.state_from_moves("2252576253462244111563365343671351441")
    first = solver.solve(state)
    assert np.any(solver.table != 0)
    solver.info[cs.GENERATION] = cs.MAX_GENERATION
    solver.reset()
    assert solver.info[cs.GENERATION] == 1 and not np.any(solver.table)
    assert solver.solve(state) == first == -1


# ---- positions at the edges -----------------------------------------------------------------
def test_immediate_win_scores():
    solver = cs.Solver(log_size=18, book=False)
    state = GAME.state_from_moves("445566")  # X has three in the bottom row, both ends open
    assert solver.solve(state) == 18
    scores = solver.move_scores(state)
    assert scores[2] == scores[6] == 18
    assert solver.solve(GAME.state_from_moves("4455")) == 18  # X wins with its 4th stone
    assert solver.solve(GAME.state_from_moves("44455554221")) == -15


def test_last_cell_and_full_board():
    solver = cs.Solver(log_size=18, book=False)
    state = GAME.state_from_moves(DRAWN_GAME[:-1])
    assert solver.solve(state) == 0
    assert list(solver.move_scores(state)) == [cs.ILLEGAL] * 6 + [0]
    with pytest.raises(cs.GameOverError, match="full"):
        solver.solve(GAME.state_from_moves(DRAWN_GAME))


def test_finished_game_is_a_clear_error():
    solver = cs.Solver(log_size=18, book=False)
    state = GAME.state_from_moves("4455667")  # X connects four in the bottom row
    with pytest.raises(cs.GameOverError, match="four in a row"):
        solver.solve(state)
    with pytest.raises(cs.GameOverError):
        solver.move_scores(state)


def test_mirror_images_score_alike(solver):
    for moves, score in read_lines(SAMPLE)[:24]:
        mirrored = "".join(str(8 - int(c)) for c in moves)
        a, b = GAME.state_from_moves(moves), GAME.state_from_moves(mirrored)
        assert cs.book_key(a[POSITION], a[MASK]) == cs.book_key(b[POSITION], b[MASK])
        assert solver.solve(b) == score


def test_describe_score():
    assert cs.describe_score(0, 10) == "draw with best play from both sides"
    # "4455": X to move with 2 stones wins with its 4th stone (score 18): its 2nd from now
    assert cs.describe_score(18, 4) == "X wins with its 2nd stone from now (its 4th)"
    # "44455554221": O to move, X (6 stones) wins with its 7th
    assert cs.describe_score(-15, 11) == "X wins with its 1st stone from now (its 7th)"
    assert cs.describe_score(1, 0) == "X wins with its 21st stone from now (its 21st)"


def test_log_size_is_checked():
    with pytest.raises(ValueError, match="log_size"):
        cs.Solver(log_size=10)


# ---- opening book ---------------------------------------------------------------------------
def test_book_is_consulted_at_the_root_and_inside_the_search(tmp_path):
    """A made-up book entry (a false score, so its use shows) for the position after column 6."""
    moves = "2252576253462244111563365343671351441"  # only columns 6 (-1) and 7 (-2) are legal
    child = GAME.state_from_moves(moves + "6")
    key = int(cs.book_key(child[POSITION], child[MASK]))
    path = tmp_path / "book.npz"
    np.savez(path, entries=np.array([(key << 8) | (-5 + 128)], dtype=np.int64), depth=np.int64(40))
    solver = cs.Solver(log_size=18, book=False)
    solver.book, depth = cs.load_book(path)
    solver.info[cs.BOOK_DEPTH] = depth
    assert solver.solve(child) == -5
    assert solver.solve(GAME.state_from_moves(moves)) == 5
    assert list(solver.move_scores(GAME.state_from_moves(moves))) == [cs.ILLEGAL] * 5 + [5, -2]
    mirrored = GAME.state_from_moves("".join(str(8 - int(c)) for c in moves + "6"))
    assert solver.solve(mirrored) == -5


def test_missing_book_means_no_book(tmp_path):
    entries, depth = cs.load_book(tmp_path / "absent.npz")
    assert entries.size == 0 and depth == -1


book_missing = pytest.mark.skipif(not cs.BOOK_PATH.exists(), reason="no opening book in games/data")


@book_missing
def test_empty_board_move_scores_from_the_book():
    """The published solution: only the centre wins (with X's last stone)."""
    solver = cs.Solver(log_size=18)
    assert list(solver.move_scores(GAME.initial_state())) == [-2, -1, 0, 1, 0, -1, -2]
    assert solver.solve(GAME.initial_state()) == 1


@book_missing
def test_book_levels_agree_with_each_other():
    """Every book position above the deepest level scores the best of its children's scores
    (children that win at once score without the book)."""
    entries, depth = cs.load_book()
    assert np.all(np.diff(entries) > 0)
    book = {int(e >> 8): int(e & 0xFF) - 128 for e in entries}
    level = {cs.book_key(0, 0): ""}
    for d in range(depth):
        following = {}
        for moves in level.values():
            state = GAME.state_from_moves(moves)
            if cs.can_win_now(state[POSITION], state[MASK]):
                continue
            children = []
            for col in GAME.legal_actions(state):
                child = GAME.step(state, col)
                if GAME.is_terminal(child):
                    children.append((42 + 1 - len(moves)) // 2)
                    continue
                if cs.can_win_now(child[POSITION], child[MASK]):
                    children.append(-((42 - len(moves)) // 2))
                else:
                    children.append(-book[int(cs.book_key(child[POSITION], child[MASK]))])
                following.setdefault(int(cs.book_key(child[POSITION], child[MASK])), moves + str(col + 1))
            assert book[int(cs.book_key(state[POSITION], state[MASK]))] == max(children), moves
        level = following


@book_missing
def test_deepest_book_level_agrees_with_search():
    """A few entries of the deepest level (the quickest to search: the largest |score|)."""
    entries, depth = cs.load_book()
    solver = cs.Solver(log_size=20, book=False)
    scores = (entries & 0xFF) - 128
    keys = entries >> 8
    checked = 0
    for i in np.argsort(-np.abs(scores)):
        mask = _mask_of_key(int(keys[i]))
        if bin(mask).count("1") != depth:
            continue
        position = int(keys[i]) - mask
        state = GAME.initial_state()
        state[POSITION], state[MASK], state[MOVES] = position, mask, depth
        assert solver.solve(state) == scores[i]
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def _mask_of_key(key: int) -> int:
    """Recover the mask from key = position + mask: in each column, the key's highest set bit
    sits one above the column's top stone."""
    mask = 0
    for col in range(7):
        bits = (key >> (7 * col)) & 0x7F
        height = (bits + 1).bit_length() - 1
        mask |= ((1 << height) - 1) << (7 * col)
    return mask
