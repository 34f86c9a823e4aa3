"""The learner (selfplay/training/learner.py): the AlphaZero loss and its metrics against numbers
worked out by hand, a gradient step (clipping, the loss going down), and the optimizer settings
a resumed run takes from its config."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from games import make_game
from selfplay.network import NetworkConfig, PolicyValueNet
from selfplay.training.learner import (
    OptimConfig,
    apply_optim_config,
    losses,
    make_optimizer,
    scheduled_lr,
    train_step,
    wdl_target,
)
from selfplay.training.trainer import run_training

CPU = torch.device("cpu")


class FixedOutputs(nn.Module):
    """A 'network' whose logits and values are its parameters, whatever the planes: the loss of
    known outputs can be worked out by hand, and so can its gradient. Its value outputs are the
    values themselves (a scalar head), or with ``wdl`` win/draw/loss probabilities (as logs)."""

    def __init__(self, probabilities, values, wdl=None):
        super().__init__()
        self.config = NetworkConfig(value_head="wdl" if wdl is not None else "scalar")
        self.logits = nn.Parameter(torch.tensor(probabilities, dtype=torch.float32).log())
        self.values = nn.Parameter(torch.tensor(values, dtype=torch.float32))
        self.wdl = None if wdl is None else nn.Parameter(torch.tensor(wdl, dtype=torch.float32).log())

    def training_outputs(self, planes):
        return {"logits": self.logits, "values": self.values,
                "value_outputs": self.values if self.wdl is None else self.wdl}


# Three positions, three moves. The network's move probabilities and values:
PROBABILITIES = [[0.5, 0.25, 0.25], [0.2, 0.3, 0.5], [0.25, 0.25, 0.5]]
PREDICTED = [0.5, -0.2, 0.3]
# The targets: an expert's move, a two-way visit split, a uniform split; a win, a draw, a loss.
TARGET_POLICY = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]]
TARGET_VALUE = [1.0, 0.0, -1.0]


def tiny_batch():
    planes = torch.zeros(3, 1, 1, 1)
    return planes, torch.tensor(TARGET_POLICY), torch.tensor(TARGET_VALUE)


def test_loss_and_metrics_match_a_hand_computation():
    model = FixedOutputs(PROBABILITIES, PREDICTED)
    total, metrics = losses(model, *tiny_batch(), value_weight=2.0)
    ln = math.log
    # cross-entropy per position: -sum target * log p
    policy = (-ln(0.5) - (0.5 * ln(0.2) + 0.5 * ln(0.3)) - (ln(0.25) + ln(0.25) + ln(0.5)) / 3) / 3
    value = (0.5 ** 2 + 0.2 ** 2 + 1.3 ** 2) / 3
    entropy = (-(0.5 * ln(0.5) + 0.5 * ln(0.25)) - (0.2 * ln(0.2) + 0.3 * ln(0.3) + 0.5 * ln(0.5))
               - (0.5 * ln(0.25) + 0.5 * ln(0.5))) / 3
    target_entropy = (0.0 + ln(2) + ln(3)) / 3
    assert total.item() == pytest.approx(policy + 2.0 * value, rel=1e-5)
    assert metrics["losses/total"] == pytest.approx(policy + 2.0 * value, rel=1e-5)
    assert metrics["losses/policy"] == pytest.approx(policy, rel=1e-5)
    assert metrics["losses/value"] == pytest.approx(value, rel=1e-5)
    assert metrics["policy/entropy"] == pytest.approx(entropy, rel=1e-5)
    assert metrics["policy/target_entropy"] == pytest.approx(target_entropy, rel=1e-5)
    assert metrics["losses/policy_kl"] == pytest.approx(policy - target_entropy, rel=1e-5)
    # decisive targets only (the draw is left out): the win predicted positive, the loss not
    assert metrics["value/sign_accuracy"] == pytest.approx(0.5)


def test_the_kl_is_zero_when_the_network_matches_the_target():
    planes, _, value = tiny_batch()
    _, metrics = losses(FixedOutputs(PROBABILITIES, TARGET_VALUE), planes, torch.tensor(PROBABILITIES), value)
    assert metrics["losses/policy_kl"] == pytest.approx(0.0, abs=1e-6)
    assert metrics["losses/value"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["policy/entropy"] == pytest.approx(metrics["policy/target_entropy"], rel=1e-5)
    assert metrics["value/sign_accuracy"] == 1.0


def test_sign_accuracy_is_nan_without_a_decisive_target():
    planes, policy, _ = tiny_batch()
    _, metrics = losses(FixedOutputs(PROBABILITIES, PREDICTED), planes, policy, torch.tensor([0.0, 0.4, -0.5]))
    assert math.isnan(metrics["value/sign_accuracy"])


def test_train_step_reports_the_gradient_norm_before_clipping_and_clips():
    model = FixedOutputs(PROBABILITIES, PREDICTED)
    before = [p.detach().clone() for p in model.parameters()]
    config = OptimConfig(value_weight=2.0, grad_clip=0.01)
    batch = tuple(x.numpy() for x in tiny_batch())
    metrics = train_step(model, torch.optim.SGD(model.parameters(), lr=1.0), batch, config, CPU)
    # d loss / d logits = (p - target) / n; d loss / d values = value_weight * 2 (v - z) / n
    grad_logits = (np.array(PROBABILITIES) - np.array(TARGET_POLICY)) / 3
    grad_values = 2.0 * 2 * (np.array(PREDICTED) - np.array(TARGET_VALUE)) / 3
    norm = math.sqrt((grad_logits ** 2).sum() + (grad_values ** 2).sum())
    assert metrics["losses/grad_norm"] == pytest.approx(norm, rel=1e-5)
    step = math.sqrt(sum(((p.detach() - b) ** 2).sum().item() for p, b in zip(model.parameters(), before)))
    assert step == pytest.approx(0.01, rel=1e-3)  # lr 1: the step is the clipped gradient


def test_train_step_lowers_the_loss_on_a_repeated_batch():
    game = make_game("connect4")
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, NetworkConfig(channels=8, blocks=1, value_hidden=8))
    rng = np.random.default_rng(0)
    planes = rng.integers(0, 2, size=(32, *game.obs_shape)).astype(np.float32)
    policy = rng.dirichlet(np.ones(game.num_actions), size=32).astype(np.float32)
    value = rng.choice([-1.0, 0.0, 1.0], size=32).astype(np.float32)
    config = OptimConfig(learning_rate=1e-2)
    optimizer = make_optimizer(model, config)
    totals = [train_step(model, optimizer, (planes, policy, value), config, CPU)["losses/total"] for _ in range(40)]
    assert totals[-1] < 0.7 * totals[0]


def test_a_bf16_step_matches_the_fp32_step_within_bf16_rounding_and_keeps_fp32_weights():
    game = make_game("connect4")
    rng = np.random.default_rng(1)
    planes = rng.integers(0, 2, size=(64, *game.obs_shape)).astype(np.float32)
    policy = rng.dirichlet(np.ones(game.num_actions), size=64).astype(np.float32)
    value = rng.choice([-1.0, 0.0, 1.0], size=64).astype(np.float32)
    results = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = PolicyValueNet(game.obs_shape, game.num_actions, NetworkConfig(channels=16, blocks=2, value_hidden=16))
        config = OptimConfig(learning_rate=1e-3, precision=precision)
        metrics = train_step(model, torch.optim.SGD(model.parameters(), lr=1e-3), (planes, policy, value), config, CPU)
        assert all(p.dtype == torch.float32 for p in model.parameters())
        results[precision] = metrics
    # bf16 keeps 8 bits of mantissa: the losses agree to about 1%, the gradient norm to a few %
    assert results["bf16"]["losses/total"] == pytest.approx(results["fp32"]["losses/total"], rel=0.02)
    assert results["bf16"]["losses/grad_norm"] == pytest.approx(results["fp32"]["losses/grad_norm"], rel=0.1)
    assert results["bf16"]["losses/total"] != results["fp32"]["losses/total"]  # autocast really ran
    with pytest.raises(Exception, match="precision must be fp32 or bf16"):
        OptimConfig(precision="fp16").validate()


def test_a_resumed_optimizer_takes_the_configs_rate_and_weight_decay():
    model = FixedOutputs(PROBABILITIES, PREDICTED)
    optimizer = make_optimizer(model, OptimConfig(learning_rate=2e-3, weight_decay=1e-4))
    assert apply_optim_config(optimizer, OptimConfig(learning_rate=2e-3, weight_decay=1e-4)) == []
    assert apply_optim_config(optimizer, OptimConfig(learning_rate=5e-4, weight_decay=1e-4)) == ["lr 0.002 -> 0.0005"]
    changes = apply_optim_config(optimizer, OptimConfig(learning_rate=1e-4, weight_decay=0.0))
    assert changes == ["lr 0.0005 -> 0.0001", "weight_decay 0.0001 -> 0"]
    assert all(g["lr"] == 1e-4 and g["weight_decay"] == 0.0 for g in optimizer.param_groups)


def test_cosine_schedule_by_hand():
    config = OptimConfig(learning_rate=0.01, lr_schedule="cosine", final_lr_fraction=0.1)
    assert scheduled_lr(config, 0.0) == pytest.approx(0.01)
    assert scheduled_lr(config, 0.5) == pytest.approx(0.01 * (0.1 + 0.9 * 0.5))  # cos(pi/2) = 0
    assert scheduled_lr(config, 1.0) == pytest.approx(0.001)
    assert scheduled_lr(config, 7.0) == pytest.approx(0.001)  # a run past its budget stays at the floor
    assert scheduled_lr(OptimConfig(learning_rate=0.01), 0.9) == 0.01
    with pytest.raises(Exception, match="lr_schedule must be constant or cosine"):
        OptimConfig(lr_schedule="linear").validate()


def test_a_cosine_run_ends_at_the_scheduled_rate(tmp_path):
    trainer = run_training(tmp_path / "run", "configs/smoke.yaml",
                           ["total_steps=4", "eval.every_steps=0", "optim.lr_schedule=cosine",
                            "optim.learning_rate=0.004", "optim.final_lr_fraction=0.25"], log=lambda m: None)
    expected = scheduled_lr(trainer.config.optim, 3 / 4)  # the rate of the last step (step 3 of 0..3)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(expected)
    assert expected < 0.004


def test_wdl_targets_and_loss_by_hand():
    assert wdl_target(torch.tensor([1.0, 0.0, -1.0, 0.5])).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0]]
    wdl = [[0.5, 0.25, 0.25], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]]
    model = FixedOutputs(PROBABILITIES, PREDICTED, wdl=wdl)
    _, metrics = losses(model, *tiny_batch())
    # targets win, draw, loss: -(log 0.5 + log 0.6 + log 0.8) / 3
    assert metrics["losses/value"] == pytest.approx(-(math.log(0.5) + math.log(0.6) + math.log(0.8)) / 3, rel=1e-5)
    assert metrics["value/mse"] == pytest.approx(((0.5 - 1) ** 2 + 0.2 ** 2 + 1.3 ** 2) / 3, rel=1e-5)


def test_a_wdl_network_values_are_win_minus_loss_and_it_learns():
    game = make_game("connect4")
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions,
                           NetworkConfig(channels=8, blocks=1, value_hidden=8, value_head="wdl"))
    planes = torch.rand(6, *game.obs_shape)
    heads = model.training_outputs(planes)
    values, outputs = heads["values"], heads["value_outputs"]
    p = outputs.softmax(-1)
    assert outputs.shape == (6, 3) and torch.allclose(values, p[:, 0] - p[:, 2])
    batch = (planes.numpy(), np.full((6, 7), 1 / 7, np.float32), np.array([1, 0, -1, 1, 0, -1], np.float32))
    optimizer = make_optimizer(model, OptimConfig(learning_rate=0.01))
    first = train_step(model, optimizer, batch, OptimConfig(), CPU)["losses/value"]
    for _ in range(30):
        last = train_step(model, optimizer, batch, OptimConfig(), CPU)["losses/value"]
    assert last < first / 2
