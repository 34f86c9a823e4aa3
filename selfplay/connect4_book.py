"""Connect Four's opening book, built by the solver itself: the exact score of every position with
at most ``depth`` stones (mirror images folded, positions where the side to move wins at once
left out: the solver sees those itself), so that ``selfplay solve`` and the ``solver`` player
answer the first plies at once instead of searching for minutes.

Only the deepest level costs anything: each of its positions is solved in full, in move-string
order in chunks so that neighbours share a worker's transposition table. The shallower levels
then take a few nodes each, since their searches stop at the deepest level's entries.

Resumable: solved chunks go to a work file beside the book (atomically, every ``SAVE_EVERY_S``),
checked on read; a rerun skips them, and a damaged work file is set aside and the work started
again, with a message. In a checkout that is games/data, so a partial build can be committed and
finished on another machine. The finished book goes where ``games.connect4_solver.load_book``
looks for it, and the work file, whose scores are all in the book, is removed.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from games import GameError, connect4
from games import connect4_solver as cs
from games.connect4 import ConnectFour
from selfplay.atomic import atomic_path
from selfplay.distributed.processes import quiet_worker, sigterm_interrupts
from selfplay.errors import UserError

DEFAULT_DEPTH = 8  # past it, nine best moves in ten take under a second (scripts/solver_latency.py)
SAVE_EVERY_S = 30.0
CHUNK = 8  # positions a worker solves with one warm table
_GAME = ConnectFour()


def positions_at(depth: int, root: str = "", immediate_wins: bool = False) -> list[str]:
    """One move string per distinct position (mirror images folded) with ``depth`` stones,
    reached from ``root``, that is not over and (unless ``immediate_wins``) where the side to
    move cannot win at once."""
    start = _state(root)
    level = {int(cs.book_key(start[0], start[1])): root}
    for _ in range(depth - len(root)):
        following = {}
        for moves in level.values():
            state = _state(moves)
            for col in range(connect4.WIDTH):
                if connect4.can_play(state, col):
                    child = state.copy()
                    connect4.step(child, col)
                    if not connect4.is_terminal(child):
                        following.setdefault(int(cs.book_key(child[0], child[1])), moves + str(col + 1))
        level = following
    return sorted(m for m in level.values() if immediate_wins or not cs.can_win_now(*_state(m)[:2]))


def _state(moves: str) -> np.ndarray:
    return _GAME.state_from_moves(moves)


_worker_solver: cs.Solver | None = None


def _solve_chunk(args) -> list[tuple[str, int]]:
    """Worker: exact scores of a chunk of positions, sharing one transposition table."""
    global _worker_solver
    chunk, log_size = args
    if _worker_solver is None:
        _worker_solver = cs.Solver(log_size=log_size, book=False)
    return [(moves, _worker_solver.solve(_state(moves))) for moves in chunk]


def _save_work(path: Path, depth: int, root: str, solved: dict[str, int]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, depth=np.int64(depth), root=np.array(root), moves=np.array(list(solved), dtype=str),
                            scores=np.array(list(solved.values()), dtype=np.int64))


def _load_work(path: Path, depth: int, root: str, wanted: set[str], log: Callable[[str], None]) -> dict[str, int]:
    """The solved positions of a work file, or {} (saying why) when it is absent or unusable."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["depth"]) != depth or str(data["root"]) != root:
                raise ValueError(f"it is the work of depth {int(data['depth'])}, root {str(data['root'])!r}")
            solved = dict(zip(data["moves"].tolist(), data["scores"].tolist()))
        if not set(solved) <= wanted or any(not cs.MIN_SCORE <= s <= cs.MAX_SCORE for s in solved.values()):
            raise ValueError("it holds positions or scores that do not belong there")
        return solved
    except Exception as e:  # a damaged file of any kind: set aside, never trusted
        aside = path.with_name(path.name + ".damaged")
        os.replace(path, aside)
        log(f"{path}: unusable ({e}); moved to {aside.name}, starting the work again")
        return {}


def solve_deepest(depth: int, root: str, work: Path, workers: int = 1, log_size: int = 24,
                  progress: Callable[[int, int], None] | None = None,
                  log: Callable[[str], None] = print) -> dict[str, int]:
    """Exact scores of every book position with ``depth`` stones; resumes from ``work``."""
    every = positions_at(depth, root)
    solved = _load_work(work, depth, root, set(every), log)
    todo = [m for m in every if m not in solved]
    if solved:
        log(f"resuming: {len(solved)} of {len(every)} positions with {depth} stones already solved")
    chunks = [(todo[i:i + CHUNK], log_size) for i in range(0, len(todo), CHUNK)]
    if progress:
        progress(len(solved), len(every))
    last_save = time.monotonic()
    context = multiprocessing.get_context("spawn")
    with sigterm_interrupts():
        pool = (context.Pool(workers, initializer=quiet_worker, initargs=(os.getpid(),))
                if workers > 1 and chunks else None)
        try:
            results = pool.imap(_solve_chunk, chunks) if pool else map(_solve_chunk, chunks)
            for chunk in results:
                solved.update(chunk)
                if progress:
                    progress(len(solved), len(every))
                if time.monotonic() - last_save > SAVE_EVERY_S:
                    _save_work(work, depth, root, solved)
                    last_save = time.monotonic()
        finally:
            if pool:
                pool.terminate()
            _save_work(work, depth, root, solved)  # a stop (Ctrl-C, SIGTERM) keeps what was solved
    return solved


def book_entries(depth: int, root: str, deepest: dict[str, int], log_size: int = 22) -> np.ndarray:
    """Book entries for every level: the deepest from ``deepest``, shallower ones by search."""
    scores = {int(cs.book_key(*_state(m)[:2])): s for m, s in deepest.items()}
    solver = cs.Solver(log_size=log_size, book=False)
    for d in range(depth - 1, len(root) - 1, -1):
        solver.book = _entries(scores)
        solver.info[cs.BOOK_DEPTH] = depth
        for moves in positions_at(d, root):
            state = _state(moves)
            scores[int(cs.book_key(state[0], state[1]))] = solver.solve(state)
    return _entries(scores)


def _entries(scores: dict[int, int]) -> np.ndarray:
    keys = np.array(sorted(scores), dtype=np.int64)
    values = np.array([scores[k] for k in keys.tolist()], dtype=np.int64)
    return (keys << 8) | (values + 128)


def default_destination() -> Path:
    """games/data when it can be written (a checkout), else the user's cache."""
    packaged = cs.BOOK_PATH
    if os.access(packaged.parent if packaged.parent.exists() else packaged.parent.parent, os.W_OK):
        return packaged
    return cs.user_book_path()


def build_book(depth: int = DEFAULT_DEPTH, root: str = "", out: Path | None = None, work: Path | None = None,
               workers: int = 1, progress: Callable[[int, int], None] | None = None,
               log: Callable[[str], None] = print) -> Path:
    """Build (or finish building) the book and write it to ``out``; returns the path."""
    if not 0 <= depth < connect4.WIDTH * connect4.HEIGHT:
        raise UserError(f"--depth must be in 0..41, got {depth}")
    if depth < len(root):
        raise UserError(f"--depth {depth} is below the root's {len(root)} stones")
    _check_root(root)
    if root and out is None:  # it would stand in for the real book, which covers every opening
        raise UserError("a book from --root covers only the positions after it: name its file with --book-out")
    out = Path(out) if out else default_destination()
    if _covers(out, depth, root, log):
        log(f"{out} already holds a book of every position with up to {depth} stones from {root or 'the start'}: "
            "nothing to build (delete it, or name another file with --book-out, to build it again)")
        return out
    work = Path(work) if work else default_work_path(out, depth, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    deepest = solve_deepest(depth, root, work, workers, progress=progress, log=log)
    entries = book_entries(depth, root, deepest)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, entries=entries, depth=np.int64(depth), root=np.array(root))
    work.unlink(missing_ok=True)  # every score it held is in the book now
    return out


def _covers(path: Path, depth: int, root: str, log: Callable[[str], None]) -> bool:
    """Whether ``path`` is a readable book from ``root`` at least ``depth`` deep: hours of
    solving not to redo, nor to overwrite with a shallower book."""
    if not path.exists():
        return False
    try:
        _, have = cs.load_book(path)
        with np.load(path, allow_pickle=False) as data:
            have_root = str(data["root"]) if "root" in data else ""
    except (GameError, OSError, ValueError) as e:
        log(f"{path} is not a usable book ({e}); building it again")
        return False
    return have >= depth and have_root == root


def default_work_path(out: Path, depth: int, root: str = "") -> Path:
    """Beside the book: games/data/connect4_book-work-d8.npz for the default book in a checkout."""
    return out.with_name(f"{out.stem}-work-d{depth}{'-' + root if root else ''}.npz")


def _check_root(root: str) -> None:
    try:
        state = _GAME.state_from_moves(root)
    except GameError as e:
        raise UserError(f"--root {root!r}: {e}") from None
    if connect4.is_terminal(state):
        raise UserError(f"--root {root!r}: the game is over")
