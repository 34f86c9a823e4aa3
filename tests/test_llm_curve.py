"""The reduced SFT + GRPO run through the command line (configs/llm_smoke.yaml, about 40 s on a
loaded 2-core machine): imitation stops at or below the teacher, GRPO climbs past the SFT
checkpoint on held-out problems."""

from pathlib import Path

import pytest

from selfplay.cli import main
from selfplay.llm.curve import summarize
from selfplay.llm.model import model_from_payload
from selfplay.run.checkpoint import list_checkpoints, load_checkpoint
from selfplay.run.directory import read_rows

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["llm", "curve", SMOKE, "--runs", str(runs)]) == 0
    return runs / "llm_smoke"


def test_grpo_goes_past_the_sft_checkpoint_on_heldout_problems(smoke_run):
    rows = read_rows(smoke_run / "eval.csv")
    summary = summarize(rows)
    assert summary["sft_accuracy"] <= summary["teacher_accuracy"] + 0.05  # imitation plateaus at the teacher
    assert summary["grpo_accuracy"] >= summary["sft_accuracy"] + 0.15
    assert summary["sft_pass@4"] > summary["sft_accuracy"]  # the right answer was there to be sampled
    grpo_steps = [int(r["curve_step"]) for r in rows if r["phase"] == "grpo"]
    assert min(grpo_steps) == 300 and max(grpo_steps) == 300 + 15 * 2  # x continues after SFT's steps


def test_run_directory_holds_checkpoints_logs_and_the_figure(smoke_run):
    for phase, step in (("sft", 300), ("grpo", 15)):
        found = list_checkpoints(smoke_run / phase)
        assert found[-1][0] == step
        payload = load_checkpoint(found[-1][1])  # weights_only
        assert payload["phase"] == phase and payload["step"] == step
        model = model_from_payload(payload)
        assert model.config.layers == 1
        assert list((smoke_run / "tb" / phase).glob("events.out.tfevents.*"))
    assert (smoke_run / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (smoke_run / "curve.svg").is_file()
    log = (smoke_run / "log.txt").read_text()
    assert "sample: " in log and "<ans>" in log  # completions are written every N steps
    assert (smoke_run / "config.yaml").is_file()


def test_resume_continues_grpo_where_it_stopped(smoke_run, capsys):
    assert main(["llm", "curve", SMOKE, "--runs", str(smoke_run.parent)]) == 2
    assert "use --resume" in capsys.readouterr().err
    assert main(["llm", "curve", "--resume", str(smoke_run), "grpo.steps=17"]) == 0
    log = (smoke_run / "log.txt").read_text()
    assert "[sft] resumed from step-00000300.pt at step 300" in log
    assert "[grpo] resumed from step-00000015.pt at step 15" in log
    assert list_checkpoints(smoke_run / "grpo")[-1][0] == 17
    assert int(read_rows(smoke_run / "eval.csv")[-1]["step"]) == 17
