"""R1-Zero on tokens (selfplay/llm/r1zero.py): the base stage's texts carry the format and never
the answer, the format reward and the curriculum's rule by hand, and a reduced run from a random
init that gets a non-zero reward (configs/llm_r1zero_smoke.yaml, about 15 s)."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm import grpo
from selfplay.llm.config import LLMConfig
from selfplay.llm.grpo import GRPOTrainer, well_formed
from selfplay.llm.r1zero import (
    BaseTrainer,
    Curriculum,
    LevelTask,
    answer_free_response,
    base_pairs,
    chance_accuracy,
    check_config,
    level_task,
    run_r1zero,
    summarize,
)
from selfplay.llm.run import Setting
from selfplay.llm.tasks import TaskConfig, extract_answer, make_task
from selfplay.run.checkpoint import list_checkpoints, load_checkpoint
from selfplay.run.directory import read_rows

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "configs" / "llm_r1zero_smoke.yaml"


def addition(digits: int = 2, scratchpad: bool = True):
    return make_task(TaskConfig(min_digits=digits, max_digits=digits, scratchpad=scratchpad))


# ---- the base stage's texts ---------------------------------------------------------------------
def test_base_texts_are_well_formed_training_problems_of_every_level():
    task = addition(3)
    levels = [level_task(task, d) for d in (1, 2, 3)]
    pairs = base_pairs(task, levels, 600, np.random.default_rng(0), scratchpad_share=0.5)
    sizes = Counter()
    for problem, text in pairs:
        answer = extract_answer(text)
        assert answer is not None and text.endswith("<eos>")
        assert not task.is_heldout(problem)
        sizes[len(str(max(problem)))] += 1
        assert 1 <= len(answer) <= 4 and (answer == "0" or not answer.startswith("0"))  # a sum of 3-digit numbers
    assert set(sizes) == {1, 2, 3} and sizes[1] > sizes[3]  # every level mixes in the shorter operands


def test_base_answers_vary_for_one_problem_and_are_right_only_by_chance():
    task = addition(2)
    problem = (47, 85)
    rng = np.random.default_rng(1)
    answers = [extract_answer(answer_free_response(task, problem, task.sample(rng), rng, scratchpad=False))
               for _ in range(500)]
    assert len(set(answers)) > 50  # drawn, not computed from the problem
    pairs = base_pairs(task, [task], 4000, np.random.default_rng(2), scratchpad_share=0.0)
    right = np.mean([task.reward(p, t) for p, t in pairs])
    chance = chance_accuracy(task, [p for p, _ in pairs[:500]], np.random.default_rng(3))
    assert chance < 0.02 and right < chance + 0.01  # 2-digit sums take ~190 values


def test_the_response_depends_on_the_problem_only_through_its_shape():
    task = addition(2)
    texts = [answer_free_response(task, problem, (10, 10), np.random.default_rng(4), scratchpad=True)
             for problem in [(47, 85), (99, 99), (10, 10), (55, 45)]]
    assert len(set(texts)) == 1  # same RNG, same other problem, any 2-digit problem: the same text


def test_scratchpad_shape_when_enabled_and_absent_when_not():
    task = addition(3)
    levels = [level_task(task, d) for d in (1, 2, 3)]
    for problem, text in base_pairs(task, levels, 300, np.random.default_rng(5), scratchpad_share=1.0):
        pad = text.split("<ans>")[0]
        pairs = pad.split(",")
        assert len(pairs) == len(task.column_values(problem))
        assert all(len(p) == 2 and p[0].isdigit() and p[1] in "01" for p in pairs)
    assert all(text.startswith("<ans>") for _, text in base_pairs(task, levels, 100, np.random.default_rng(6), 0.0))


def test_a_scratchpad_needs_its_budget():
    config = load_config(LLMConfig, SMOKE, ["task.scratchpad=false"])
    with pytest.raises(ConfigError, match="r1zero.base_scratchpad_share needs task.scratchpad"):
        check_config(config)
    check_config(load_config(LLMConfig, SMOKE, ["task.scratchpad=false", "r1zero.base_scratchpad_share=0"]))


def test_a_level_draws_its_training_problems_and_keeps_the_full_task_otherwise():
    task = addition(3)
    level = LevelTask(task, 1)
    rng = np.random.default_rng(7)
    assert all(max(p) < 10 for p in level.sample_many(50, rng))
    assert all(min(p) >= 100 for p in level.sample_many(5, rng, heldout=True))
    assert level.max_response_tokens() == task.max_response_tokens()
    assert level.reward((3, 4), "<ans>7<eos>") == 1.0


# ---- the format reward --------------------------------------------------------------------------
def test_format_reward_by_hand(tmp_path, monkeypatch):
    overrides = ["r1zero.base_steps=1", "r1zero.base_examples=10", "grpo.format_reward=0.25", "grpo.group_size=3",
                 "eval.problems=5", "eval.samples=0"]
    config = load_config(LLMConfig, SMOKE, overrides)
    setting = Setting.build(config)
    checkpoint = BaseTrainer(setting, tmp_path, log=lambda *a: None).train()
    trainer = GRPOTrainer(setting, tmp_path, checkpoint, log=lambda *a: None)
    tok = setting.tokenizer
    texts = ["<ans>99", "<ans>12", "7<ans>1"]  # for 5+7: well formed and wrong, right, malformed (no EOS)
    ids = [tok.encode(t) + ([tok.eos_id] if i < 2 else []) for i, t in enumerate(texts)]
    width = max(map(len, ids))
    fixed = torch.tensor([row + [tok.pad_id] * (width - len(row)) for row in ids])
    monkeypatch.setattr(grpo, "generate", lambda *args, **kwargs: fixed)
    _, _, sampled, rewards = trainer.sample_groups([(5, 7)])
    assert sampled == ["<ans>99<eos>", "<ans>12<eos>", "7<ans>1"]
    assert rewards.tolist() == pytest.approx([0.25, 1.25, 0.0])
    assert well_formed(["1,<ans>3<eos>", "<ans><eos>", "<ans>3<pad><eos>"]).tolist() == [1.0, 0.0, 0.0]
    trainer.phase.close()


# ---- the curriculum -----------------------------------------------------------------------------
def test_curriculum_advances_on_the_window_mean():
    c = Curriculum(levels=[1, 2, 3], threshold=0.5, window=3)
    moves = [c.record(r) for r in [0.9, 0.9, 0.0]]  # mean 0.6 once the window is full
    assert moves == [False, False, True] and c.digits == 2 and c.recent == []
    moves = [c.record(r) for r in [0.0, 0.6, 0.6, 0.6]]  # 0.4, then 0.6
    assert moves == [False, False, False, True] and c.digits == 3
    assert not any(c.record(1.0) for _ in range(10)) and c.digits == 3  # the last level stays


def test_curriculum_advances_after_its_step_cap_whatever_the_accuracy():
    c = Curriculum(levels=[1, 2], threshold=1.0, window=2, steps_per_level=4)
    assert [c.record(0.0) for _ in range(4)] == [False, False, False, True] and c.digits == 2
    state = c.state()
    again = Curriculum(levels=[1, 2], threshold=1.0, window=2, steps_per_level=4)
    again.load_state(state)
    assert again.digits == 2 and again.steps_at_level == 0


# ---- config -------------------------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ("r1zero.base_steps=0", "r1zero.base_steps must be positive"),
    ("r1zero.base_examples=0", "r1zero.base_examples must be positive"),
    ("r1zero.base_scratchpad_share=1.5", "r1zero.base_scratchpad_share must be between 0 and 1"),
    ("r1zero.curriculum_threshold=0", "r1zero.curriculum_threshold must be in"),
    ("r1zero.curriculum_window=0", "r1zero.curriculum_window must be positive"),
    ("r1zero.steps_per_level=-1", "r1zero.steps_per_level must be 0"),
    ("grpo.format_reward=-0.1", "format_reward must be 0"),
])
def test_bad_values_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LLMConfig, SMOKE, [override])


# ---- a reduced run ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["llm", "r1zero", str(SMOKE), "--runs", str(runs)]) == 0
    run_dir = runs / "llm_r1zero_smoke"
    return run_dir, summarize(read_rows(run_dir / "eval.csv"))


def test_from_a_random_init_the_base_is_at_chance_and_grpo_gets_reward(smoke_run):
    run_dir, summary = smoke_run
    rows = read_rows(run_dir / "eval.csv")
    base = [r for r in rows if r["phase"] == "base"]
    assert float(base[-1]["accuracy"]) <= float(base[-1]["chance_accuracy"]) + 0.03
    assert float(base[-1]["pass@1"]) <= float(base[-1]["chance_accuracy"]) + 0.03
    grpo_rows = [r for r in rows if r["phase"] == "grpo" and int(r["step"]) > 0]
    assert max(float(r["train_accuracy"]) for r in grpo_rows) > 0  # the verifier said yes at some step
    assert all(0 <= float(r["train_scratchpad_share"]) <= 1 and float(r["train_mean_length"]) > 0 for r in grpo_rows)
    assert next(int(float(r["level"])) for r in rows if r["phase"] == "grpo") == 1  # 1-digit problems first
    assert summary["grpo_step"] == 14 and summary["base_chance_accuracy"] < 0.05


def test_the_curriculum_moves_on_in_the_log_and_the_checkpoints(smoke_run):
    run_dir, _ = smoke_run
    log = (run_dir / "log.txt").read_text()
    assert "[grpo] curriculum: level 1 -> 2 (operands of 1 to 2 digits) from step 9" in log
    payload = load_checkpoint(list_checkpoints(run_dir / "grpo")[-1][1])
    assert payload["curriculum"]["index"] == 1
    assert load_checkpoint(list_checkpoints(run_dir / "base")[-1][1])["phase"] == "base"
    assert (run_dir / "r1zero.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_resume_continues_grpo_at_its_level(smoke_run):
    run_dir, _ = smoke_run
    summary = run_r1zero(run_dir, None, ["grpo.steps=16"], resume=True, log=lambda *a: None)
    log = (run_dir / "log.txt").read_text()
    assert "[base] resumed from step-00000150.pt" in log and "[grpo] resumed from step-00000014.pt" in log
    assert summary["grpo_step"] == 16 and summary["grpo_level"] == 2
