import itertools

import pytest
import torch

from selfplay.llm.evaluation import evaluate, majority_correct, pass_at_k
from selfplay.llm.model import ModelConfig, TokenPolicyValueModel
from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.tokenizer import CharTokenizer


@pytest.mark.parametrize("n, c, k", [(5, 0, 1), (5, 2, 1), (5, 2, 3), (6, 3, 6), (8, 1, 4), (8, 8, 2), (7, 3, 2)])
def test_pass_at_k_is_the_chance_that_a_random_k_subset_holds_a_right_one(n, c, k):
    samples = [True] * c + [False] * (n - c)
    subsets = list(itertools.combinations(samples, k))
    brute = sum(any(s) for s in subsets) / len(subsets)
    assert pass_at_k(n, c, k) == pytest.approx(brute)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)
    with pytest.raises(ValueError):
        pass_at_k(4, 1, 5)


def test_majority_vote():
    assert majority_correct(["12", "13", "12", None], "12")
    assert not majority_correct(["13", "13", "12"], "12")
    assert not majority_correct([None, None], "12")
    assert majority_correct(["12", "13"], "12")  # a tie goes to the first answer seen


def test_evaluate_counts_what_the_model_writes():
    """A model that only ever writes <eos> gets nothing right, and its responses are 1 token."""
    task = make_task(TaskConfig("addition", 2, 2))
    tok = CharTokenizer()
    torch.manual_seed(0)
    model = TokenPolicyValueModel(tok.vocab_size, ModelConfig(layers=1, heads=2, dim=16, context=20))
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.weight[tok.eos_id] = 1.0
        for p in model.blocks.parameters():
            p.zero_()
        model.norm.bias.fill_(1.0)
        model.norm.weight.zero_()
    problems = [(12, 34), (56, 78), (90, 11)]
    results = evaluate(model, task, tok, problems, batch_size=2, samples=4, pass_k=2, sampled_problems=2)
    assert results["accuracy"] == 0.0 and results["mean_length"] == 1.0
    assert results["pass@1"] == 0.0 and results["pass@2"] == 0.0 and results["maj@2"] == 0.0


# ---- intervals and counts (issue 17) ----------------------------------------------------------
Z2 = 1.959963984540054 ** 2


def test_every_rate_has_its_wilson_interval_and_its_count():
    """The always-EOS model of the test above: 0 of 3 right; Wilson's upper end at p = 0 is
    (z^2 / n) / (1 + z^2 / n) by hand."""
    task = make_task(TaskConfig("addition", 2, 2))
    tok = CharTokenizer()
    model = TokenPolicyValueModel(tok.vocab_size, ModelConfig(layers=1, heads=2, dim=16, context=20))
    with torch.no_grad():
        model.lm_head.weight.zero_()
        model.lm_head.weight[tok.eos_id] = 1.0
        for p in model.blocks.parameters():
            p.zero_()
        model.norm.bias.fill_(1.0)
        model.norm.weight.zero_()
    results = evaluate(model, task, tok, [(12, 34), (56, 78), (90, 11)], batch_size=2, samples=4, pass_k=2,
                       sampled_problems=2)
    assert results["problems"] == 3 and results["sampled_problems"] == 2
    assert results["accuracy_low"] == 0.0
    assert results["accuracy_high"] == pytest.approx((Z2 / 3) / (1 + Z2 / 3))
    for rate in ("pass@1", "pass@2", "maj@2"):
        assert results[f"{rate}_low"] == 0.0
        assert results[f"{rate}_high"] == pytest.approx((Z2 / 2) / (1 + Z2 / 2))


def test_score_responses_by_hand():
    """Two problems, four samples each: 3 and 0 right; pass@1 = (3/4 + 0) / 2, pass@2 =
    (1 - C(1,2)/C(4,2) + 0) / 2 = 1/2, maj@2 votes over the first two samples."""
    from selfplay.llm.evaluation import score_responses
    task = make_task(TaskConfig("addition", 2, 2))
    problems = [(12, 34), (56, 78)]
    right_a, wrong_a = "<ans>46<eos>", "<ans>45<eos>"
    wrong_b = "<ans>124<eos>"  # 56 + 78 = 134
    texts = [[right_a, right_a, wrong_a, right_a], [wrong_b, wrong_b, "<ans>1<pad>34<eos>", wrong_b]]
    rewards = [[task.reward(p, t) for t in group] for p, group in zip(problems, texts)]
    assert rewards == [[1, 1, 0, 1], [0, 0, 0, 0]]
    out = score_responses(task, problems, [1.0, 0.0], texts, rewards, pass_k=2)
    assert out["accuracy"] == 0.5 and out["problems"] == 2 and out["sampled_problems"] == 2
    assert out["pass@1"] == pytest.approx(3 / 8)
    assert out["pass@2"] == pytest.approx(0.5)
    assert out["maj@2"] == 0.5
    # Wilson at p = 1/2, n = 2 by hand: centre 1/2, half-width z / (1 + z^2/2) * sqrt(1/8 + z^2/16)
    half = Z2 ** 0.5 / (1 + Z2 / 2) * (1 / 8 + Z2 / 16) ** 0.5
    assert out["accuracy_low"] == pytest.approx(0.5 - half) and out["accuracy_high"] == pytest.approx(0.5 + half)
    assert out["pass@1_low"] < 3 / 8 < out["pass@1_high"]
