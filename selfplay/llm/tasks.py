"""Tasks with verifiable rewards, generated in code: column addition and column multiplication.

A problem is a pair of ints. Its prompt is ``a+b`` (or ``a*b``); its response is an optional
scratchpad, the answer marker and the answer:

    prompt   358+467
    response 51,21,80<ans>825<eos>      scratchpad: one "digit carry" pair per column, units first
    response <ans>825<eos>              without the scratchpad

The reward reads only the final answer (what follows ``<ans>``, up to ``<eos>``): 1.0 when it
is exactly the right number, else 0.0; the scratchpad's content is never checked, but the
response must be well formed: ``(scratchpad)<ans>DIGITS<eos>`` with no special token (PAD,
BOS, SEP, a second ``<ans>``) anywhere inside and nothing after ``<eos>`` but the padding that
batching adds (``reward_ids`` reads the exact token ids; ``<ans>8<pad>25<eos>`` scores 0). Both tasks are the same
column algorithm (a column value plus the carry from the column before), so the teacher's error
class, forgetting to carry, means the same thing in both. Problems are split once and for all
into training and held-out ones by a hash of the canonical problem (the operands sorted: both
tasks commute, so ``467+358`` is held out exactly when ``358+467`` is), so evaluation uses
problems that no demonstration and no RL rollout ever saw, in either operand order. Evaluation
problems are drawn without replacement.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np

from selfplay.configio import require
from selfplay.errors import UserError
from selfplay.llm.tokenizer import CharTokenizer

Problem = tuple[int, int]
# A well-formed response text: a scratchpad of alphabet characters (no special token: every one
# is written <...> and the alphabet holds no '<'), one answer marker, digits, one <eos> at the end.
_WELL_FORMED = re.compile(r"[^<]*<ans>([0-9]+)<eos>")
ENUMERATE_LIMIT = 200_000  # problem spaces up to this size are counted exactly for the held-out split


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
    """The final answer of a well-formed response text (``SCRATCHPAD<ans>DIGITS<eos>``, no
    special token but the one marker and the final EOS), or None."""
    match = _WELL_FORMED.fullmatch(response)
    return match.group(1) if match else None


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
        """The verifier: 1.0 iff the response is well formed, ended, and its final answer is
        exactly right."""
        return float(extract_answer(response) == self.answer(problem))

    def reward_ids(self, problem: Problem, ids, tokenizer: CharTokenizer) -> float:
        """The verifier on the exact response token ids (as sampled, PAD after EOS from
        batching): 0 if anything but PAD follows the first EOS, else ``reward`` of their text
        (which keeps any PAD before the EOS, so ``<ans>8<pad>25<eos>`` scores 0)."""
        ids = [int(i) for i in ids]
        if tokenizer.eos_id in ids and any(i != tokenizer.pad_id for i in ids[ids.index(tokenizer.eos_id) + 1:]):
            return 0.0
        return self.reward(problem, tokenizer.response_text(ids))

    # ---- problems and the held-out split ------------------------------------------------------
    def canonical(self, problem: Problem) -> Problem:
        """The problem with its operands sorted: both tasks commute, so a+b and b+a (a*b and
        b*a) are one problem and fall on the same side of the split. For multiplication the
        swap of a multi-digit a times a digit b is not a problem of the task anyway (the first
        operand has min_digits or more, the second is one digit), so sorting changes nothing
        there; with one-digit first operands (min_digits 1) 3*5 and 5*3 both occur, and
        sorting keeps them together."""
        return (min(problem), max(problem))

    def is_heldout(self, problem: Problem) -> bool:
        a, b = self.canonical(problem)
        bucket = zlib.crc32(f"{a}{self.symbol}{b}".encode()) % 100_000
        return bucket < self.config.heldout_fraction * 100_000

    def all_problems(self):
        """Every problem of the task, in a fixed order (only for small spaces)."""
        raise NotImplementedError

    def space_size(self) -> int:
        raise NotImplementedError

    def _operand_range(self) -> range:
        """Every operand of min_digits to max_digits digits (as random_operand draws them)."""
        lo, hi = self.config.min_digits, self.config.max_digits
        return range(0 if lo == 1 else 10 ** (lo - 1), 10 ** hi)

    def heldout_count(self) -> int | None:
        """The exact number of held-out problems when the space is small enough to count
        (at most ENUMERATE_LIMIT problems), else None."""
        if self.space_size() > ENUMERATE_LIMIT:
            return None
        return sum(self.is_heldout(p) for p in self.all_problems())

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
        """``n`` training problems drawn with replacement, or ``n`` distinct held-out problems
        (an evaluation set: no problem counted twice); TaskError if the held-out split has fewer."""
        if not heldout:
            return [self.sample(rng, heldout) for _ in range(n)]
        available = self.heldout_count()
        if available is not None and available < n:
            raise TaskError(f"task {self.name} with {self.config.min_digits}-{self.config.max_digits} digits has "
                            f"{available} held-out problems (heldout_fraction {self.config.heldout_fraction}), "
                            f"fewer than the {n} asked for (eval.problems)")
        chosen: dict[Problem, None] = {}
        misses = 0
        while len(chosen) < n:
            problem = self.sample(rng, heldout=True)
            if problem in chosen:
                misses += 1
                if misses > 100 * n + 10_000:
                    raise TaskError(f"task {self.name}: could not draw {n} distinct held-out problems "
                                    f"(found {len(chosen)}); lower eval.problems or raise task.heldout_fraction")
                continue
            chosen[problem] = None
        return list(chosen)

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

    def space_size(self):
        return len(self._operand_range()) ** 2

    def all_problems(self):
        r = self._operand_range()
        return ((a, b) for a in r for b in r)


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

    def space_size(self):
        return len(self._operand_range()) * 8

    def all_problems(self):
        return ((a, b) for a in self._operand_range() for b in range(2, 10))


TASKS = {"addition": AdditionTask, "multiplication": MultiplicationTask}


def make_task(config: TaskConfig) -> ColumnTask:
    if config.name not in TASKS:
        raise TaskError(f"unknown task {config.name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[config.name](config)
