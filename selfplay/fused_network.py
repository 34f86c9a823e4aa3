"""FusedNet: a PolicyValueNet's inference form, for the bf16 path of NetworkEvaluator.

Autocast runs the network as trained and converts every weight and activation to bf16 at every
call, with each batch norm, ReLU and residual sum a separate pass over memory. For inference
the same function is cheaper to compute: each batch norm folded into the convolution before it
(w * gamma / sigma, beta - mu * gamma / sigma), the weights converted once, the activations in
channels-last layout (oneDNN's native one), the ReLUs and residual sums in place, and the two
heads' 1x1 convolutions merged into one. Measured on an AVX-512 BF16 CPU with one thread at
batch 256: 2.4x the fp32 forward in `selfplay bench selfplay` (3-3.9x in a microbenchmark of the
network alone), where autocast gave 1.7-2.1x.

A FusedNet is a snapshot: NetworkEvaluator rebuilds it whenever the model's weights change.
With ``score_utility`` > 0 (a network with the score head) its values are the search's utility
(``score_utility_values``): the score head's 1x1 convolution joins the merged heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

Conv = tuple[torch.Tensor, torch.Tensor]


def fold_batchnorm(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> Conv:
    """The weight and bias of one convolution that computes ``norm(conv(x))`` in eval mode."""
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    weight = conv.weight * scale.reshape(-1, 1, 1, 1)
    bias = norm.bias - norm.running_mean * scale
    if conv.bias is not None:
        bias = bias + conv.bias * scale
    return weight.detach(), bias.detach()


class FusedNet:
    """``FusedNet(model, dtype)(planes)``, for a PolicyValueNet ``model``, gives what
    ``model(planes)`` gives in eval mode (float32 logits, unmasked, and values), computed in
    ``dtype``."""

    def __init__(self, model: nn.Module, dtype: torch.dtype = torch.bfloat16, score_utility: float = 0.0):
        self.dtype = dtype
        self.num_actions = model.num_actions
        self.score_utility = score_utility
        self.area = model.obs_shape[1] * model.obs_shape[2]
        with torch.no_grad():
            self.stem = self._conv(fold_batchnorm(model.stem[0], model.stem[1]))
            self.blocks = [(self._conv(fold_batchnorm(block.conv1, block.bn1)),
                            self._conv(fold_batchnorm(block.conv2, block.bn2))) for block in model.tower]
            policy_w, policy_b = fold_batchnorm(model.policy_head[0], model.policy_head[1])
            value_w, value_b = fold_batchnorm(model.value_head[0], model.value_head[1])
            self.policy_planes = policy_w.shape[0]
            weights, biases = [policy_w, value_w], [policy_b, value_b]
            if score_utility:
                score_w, score_b = fold_batchnorm(model.score[0], model.score[1])
                weights.append(score_w)
                biases.append(score_b)
                self.score_hidden = self._linear(model.score[4])
                self.score_out = self._linear(model.score[6])
            self.heads = self._conv((torch.cat(weights), torch.cat(biases)))
            self.policy = self._linear(model.policy_head[4])
            self.value_hidden = self._linear(model.value_head[4])
            self.value_out = self._linear(model.value_head[6])
            self.value_kind = model.config.value_head

    def _conv(self, conv: Conv) -> Conv:
        weight, bias = conv
        return weight.to(self.dtype).contiguous(memory_format=torch.channels_last), bias.to(self.dtype)

    def _linear(self, layer: nn.Linear) -> Conv:
        return layer.weight.detach().to(self.dtype), layer.bias.detach().to(self.dtype)

    def __call__(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head_outputs(F.conv2d(self.trunk(planes), *self.heads).relu_())

    def trunk(self, planes: torch.Tensor, maxima: list[float] | None = None) -> torch.Tensor:
        """The residual tower's output; ``maxima`` (when given) receives the largest value of the
        stem's output and of each block's two outputs, in order (Int8Net's calibration)."""
        x = planes.to(self.dtype).contiguous(memory_format=torch.channels_last)
        x = F.conv2d(x, *self.stem, padding=1).relu_()
        if maxima is not None:
            maxima.append(x.max().item())
        for (w1, b1), (w2, b2) in self.blocks:
            y = F.conv2d(x, w1, b1, padding=1).relu_()
            x = F.conv2d(y, w2, b2, padding=1).add_(x).relu_()
            if maxima is not None:
                maxima += [y.max().item(), x.max().item()]
        return x

    def head_outputs(self, heads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and values from the merged heads' 1x1 convolution output (after its ReLU)."""
        n, p = heads.shape[0], self.policy_planes
        logits = F.linear(heads[:, :p].reshape(n, -1), *self.policy).float()
        hidden = F.linear(heads[:, p:p + 1].reshape(n, -1), *self.value_hidden).relu_()
        outputs = F.linear(hidden, *self.value_out)
        values = head_value(outputs, self.value_kind)
        self.last_value_outputs = outputs  # kept (not copied) for a search with contempt's draws
        if self.score_utility:
            hidden = F.linear(heads[:, p + 1:p + 2].reshape(n, -1), *self.score_hidden).relu_()
            margins = F.linear(hidden, *self.score_out).float().squeeze(-1)
            values = score_utility_values(values, margins, self.score_utility, self.area)
        return logits, values


def head_value(outputs: torch.Tensor, kind: str) -> torch.Tensor:
    """Values [B] in [-1, 1] from the value head's last layer [B, 1 or 3], in float32: tanh of a
    scalar head, P(win) - P(loss) of a win/draw/loss head."""
    if kind == "wdl":
        p = outputs.float().softmax(-1)
        return p[:, 0] - p[:, 2]
    return torch.tanh(outputs.float()).squeeze(-1)


def score_utility_values(values: torch.Tensor, margins: torch.Tensor, weight: float, area: int) -> torch.Tensor:
    """KataGo's score utility, as a mixture that stays in [-1, 1]: ``(1 - weight) * value +
    weight * (2 / pi) * atan(margin / scale)``, the margin the score head's prediction in points
    (it predicts points per board point) and the scale KataGo's 20 points on 19x19 scaled by the
    board's side. A search on win probability alone cannot tell a safe win from a narrow one and
    lets leads shrink; the score term keeps preferring the larger margin."""
    scale = 20.0 * math.sqrt(area) / 19
    return (1 - weight) * values + weight * (2 / math.pi) * torch.atan(margins * area / scale)
