"""The two teachers of issue 17: ``random`` (forgets the carries on a hard problem with
probability error_rate: greedy decoding of a perfect imitator denoises it when error_rate < 0.5)
and ``systematic`` (forgets them on every hard problem: a perfect imitator scores the teacher's
accuracy greedily and sampled alike)."""

import numpy as np
import pytest

from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.evaluation import score_responses
from selfplay.llm.run import Setting
from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.teacher import Teacher, TeacherConfig

TASK = make_task(TaskConfig("addition", 2, 2))
PROBLEMS = [(a, b) for a in range(10, 100, 3) for b in range(10, 100, 2)]  # a fixed set of 1,350
HARD_SHARE = float(np.mean([TASK.num_carries(p) >= 1 for p in PROBLEMS]))


def as_a_policy(teacher: Teacher, problems, samples: int, seed: int):
    """The teacher itself as the policy under evaluation (a perfect imitator): its most likely
    response read greedily, ``samples`` demonstrations a problem sampled; scored as the student."""
    rng = np.random.default_rng(seed)
    greedy = [TASK.reward(p, teacher.greedy(p) + "<eos>") for p in problems]
    texts = [[teacher.demonstrate(p, rng)[0] + "<eos>" for _ in range(samples)] for p in problems]
    rewards = [[TASK.reward(p, t) for t in group] for p, group in zip(problems, texts)]
    return score_responses(TASK, problems, greedy, texts, rewards, pass_k=samples)


@pytest.mark.parametrize("mode, error_rate", [("random", 0.3), ("random", 0.7), ("systematic", 1.0)])
def test_measured_accuracy_is_the_expected_one_within_sampling_error(mode, error_rate):
    teacher = Teacher(TASK, TeacherConfig(error_rate, 1, mode))
    slip = error_rate if mode == "random" else 1.0
    expected = 1 - slip * HARD_SHARE                                    # by hand
    assert teacher.expected_accuracy(PROBLEMS) == pytest.approx(expected)
    measured = teacher.accuracy(PROBLEMS, np.random.default_rng(0), repeats=4)
    std = (slip * (1 - slip) * HARD_SHARE / (4 * len(PROBLEMS))) ** 0.5
    assert abs(measured - expected) <= 4 * std + 1e-12


def test_a_perfect_imitator_of_the_systematic_teacher_scores_its_accuracy_greedily_and_sampled():
    teacher = Teacher(TASK, TeacherConfig(1.0, 1, "systematic"))
    out = as_a_policy(teacher, PROBLEMS, samples=4, seed=1)
    assert out["accuracy"] == pytest.approx(1 - HARD_SHARE)            # greedy
    assert out["pass@1"] == pytest.approx(1 - HARD_SHARE)              # sampled: deterministic, no noise
    assert out["pass@4"] == pytest.approx(1 - HARD_SHARE)              # no sample ever finds the answer
    assert teacher.expected_greedy_accuracy(PROBLEMS) == pytest.approx(teacher.expected_accuracy(PROBLEMS))


@pytest.mark.parametrize("error_rate", [0.3, 0.7])
def test_a_perfect_imitator_of_the_random_teacher_is_denoised_by_greedy_decoding(error_rate):
    """Sampled, it scores the teacher's accuracy; greedy, it writes the majority behaviour: all
    right below error_rate 0.5 (the audit's 100% against a 78% teacher), all wrong above."""
    teacher = Teacher(TASK, TeacherConfig(error_rate, 1, "random"))
    out = as_a_policy(teacher, PROBLEMS, samples=4, seed=2)
    expected = 1 - error_rate * HARD_SHARE
    std = (error_rate * (1 - error_rate) * HARD_SHARE / (4 * len(PROBLEMS))) ** 0.5
    assert abs(out["pass@1"] - expected) <= 4 * std
    assert out["accuracy"] == pytest.approx(1.0 if error_rate < 0.5 else 1 - HARD_SHARE)
    assert teacher.expected_greedy_accuracy(PROBLEMS) == out["accuracy"]


def test_the_teacher_report_measures_the_teacher_as_the_student():
    config = load_config(LLMConfig, None, ["task.min_digits=2", "task.max_digits=2", "teacher.mode=systematic",
                                           "teacher.error_rate=1.0", "teacher.min_carries=1", "eval.problems=100",
                                           "eval.samples=4", "eval.pass_k=4", "eval.sampled_problems=30"])
    setting = Setting.build(config)
    report = setting.teacher_report()
    exact = setting.teacher.expected_accuracy(setting.eval_problems)
    assert report["teacher_accuracy"] == pytest.approx(exact) == pytest.approx(setting.teacher_accuracy())
    assert report["teacher_greedy_accuracy"] == pytest.approx(exact)
    assert report["teacher_pass@1"] == pytest.approx(setting.teacher.expected_accuracy(setting.eval_problems[:30]))
    assert report["teacher_accuracy_low"] < exact < report["teacher_accuracy_high"]
    assert "teacher_pass@1_low" in report and "teacher_maj@4" in report


def test_systematic_needs_error_rate_one():
    with pytest.raises(ConfigError, match="error_rate is 0.7, but the systematic teacher errs on every hard"):
        load_config(LLMConfig, None, ["teacher.mode=systematic"])
    with pytest.raises(ConfigError, match="mode"):
        load_config(LLMConfig, None, ["teacher.mode=lazy"])


@pytest.mark.parametrize("name", ["llm_addition", "llm_multiplication", "llm_smoke", "llm_addition_systematic"])
def test_the_configs_load(name):
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    config = load_config(LLMConfig, str(root / "configs" / f"{name}.yaml"), [])
    assert config.teacher.mode in ("random", "systematic")
