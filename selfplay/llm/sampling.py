"""Batched sampling from a TokenPolicyValueModel: left-padded prompts, a KV cache (or, for the
tests, a full forward per token), temperature (0 = greedy) and top-k.

Tokens that are never legal inside a response (PAD, BOS, SEP: tokenizer.NOT_IN_RESPONSE) are
masked to -inf before every pick, greedy or sampled, by ``mask_not_in_response``: the one place
that decides it, used by ``generate`` (SFT evaluation, GRPO rollouts, anything that samples
responses) and by whoever recomputes the log-probs of sampled tokens (GRPO's ratio and KL), so
that the probabilities a trainer optimises are those of the distribution it sampled from.
"""

from __future__ import annotations

import torch

from selfplay.llm.model import KVCache, TokenPolicyValueModel
from selfplay.llm.tokenizer import NOT_IN_RESPONSE, SPECIALS

NOT_IN_RESPONSE_IDS = tuple(SPECIALS.index(piece) for piece in NOT_IN_RESPONSE)  # PAD, BOS, SEP


def mask_not_in_response(logits: torch.Tensor, banned_ids=NOT_IN_RESPONSE_IDS) -> torch.Tensor:
    """``logits`` [..., V] with the tokens that may not appear in a response set to -inf."""
    if not banned_ids:
        return logits
    return logits.index_fill(-1, torch.tensor(banned_ids, device=logits.device), float("-inf"))


def left_pad(prompts: list[list[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids [N, P] with each prompt flush right, and the mask of real tokens."""
    width = max(len(p) for p in prompts)
    tokens = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    for i, p in enumerate(prompts):
        tokens[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
    tokens = tokens.to(device)
    return tokens, tokens != pad_id


def right_pad(rows: list[list[int]], prompt_lengths: list[int], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompt + response rows as training input: token ids [N, L] padded on the right, and the
    mask [N, L - 1] of the positions whose next token belongs to the response."""
    width = max(map(len, rows)) if rows else 2
    tokens = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros(len(rows), width - 1, dtype=torch.bool)
    for i, (row, start) in enumerate(zip(rows, prompt_lengths)):
        tokens[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, start - 1:len(row) - 1] = True
    return tokens, mask


def pick_tokens(logits: torch.Tensor, temperature: float, top_k: int, generator: torch.Generator | None):
    """One token per row of ``logits`` [N, V]: argmax when temperature is 0, else a sample from
    softmax(logits / temperature) restricted to the top_k largest (0 = all)."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@torch.no_grad()
def generate(model: TokenPolicyValueModel, prompts: list[list[int]], max_new_tokens: int, pad_id: int,
             eos_id: int, temperature: float = 1.0, top_k: int = 0, generator: torch.Generator | None = None,
             use_cache: bool = True, return_logits: bool = False, banned_ids=NOT_IN_RESPONSE_IDS):
    """Responses [N, max_new_tokens] (PAD after each row's EOS, never a ``banned_ids`` token
    before it) and, with ``return_logits``, the model's logits at each drawn token
    [N, max_new_tokens, V] (zeros after EOS; before ``mask_not_in_response``, which the pick
    applies on top)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    tokens, key_mask = left_pad(prompts, pad_id, device)
    n = len(prompts)
    positions = (key_mask.long().cumsum(-1) - 1).clamp_min(0)
    responses = torch.full((n, max_new_tokens), pad_id, dtype=torch.long, device=device)
    all_logits = torch.zeros(n, max_new_tokens, model.vocab_size, device=device) if return_logits else None
    cache = KVCache(model.config, n, tokens.shape[1] + max_new_tokens, device) if use_cache else None
    logits, _ = model(tokens, positions, key_mask, cache)
    next_logits = logits[:, -1]
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    next_position = positions[:, -1:] + 1
    for step in range(max_new_tokens):
        token = pick_tokens(mask_not_in_response(next_logits, banned_ids), temperature, top_k, generator)
        token = token.masked_fill(finished, pad_id)
        responses[:, step] = token
        if return_logits:
            all_logits[:, step] = next_logits.masked_fill(finished[:, None], 0.0)
        finished |= token == eos_id
        if bool(finished.all()) or step == max_new_tokens - 1:
            break
        key_mask = torch.cat([key_mask, torch.ones(n, 1, dtype=torch.bool, device=device)], dim=1)
        if use_cache:
            logits, _ = model(token[:, None], next_position, key_mask, cache)
        else:
            tokens = torch.cat([tokens, token[:, None]], dim=1)
            positions = torch.cat([positions, next_position], dim=1)
            logits, _ = model(tokens, positions, key_mask)
        next_logits = logits[:, -1]
        next_position = next_position + 1
    model.train(was_training)
    return (responses, all_logits) if return_logits else responses
