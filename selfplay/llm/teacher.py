"""The imperfect teacher: it writes demonstrations that are right on most problems, but on a
hard problem (one needing ``min_carries`` carries or more) it forgets every carry: a systematic
error class, not noise. Two modes say when:

``random`` (the first version): on a hard problem it forgets with probability ``error_rate``,
    afresh at each demonstration. The student sees the right answer and the wrong one for the
    same kind of prompt, so a student that imitates well and is read greedily writes the more
    likely of the two: with error_rate below 0.5 greedy decoding "denoises" the teacher and
    beats it with no RL (an SFT student reached 100% greedy against a 78% teacher at 0.3); at
    0.7 the error is the majority and greedy imitation sits below the teacher. Sampled at
    temperature 1, a perfect imitator scores the teacher's accuracy in both cases.
``systematic``: a misconception, a deterministic rule of the prompt: it forgets every carry on
    every hard problem, always (``error_rate`` must be 1). The rule is one the student can learn
    from the prompt (how many columns carry), so a perfect imitator reproduces the errors on
    held-out problems too and scores the teacher's accuracy greedily and sampled alike: imitation
    plateaus because the teacher's answer is the target, not because of how it is decoded. The
    knob is ``min_carries`` (what counts as hard). A rule on a hash-defined subset of hard
    problems would not do: the hash is not learnable, so on held-out problems it looks like the
    random mode to the student, and greedy decoding would denoise it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from selfplay.configio import require
from selfplay.llm.tasks import ColumnTask, Problem


@dataclass
class TeacherConfig:
    error_rate: float = 0.7     # chance of forgetting the carries on a hard problem (systematic: 1)
    min_carries: int = 2        # a problem is hard from this many carries on
    mode: Literal["random", "systematic"] = "random"

    def validate(self):
        require(0 <= self.error_rate <= 1, "error_rate must be between 0 and 1")
        require(self.min_carries >= 1,
                "min_carries must be at least 1 (a problem without carries has no carry to drop)")
        require(self.mode in ("random", "systematic"), f"teacher mode must be random or systematic, got {self.mode!r}")
        require(self.mode == "random" or self.error_rate == 1.0,
                f"error_rate is {self.error_rate}, but the systematic teacher errs on every hard problem: "
                f"set error_rate: 1.0 (tune min_carries) or use mode: random")


class Teacher:
    def __init__(self, task: ColumnTask, config: TeacherConfig):
        self.task = task
        self.config = config

    def is_hard(self, problem: Problem) -> bool:
        return self.task.num_carries(problem) >= self.config.min_carries

    def slip_probability(self, problem: Problem) -> float:
        """The chance that a demonstration of ``problem`` forgets its carries (and so is wrong)."""
        if not self.is_hard(problem):
            return 0.0
        return 1.0 if self.config.mode == "systematic" else self.config.error_rate

    def demonstrate(self, problem: Problem, rng: np.random.Generator) -> tuple[str, bool]:
        """(response text, whether the teacher forgot its carries this time)."""
        if self.config.mode == "systematic":
            slip = self.is_hard(problem)
        else:
            slip = self.is_hard(problem) and rng.random() < self.config.error_rate
        return self.task.response(problem, drop_carries=slip), slip

    def greedy(self, problem: Problem) -> str:
        """The teacher's most likely response (what it writes "greedily"; a tie goes to right)."""
        return self.task.response(problem, drop_carries=self.slip_probability(problem) > 0.5)

    def accuracy(self, problems: list[Problem], rng: np.random.Generator, repeats: int = 1) -> float:
        """Measured through the verifier like the student's, ``repeats`` demonstrations a problem."""
        rewards = [self.task.reward(p, self.demonstrate(p, rng)[0] + "<eos>") for p in problems for _ in range(repeats)]
        return float(np.mean(rewards))

    def expected_accuracy(self, problems: list[Problem]) -> float:
        """The sampled accuracy the error model implies on ``problems`` (no sampling noise)."""
        return float(1 - np.mean([self.slip_probability(p) for p in problems]))

    def expected_greedy_accuracy(self, problems: list[Problem]) -> float:
        """The accuracy of ``greedy`` on ``problems``."""
        return float(np.mean([self.slip_probability(p) <= 0.5 for p in problems]))
