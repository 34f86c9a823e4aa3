import numpy as np
import pytest
import torch

from selfplay.configio import ConfigError
from selfplay.errors import UserError
from selfplay.llm.run import (
    Phase,
    Setting,
    base_payload,
    check_vocab,
    prepare_run,
)
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.run.directory import RunDir, read_rows

TINY = ["task.min_digits=2", "task.max_digits=2", "model.layers=1", "model.heads=2", "model.dim=16",
        "model.context=20", "eval.problems=30"]


def test_a_phase_with_checkpoints_must_be_resumed(tmp_path):
    run = tmp_path / "run"
    config = prepare_run(run, None, TINY, resume=False, phase="sft")
    assert RunDir(run).config.is_file() and config.model.dim == 16
    Phase("sft", run, 1, log=lambda m: None).save(5, {"model": {}})
    with pytest.raises(UserError, match="already holds a sft run; use --resume"):
        prepare_run(run, None, TINY, resume=False, phase="sft")
    prepare_run(run, None, TINY, resume=False, phase="grpo")  # GRPO may start beside SFT
    resumed = prepare_run(run, None, ["sft.steps=9"], resume=True, phase="sft")
    assert resumed.model.dim == 16 and resumed.sft.steps == 9  # the run's config, plus overrides


def test_eval_rows_of_both_phases_share_one_file(tmp_path):
    sft = Phase("sft", tmp_path, 10, log=lambda m: None)
    sft.record_eval(10, 10, {"accuracy": 0.5, "mean_length": 13.0}, 0.6)
    grpo = Phase("grpo", tmp_path, 10, log=lambda m: None)
    grpo.record_eval(2, 14, {"accuracy": 0.9, "mean_length": 13.5, "pass@8": 1.0}, 0.6)
    rows = read_rows(tmp_path / "eval.csv")
    assert [(r["phase"], r["curve_step"], r["accuracy"]) for r in rows] == [("sft", "10", "0.5"), ("grpo", "14", "0.9")]
    assert rows[0]["pass@8"] == "" and rows[1]["pass@8"] == "1.0"
    assert "[grpo] eval: step 2" in (tmp_path / "log.txt").read_text()


def test_the_held_out_set_is_fixed_by_the_seed():
    from selfplay.configio import load_config
    from selfplay.llm.config import LLMConfig
    a = Setting.build(load_config(LLMConfig, None, TINY))
    b = Setting.build(load_config(LLMConfig, None, TINY))
    assert a.eval_problems == b.eval_problems
    assert all(a.task.is_heldout(p) for p in a.eval_problems)
    assert a.teacher_accuracy() == b.teacher_accuracy()


def test_a_checkpoint_of_another_vocabulary_is_refused():
    from selfplay.configio import load_config
    from selfplay.llm.config import LLMConfig
    setting = Setting.build(load_config(LLMConfig, None, TINY))
    model = setting.new_model()
    payload = base_payload(setting, model, torch.optim.AdamW(model.parameters()), 1, np.random.default_rng(0))
    check_vocab(payload, setting.tokenizer, "ok.pt")
    with pytest.raises(ConfigError, match="another vocabulary"):
        check_vocab(payload, CharTokenizer("0123456789"), "other.pt")
