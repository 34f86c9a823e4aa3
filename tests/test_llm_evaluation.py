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
