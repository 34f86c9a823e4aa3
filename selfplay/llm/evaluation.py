"""Held-out evaluation: greedy accuracy, response length, and from several samples per problem
pass@1 (the temperature-1 accuracy, averaged over the samples), pass@k (Chen et al. 2021's
unbiased estimator) and maj@k (majority vote on the final answer).

Every rate comes with its 95% Wilson interval (``NAME_low``, ``NAME_high``) over the number of
problems it was measured on (``problems``, ``sampled_problems``). For pass@1, pass@k and maj@k
the interval treats each problem's score as one outcome (a per-problem mean counts as a
fractional success): the samples of one problem are not independent of each other, so the
problems, not the samples, are the unit. ``score_responses`` does the counting from response
texts, so the teacher (its demonstrations, its most likely response) is measured exactly as
the student is, on the same problems.
"""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np
import torch

from selfplay.llm.sampling import generate
from selfplay.llm.tasks import ColumnTask, Problem, extract_answer
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.rating.stats import wilson_interval


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n samples, c
    of them correct, is correct: 1 - C(n - c, k) / C(n, k)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    return 1.0 - comb(n - c, k) / comb(n, k)


def majority_correct(answers: list[str | None], truth: str) -> bool:
    """maj@k: the most frequent well-formed answer (first seen wins a tie) is the right one."""
    votes = Counter(a for a in answers if a is not None)
    return bool(votes) and votes.most_common(1)[0][0] == truth


def with_interval(name: str, scores: list[float]) -> dict[str, float]:
    """``name`` (the mean of per-problem scores in [0, 1]) and its 95% Wilson interval."""
    n = len(scores)
    mean = float(np.mean(scores)) if n else float("nan")
    low, high = wilson_interval(sum(scores), n)
    return {name: mean, f"{name}_low": low, f"{name}_high": high}


def complete_ids(model, task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], temperature: float,
                 batch_size: int, generator: torch.Generator | None = None, top_k: int = 0) -> list[list[int]]:
    """The exact response token ids for ``problems`` (PAD after EOS), in batches."""
    out_ids = []
    for start in range(0, len(problems), batch_size):
        chunk = problems[start:start + batch_size]
        prompts = [tokenizer.prompt_ids(task.prompt(p)) for p in chunk]
        out = generate(model, prompts, task.max_response_tokens(), tokenizer.pad_id, tokenizer.eos_id,
                       temperature=temperature, top_k=top_k, generator=generator)
        out_ids += out.tolist()
    return out_ids


def complete(model, task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], temperature: float,
             batch_size: int, generator: torch.Generator | None = None, top_k: int = 0) -> list[str]:
    """Response texts (ending in <eos> when finished) for ``problems``, in batches."""
    return [tokenizer.response_text(ids)
            for ids in complete_ids(model, task, tokenizer, problems, temperature, batch_size, generator, top_k)]


def response_length(text: str, tokenizer: CharTokenizer) -> int:
    return len(tokenizer.encode(text))


def score_responses(task: ColumnTask, problems: list[Problem], greedy_rewards: list[float],
                    sampled_texts: list[list[str]], sampled_rewards: list[list[float]], pass_k: int) -> dict[str, float]:
    """Rates with intervals from verified responses: ``greedy_rewards`` [problems] gives
    ``accuracy``; ``sampled_texts``/``sampled_rewards`` [sampled problems][samples] (the first
    problems, or none) give pass@1, pass@k and maj@k (maj@k votes over the first k samples)."""
    results = {**with_interval("accuracy", greedy_rewards), "problems": len(problems)}
    if sampled_texts:
        samples = len(sampled_texts[0])
        passes_1, passes_k, majority = [], [], []
        for problem, texts, rewards in zip(problems, sampled_texts, sampled_rewards):
            correct = int(sum(r == 1.0 for r in rewards))
            passes_1.append(pass_at_k(samples, correct, 1))
            passes_k.append(pass_at_k(samples, correct, pass_k))
            majority.append(float(majority_correct([extract_answer(t) for t in texts[:pass_k]], task.answer(problem))))
        results.update(with_interval("pass@1", passes_1))
        results.update(with_interval(f"pass@{pass_k}", passes_k))
        results.update(with_interval(f"maj@{pass_k}", majority))
        results["sampled_problems"] = len(sampled_texts)
    return results


def evaluate(model, task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], batch_size: int = 512,
             samples: int = 0, pass_k: int = 1, sampled_problems: int = 0, seed: int = 0) -> dict[str, float]:
    """Greedy accuracy and mean response length on ``problems``; with ``samples`` > 0, also
    pass@1 (sampled accuracy), pass@k and maj@k from that many temperature-1 samples of the
    first ``sampled_problems`` problems; each rate with its Wilson interval. The verifier reads
    the exact response ids (``ColumnTask.reward_ids``)."""
    greedy_ids = complete_ids(model, task, tokenizer, problems, 0.0, batch_size)
    greedy_rewards = [task.reward_ids(p, ids, tokenizer) for p, ids in zip(problems, greedy_ids)]
    sampled_texts, sampled_rewards = [], []
    if samples > 0 and sampled_problems > 0:
        subset = problems[:sampled_problems]
        generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
        repeated = [p for p in subset for _ in range(samples)]
        sampled_ids = complete_ids(model, task, tokenizer, repeated, 1.0, batch_size, generator)
        for i, problem in enumerate(subset):
            group = sampled_ids[i * samples:(i + 1) * samples]
            sampled_texts.append([tokenizer.response_text(ids) for ids in group])
            sampled_rewards.append([task.reward_ids(problem, ids, tokenizer) for ids in group])
    results = score_responses(task, problems, greedy_rewards, sampled_texts, sampled_rewards, pass_k)
    lengths = [response_length(tokenizer.response_text(ids), tokenizer) for ids in greedy_ids]
    return {**results, "mean_length": float(np.mean(lengths))}
