"""Helpers of the Go tests: positions from ASCII diagrams, and a plain Python reference of the
rules (flood-fill groups, brute-force legality with positional superko, Tromp-Taylor area) with
a from-scratch recomputation of the kernels' incremental bookkeeping."""

from __future__ import annotations

import numpy as np

from games import go
from games.go import BLACK, EMPTY, WHITE, GoGame


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


def check_bookkeeping(game, state, hashes=True):
    """Everything the kernels keep incrementally equals a recomputation from the bare board;
    ``hashes=False`` leaves out the Zobrist hashes and the planes, which the playouts' light
    moves do not keep."""
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
        assert ghash[g] == keys or not hashes
        expected_hash ^= keys
        cycle, s = set(), g
        while True:
            cycle.add(int(s))
            s = nxt[s]
            if s == g:
                break
        assert cycle == points
    assert state[go.HASH] == expected_hash or not hashes
    empties = {point(r, c) for r, c in zip(*np.nonzero(board == EMPTY))}
    count = int(state[go.NUM_EMPTY])
    listed = section(state, go.EMPTIES)[:count]
    assert set(listed.tolist()) == empties and count == len(empties)
    assert all(section(state, go.EMPTY_INDEX)[p] == i for i, p in enumerate(listed))
    if not hashes:
        return
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
