"""The imperfect teacher: it writes demonstrations that are right on most problems, but on a
problem needing ``min_carries`` carries or more it forgets every carry with probability
``error_rate`` (a systematic error class, not noise). So on the hard problems the right answer
is in what a student imitating it can sample (with probability 1 - error_rate) but is not the
most likely output: imitation plateaus near the teacher, RL on the verifier can go past it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from selfplay.configio import require
from selfplay.llm.tasks import ColumnTask, Problem


@dataclass
class TeacherConfig:
    error_rate: float = 0.7     # chance of forgetting the carries on a hard problem
    min_carries: int = 2        # a problem is hard from this many carries on

    def validate(self):
        require(0 <= self.error_rate <= 1, "error_rate must be between 0 and 1")
        require(self.min_carries >= 1,
                "min_carries must be at least 1 (a problem without carries has no carry to drop)")


class Teacher:
    def __init__(self, task: ColumnTask, config: TeacherConfig):
        self.task = task
        self.config = config

    def is_hard(self, problem: Problem) -> bool:
        return self.task.num_carries(problem) >= self.config.min_carries

    def demonstrate(self, problem: Problem, rng: np.random.Generator) -> tuple[str, bool]:
        """(response text, whether the teacher forgot its carries this time)."""
        slip = self.is_hard(problem) and rng.random() < self.config.error_rate
        return self.task.response(problem, drop_carries=slip), slip

    def accuracy(self, problems: list[Problem], rng: np.random.Generator, repeats: int = 1) -> float:
        """Measured through the verifier like the student's, ``repeats`` demonstrations a problem."""
        rewards = [self.task.reward(p, self.demonstrate(p, rng)[0] + "<eos>") for p in problems for _ in range(repeats)]
        return float(np.mean(rewards))

    def expected_accuracy(self, problems: list[Problem]) -> float:
        """The accuracy the error model implies on ``problems`` (no sampling noise)."""
        hard = np.mean([self.is_hard(p) for p in problems])
        return float(1 - self.config.error_rate * hard)
