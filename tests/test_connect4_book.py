"""The opening book builder: every entry the bookless search's score, at every level; a stopped
build resumes to the same book; damaged work and damaged books are set aside or refused."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from games import GameError
from games import connect4_solver as cs
from games.connect4 import MASK, POSITION, ConnectFour
from selfplay import connect4_book as cb
from selfplay.cli import main

GAME = ConnectFour()
ROOT, DEPTH = "4444441111112222", 19  # a small tree: 4, 4 and 55 positions at 17, 18, 19 stones


def _scores(entries):
    return {int(e >> 8): int(e & 0xFF) - 128 for e in entries}


@pytest.fixture(scope="module")
def fresh_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "book.npz"
    cb.build_book(DEPTH, ROOT, out, work=out.with_name("work.npz"), log=lambda m: None)
    return out


def test_every_entry_is_the_bookless_search_score(fresh_book):
    entries, depth = cs.load_book(fresh_book)
    assert depth == DEPTH
    book = _scores(entries)
    solver = cs.Solver(log_size=20, book=False)
    levels = [cb.positions_at(d, ROOT) for d in range(len(ROOT), DEPTH + 1)]
    assert sum(map(len, levels)) == len(book) == 63
    for level in levels:
        for moves in level:
            state = GAME.state_from_moves(moves)
            assert book[int(cs.book_key(state[POSITION], state[MASK]))] == solver.solve(state), moves


def test_the_book_answers_inside_the_search(fresh_book):
    solver = cs.Solver(log_size=20, book=False)
    solver.book, depth = cs.load_book(fresh_book)
    solver.info[cs.BOOK_DEPTH] = depth
    state = GAME.state_from_moves(ROOT)
    reference = cs.Solver(log_size=20, book=False).move_scores(state)
    before = solver.nodes
    assert list(solver.move_scores(state)) == list(reference)
    assert solver.nodes - before < 200  # the children's searches stop at the book's entries


def test_a_stopped_build_resumes_to_the_same_book(tmp_path, monkeypatch, fresh_book):
    monkeypatch.setattr(cb, "SAVE_EVERY_S", 0.0)
    work, out = tmp_path / "work.npz", tmp_path / "book.npz"
    calls = []

    def stop_after_two_chunks(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cb.build_book(DEPTH, ROOT, out, work=work, progress=stop_after_two_chunks, log=lambda m: None)
    assert not out.exists()
    with np.load(work) as data:
        assert len(data["moves"]) == 2 * cb.CHUNK
    messages = []
    cb.build_book(DEPTH, ROOT, out, work=work, log=messages.append)
    assert messages == [f"resuming: {2 * cb.CHUNK} of 55 positions with {DEPTH} stones already solved"]
    assert np.array_equal(cs.load_book(out)[0], cs.load_book(fresh_book)[0])


def test_a_book_already_there_is_not_built_again(tmp_path, fresh_book):
    """Hours of solving are not redone, and a deeper book is never overwritten by a shallower one."""
    out = tmp_path / "book.npz"
    out.write_bytes(fresh_book.read_bytes())
    for depth in (DEPTH, DEPTH - 1):
        messages = []
        assert cb.build_book(depth, ROOT, out, work=tmp_path / "work.npz", log=messages.append) == out
        assert "already holds a book" in messages[0] and len(messages) == 1
        assert not (tmp_path / "work.npz").exists() and cs.load_book(out)[1] == DEPTH
    messages = []
    cb.build_book(DEPTH - 1, ROOT[:-1], out, work=tmp_path / "work.npz", log=messages.append)  # another root
    assert cs.load_book(out)[1] == DEPTH - 1 and not messages
    out.write_bytes(b"damaged")
    cb.build_book(DEPTH, ROOT, out, work=tmp_path / "work.npz", log=messages.append)
    assert "not a usable book" in messages[0]
    assert np.array_equal(cs.load_book(out)[0], cs.load_book(fresh_book)[0])


def test_damaged_work_is_set_aside_and_redone(tmp_path, fresh_book):
    work, out = tmp_path / "work.npz", tmp_path / "book.npz"
    work.write_bytes(b"not a zip file")
    messages = []
    cb.build_book(DEPTH, ROOT, out, work=work, log=messages.append)
    assert "unusable" in messages[0] and (tmp_path / "work.npz.damaged").exists()
    assert np.array_equal(cs.load_book(out)[0], cs.load_book(fresh_book)[0])


def test_a_damaged_book_is_a_clear_error(tmp_path, monkeypatch, capsys, fresh_book):
    bad = tmp_path / "book.npz"
    bad.write_bytes(fresh_book.read_bytes()[:100])
    with pytest.raises(GameError, match="not a readable opening book"):
        cs.load_book(bad)
    entries, depth = cs.load_book(fresh_book)
    np.savez(bad, entries=entries[::-1], depth=depth)
    with pytest.raises(GameError, match="not sorted"):
        cs.load_book(bad)
    monkeypatch.setattr(cs, "BOOK_PATH", bad)
    assert main(["solve", ROOT]) == 2
    assert "not a readable opening book" in capsys.readouterr().err


def test_the_book_is_found_in_the_users_cache(tmp_path, monkeypatch, fresh_book):
    monkeypatch.setattr(cs, "BOOK_PATH", tmp_path / "absent.npz")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cs.load_book()[1] == -1
    cs.user_book_path().parent.mkdir(parents=True)
    cs.user_book_path().write_bytes(fresh_book.read_bytes())
    assert cs.Solver(log_size=18).book_depth == DEPTH


def test_build_command(tmp_path, capsys):
    out = tmp_path / "book.npz"
    beside = tmp_path / f"book-work-d{DEPTH}-{ROOT}.npz"  # the default work file: next to the book
    first = cb.positions_at(DEPTH, ROOT)[0]
    cb._save_work(beside, DEPTH, ROOT, {first: cs.Solver(log_size=20, book=False).solve(GAME.state_from_moves(first))})
    assert main(["solve", "--build-book", "--root", ROOT, "--depth", str(DEPTH), "--book-out", str(out)]) == 0
    printed = capsys.readouterr()
    assert f"63 positions with up to {DEPTH} stones" in printed.out
    assert "resuming: 1 of 55 positions" in printed.out + printed.err  # the stopped build's work was found
    assert not beside.exists()  # and removed: the book has all it held
    work = tmp_path / "carried" / "work.npz"  # a work file named on the command line, to carry elsewhere
    work.parent.mkdir()
    cb._save_work(work, DEPTH, ROOT, {})
    assert main(["solve", "--build-book", "--root", ROOT, "--depth", str(DEPTH), "--book-out",
                 str(tmp_path / "again.npz"), "--work", str(work)]) == 0
    assert not work.exists() and (cs.load_book(tmp_path / "again.npz")[0] == cs.load_book(out)[0]).all()
    # stderr is not a terminal here: the progress comes as lines a log file can hold
    assert f"55/55 positions with {DEPTH} stones solved" in capsys.readouterr().err
    assert main(["solve", "--build-book", "--root", "4444444", "--book-out", str(out)]) == 2
    assert "column 4, which is full" in capsys.readouterr().err
    assert main(["solve", "--build-book", "--root", ROOT, "--depth", str(DEPTH)]) == 2
    assert "--book-out" in capsys.readouterr().err
    assert main(["solve"]) == 2
    assert "--build-book" in capsys.readouterr().err


def _children(pid):
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="reads child processes from /proc/PID/task/TID/children")
def test_sigterm_saves_the_work_and_stops_the_workers_quietly(tmp_path):
    """`kill` of a long build: the work solved so far is saved, no worker is left solving, and
    the only words are "interrupted", not a traceback from every worker."""
    work = tmp_path / "work.npz"
    command = [sys.executable, "-m", "selfplay.cli", "solve", "--build-book", "--root", "444444", "--depth", "12",
               "--workers", "2", "--book-out", str(tmp_path / "book.npz"), "--work", str(work)]
    build = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_children(build.pid)) < 3 and time.monotonic() < deadline:  # two workers, a resource tracker
        time.sleep(0.2)
    workers = _children(build.pid)
    time.sleep(3)  # well before the first save (every 30 s): a work file now is the stop's own
    build.send_signal(signal.SIGTERM)
    out, err = build.communicate(timeout=60)
    assert build.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    with np.load(work) as data:
        assert len(data["moves"]) < 2519
    time.sleep(1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
