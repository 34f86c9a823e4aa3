import numpy as np
import pytest
import torch

from selfplay.configio import load_config
from selfplay.llm.config import LLMConfig, SFTConfig
from selfplay.llm.run import Setting
from selfplay.llm.sft import demonstrations, learning_rate, sft_loss

TINY = ["task.min_digits=2", "task.max_digits=2", "model.layers=1", "model.heads=2", "model.dim=32",
        "model.context=20", "eval.problems=10"]


@pytest.fixture(scope="module")
def setting():
    return Setting.build(load_config(LLMConfig, None, TINY))


def test_demonstrations_mask_the_response_and_carry_the_teachers_reward(setting):
    tokens, mask, rewards = demonstrations(setting, 200, np.random.default_rng(0))
    tok, task = setting.tokenizer, setting.task
    assert tokens.shape[1] - 1 == mask.shape[1]
    for row, row_mask, reward in zip(tokens.tolist(), mask, rewards.tolist()):
        sep = row.index(tok.sep_id)
        predicted = [row[t + 1] for t in range(len(row) - 1) if row_mask[t]]
        assert predicted[-1] == tok.eos_id and tok.sep_id not in predicted and tok.pad_id not in predicted
        assert predicted == row[sep + 1:sep + 1 + len(predicted)]  # exactly the response, EOS included
        prompt = tok.decode(row[1:sep])
        a, b = map(int, prompt.split("+"))
        assert not task.is_heldout((a, b))
        assert reward == task.reward((a, b), tok.decode(predicted))
    assert 0 < rewards.mean() < 1  # the teacher slips on some


def test_loss_is_the_cross_entropy_of_the_response_tokens(setting):
    tokens, mask, rewards = demonstrations(setting, 8, np.random.default_rng(1))
    model = setting.new_model()
    loss, metrics = sft_loss(model, tokens, mask, rewards, value_weight=0.5)
    assert loss.item() == pytest.approx(metrics["losses/policy_loss"] + 0.5 * metrics["losses/value_loss"], rel=1e-5)
    with torch.no_grad():  # the mean cross-entropy of the response tokens, and of nothing else
        logits, _ = model(tokens[:, :-1])
        lp = torch.log_softmax(logits, -1)
        by_hand = -lp.gather(-1, tokens[:, 1:, None]).squeeze(-1)[mask].mean()
    assert metrics["losses/policy_loss"] == pytest.approx(by_hand.item(), rel=1e-5)
    assert not mask[:, 0].any()


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    config = SFTConfig(steps=1000, warmup_steps=100, learning_rate=1e-3)
    assert learning_rate(0, config) == pytest.approx(1e-5)
    assert learning_rate(99, config) == pytest.approx(1e-3)
    assert learning_rate(100, config) == pytest.approx(1e-3)
    assert learning_rate(550, config) == pytest.approx(0.55e-3)
    assert learning_rate(1000, config) == pytest.approx(1e-4)
    values = [learning_rate(s, config) for s in range(100, 1001)]
    assert all(a >= b for a, b in zip(values, values[1:]))
