"""The learner: one gradient step of the AlphaZero loss on a replay minibatch.

loss = cross-entropy(policy target, policy) + value_weight * (z - v)^2 (+ KataGo's ownership
and score losses for a network with those heads), with weight decay in the optimizer (AdamW).
The policy target is the MCTS visit distribution (or the expert's move in SFT), the value
target z the game result from the point of view of the player to move (discounted per ply to
the end when the network's value_discount is below 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.nn import functional as F

from selfplay.configio import require
from selfplay.network import PolicyValueNet


@dataclass
class OptimConfig:
    batch_size: int = 256
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    value_weight: float = 1.0
    #: Minibatch samples trained per new self-play position (the replay ratio); training waits
    #: for self-play when it is ahead of this, so the data stays fresh.
    replay_ratio: float = 4.0
    grad_clip: float = 5.0
    #: constant, or cosine: from learning_rate down to final_lr_fraction of it over the run (its
    #: total_steps or its max_hours, whichever comes first), the annealing of SGDR without restarts.
    lr_schedule: Literal["constant", "cosine"] = "constant"
    final_lr_fraction: float = 0.05
    #: weights of the ownership head's loss (KataGo's 1.5 on the mean per-point cross-entropy)
    #: and of the score head's (squared error of the margin per point); with network.ownership_head.
    ownership_weight: float = 1.5
    score_weight: float = 1.0
    #: fp32, or bf16: the forward pass and the losses under bfloat16 autocast (the weights, their
    #: gradients and Adam's moments stay fp32). 1.4-1.8x the steps a second of the project's
    #: networks on a CPU with AVX-512 bf16 (``selfplay bench learner``); the tensor cores' format on a GPU.
    precision: Literal["fp32", "bf16"] = "fp32"

    def validate(self):
        require(self.batch_size >= 1, "batch_size must be positive")
        require(self.learning_rate > 0, "learning_rate must be positive")
        require(self.weight_decay >= 0, "weight_decay must be 0 or more")
        require(self.replay_ratio > 0, "replay_ratio must be positive")
        require(self.grad_clip > 0, "grad_clip must be positive")
        require(self.lr_schedule in ("constant", "cosine"),
                f"lr_schedule must be constant or cosine, got {self.lr_schedule!r}")
        require(0 <= self.final_lr_fraction <= 1, "final_lr_fraction must be in [0, 1]")
        require(self.ownership_weight >= 0 and self.score_weight >= 0, "ownership_weight and score_weight must be 0 or more")
        require(self.precision in ("fp32", "bf16"), f"precision must be fp32 or bf16, got {self.precision!r}")


def scheduled_lr(config: OptimConfig, progress: float) -> float:
    """The learning rate at ``progress`` (0 at the start of the run, 1 at its end)."""
    if config.lr_schedule == "constant":
        return config.learning_rate
    fraction = config.final_lr_fraction
    cosine = 0.5 * (1 + math.cos(math.pi * min(max(progress, 0.0), 1.0)))
    return config.learning_rate * (fraction + (1 - fraction) * cosine)


def make_optimizer(model: PolicyValueNet, config: OptimConfig) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)


def apply_optim_config(optimizer: torch.optim.Optimizer, config: OptimConfig) -> list[str]:
    """Set the config's learning rate and weight decay on a restored optimizer, whose saved state
    would otherwise keep the old ones: resuming with a lower rate is how a run anneals (AlphaGo
    Zero's step schedule). Returns the changes, to log."""
    changes = []
    for key, new in (("lr", config.learning_rate), ("weight_decay", config.weight_decay)):
        old = optimizer.param_groups[0][key]
        scheduled = key == "lr" and config.lr_schedule != "constant"  # the schedule sets it every step
        if old != new and not scheduled:
            changes.append(f"{key} {old:g} -> {new:g}")
        for group in optimizer.param_groups:
            group[key] = new
    return changes


def wdl_target(value: torch.Tensor) -> torch.Tensor:
    """Win/draw/loss probabilities [B, 3] whose expectation is the value target z: (1, 0, 0) for a
    win, (0, 1, 0) a draw, (0, 0, 1) a loss, and a fraction such as Go's 0.5 between them."""
    return torch.stack([value.clamp_min(0), 1 - value.abs(), (-value).clamp_min(0)], dim=-1)


def losses(model: PolicyValueNet, planes: torch.Tensor, policy: torch.Tensor, value: torch.Tensor,
           value_weight: float = 1.0, ownership: torch.Tensor | None = None, score: torch.Tensor | None = None,
           ownership_weight: float = 1.5, score_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """The total loss and named metrics (CleanRL-style names) of one minibatch. The value loss is
    the squared error of a scalar head, the cross-entropy of a win/draw/loss head. With an
    ownership head and targets (``ownership`` [B, H, W] in {-1, 0, 1}, ``score`` [B], NaN where a
    game has none: it ended by resignation), KataGo's auxiliary losses are added: the per-point
    cross-entropy of who owns the point at the end (0 = shared, a target of one half) and the
    squared error of the score margin."""
    heads = {k: v.float() for k, v in model.training_outputs(planes).items()}  # fp32 losses under autocast
    logits, predicted, outputs = heads["logits"], heads["values"], heads["value_outputs"]
    log_probs = F.log_softmax(logits, dim=-1)
    policy_loss = -(policy * log_probs).sum(-1).mean()
    if model.config.value_head == "wdl":
        value_loss = -(wdl_target(value) * F.log_softmax(outputs, dim=-1)).sum(-1).mean()
    else:
        value_loss = F.mse_loss(predicted, value)
    total = policy_loss + value_weight * value_loss
    auxiliary = {}
    if "ownership" in heads and ownership is not None:
        known = torch.isfinite(score)
        if known.any():
            own_loss = F.binary_cross_entropy_with_logits(heads["ownership"][known], (ownership[known] + 1) / 2)
            score_loss = F.mse_loss(heads["score"][known], score[known])
            total = total + ownership_weight * own_loss + score_weight * score_loss
            auxiliary = {"losses/ownership": own_loss.item(), "losses/score": score_loss.item()}
    with torch.no_grad():
        probs = log_probs.exp()
        entropy = -(probs * log_probs).sum(-1).mean()
        target_entropy = -(policy * torch.log(policy.clamp_min(1e-12))).sum(-1).mean()
        decisive = value.abs() > 0.5
        accuracy = ((predicted[decisive] > 0) == (value[decisive] > 0)).float().mean() if decisive.any() else \
            torch.tensor(float("nan"))
    metrics = {
        "losses/total": total.item(), "losses/policy": policy_loss.item(), "losses/value": value_loss.item(),
        "policy/entropy": entropy.item(), "value/sign_accuracy": accuracy.item(),
        "value/mse": F.mse_loss(predicted.detach(), value).item(),
    }
    metrics.update(auxiliary)
    if target_entropy.item() > 1e-6:  # search targets; an expert's one-hot move has none (SFT)
        metrics.update({"losses/policy_kl": (policy_loss - target_entropy).item(),
                        "policy/target_entropy": target_entropy.item()})
    return total, metrics


def train_step(model, optimizer, batch: tuple[np.ndarray, ...], config: OptimConfig,
               device: torch.device) -> dict[str, float]:
    """One gradient step on (planes, policy, value) or (planes, policy, value, ownership, score)."""
    model.train()
    planes, policy, value, *auxiliary = (torch.from_numpy(x).to(device) for x in batch)
    ownership, score = auxiliary if auxiliary else (None, None)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        total, metrics = losses(model, planes, policy, value, config.value_weight, ownership, score,
                                config.ownership_weight, config.score_weight)
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    metrics["losses/grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
    optimizer.step()
    return metrics
