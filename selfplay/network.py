"""PolicyValueNet: encoded planes -> (policy logits over actions, value in [-1, 1]).

The AlphaZero shape: a convolutional stem, a tower of residual blocks, a policy head (1x1
conv, then a linear layer to every action, so Go's pass gets a logit too) and a value head
(1x1 conv, two linear layers, tanh). Values are from the point of view of the player to move,
like the planes. ``NetworkEvaluator`` is the bridge to batched MCTS: numpy planes and legal
masks of many leaves in, one forward, numpy priors and values out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from selfplay.configio import require
from selfplay.errors import UserError
from selfplay.mcts.evaluators import NetworkEvaluator as MCTSNetworkHook

#: Logit given to illegal actions: finite (a softmax over an all-masked row stays defined) but
#: far below any real logit, so their probability is exactly 0 in float32.
ILLEGAL_LOGIT = -1e9


MAX_TRUNK_PARAMETERS = 2_000_000_000  # 8 GB of float32 weights: far past any network these games need


@dataclass
class NetworkConfig:
    channels: int = 64
    blocks: int = 4
    value_hidden: int = 64

    def validate(self):
        require(self.channels >= 1, "channels must be at least 1")
        require(self.blocks >= 0, "blocks must be 0 or more")
        require(self.value_hidden >= 1, "value_hidden must be at least 1")
        trunk = 18 * self.channels ** 2 * max(self.blocks, 1)  # two 3x3 convolutions per block
        require(trunk <= MAX_TRUNK_PARAMETERS, f"channels {self.channels} and blocks {self.blocks} make a trunk of "
                                               f"{trunk:,} weights, over the {MAX_TRUNK_PARAMETERS:,} this accepts "
                                               f"(a checkpoint or config asking for that is not a network to build)")


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(x + self.bn2(self.conv2(y)))


class PolicyValueNet(nn.Module):
    def __init__(self, obs_shape: tuple[int, int, int], num_actions: int, config: NetworkConfig = NetworkConfig()):
        super().__init__()
        planes, height, width = obs_shape
        self.obs_shape = tuple(obs_shape)
        self.num_actions = num_actions
        self.config = config
        c = config.channels
        self.stem = nn.Sequential(nn.Conv2d(planes, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
        self.tower = nn.Sequential(*(ResidualBlock(c) for _ in range(config.blocks)))
        self.policy_head = nn.Sequential(
            nn.Conv2d(c, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
            nn.Linear(2 * height * width, num_actions))
        self.value_head = nn.Sequential(
            nn.Conv2d(c, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
            nn.Linear(height * width, config.value_hidden), nn.ReLU(),
            nn.Linear(config.value_hidden, 1), nn.Tanh())

    def forward(self, planes: torch.Tensor, legal_mask: torch.Tensor | None = None):
        """Logits [B, A] (illegal actions set to ILLEGAL_LOGIT when a mask is given) and values [B]."""
        x = self.tower(self.stem(planes))
        logits = self.policy_head(x)
        if legal_mask is not None:
            logits = logits.masked_fill(~legal_mask, ILLEGAL_LOGIT)
        return logits, self.value_head(x).squeeze(-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` is CUDA when a GPU is present, else the CPU; anything else is passed to torch."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise UserError(f"unknown device {name!r}: {e}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} asked for, but torch sees no CUDA GPU (try --device auto)")
    return device


class NetworkEvaluator(MCTSNetworkHook):
    """A PolicyValueNet as a batched MCTS evaluator: the planes and legal masks of every leaf of
    a round go through one forward pass (in chunks of ``max_batch``) in inference mode on
    ``device``; it returns masked logits, which the tree turns into priors over legal moves."""

    def __init__(self, model: PolicyValueNet, device: torch.device | str = "auto", max_batch: int = 1024):
        super().__init__(self.forward, outputs="logits")
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.model = model.to(self.device).eval()
        self.max_batch = max_batch
        self.positions_evaluated = 0
        self.forward_seconds = 0.0

    @torch.inference_mode()
    def forward(self, planes: np.ndarray, legal_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        logits = np.empty(legal_mask.shape, dtype=np.float32)
        values = np.empty(len(planes), dtype=np.float32)
        for start in range(0, len(planes), self.max_batch):
            end = start + self.max_batch
            x = torch.from_numpy(planes[start:end]).to(self.device, non_blocking=True)
            mask = torch.from_numpy(legal_mask[start:end]).to(self.device, non_blocking=True)
            batch_logits, batch_values = self.model(x, mask)
            logits[start:end] = batch_logits.float().cpu().numpy()
            values[start:end] = batch_values.float().cpu().numpy()
        self.positions_evaluated += len(planes)
        self.forward_seconds += time.perf_counter() - t0
        return logits, values

    def priors(self, planes: np.ndarray, legal_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (0 on illegal moves) and values, for callers outside the search."""
        logits, values = self.forward(planes, legal_mask)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True)) * legal_mask
        return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32), values
