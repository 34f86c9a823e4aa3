"""scripts/plot_arena_lineage.py: a branched lineage's times and scores by hand, the figure
written, and bad tables refused with the line named."""

import importlib.util
import sys
from pathlib import Path

import pytest

from selfplay.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("plot_arena_lineage", ROOT / "scripts" / "plot_arena_lineage.py")
script = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = script  # its dataclass looks its module up
spec.loader.exec_module(script)
HEADER = "network,parent,minutes,wins,draws,losses,shipped\n"


def test_a_branched_lineage_continues_each_parents_time(tmp_path, capsys):
    table = tmp_path / "lineage.csv"
    table.write_text(HEADER + "a,,40,8,0,2,no\nb,a,100,7,2,1,no\nc,b,60,9,1,0,yes\nd,b,30,5,0,5,no\n")
    points = {p.network: p for p in script.read_lineage(table)}
    assert [(p.start, p.end) for p in points.values()] == [(0, 40), (40, 140), (140, 200), (140, 170)]
    assert points["b"].score == 0.8 and points["c"].score == 0.95 and points["c"].shipped
    low, high = points["a"].interval()
    assert low < 0.8 < high
    assert script.main([str(table), "--out", str(tmp_path), "--name", "fig", "--target", "95"]) == 0
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.svg").exists()


@pytest.mark.parametrize("body, words", [
    ("a,,40,8,0,2,no\nb,z,10,1,0,0,no\n", "lineage.csv:3: parent 'z' is not a network of an earlier row"),
    ("a,,forty,8,0,2,no\n", "lineage.csv:2: minutes, wins, draws and losses must be numbers"),
    ("a,,40,0,0,0,no\n", "with at least one game"),
])
def test_bad_tables_name_the_line(tmp_path, body, words):
    table = tmp_path / "lineage.csv"
    table.write_text(HEADER + body)
    with pytest.raises(UserError, match=words):
        script.read_lineage(table)


def test_a_file_that_is_not_a_lineage_is_refused(tmp_path, capsys):
    table = tmp_path / "lineage.csv"
    table.write_text("name,score\na,1\n")
    assert script.main([str(table)]) == 2
    assert "expected the header network,parent,minutes" in capsys.readouterr().err
    table.write_bytes(b"\xff\xfe")
    assert script.main([str(table)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_labels_that_would_overlap_are_lifted_clear_of_each_other():
    # boxes (left, right, bottom, top): b overlaps a; c overlaps b once b is lifted; d is far right
    boxes = [(0, 10, 0, 4), (5, 15, 2, 6), (12, 20, 5, 9), (30, 40, 1, 5)]
    lifts = script.lift_labels(boxes, pad=1)
    assert lifts == [0, 3, 5, 0]  # b: bottom 2 -> 5 (a's top 4 + pad); c: bottom 5 -> 10 (b's new top 9 + pad)
    assert script.lift_labels([(0, 1, 0, 1), (2, 3, 0, 1)]) == [0, 0]  # side by side: left alone
