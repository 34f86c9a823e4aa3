"""`selfplay bench mcts`: the table's rows and ratios on a tiny run; the full run behind -m bench."""

from argparse import Namespace

import pytest

from selfplay.benchmarks import mcts as bench
from selfplay.commands.bench import format_table


def test_small_run_has_every_row_and_consistent_ratios(monkeypatch):
    pytest.importorskip("pyspiel")
    monkeypatch.setattr(bench, "SIMULATIONS", 20)
    monkeypatch.setattr(bench, "BATCH_SIZES", (1, 3))
    monkeypatch.setattr(bench, "GAMES", [g for g in bench.GAMES if g[0] == "tictactoe"])
    result = bench.run(Namespace(seconds=0.01, no_reference=False))
    rows = result["rows"]
    assert [r["engine"] for r in rows[:2]] == ["OpenSpiel C++ MCTSBot", "OpenSpiel Python MCTSBot"]
    ours = [r for r in rows if r["engine"] == "selfplay.mcts"]
    assert [(r["evaluator"], r["batch"]) for r in ours] == [
        (e, b) for e in ("rollout", "uniform", "uniform, rounds") for b in (1, 3)]
    assert all(r["sims/s"] > 0 for r in rows)
    for r in ours:
        if r["evaluator"] == "rollout":
            assert r["x OpenSpiel C++"] == pytest.approx(r["sims/s"] / rows[0]["sims/s"])
    assert "selfplay.mcts" in format_table(result["title"], rows)


def test_no_reference_skips_openspiel(monkeypatch):
    monkeypatch.setattr(bench, "SIMULATIONS", 10)
    monkeypatch.setattr(bench, "BATCH_SIZES", (2,))
    monkeypatch.setattr(bench, "GAMES", [g for g in bench.GAMES if g[0] == "connect4"])
    rows = bench.run(Namespace(seconds=0.01, no_reference=True))["rows"]
    assert len(rows) == 3 and all(r["engine"] == "selfplay.mcts" and "x OpenSpiel C++" not in r for r in rows)


@pytest.mark.bench
def test_full_benchmark():
    result = bench.run(Namespace(seconds=3.0, no_reference=False))
    print(format_table(result["title"], result["rows"]))
