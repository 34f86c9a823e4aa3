"""scripts/solver_latency.py: its stand-in book answers like the search, and a short run prints
its table."""

import importlib.util
from pathlib import Path

import numpy as np

from games import connect4_solver as cs

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("solver_latency", ROOT / "scripts" / "solver_latency.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def test_the_stand_in_book_gives_the_searched_scores(monkeypatch):
    monkeypatch.setattr(script, "BOOK_DEPTH", 16)  # positions the search answers in milliseconds
    monkeypatch.setattr(cs, "load_book", lambda: (np.zeros(0, dtype=np.int64), -1))
    states = script.random_positions(16, 4, np.random.default_rng(1))
    assert all(s[script.MOVES] == 16 for s in states)
    entries, depth = script.book_for(states)
    booked = cs.Solver(log_size=18, book=False)
    booked.book, booked.info[cs.BOOK_DEPTH] = entries, depth
    for state in states:
        assert booked.solve(state) == cs.Solver(log_size=18, book=False).solve(state)
        before = booked.nodes
        booked.solve(state)
        assert booked.nodes == before  # from the book: no node searched


def test_a_short_run_prints_the_table(capsys):
    assert script.main(["--stones", "16", "20", "--positions", "3"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("| stones |") and len(rows) == 4
    assert rows[2].startswith("| 16 | 3 |") and rows[3].startswith("| 20 | 3 |")
