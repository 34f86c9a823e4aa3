"""The reduced SFT + GRPO run through the command line (configs/llm_smoke.yaml, about 40 s on a
loaded 2-core machine): imitation stops at or below the teacher, GRPO climbs past the SFT
checkpoint on held-out problems."""

import json
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


# ---- the summary reads more than the last evaluation (issue 17) --------------------------------
def test_summary_gives_the_last_evaluation_with_its_interval_and_the_mean_of_the_last_three():
    from selfplay.llm.curve import SUMMARY_WINDOW, summary_rows

    def row(phase, step, accuracy, pass1=""):
        return {"phase": phase, "step": str(step), "curve_step": str(step), "minutes": "1.0",
                "accuracy": str(accuracy), "accuracy_low": str(accuracy - 0.05), "accuracy_high": str(accuracy + 0.05),
                "problems": "500", "pass@1": str(pass1), "teacher_accuracy": "0.78",
                "teacher_accuracy_low": "0.74", "teacher_accuracy_high": "0.81", "teacher_greedy_accuracy": "1.0"}

    rows = [row("sft", 100, 0.5, 0.4), row("sft", 200, 0.7, 0.6), row("sft", 300, 0.6, 0.5), row("sft", 400, 0.8, 0.7),
            row("grpo", 0, 0.8), row("grpo", 10, 0.9)]
    s = summarize(rows)
    assert SUMMARY_WINDOW == 3
    assert s["sft_accuracy"] == 0.8 and s["sft_accuracy_low"] == pytest.approx(0.75)   # the last one
    assert s["sft_accuracy_mean_last3"] == pytest.approx((0.7 + 0.6 + 0.8) / 3)        # steps 200-400
    assert s["sft_pass@1_mean_last3"] == pytest.approx((0.6 + 0.5 + 0.7) / 3)
    assert s["grpo_accuracy_mean_last3"] == pytest.approx(0.9) and s["grpo_evals_in_mean"] == 1  # not step 0
    assert "grpo_pass@1_mean_last3" not in s                                          # not measured there
    assert s["teacher_accuracy"] == 0.78 and s["teacher_greedy_accuracy"] == 1.0
    table = {r["measure"]: r for r in summary_rows(s)}
    assert table["SFT greedy accuracy"]["95% interval"] == "[0.750, 0.850]"
    assert table["SFT sampled accuracy (pass@1)"]["last"] == pytest.approx(0.7)
    assert table["teacher accuracy"]["95% interval"] == "[0.740, 0.810]"


def test_scaling_on_the_smoke_run(smoke_run, tmp_path, capsys):
    """`selfplay scaling --tokens RUN`: accuracy against training minutes (GRPO after SFT) and
    against model calls; greedy's row agrees with `llm solve`'s count of model calls."""
    out = tmp_path / "scaling"
    assert main(["scaling", "--tokens", str(smoke_run), "--search", "greedy", "--search", "majority:n=2",
                 "--search", "mcts:sims=2", "--problems", "8", "--out", str(out), "--json"]) == 0
    numbers = json.loads(capsys.readouterr().out)
    rows = {r["strategy"]: r for r in numbers["tokens"]["rows"]}
    assert set(rows) == {"greedy", "majority:n=2", "mcts:sims=2"} and all(r["problems"] == 8 for r in rows.values())
    assert rows["majority:n=2"]["model_calls"] > rows["greedy"]["model_calls"]
    assert numbers["tokens"]["policy"].startswith("llm_smoke/grpo/")
    assert (out / "scaling.png").is_file() and (out / "tokens.json").is_file()
