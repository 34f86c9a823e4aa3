"""`selfplay bench train` end to end on a tiny config: the JSON names every process's stages,
whose shares of that process's wall time add up to 1 with nothing counted twice; and the
trainer leaves the same record in a real run's directory. No timed assertions."""

import json
from pathlib import Path

import pytest

from selfplay.cli import main
from selfplay.training.stages import FORWARD, LABELS, LEARNER, OTHER, SEARCH, STARTUP, read_stage_files
from selfplay.training.trainer import run_training

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "smoke.yaml"


def shares_of(record):
    return {name: seconds / record["wall_seconds"] for name, seconds in record["stages"].items()}


def check_accounting(record):
    """The stages are disjoint (``other``, the remainder, is not negative) and add up to the wall."""
    assert record["wall_seconds"] > 0
    assert all(seconds >= 0 for name, seconds in record["stages"].items() if name != OTHER)
    assert record["stages"][OTHER] >= -1e-6
    assert sum(shares_of(record).values()) == pytest.approx(1.0, abs=1e-6)


def test_bench_train_json_with_a_worker_process(capsys):
    assert main(["bench", "train", "--config", str(SMOKE), "selfplay.workers=1", "--seconds", "3", "--json"]) == 0  # with its baseline
    result = json.loads(capsys.readouterr().out)
    assert result["run_config"]["selfplay"]["workers"] == 1
    assert set(result["processes"]) == {"learner", "worker-1"}
    for record in result["processes"].values():
        check_accounting(record)
    assert STARTUP in result["processes"]["worker-1"]["stages"]  # its interpreter start at least
    rows = result["rows"]
    for process, record in result["processes"].items():
        mine = [r for r in rows if r["process"] == process]
        assert mine[0]["stage"] == "wall time" and mine[-1]["stage"] == LABELS[OTHER]
        assert sum(r["% of wall"] for r in mine[1:]) == pytest.approx(100.0, abs=1e-4)
    assert result["positions/s"] >= 0 and result["samples/s"] >= 0
    assert result["baseline positions/s"] >= 0  # measured in the same command, fp32 and no cache
    if result["baseline positions/s"] > 0:  # 3 s may end before the worker's first chunk
        assert result["x baseline"] == pytest.approx(result["positions/s"] / result["baseline positions/s"])
    assert result["positions"] == result["processes"]["worker-1"]["counts"]["positions"]
    assert result["samples_trained"] == result["processes"]["learner"]["counts"]["samples_trained"]


def test_a_run_in_one_process_records_self_play_and_learner_stages(tmp_path):
    trainer = run_training(tmp_path / "run", str(SMOKE), ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    record = read_stage_files(tmp_path / "run")["learner"]
    check_accounting(record)
    assert {FORWARD, SEARCH, LEARNER} <= set(record["stages"])  # self-play in this process, then training
    assert record["counts"]["steps"] == trainer.step == 10
    assert record["counts"]["positions"] == trainer.buffer.positions_total > 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "run" / "tb"))
    events.Reload()
    assert {f"time/{LEARNER}_share", f"time/{FORWARD}_share"} <= set(events.Tags()["scalars"])


def test_bad_options_are_one_line_errors(capsys):
    assert main(["bench", "train", "--seconds", "0"]) == 2
    assert "--seconds must be positive" in capsys.readouterr().err
    assert main(["bench", "games", "--config", "x.yaml"]) == 2
    assert "are options of bench train and bench selfplay" in capsys.readouterr().err
    assert main(["bench", "games", "selfplay.workers=2"]) == 2
    assert "are options of bench train and bench selfplay" in capsys.readouterr().err
    assert main(["bench", "train", "--seconds", "1", "no_such_key=1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["bench", "train", "--config", "no/such/config.yaml", "--seconds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read config" in err


def test_no_baseline_skips_it(capsys):
    assert main(["bench", "train", "--config", str(SMOKE), "--seconds", "2", "--no-baseline", "--json"]) == 0
    assert "x baseline" not in json.loads(capsys.readouterr().out)
