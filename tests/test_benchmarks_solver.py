"""`selfplay bench solver`: the measurement solves every position right, from an empty table."""

import json
from pathlib import Path

import pytest

from games import connect4_solver as cs
from selfplay.benchmarks import solver as bench
from selfplay.cli import main

SAMPLE = Path(__file__).parent / "data" / "connect4_sample.txt"


def sample_file(tmp_path):
    path = tmp_path / "sample"
    path.write_text("".join(line for line in SAMPLE.read_text().splitlines(True) if not line.startswith("#")))
    return path


def test_measure_solves_the_sample(tmp_path):
    positions, masks, moves, expected = bench.load_file(sample_file(tmp_path))
    solver = cs.Solver(log_size=18, book=False)
    scores, elapsed, cpu, nodes = bench.measure(solver, positions, masks, moves, float("inf"))
    assert list(scores) == list(expected) and len(scores) == 48
    assert elapsed > 0 and nodes > len(scores)
    # every position from an empty table: the node count does not depend on the batch split
    again = cs.Solver(log_size=18, book=False)
    for i in range(len(scores)):
        again.reset()
        cs.solve_batch(positions[i:i + 1], masks[i:i + 1], moves[i:i + 1], True,
                       again.table, again.order, again.book, again.info, scores[i:i + 1])
    assert again.nodes == nodes


def test_time_budget_stops_early(tmp_path):
    positions, masks, moves, _ = bench.load_file(sample_file(tmp_path))
    scores, *_ = bench.measure(cs.Solver(log_size=18, book=False), positions, masks, moves, 0.0)
    assert len(scores) == bench.BATCH  # at least one batch, however small the budget


def test_missing_data_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SELFPLAY_C4_DATA", str(tmp_path / "nowhere"))
    assert main(["bench", "solver", "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "SELFPLAY_C4_DATA" in err and err.count("\n") == 1


@pytest.mark.bench
def test_bench_solver_json(capsys):
    if not bench.data_dir().is_dir():
        pytest.skip(f"benchmark positions not found in {bench.data_dir()}")
    assert main(["bench", "solver", "--seconds", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["file"] for r in rows] == list(bench.FILES)
    assert all(r["wrong scores"] == 0 and r["positions"] > 0 for r in rows)
