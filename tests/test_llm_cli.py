from pathlib import Path

import pytest

from selfplay.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")


@pytest.mark.parametrize("argv, message", [
    (["llm", "sft", SMOKE, "grpo.group_size=1"], "group_size must be at least 2"),
    (["llm", "curve", SMOKE, "task.name="], "task name is empty"),
    (["llm", "sft", SMOKE, "task.name=sorting"], "unknown task 'sorting'; choose one of addition, multiplication"),
    (["llm", "sft", SMOKE, "sft.stpes=3"], "did you mean 'steps'?"),
    (["llm", "sft", SMOKE, "model.context=8"], "shorter than the task's longest"),
    (["llm", "sft"], "name a config file"),
    (["llm", "sft", SMOKE, "other.yaml"], "one config file at most"),
    (["llm", "sft", "/nonexistent/llm.yaml"], "cannot read config"),
    (["llm", "grpo", SMOKE], "no SFT checkpoint"),
    (["llm", "curve", "--resume", "/nonexistent/run"], "has no config.yaml"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--runs", str(tmp_path)] if "--resume" not in argv else argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("selfplay llm: error:")


def test_a_broken_init_checkpoint_is_one_clear_line(capsys, tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["llm", "grpo", SMOKE, "--init", str(bad), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unreadable" in err and "Traceback" not in err


def test_sft_then_grpo_as_two_commands(tmp_path, capsys):
    tiny = ["sft.steps=4", "sft.eval_every=2", "grpo.steps=2", "grpo.prompts_per_step=2", "grpo.group_size=2",
            "eval.problems=8", "eval.samples=0", "--runs", str(tmp_path)]
    assert main(["llm", "sft", SMOKE, *tiny]) == 0
    assert main(["llm", "grpo", SMOKE, *tiny]) == 0  # starts from the run's own SFT checkpoint
    out = capsys.readouterr().out
    assert "grpo/step-00000002.pt" in out
    log = (tmp_path / "llm_smoke" / "log.txt").read_text()
    assert "GRPO from " in log and "sft/step-00000004.pt (SFT step 4)" in log


def test_rl_from_a_checkpoint_refuses_another_model_and_notes_another_task(tmp_path, capsys):
    """`grpo ... model.dim=128` from a 64-wide SFT checkpoint once trained the checkpoint's model
    and recorded 128; RL on another task than the start learned was not mentioned."""
    tiny = ["sft.steps=2", "sft.eval_every=2", "grpo.steps=1", "grpo.prompts_per_step=2", "grpo.group_size=2",
            "eval.problems=4", "eval.samples=0"]
    assert main(["llm", "sft", SMOKE, *tiny, "--runs", str(tmp_path)]) == 0
    init = str(tmp_path / "llm_smoke")
    capsys.readouterr()
    assert main(["llm", "grpo", SMOKE, *tiny, "model.dim=128", "--init", init, "--name", "wide",
                 "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "model.dim=128 (the checkpoint's: 64)" in err and "Traceback" not in err
    assert not (tmp_path / "wide" / "grpo").exists()
    assert main(["llm", "grpo", SMOKE, *tiny, "task.name=multiplication", "--init", init, "--name", "mul",
                 "--runs", str(tmp_path)]) == 0
    assert "task.name: 'addition' -> 'multiplication'" in (tmp_path / "mul" / "log.txt").read_text()
