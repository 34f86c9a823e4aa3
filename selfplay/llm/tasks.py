"""Tasks with verifiable rewards, generated in code: column addition and column multiplication.

A problem is a pair of ints. Its prompt is ``a+b`` (or ``a*b``); its response is an optional
scratchpad, the answer marker and the answer:

    prompt   358+467
    response 51,21,80<ans>825<eos>      scratchpad: one "digit carry" pair per column, units first
    response <ans>825<eos>              without the scratchpad

The reward reads only the final answer (what follows ``<ans>``, up to ``<eos>``): 1.0 when it
is exactly the right number, else 0.0; the scratchpad is never checked. Both tasks are the same
column algorithm (a column value plus the carry from the column before), so the teacher's error
class, forgetting to carry, means the same thing in both. Problems are split once and for all
into training and held-out ones by a hash of the prompt, so evaluation uses problems that no
demonstration and no RL rollout ever saw.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from selfplay.configio import require
from selfplay.errors import UserError

Problem = tuple[int, int]
_NUMBER = re.compile(r"[0-9]+")


class TaskError(UserError):
    """A task that cannot produce problems (for example an empty split)."""


@dataclass
class TaskConfig:
    name: str = "addition"           # one of TASKS
    min_digits: int = 3              # length of each operand (multiplication: the first one;
    max_digits: int = 3              # the second is one digit, 2-9)
    scratchpad: bool = True          # write per-column digits and carries before the answer
    heldout_fraction: float = 0.05   # share of all problems kept for evaluation only

    def validate(self):
        require(self.name.strip() != "", f"task name is empty; choose one of {', '.join(TASKS)}")
        require(self.name in TASKS, f"unknown task {self.name!r}; choose one of {', '.join(TASKS)}")
        require(1 <= self.min_digits <= self.max_digits <= 9,
                f"need 1 <= min_digits <= max_digits <= 9, got {self.min_digits} and {self.max_digits}")
        require(0 < self.heldout_fraction < 1, "heldout_fraction must be between 0 and 1 (exclusive)")


def extract_answer(response: str) -> str | None:
    """The final answer of a response text (``...<ans>DIGITS<eos>``, one marker), or None."""
    _, marker, tail = response.partition("<ans>")
    if not marker or not tail.endswith("<eos>"):
        return None
    answer = tail[:-len("<eos>")]
    return answer if _NUMBER.fullmatch(answer) else None


def random_operand(rng: np.random.Generator, digits: int) -> int:
    low = 0 if digits == 1 else 10 ** (digits - 1)
    return int(rng.integers(low, 10 ** digits))


def _digits(n: int) -> list[int]:
    """Decimal digits, units first."""
    return [int(c) for c in reversed(str(n))]


class ColumnTask:
    """Shared by both tasks: subclasses say how to draw operands and what a column's value is."""

    symbol = "?"

    def __init__(self, config: TaskConfig):
        self.config = config
        self.name = config.name

    # ---- to override --------------------------------------------------------------------------
    def _operands(self, rng: np.random.Generator) -> Problem:
        raise NotImplementedError

    def column_values(self, problem: Problem) -> list[int]:
        """The value of each column before adding the incoming carry, units first."""
        raise NotImplementedError

    def max_columns(self) -> int:
        raise NotImplementedError

    def solve(self, problem: Problem) -> int:
        raise NotImplementedError

    # ---- the column algorithm -----------------------------------------------------------------
    def work(self, problem: Problem, drop_carries: bool = False) -> tuple[list[int], list[int], str]:
        """(column digits, carries written, answer): the algorithm as a pupil runs it. With
        ``drop_carries`` every carry is forgotten (written and used as 0): the teacher's error."""
        digits, carries, carry = [], [], 0
        for value in self.column_values(problem):
            total = value + carry
            carry = 0 if drop_carries else total // 10
            digits.append(total % 10)
            carries.append(carry)
        answer = "".join(map(str, reversed(digits)))
        if carry:
            answer = str(carry) + answer
        return digits, carries, str(int(answer))

    def num_carries(self, problem: Problem) -> int:
        """Columns that pass a non-zero carry on: how hard the problem is for the teacher."""
        return sum(c > 0 for c in self.work(problem)[1])

    def prompt(self, problem: Problem) -> str:
        return f"{problem[0]}{self.symbol}{problem[1]}"

    def answer(self, problem: Problem) -> str:
        return str(self.solve(problem))

    def response(self, problem: Problem, drop_carries: bool = False) -> str:
        """The response text (without ``<eos>``, which the tokenizer appends)."""
        digits, carries, answer = self.work(problem, drop_carries)
        pad = ",".join(f"{d}{c}" for d, c in zip(digits, carries)) if self.config.scratchpad else ""
        return f"{pad}<ans>{answer}"

    def reward(self, problem: Problem, response: str) -> float:
        """The verifier: 1.0 iff the final answer is exactly right and the response ended."""
        return float(extract_answer(response) == self.answer(problem))

    # ---- problems and the held-out split ------------------------------------------------------
    def is_heldout(self, problem: Problem) -> bool:
        bucket = zlib.crc32(self.prompt(problem).encode()) % 100_000
        return bucket < self.config.heldout_fraction * 100_000

    def sample(self, rng: np.random.Generator, heldout: bool = False, max_tries: int = 10_000) -> Problem:
        """A random training (or held-out) problem; rejection against the hash split."""
        for _ in range(max_tries):
            problem = self._operands(rng)
            if self.is_heldout(problem) == heldout:
                return problem
        split = "held-out" if heldout else "training"
        raise TaskError(f"task {self.name} with {self.config.min_digits}-{self.config.max_digits} digits "
                        f"has no {split} problems (heldout_fraction {self.config.heldout_fraction})")

    def sample_many(self, n: int, rng: np.random.Generator, heldout: bool = False) -> list[Problem]:
        return [self.sample(rng, heldout) for _ in range(n)]

    # ---- sizes, in tokens (the tokenizer is one token per character) --------------------------
    def max_prompt_tokens(self) -> int:
        """<bos> prompt <sep>."""
        raise NotImplementedError

    def max_response_tokens(self) -> int:
        """Scratchpad, <ans>, the answer, <eos>."""
        columns = self.max_columns()
        scratch = 3 * columns - 1 if self.config.scratchpad else 0
        return scratch + 1 + (columns + 1) + 1


class AdditionTask(ColumnTask):
    """a + b with each operand min_digits to max_digits long."""

    symbol = "+"

    def _operands(self, rng):
        lo, hi = self.config.min_digits, self.config.max_digits
        return (random_operand(rng, int(rng.integers(lo, hi + 1))), random_operand(rng, int(rng.integers(lo, hi + 1))))

    def column_values(self, problem):
        a, b = _digits(problem[0]), _digits(problem[1])
        width = max(len(a), len(b))
        a, b = a + [0] * (width - len(a)), b + [0] * (width - len(b))
        return [x + y for x, y in zip(a, b)]

    def max_columns(self):
        return self.config.max_digits

    def solve(self, problem):
        return problem[0] + problem[1]

    def max_prompt_tokens(self):
        return 2 * self.config.max_digits + 3


class MultiplicationTask(ColumnTask):
    """a * b with a min_digits to max_digits long and b one digit from 2 to 9."""

    symbol = "*"

    def _operands(self, rng):
        lo, hi = self.config.min_digits, self.config.max_digits
        return random_operand(rng, int(rng.integers(lo, hi + 1))), int(rng.integers(2, 10))

    def column_values(self, problem):
        return [d * problem[1] for d in _digits(problem[0])]

    def max_columns(self):
        return self.config.max_digits

    def solve(self, problem):
        return problem[0] * problem[1]

    def max_prompt_tokens(self):
        return self.config.max_digits + 4


TASKS = {"addition": AdditionTask, "multiplication": MultiplicationTask}


def make_task(config: TaskConfig) -> ColumnTask:
    if config.name not in TASKS:
        raise TaskError(f"unknown task {config.name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[config.name](config)
