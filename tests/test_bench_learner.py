"""`selfplay bench learner` end to end on tiny networks: an fp32 row and a bf16 row per size,
and the ratio between them."""

import json

from selfplay.benchmarks import learner as bench
from selfplay.cli import main
from selfplay.network import NetworkConfig


def test_bench_learner_reports_bf16_against_its_fp32_baseline(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SIZES", (
        ("c4 tiny", "connect4", None, NetworkConfig(channels=8, blocks=1, value_hidden=8)),
        ("go tiny", "go", 5, NetworkConfig(channels=8, blocks=1, value_hidden=8, ownership_head=True)),
    ))
    assert main(["bench", "learner", "--seconds", "0.2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["network"], r["precision"]) for r in rows] == [
        ("c4 tiny", "fp32"), ("c4 tiny", "bf16"), ("go tiny", "fp32"), ("go tiny", "bf16")]
    for fp32, bf16 in (rows[:2], rows[2:]):
        assert "x baseline" not in fp32
        assert abs(bf16["x baseline"] - bf16["steps/s"] / fp32["steps/s"]) < 1e-9
        assert fp32["steps/s"] > 0 and bf16["samples/s"] == bf16["steps/s"] * bench.BATCH


def test_bench_learner_without_baseline_measures_bf16_only(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SIZES", (("c4 tiny", "connect4", None, NetworkConfig(channels=8, blocks=1, value_hidden=8)),))
    assert main(["bench", "learner", "--seconds", "0.1", "--json", "--no-baseline"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["precision"] for r in rows] == ["bf16"] and "x baseline" not in rows[0]
