import pytest
import torch

from selfplay.llm.model import ModelConfig, TokenPolicyValueModel
from selfplay.llm.sampling import generate, left_pad, pick_tokens, right_pad

PAD, EOS = 0, 2
PROMPTS = [[1, 5, 6, 7, 13, 5, 6, 3], [1, 9, 13, 8, 3], [1, 5, 3], [1, 7, 7, 13, 5, 6, 3]]


def make_model(seed=0):
    torch.manual_seed(seed)
    return TokenPolicyValueModel(18, ModelConfig(layers=2, heads=2, dim=32, context=24)).eval()


@pytest.mark.parametrize("temperature, top_k", [(0.0, 0), (1.0, 0), (0.7, 5)])
def test_cached_sampling_equals_uncached(temperature, top_k):
    model = make_model()
    runs = []
    for use_cache in (True, False):
        generator = torch.Generator().manual_seed(3)
        runs.append(generate(model, PROMPTS * 4, 12, PAD, EOS, temperature, top_k, generator,
                             use_cache=use_cache, return_logits=True))
    (tokens_a, logits_a), (tokens_b, logits_b) = runs
    assert torch.equal(tokens_a, tokens_b)
    assert torch.allclose(logits_a, logits_b, atol=1e-5)


def test_sampled_logits_are_the_model_logits_of_the_plain_sequence():
    """The logits behind each sampled token equal a right-padded forward of prompt + response."""
    model = make_model()
    generator = torch.Generator().manual_seed(0)
    tokens, logits = generate(model, PROMPTS, 10, PAD, EOS, 1.0, 0, generator, return_logits=True)
    for i, prompt in enumerate(PROMPTS):
        response = tokens[i].tolist()
        length = response.index(EOS) + 1 if EOS in response else len(response)
        full = torch.tensor([prompt + response[:length]])
        plain, _ = model(full)
        expected = plain[0, len(prompt) - 1:len(prompt) - 1 + length]
        assert torch.allclose(logits[i, :length], expected, atol=1e-5)


def test_padding_after_eos_and_greedy_is_deterministic():
    model = make_model()
    with torch.no_grad():  # make EOS likely so that some rows stop early
        model.lm_head.weight[EOS] += 0.3 * model.lm_head.weight.norm(dim=1).mean()
    a = generate(model, PROMPTS, 12, PAD, EOS, temperature=0.0)
    b = generate(model, PROMPTS, 12, PAD, EOS, temperature=0.0)
    assert torch.equal(a, b)
    for row in a.tolist():
        if EOS in row:
            assert all(t == PAD for t in row[row.index(EOS) + 1:])


def test_top_k_only_samples_the_k_best():
    logits = torch.tensor([[0.0, 5.0, 4.0, 1.0, 3.0]]).repeat(2000, 1)
    picks = pick_tokens(logits, 1.0, 2, torch.Generator().manual_seed(0))
    assert set(picks.tolist()) == {1, 2}
    assert pick_tokens(logits[:1], 0.0, 0, None).item() == 1


def test_temperature_sharpens():
    logits = torch.tensor([[0.0, 1.0]]).repeat(4000, 1)
    generator = torch.Generator().manual_seed(0)
    hot = pick_tokens(logits, 2.0, 0, generator).float().mean()
    cold = pick_tokens(logits, 0.25, 0, generator).float().mean()
    assert cold > 0.95 and 0.55 < hot < 0.70  # sigmoid(1/0.25) = 0.98, sigmoid(1/2) = 0.62


def test_left_pad():
    tokens, mask = left_pad([[1, 2, 3], [1, 4]], PAD, "cpu")
    assert tokens.tolist() == [[1, 2, 3], [0, 1, 4]]
    assert mask.tolist() == [[True, True, True], [False, True, True]]


def test_right_pad_masks_the_response_positions():
    tokens, mask = right_pad([[1, 5, 3, 7, 2], [1, 3, 8, 8, 8, 2]], [3, 2], PAD)
    assert tokens.tolist() == [[1, 5, 3, 7, 2, 0], [1, 3, 8, 8, 8, 2]]
    # position t predicts token t + 1: row 0's response is tokens 3..4, row 1's tokens 2..5
    assert mask.tolist() == [[False, False, True, True, False], [False, True, True, True, True]]


# ---- tokens never legal in a response are never emitted (issue 17) ----------------------------
BANNED = (0, 1, 3)  # PAD, BOS, SEP


def model_favouring(scores: dict[int, float]):
    """A model whose next-token logits are ``dim * scores[token]`` (0 for the rest) whatever
    the input: blocks zeroed, the final norm writes all ones, the head holds the scores."""
    torch.manual_seed(0)
    model = TokenPolicyValueModel(18, ModelConfig(layers=1, heads=2, dim=16, context=24)).eval()
    with torch.no_grad():
        for p in model.blocks.parameters():
            p.zero_()
        model.norm.weight.zero_()
        model.norm.bias.fill_(1.0)
        model.lm_head.weight.zero_()
        for token, score in scores.items():
            model.lm_head.weight[token] = score
    return model


def test_the_mask_is_what_the_tokenizer_says():
    from selfplay.llm.sampling import NOT_IN_RESPONSE_IDS
    from selfplay.llm.tokenizer import CharTokenizer
    tok = CharTokenizer()
    assert set(NOT_IN_RESPONSE_IDS) == {tok.pad_id, tok.bos_id, tok.sep_id} == set(BANNED)
    assert set(tok.not_in_response_ids) == set(BANNED)


@pytest.mark.parametrize("temperature, top_k", [(0.0, 0), (1.0, 0), (1.0, 2), (2.0, 0)])
def test_pad_sep_and_bos_are_never_sampled_even_when_the_model_prefers_them(temperature, top_k):
    model = model_favouring({0: 3.0, 3: 2.9, 1: 2.8, 9: 0.2})  # PAD, SEP, BOS far above a digit
    generator = torch.Generator().manual_seed(0)
    tokens = generate(model, PROMPTS * 50, 12, PAD, EOS, temperature, top_k, generator)
    for row in tokens.tolist():
        body = row[:row.index(EOS) + 1] if EOS in row else row
        assert not set(body) & set(BANNED), row
    if temperature == 0:  # greedy takes the best legal token: the digit
        assert (tokens == 9).all()
    else:
        assert len(set(tokens.flatten().tolist()) - {PAD}) > 3  # it does sample among the legal ones


def test_masked_logits():
    from selfplay.llm.sampling import mask_not_in_response
    logits = torch.arange(18.0).repeat(2, 1)
    masked = mask_not_in_response(logits)
    assert torch.isinf(masked[:, list(BANNED)]).all() and (masked[:, list(BANNED)] < 0).all()
    keep = [i for i in range(18) if i not in BANNED]
    assert torch.equal(masked[:, keep], logits[:, keep])
    assert torch.equal(logits, torch.arange(18.0).repeat(2, 1))  # not in place
