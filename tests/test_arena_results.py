"""The results file under kills and tears, and its errors."""

import pytest

from selfplay.arena.errors import ArenaError
from selfplay.arena.results import GameResult, ResultsWriter, read_results


def row(first="random", second="mcts:sims=20", result=1.0):
    return GameResult("2024-01-01T00:00:00Z", "connect4", first, second, result, 9, "")


def test_results_round_trip_and_a_torn_last_row(tmp_path):
    path = tmp_path / "r.csv"
    with ResultsWriter(path) as w:
        w.append(row(result=1.0))
        w.append(row("net:runs/a b/checkpoints/step-00000010.pt,sims=5", "random", 0.5))  # a comma, a space
    with open(path, "a") as f:
        f.write("2024-01-01T00:00:01Z,connect4,random,mcts:sim")  # a writer killed mid-row
    rows = read_results(path)
    assert [r.result for r in rows] == [1.0, 0.5]
    assert rows[1].first == "net:runs/a b/checkpoints/step-00000010.pt,sims=5"
    with ResultsWriter(path) as w:  # the next writer cuts the torn row off before appending
        w.append(row(result=0.0))
    assert [r.result for r in read_results(path)] == [1.0, 0.5, 0.0]
    assert path.read_text().count("\n") == 4


def test_results_file_errors_name_the_problem(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("step,minutes\n1,2\n")
    with pytest.raises(ArenaError, match="not a results file"):
        ResultsWriter(other)
    with pytest.raises(ArenaError, match="not a results file"):
        read_results(other)
    bad = tmp_path / "bad.csv"
    with ResultsWriter(bad) as w:
        w.append(row())
    with open(bad, "a") as f:
        f.write("t,connect4,a,b,2,9,\n")
    with pytest.raises(ArenaError, match="line 3: result '2'"):
        read_results(bad)
