"""Generate the Connect Four opening book (games/data/connect4_book.npz) with the solver itself.

The book holds the exact score of every position with at most DEPTH stones (mirror images
folded, positions where the side to move wins at once left out: the solver sees those itself).
Only the deepest level costs anything: each of its positions is solved in full, one after the
other in move-string order so that neighbours share the transposition table. The shallower
levels are then a few nodes each, since their searches stop at the book's deepest level.

The work is resumable: solved positions are saved to --work every minute (atomically), and a
rerun skips them. --workers splits the deepest level over processes.

    python scripts/make_connect4_book.py --depth 4 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

from games import connect4
from games import connect4_solver as cs
from selfplay.atomic import atomic_path


def positions_at(depth: int, root: str = "") -> list[str]:
    """One move string per distinct position (mirror images folded) with ``depth`` stones,
    reached from ``root``, that is not over and where the side to move cannot win at once."""
    start = _state(root)
    level = {cs.book_key(start[0], start[1]): root}
    for _ in range(depth - len(root)):
        following = {}
        for moves in level.values():
            state = connect4.initial_state()
            for ch in moves:
                connect4.step(state, int(ch) - 1)
            for col in range(connect4.WIDTH):
                if connect4.can_play(state, col):
                    child = state.copy()
                    connect4.step(child, col)
                    if not connect4.is_terminal(child):
                        following.setdefault(cs.book_key(child[0], child[1]), moves + str(col + 1))
        level = following
    keep = []
    for moves in level.values():
        state = _state(moves)
        if not cs.can_win_now(state[0], state[1]):
            keep.append(moves)
    return sorted(keep)


def _state(moves: str) -> np.ndarray:
    state = connect4.initial_state()
    for ch in moves:
        connect4.step(state, int(ch) - 1)
    return state


_worker_solver = None


def _solve_chunk(args):
    """Worker: exact scores of a chunk of positions, sharing one transposition table."""
    global _worker_solver
    chunk, log_size = args
    if _worker_solver is None:
        _worker_solver = cs.Solver(log_size=log_size, book=False)
    out = []
    for moves in chunk:
        state = _state(moves)
        out.append((moves, _worker_solver.solve(state)))
    return out


def _save(path: Path, solved: dict[str, int]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, moves=np.array(list(solved), dtype=str), scores=np.array(list(solved.values()), dtype=np.int64))


def _load(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    data = np.load(path)
    return dict(zip(data["moves"].tolist(), data["scores"].tolist()))


def solve_deepest(depth: int, root: str, work: Path, workers: int, log_size: int, chunk: int) -> dict[str, int]:
    todo_all = positions_at(depth, root)
    solved = _load(work)
    todo = [m for m in todo_all if m not in solved]
    print(f"depth {depth}: {len(todo_all)} positions, {len(solved)} already solved, {len(todo)} to go", flush=True)
    chunks = [(todo[i:i + chunk], log_size) for i in range(0, len(todo), chunk)]
    t0 = last_save = time.time()
    done = 0
    # Each worker in a session of its own: with the kernel's autogroup scheduling, CPU time is
    # shared between sessions, so workers of one session would only split one share.
    with multiprocessing.get_context("fork").Pool(workers, initializer=os.setsid) as pool:
        for results in pool.imap(_solve_chunk, chunks):
            solved.update(results)
            done += len(results)
            now = time.time()
            if now - last_save > 60:
                _save(work, solved)
                last_save = now
                rate = done / (now - t0)
                print(f"  {len(solved)}/{len(todo_all)} solved, {rate:.2f}/s, "
                      f"about {(len(todo) - done) / rate / 60:.0f} min left", flush=True)
    _save(work, solved)
    return solved


def build_book(depth: int, root: str, deepest: dict[str, int], log_size: int) -> np.ndarray:
    """Book entries for every level: the deepest from ``deepest``, shallower ones by search."""
    scores = {}
    for moves, score in deepest.items():
        state = _state(moves)
        scores[int(cs.book_key(state[0], state[1]))] = score
    solver = cs.Solver(log_size=log_size, book=False)
    for d in range(depth - 1, len(root) - 1, -1):
        solver.book = _entries(scores)
        solver.info[cs.BOOK_DEPTH] = depth
        for moves in positions_at(d, root):
            state = _state(moves)
            scores[int(cs.book_key(state[0], state[1]))] = solver.solve(state)
        print(f"depth {d}: done", flush=True)
    return _entries(scores)


def _entries(scores: dict[int, int]) -> np.ndarray:
    keys = np.array(sorted(scores), dtype=np.int64)
    values = np.array([scores[k] for k in keys.tolist()], dtype=np.int64)
    return (keys << 8) | (values + 128)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depth", type=int, default=4, help="largest number of stones of a book position")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-size", type=int, default=25, help="log2 of the transposition table's entries")
    parser.add_argument("--chunk", type=int, default=8, help="positions a worker solves with one table")
    parser.add_argument("--root", default="", help="only the positions that follow these moves (tests, studies)")
    parser.add_argument("--work", type=Path, default=None, help="resumable progress file")
    parser.add_argument("--out", type=Path, default=cs.BOOK_PATH)
    args = parser.parse_args(argv)
    work = args.work or Path.home() / ".cache" / "selfplay" / "connect4" / f"book-depth{args.depth}{'-' + args.root if args.root else ''}.npz"
    deepest = solve_deepest(args.depth, args.root, work, args.workers, args.log_size, args.chunk)
    entries = build_book(args.depth, args.root, deepest, args.log_size)
    with atomic_path(args.out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, entries=entries, depth=np.int64(args.depth))
    print(f"wrote {args.out}: {entries.size} positions up to {args.depth} stones, "
          f"{args.out.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
