import numpy as np
import pytest

from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.teacher import Teacher, TeacherConfig

TASK = make_task(TaskConfig("addition", 2, 2))
ALL_PROBLEMS = [(a, b) for a in range(10, 100) for b in range(10, 100)]


def forgetful_sum(a: int, b: int) -> int:
    """Addition that never carries: each column's digit is the column sum mod 10."""
    out, place = 0, 1
    while a or b:
        out += (a % 10 + b % 10) % 10 * place
        a, b, place = a // 10, b // 10, place * 10
    return out


def test_errors_only_on_hard_problems_and_always_the_same_way():
    teacher = Teacher(TASK, TeacherConfig(error_rate=1.0, min_carries=2))
    rng = np.random.default_rng(0)
    for a, b in ALL_PROBLEMS[::7]:
        text, slip = teacher.demonstrate((a, b), rng)
        answer = text.split("<ans>")[1]
        hard = TASK.num_carries((a, b)) >= 2
        assert slip == hard
        assert int(answer) == (forgetful_sum(a, b) if hard else a + b)


def test_wrong_whenever_it_slips():
    teacher = Teacher(TASK, TeacherConfig(error_rate=1.0, min_carries=1))
    rng = np.random.default_rng(0)
    for problem in ALL_PROBLEMS[::5]:
        text, slip = teacher.demonstrate(problem, rng)
        assert TASK.reward(problem, text + "<eos>") == (0.0 if slip else 1.0)


@pytest.mark.parametrize("error_rate, min_carries", [(0.7, 2), (0.5, 1), (0.0, 1)])
def test_measured_accuracy_matches_the_error_model(error_rate, min_carries):
    """Brute force over every 2-digit problem: accuracy = 1 - error_rate * P(hard)."""
    teacher = Teacher(TASK, TeacherConfig(error_rate, min_carries))
    hard_share = np.mean([TASK.num_carries(p) >= min_carries for p in ALL_PROBLEMS])
    expected = 1 - error_rate * hard_share
    assert teacher.expected_accuracy(ALL_PROBLEMS) == pytest.approx(expected)
    measured = teacher.accuracy(ALL_PROBLEMS, np.random.default_rng(1), repeats=3)
    assert measured == pytest.approx(expected, abs=0.015)  # 24,300 demonstrations: std ~0.003


def test_the_right_answer_stays_in_reach_on_hard_problems():
    """Hard problems get the right answer with probability 1 - error_rate, not never."""
    teacher = Teacher(TASK, TeacherConfig(0.7, 2))
    rng = np.random.default_rng(2)
    hard = [p for p in ALL_PROBLEMS if TASK.num_carries(p) >= 2][:200]
    right = np.mean([TASK.reward(p, teacher.demonstrate(p, rng)[0] + "<eos>") for p in hard for _ in range(5)])
    assert 0.25 < right < 0.35
