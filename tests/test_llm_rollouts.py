import math

import torch
from torch import nn

from selfplay.llm.rollouts import masked_mean, token_logprobs, token_logprobs_and_values
from selfplay.llm.tokenizer import CharTokenizer

TOK = CharTokenizer()


class FixedLogits(nn.Module):
    """Logit 2 on the token '7' and 0 on every other token at every position; value 0.5."""

    def forward(self, tokens):
        logits = torch.zeros(*tokens.shape, TOK.vocab_size)
        logits[..., TOK.encode("7")[0]] = 2.0
        return logits, torch.full(tokens.shape, 0.5)


def test_log_probs_are_those_of_the_sampling_distribution():
    # <bos> 1 <sep> 7 <eos> <pad>: the response is "7<eos>", read at positions 2 and 3
    tokens = torch.tensor([[TOK.bos_id, *TOK.encode("1"), TOK.sep_id, *TOK.encode("7"), TOK.eos_id, TOK.pad_id]])
    mask = torch.tensor([[False, False, True, True, False]])
    logp, entropy, values = token_logprobs_and_values(FixedLogits(), tokens, mask, temperature=2.0)
    # softmax(logits / 2) over the tokens legal in a response (PAD, BOS, SEP never are):
    legal = TOK.vocab_size - 3
    z = math.e + (legal - 1)
    assert abs(logp[0, 2].item() - math.log(math.e / z)) < 1e-6
    assert abs(logp[0, 3].item() - math.log(1 / z)) < 1e-6
    assert logp[0, [0, 1, 4]].tolist() == [0.0, 0.0, 0.0]  # outside the response (PAD target included)
    p7, rest = math.e / z, 1 / z
    expected_entropy = -(p7 * math.log(p7) + (legal - 1) * rest * math.log(rest))
    assert torch.allclose(entropy[0], torch.full((5,), expected_entropy))
    assert values.tolist() == [[0.5] * 5]
    assert torch.equal(token_logprobs(FixedLogits(), tokens, mask, 2.0)[0], logp)


def test_masked_mean():
    x = torch.tensor([[1.0, 2.0, 100.0]])
    assert masked_mean(x, torch.tensor([[True, True, False]])).item() == 1.5
    assert masked_mean(x, torch.zeros(1, 3, dtype=torch.bool)).item() == 0.0
