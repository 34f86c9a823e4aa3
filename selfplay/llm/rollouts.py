"""What the policy-gradient phases (GRPO, PPO) share about scoring sampled responses: the
per-token log-probs under the distribution the tokens were sampled from, the critic's values at
the same positions, and the k3 estimator of the KL to a reference policy.

Positions: for right-padded ``tokens`` [N, L], column t of every output [N, L - 1] belongs to
the prediction of token t + 1 from tokens 0..t (the state before that token is written), so
``mask`` (sampling.right_pad's, True where token t + 1 is a response token) selects the
response's actions and the values of the states they were taken in.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from selfplay.llm.model import TokenPolicyValueModel
from selfplay.llm.sampling import mask_not_in_response


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(pi || pi_ref) from log-probs of tokens sampled from pi:
    exp(d) - d - 1 with d = ref_logp - logp; non-negative, zero where the two agree."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def token_logprobs_and_values(model: TokenPolicyValueModel, tokens: torch.Tensor, mask: torch.Tensor,
                              temperature: float):
    """From one forward pass: the log-prob of every next token [N, L - 1] (zero outside
    ``mask``), the policy's entropy at those positions, and the value head's output there.
    The policy is the distribution sampling draws from: softmax(logits / temperature) over the
    tokens legal in a response (sampling.mask_not_in_response)."""
    logits, values = model(tokens[:, :-1])
    logp_all = F.log_softmax(mask_not_in_response(logits.float()) / temperature, dim=-1)
    logp = logp_all.gather(-1, tokens[:, 1:, None]).squeeze(-1)
    entropy = torch.special.entr(logp_all.exp()).sum(-1)  # -p log p, 0 where p = 0
    return torch.where(mask.bool(), logp, torch.zeros_like(logp)), entropy, values.float()


def token_logprobs(model: TokenPolicyValueModel, tokens: torch.Tensor, mask: torch.Tensor, temperature: float):
    """``token_logprobs_and_values`` without the values: log-probs [N, L - 1] and entropy."""
    logp, entropy, _ = token_logprobs_and_values(model, tokens, mask, temperature)
    return logp, entropy


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is True (0 when there are none)."""
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp_min(1)


@torch.no_grad()
def reference_kl(model, reference, tokens: torch.Tensor, mask: torch.Tensor, temperature: float) -> dict[str, float]:
    """KL(pi || pi_ref) of ``model`` against ``reference`` over the response tokens ``mask`` of
    ``tokens``, both read as softmax(masked logits / temperature), the distribution sampled from:
    ``kl_ref/exact`` sums over the vocabulary at each position, ``kl_ref/k3`` is the k3
    estimate from the sampled tokens alone; each averaged over response tokens."""
    logits, _ = model(tokens[:, :-1])
    ref_logits, _ = reference(tokens[:, :-1])
    logp_all = F.log_softmax(mask_not_in_response(logits.float()) / temperature, dim=-1)
    ref_all = F.log_softmax(mask_not_in_response(ref_logits.float()) / temperature, dim=-1)
    p = logp_all.exp()
    # 0 * (-inf - -inf) would be nan at masked tokens: their probability is exactly 0 under both
    exact = torch.where(p > 0, p * (logp_all - ref_all), torch.zeros_like(p)).sum(-1)
    next_tokens = tokens[:, 1:, None]
    k3 = k3_kl(logp_all.gather(-1, next_tokens).squeeze(-1), ref_all.gather(-1, next_tokens).squeeze(-1))
    count = mask.sum().clamp_min(1)  # outside the response (PAD targets: log-prob -inf) nothing is read
    return {"kl_ref/exact": (exact[mask].sum() / count).item(), "kl_ref/k3": (k3[mask].sum() / count).item()}
