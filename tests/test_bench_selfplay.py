"""`selfplay bench selfplay` end to end on a tiny setting: baseline and optimised rows, the
ratio between them, each optimisation alone, and the forward alone in each precision."""

import json

import torch

from selfplay.benchmarks import selfplay as bench
from selfplay.cli import main
from selfplay.network import resolve_precision


def test_bench_selfplay_reports_each_path_against_its_baseline(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SETTINGS", ((4, 1),))
    monkeypatch.setattr(bench, "PARTS_AT", (4, 1))
    assert main(["bench", "selfplay", "--seconds", "0.2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    selfplay_rows = [r for r in rows if "sims/s" in r]
    baseline, optimised = selfplay_rows[:2]
    assert (baseline["precision"], baseline["cache"]) == ("fp32", 0) and "x baseline" not in baseline
    default = resolve_precision("auto", torch.device("cpu"))
    assert optimised["precision"] == default and optimised["cache"] > 0
    assert abs(optimised["x baseline"] - optimised["sims/s"] / baseline["sims/s"]) < 1e-9
    assert all(r["sims/s"] > 0 and 0 < r["network share"] <= 1 for r in selfplay_rows)
    alone = selfplay_rows[2:]
    assert {r["precision"] for r in alone if r["cache"] == 0} >= ({default} - {"fp32"})
    forward_rows = [r for r in rows if "forward batch" in r]
    if default != "fp32":
        assert {r["precision"] for r in forward_rows} >= {"fp32", default}
        assert all(r["x baseline"] > 0 for r in forward_rows if r["precision"] != "fp32")


def test_bench_selfplay_without_baseline_has_no_ratio(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SETTINGS", ((2, 1),))
    assert main(["bench", "selfplay", "--seconds", "0.1", "--json", "--no-baseline"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows and all("x baseline" not in r for r in rows)
