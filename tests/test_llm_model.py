import pytest
import torch

from selfplay.configio import ConfigError, load_config
from selfplay.llm.model import (
    KVCache,
    ModelConfig,
    TokenPolicyValueModel,
    attention_mask,
)

VOCAB = 18
CONFIG = ModelConfig(layers=2, heads=2, dim=32, context=16)


def make_model(**changes) -> TokenPolicyValueModel:
    torch.manual_seed(0)
    return TokenPolicyValueModel(VOCAB, ModelConfig(**{**CONFIG.__dict__, **changes})).eval()


def test_contract_shapes_and_value_range():
    model = make_model()
    tokens = torch.randint(0, VOCAB, (3, 10))
    logits, values = model(tokens)
    assert logits.shape == (3, 10, VOCAB) and values.shape == (3, 10)
    assert values.abs().max() <= 1
    with torch.no_grad():
        model.value_head.bias.fill_(50.0)
    assert torch.allclose(model(tokens)[1], torch.ones(3, 10))  # tanh saturates at 1


def test_unbounded_value_for_a_critic():
    model = make_model(value_activation="none")
    with torch.no_grad():
        model.value_head.bias.fill_(50.0)
    assert model(torch.randint(0, VOCAB, (2, 5)))[1].min() > 40


def test_causal_the_past_does_not_see_the_future():
    model = make_model()
    a = torch.randint(0, VOCAB, (1, 12))
    b = a.clone()
    b[0, 7:] = (b[0, 7:] + 1) % VOCAB
    la, va = model(a)
    lb, vb = model(b)
    assert torch.allclose(la[0, :7], lb[0, :7], atol=1e-6) and torch.allclose(va[0, :7], vb[0, :7], atol=1e-6)
    assert not torch.allclose(la[0, 7:], lb[0, 7:])


def test_left_padding_with_a_key_mask_equals_the_plain_sequence():
    model = make_model()
    seq = torch.randint(1, VOCAB, (1, 9))
    padded = torch.cat([torch.zeros(1, 4, dtype=torch.long), seq], dim=1)
    key_mask = padded != 0
    positions = (key_mask.long().cumsum(-1) - 1).clamp_min(0)
    plain_logits, plain_values = model(seq)
    logits, values = model(padded, positions, key_mask)
    assert torch.allclose(logits[:, 4:], plain_logits, atol=1e-5)
    assert torch.allclose(values[:, 4:], plain_values, atol=1e-5)


def test_cache_one_token_at_a_time_equals_one_forward():
    model = make_model()
    seq = torch.randint(0, VOCAB, (2, 11))
    full_logits, full_values = model(seq)
    cache = KVCache(model.config, 2, 11, "cpu")
    logits, values = model(seq[:, :5], cache=cache)
    steps = [logits]
    for t in range(5, 11):
        step_logits, _ = model(seq[:, t:t + 1], cache=cache)
        steps.append(step_logits)
    assert cache.length == 11
    assert torch.allclose(torch.cat(steps, dim=1), full_logits, atol=1e-5)


def test_attention_mask_rows_are_never_empty():
    key_mask = torch.tensor([[False, False, True, True]])
    mask = attention_mask(key_mask, 0, 4)[0, 0]
    assert mask.any(dim=-1).all()
    assert mask[3].tolist() == [False, False, True, True]
    assert mask[2].tolist() == [False, False, True, False]


def test_too_long_a_sequence_is_a_clear_error():
    with pytest.raises(ValueError, match="exceeds the model's context of 16"):
        make_model()(torch.zeros(1, 17, dtype=torch.long))


def test_bad_model_config():
    from selfplay.llm.config import LLMConfig
    with pytest.raises(ConfigError, match="multiple of heads"):
        load_config(LLMConfig, None, ["model.dim=30", "model.heads=4"])
    with pytest.raises(ConfigError, match="shorter than the task's longest"):
        load_config(LLMConfig, None, ["model.context=10"])


def test_default_size_is_nanogpt_small():
    model = TokenPolicyValueModel(VOCAB, ModelConfig())
    assert 5e5 < model.num_parameters() < 1.5e6
