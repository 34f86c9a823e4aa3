"""Pairwise preferences from a simulated labeller, the data of a reward model (RLHF).

A labeller who cannot score everything by hand compares two responses to the same prompt. Here
it is simulated over a gold score the task knows,

    gold(y) = correctness_weight * verifier(y) - brevity_weight * tokens(y) / longest response

(correctness first, shorter responses as a secondary preference), and it prefers A over B with
the Bradley-Terry probability

    P(A > B) = sigmoid((gold(A) - gold(B)) / noise)

so ``noise`` is the labeller's temperature: 0 is a noiseless labeller (the higher gold score
always wins, a tie is a coin flip), a large one labels at random. A model ranking pairs exactly
by the gold score agrees with such labels with probability sigmoid(|gold(A) - gold(B)| / noise)
on each pair: ``labeller_agreement``, the ceiling of a reward model's held-out accuracy.

Where the responses come from. The standard recipe (Ziegler et al. 2019, Ouyang et al. 2022)
labels samples of the SFT policy: they are what RL starts from, so the reward model is asked
about the distribution it will score, and the same policy is the reference its scores are
normalised on. An SFT student of the imperfect teacher samples right answers and the teacher's
forgotten carries (plus its own slips and, rarely, malformed or unfinished responses), so the
pairs teach correctness. Without an SFT checkpoint the teacher's own demonstrations are the
source, half of them replaced by erroneous variants (carries forgotten, or on a problem
without carries a changed answer digit), so that easy problems too come with wrong answers;
two identical responses are a tie, labelled by a coin flip as a real labeller's would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from selfplay.llm.config import RewardModelConfig
from selfplay.llm.tasks import ColumnTask, Problem
from selfplay.llm.tokenizer import CharTokenizer

Respond = Callable[[list[Problem]], list[str]]  # problems -> response texts (ending in <eos> when finished)


def gold_scores(task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], texts: list[str],
                config: RewardModelConfig) -> np.ndarray:
    """The labeller's gold score of each response: weighted correctness minus weighted length."""
    longest = task.max_response_tokens()
    correct = np.array([task.reward(p, t) for p, t in zip(problems, texts)], dtype=np.float64)
    length = np.array([len(tokenizer.encode(t)) for t in texts], dtype=np.float64)
    return config.correctness_weight * correct - config.brevity_weight * length / longest


def preference_probability(gold_a: np.ndarray, gold_b: np.ndarray, noise: float) -> np.ndarray:
    """P(the labeller prefers A): sigmoid((gold_a - gold_b) / noise); with noise 0 a step (1/2 at a tie)."""
    delta = np.asarray(gold_a, dtype=np.float64) - np.asarray(gold_b, dtype=np.float64)
    if noise == 0:
        return np.where(delta > 0, 1.0, np.where(delta < 0, 0.0, 0.5))
    return 1.0 / (1.0 + np.exp(-delta / noise))


def label(gold_a: np.ndarray, gold_b: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """The labeller's verdicts: True where it prefers A."""
    return rng.random(len(gold_a)) < preference_probability(gold_a, gold_b, noise)


def labeller_agreement(gold_chosen: np.ndarray, gold_rejected: np.ndarray, noise: float) -> float:
    """The expected share of labels a ranking by the gold score agrees with: the mean of
    sigmoid(|delta| / noise) (1 on distinct gold scores and 1/2 on ties when noise is 0)."""
    p = preference_probability(gold_chosen, gold_rejected, noise)
    return float(np.mean(np.maximum(p, 1 - p))) if len(p) else float("nan")


@dataclass
class PreferencePairs:
    """Labelled pairs: the labeller preferred ``chosen[i]`` over ``rejected[i]`` for ``problems[i]``."""
    problems: list[Problem]
    chosen: list[str]
    rejected: list[str]
    gold_chosen: np.ndarray
    gold_rejected: np.ndarray

    def __len__(self) -> int:
        return len(self.problems)


def labelled_pairs(task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], respond: Respond,
                   config: RewardModelConfig, rng: np.random.Generator) -> PreferencePairs:
    """Two responses to each problem from ``respond``, scored and labelled."""
    texts_a, texts_b = respond(problems), respond(problems)
    gold_a = gold_scores(task, tokenizer, problems, texts_a, config)
    gold_b = gold_scores(task, tokenizer, problems, texts_b, config)
    prefers_a = label(gold_a, gold_b, config.noise, rng)
    chosen = [a if keep else b for a, b, keep in zip(texts_a, texts_b, prefers_a)]
    rejected = [b if keep else a for a, b, keep in zip(texts_a, texts_b, prefers_a)]
    return PreferencePairs(problems, chosen, rejected, np.where(prefers_a, gold_a, gold_b),
                           np.where(prefers_a, gold_b, gold_a))


def split_problems(task: ColumnTask, pairs: int, heldout_fraction: float,
                   rng: np.random.Generator) -> tuple[list[Problem], list[Problem]]:
    """Training prompts for the pairs, then held-out ones that share no problem with them
    (``task.canonical``: a+b and b+a are one), so held-out accuracy is measured on unseen prompts. All are the
    task's training problems: its held-out problems stay for the policy's evaluation."""
    heldout = round(pairs * heldout_fraction)
    train = task.sample_many(pairs - heldout, rng)
    seen = {task.canonical(p) for p in train}
    held: list[Problem] = []
    for _ in range(100 * heldout + 1000):
        if len(held) == heldout:
            break
        problem = task.sample(rng)
        if task.canonical(problem) not in seen:
            held.append(problem)
    if len(held) < heldout:  # a tiny task: every prompt already has a training pair
        held += task.sample_many(heldout - len(held), rng)
    return train, held


def erroneous_variant(task: ColumnTask, problem: Problem, rng: np.random.Generator) -> str:
    """A wrong response: the carries forgotten, or on a problem without carries one answer
    digit changed (the scratchpad then disagrees with the answer)."""
    text = task.response(problem, drop_carries=True)
    if text != task.response(problem):
        return text
    head, answer = text.split("<ans>")
    position = int(rng.integers(len(answer)))
    digit = (int(answer[position]) + int(rng.integers(1, 10))) % 10
    answer = answer[:position] + str(digit) + answer[position + 1:]
    return f"{head}<ans>{int(answer)}"


def teacher_respond(task: ColumnTask, teacher, rng: np.random.Generator, error_share: float = 0.5) -> Respond:
    """Responses without an SFT policy: with probability ``error_share`` an erroneous variant
    (so every problem, easy ones too, has wrong answers to compare), else the teacher's own
    demonstration (right, or its carries forgotten on a hard problem)."""
    def respond(problems: list[Problem]) -> list[str]:
        return [(erroneous_variant(task, p, rng) if rng.random() < error_share else teacher.demonstrate(p, rng)[0])
                + "<eos>" for p in problems]
    return respond
