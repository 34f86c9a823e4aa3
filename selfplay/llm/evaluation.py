"""Held-out evaluation: greedy accuracy, response length, and from several samples per problem
pass@k (Chen et al. 2021's unbiased estimator) and maj@k (majority vote on the final answer)."""

from __future__ import annotations

from collections import Counter
from math import comb

import numpy as np
import torch

from selfplay.llm.sampling import generate
from selfplay.llm.tasks import ColumnTask, Problem, extract_answer
from selfplay.llm.tokenizer import CharTokenizer


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


def complete(model, task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], temperature: float,
             batch_size: int, generator: torch.Generator | None = None, top_k: int = 0) -> list[str]:
    """Response texts (ending in <eos> when finished) for ``problems``, in batches."""
    texts = []
    for start in range(0, len(problems), batch_size):
        chunk = problems[start:start + batch_size]
        prompts = [tokenizer.prompt_ids(task.prompt(p)) for p in chunk]
        out = generate(model, prompts, task.max_response_tokens(), tokenizer.pad_id, tokenizer.eos_id,
                       temperature=temperature, top_k=top_k, generator=generator)
        texts += [tokenizer.response_text(row.tolist()) for row in out]
    return texts


def response_length(text: str, tokenizer: CharTokenizer) -> int:
    return len(tokenizer.encode(text))


def evaluate(model, task: ColumnTask, tokenizer: CharTokenizer, problems: list[Problem], batch_size: int = 512,
             samples: int = 0, pass_k: int = 1, sampled_problems: int = 0, seed: int = 0) -> dict[str, float]:
    """Greedy accuracy and mean response length on ``problems``; with ``samples`` > 0, also
    pass@1, pass@k and maj@k from that many temperature-1 samples of the first
    ``sampled_problems`` problems."""
    texts = complete(model, task, tokenizer, problems, 0.0, batch_size)
    results = {
        "accuracy": float(np.mean([task.reward(p, t) for p, t in zip(problems, texts)])),
        "mean_length": float(np.mean([response_length(t, tokenizer) for t in texts])),
    }
    if samples > 0 and sampled_problems > 0:
        subset = problems[:sampled_problems]
        generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
        repeated = [p for p in subset for _ in range(samples)]
        sampled = complete(model, task, tokenizer, repeated, 1.0, batch_size, generator)
        passes_1, passes_k, majority = [], [], []
        for i, problem in enumerate(subset):
            group = sampled[i * samples:(i + 1) * samples]
            correct = sum(task.reward(problem, t) == 1.0 for t in group)
            passes_1.append(pass_at_k(samples, correct, 1))
            passes_k.append(pass_at_k(samples, correct, pass_k))
            majority.append(majority_correct([extract_answer(t) for t in group[:pass_k]], task.answer(problem)))
        results["pass@1"] = float(np.mean(passes_1))
        results[f"pass@{pass_k}"] = float(np.mean(passes_k))
        results[f"maj@{pass_k}"] = float(np.mean(majority))
    return results
