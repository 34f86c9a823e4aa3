"""PolicyValueNet: encoded planes -> (policy logits over actions, value in [-1, 1]).

The AlphaZero shape: a convolutional stem, a tower of residual blocks, a policy head (1x1
conv, then a linear layer to every action, so Go's pass gets a logit too) and a value head
(1x1 conv, two linear layers, then tanh; or, with ``value_head: wdl``, three win/draw/loss
logits whose expectation P(win) - P(loss) is the value, as in KataGo and Leela Chess Zero: a
draw is a class of its own rather than the midpoint of a regression). Values are from the point
of view of the player to move, like the planes. ``NetworkEvaluator`` is the bridge to batched MCTS: numpy planes and legal
masks of many leaves in, one forward, numpy priors and values out.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from games import Game
from selfplay.configio import require
from selfplay.errors import UserError
from selfplay.fused_network import FusedNet, head_value, score_utility_values
from selfplay.int8_network import MIN_CALIBRATION, CalibrationBuffer, Int8Net
from selfplay.mcts.eval_cache import EvalCache
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
    #: scalar: one tanh output trained by squared error (AlphaZero); wdl: win/draw/loss logits
    #: trained by cross-entropy, the value their expectation.
    value_head: Literal["scalar", "wdl"] = "scalar"
    #: KataGo's auxiliary heads, for territory games: each point's final owner and the final
    #: score margin, trained on the game's last board. They shape the trunk (richer gradients
    #: than one game result per game); a search reads the score only when asked to
    #: (NetworkEvaluator's score_utility, a player's ``score=W``).
    ownership_head: bool = False
    #: What the value predicts: the result times this to the power of the plies left to the end,
    #: so that a faster win is worth more than a slower one and a slower loss less bad than a
    #: faster one (a solved game's exact-best move; AlphaZero.jl's gamma). The search backs
    #: values up with the same discount. 1 = AlphaZero's undiscounted result.
    value_discount: float = 1.0

    def validate(self):
        require(self.channels >= 1, "channels must be at least 1")
        require(self.blocks >= 0, "blocks must be 0 or more")
        require(self.value_hidden >= 1, "value_hidden must be at least 1")
        require(self.value_head in ("scalar", "wdl"), f"value_head must be scalar or wdl, got {self.value_head!r}")
        require(0 < self.value_discount <= 1, f"value_discount must be in (0, 1], got {self.value_discount}")
        require(self.value_discount == 1 or self.value_head == "scalar",
                "value_discount < 1 needs value_head: scalar (a win/draw/loss class has no discounted form)")
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
            nn.Linear(config.value_hidden, 3 if config.value_head == "wdl" else 1))
        if config.ownership_head:
            self.ownership = nn.Conv2d(c, 1, 1)  # a logit per point: the player to move owns it
            self.score = nn.Sequential(
                nn.Conv2d(c, 1, 1, bias=False), nn.BatchNorm2d(1), nn.ReLU(), nn.Flatten(),
                nn.Linear(height * width, config.value_hidden), nn.ReLU(), nn.Linear(config.value_hidden, 1))

    def forward(self, planes: torch.Tensor, legal_mask: torch.Tensor | None = None):
        """Logits [B, A] (illegal actions set to ILLEGAL_LOGIT when a mask is given) and values [B]."""
        x = self.tower(self.stem(planes))
        logits = self.policy_head(x)
        if legal_mask is not None:
            logits = logits.masked_fill(~legal_mask, ILLEGAL_LOGIT)
        return logits, head_value(self.value_head(x), self.config.value_head)

    def training_outputs(self, planes: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every head's raw output, for the losses: policy logits [B, A], values [B], the value
        head's outputs, and with ``ownership_head`` ownership logits [B, H, W] and the score
        margin [B] (per point, for the player to move)."""
        x = self.tower(self.stem(planes))
        outputs = self.value_head(x)
        heads = {"logits": self.policy_head(x), "values": head_value(outputs, self.config.value_head),
                 "value_outputs": outputs}
        if self.config.ownership_head:
            heads["ownership"] = self.ownership(x)[:, 0]
            heads["score"] = self.score(x)[:, 0]
        return heads

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def deepen_from(self, smaller: "PolicyValueNet") -> None:
        """Take the weights of ``smaller``, the same network with fewer residual blocks, and start
        the blocks it lacks (the last ones) as the identity: their second batch norm's scale and
        shift are zero, so each adds nothing to its input, which a ReLU has already made
        non-negative. The deeper network computes what ``smaller`` did and trains on from there
        (Net2Net's function-preserving deepening; zero-initialised residual branches as in Goyal
        et al.'s large-batch ResNet training). A scalar value head may become a win/draw/loss one
        (wdl_from_scalar): the same values, nearly, with a draw probability to learn."""
        extra = self.config.blocks - smaller.config.blocks
        if extra < 0:
            raise UserError(f"cannot start a {self.config.blocks}-block network from a {smaller.config.blocks}-block "
                            f"one (a network only grows deeper)")
        weights = smaller.state_dict()
        if smaller.config.value_head == "scalar" and self.config.value_head == "wdl":
            weights = {**weights, **wdl_from_scalar(weights, VALUE_OUT)}
        elif smaller.config.value_head != self.config.value_head:
            raise UserError(f"cannot start a {self.config.value_head} value head from a {smaller.config.value_head} "
                            f"one (a scalar head becomes win/draw/loss, not back)")
        self.load_state_dict(weights, strict=False)
        for block in self.tower[smaller.config.blocks:]:
            nn.init.zeros_(block.bn2.weight)
            nn.init.zeros_(block.bn2.bias)


#: The value head's last layer in a state dict: a scalar head's one output, a wdl head's three.
VALUE_OUT = "value_head.6"

#: The draw logit a converted head starts with: P(draw) = e^-2 / (2 + e^-2), 6%, at an even
#: position, so its values start within a few hundredths of the scalar head's tanh.
WDL_START_DRAW_LOGIT = -2.0


def wdl_from_scalar(weights: dict, prefix: str) -> dict:
    """The win/draw/loss layer that starts where a scalar head's pre-tanh output z was: logits
    (z, WDL_START_DRAW_LOGIT, -z), so P(win) - P(loss) = 2 sinh z / (2 cosh z + e^-2), close to
    tanh z, and the draw's share is what training learns from there."""
    weight, bias = weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]
    return {f"{prefix}.weight": torch.cat([weight, torch.zeros_like(weight), -weight]),
            f"{prefix}.bias": torch.cat([bias, torch.full_like(bias, WDL_START_DRAW_LOGIT), -bias])}


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


#: What ``inference_precision`` accepts. int8 is static (calibrated) quantization of the
#: convolutions (Int8Net); dynamic quantization of the linear layers measured slower than fp32.
PRECISIONS = ("auto", "fp32", "bf16", "int8")


@functools.cache
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags (/proc/cpuinfo; empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            return frozenset(f.read().split())
    except OSError:
        return frozenset()


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX-512 BF16 or AMX); without it bf16 is emulated
    and slower than fp32, so ``auto`` keeps fp32."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def cpu_has_int8() -> bool:
    """Whether this CPU has int8 dot-product instructions (without VNNI int8 is no faster than
    bf16) and this torch build oneDNN's quantized convolutions, which Int8Net calls."""
    return bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"}) and torch.backends.mkldnn.is_available() \
        and hasattr(torch.ops.onednn, "qconv2d_pointwise")


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto``: on a CPU, int8 where it has VNNI (1.8x the bf16 forward at batch 256 on an
    AVX-512 CPU), else bf16 where it computes that natively (2.4x fp32), else fp32; on a GPU,
    bf16 where supported. ``fp32``, ``bf16`` and ``int8`` as asked (int8 on a CPU only)."""
    if name not in PRECISIONS:
        raise UserError(f"inference precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if name == "int8" and (device.type != "cpu" or not cpu_has_int8()):
        raise UserError(f"inference precision int8 runs on a CPU with VNNI (AVX-512 VNNI, AVX-VNNI or AMX) "
                        f"and a torch built with oneDNN; not on {device.type} here (use auto, bf16 or fp32)")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type != "cpu":
        return "fp32"
    return "int8" if cpu_has_int8() else "bf16" if cpu_has_bf16() else "fp32"


def weights_version(tensors: list[torch.Tensor]) -> int:
    """A number that changes whenever one of these tensors (a model's parameters and buffers)
    is written in place (an optimizer step, load_state_dict, batch-norm statistics): torch's
    version counters, summed."""
    return sum(t._version for t in tensors)


class NetworkEvaluator(MCTSNetworkHook):
    """A PolicyValueNet as a batched MCTS evaluator: the planes and legal masks of every leaf of
    a round go through one forward pass (in chunks of ``max_batch``) in inference mode on
    ``device``; it returns masked logits, which the tree turns into priors over legal moves.

    ``precision``: ``fp32`` (the model itself), ``bf16`` (its fused inference form, FusedNet),
    ``int8`` (Int8Net, calibrated on the last positions this evaluator saw; the first
    MIN_CALIBRATION positions it ever sees go through the fused float32 form) or ``auto``
    (resolve_precision). The fused bf16 forward beat fp32 at every batch size measured (1 to
    256, one thread, AVX-512 BF16: 1.35-2x at batch 1-16, 3-3.9x at 64-256).
    ``cache_entries`` > 0 puts an EvalCache of that many positions in front of the forward
    (``cache_fold``: symmetric positions share an entry); it empties itself whenever the
    model's weights change, so the search sees the current network only.
    ``symmetries`` > 1 (with ``game``) evaluates every position in the game's first that many
    symmetries and averages the answers, mapped back to the position's own actions (log-policies
    and values; mean log-probabilities, so masking illegal moves afterwards renormalizes exactly):
    a network's errors that differ between a board and its mirror image cancel, for that many
    forwards per position (Leela Zero and KataGo offer symmetry averaging too).
    ``score_utility`` > 0 (a network with the score head) makes the values it returns KataGo's
    score utility mixed in with that weight (fused_network.score_utility_values).
    ``draws`` (a win/draw/loss network) leaves every evaluated row's draw probability in
    ``last_draws`` for a search with contempt (MCTSConfig.contempt); without the cache, the
    symmetries and the score utility, which would each need their own draws."""

    def __init__(self, model: PolicyValueNet, device: torch.device | str = "auto", max_batch: int = 1024,
                 precision: str = "fp32", cache_entries: int = 0, cache_fold: bool = False,
                 symmetries: int = 1, game: Game | None = None, score_utility: float = 0.0,
                 draws: bool = False):
        super().__init__(self.forward, outputs="logits")
        if draws and model.config.value_head != "wdl":
            raise ValueError("draws needs a win/draw/loss value head (network.value_head=wdl)")
        if draws and (cache_entries or symmetries > 1 or score_utility):
            raise ValueError("draws cannot be combined with the cache, symmetries or the score utility")
        self.reports_draws = draws
        self.last_draws = None
        if not 0 <= score_utility <= 1:
            raise ValueError(f"score_utility must be 0 (none) to 1, got {score_utility}")
        if score_utility and not model.config.ownership_head:
            raise ValueError("score_utility needs a network with the score head (network.ownership_head)")
        self.score_utility = score_utility
        available = game.num_symmetries if game is not None else 1
        if not 1 <= symmetries <= available:
            raise ValueError(f"symmetries must be 1 to {available} (the game's symmetries), got {symmetries}")
        self.game = game
        # perm[k][j]: the position's action that symmetry k moves to action j
        self._perms = [game.symmetry(k, np.zeros((1, *model.obs_shape), np.float32),
                                     np.arange(model.num_actions, dtype=np.float32))[1].astype(np.int64)
                       for k in range(symmetries)] if symmetries > 1 else []
        self.device = resolve_device(device) if isinstance(device, str) else device
        self.model = model.to(self.device).eval()
        self.max_batch = max_batch
        self.precision = resolve_precision(precision, self.device)
        self.cache = EvalCache(cache_entries, model.num_actions, cache_fold, ILLEGAL_LOGIT) if cache_entries else None
        self._weights = list(self.model.parameters()) + list(self.model.buffers())  # written in place, never replaced
        self._weights_seen = None
        self._fused: FusedNet | Int8Net | None = None  # the bf16 or int8 path's network, built on first use
        self._fused_version = None
        self._calibration = CalibrationBuffer() if self.precision == "int8" else None
        self.positions_evaluated = 0
        self.forward_seconds = 0.0

    @property
    def cache_lookups(self) -> int:
        return self.cache.lookups if self.cache is not None else 0

    @property
    def cache_hits(self) -> int:
        return self.cache.hits if self.cache is not None else 0

    def invalidate(self) -> None:
        """Forget cached evaluations (called by itself when the weights change)."""
        if self.cache is not None:
            self.cache.clear()

    def evaluate(self, batch):
        if self.cache is None:
            return super().evaluate(batch)
        version = weights_version(self._weights)
        if version != self._weights_seen:
            self.invalidate()
            self._weights_seen = version
        return self.cache.evaluate(batch.game, batch.planes, batch.legal_mask, self._unmasked)

    def _unmasked(self, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.forward(planes, None)

    def forward(self, planes: np.ndarray, legal_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Logits (masked when ``legal_mask`` is given) and values of every row, uncached
        (averaged over ``symmetries``)."""
        if not self._perms:
            return self._forward(planes, legal_mask)
        log_policy = np.zeros((len(planes), self.model.num_actions), dtype=np.float32)
        values = np.zeros(len(planes), dtype=np.float32)
        for k, perm in enumerate(self._perms):
            turned = planes if k == 0 else np.ascontiguousarray(self.game.symmetry(k, planes, perm)[0])
            logits, v = self._forward(turned, None)
            shifted = logits - logits.max(axis=1, keepdims=True)
            log_policy[:, perm] += shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            values += v
        log_policy /= len(self._perms)
        values /= len(self._perms)
        if legal_mask is not None:
            log_policy[~legal_mask] = ILLEGAL_LOGIT
        return log_policy, values

    @torch.inference_mode()
    def _forward(self, planes: np.ndarray, legal_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        logits = np.empty((len(planes), self.model.num_actions), dtype=np.float32)
        values = np.empty(len(planes), dtype=np.float32)
        draws = np.empty(len(planes), dtype=np.float32) if self.reports_draws else None
        for start in range(0, len(planes), self.max_batch):
            end = start + self.max_batch
            x = torch.from_numpy(planes[start:end]).to(self.device, non_blocking=True)
            mask = None if legal_mask is None else \
                torch.from_numpy(legal_mask[start:end]).to(self.device, non_blocking=True)
            if self.precision != "fp32":
                if self._calibration is not None:
                    self._calibration.add(planes[start:end])
                fused = self._fused_net()
                batch_logits, batch_values = fused(x)
                if mask is not None:
                    batch_logits = batch_logits.masked_fill(~mask, ILLEGAL_LOGIT)
                value_outputs = fused.last_value_outputs
            elif draws is not None or self.score_utility:
                heads = self.model.training_outputs(x)
                batch_logits = heads["logits"] if mask is None else heads["logits"].masked_fill(~mask, ILLEGAL_LOGIT)
                batch_values, value_outputs = heads["values"], heads["value_outputs"]
                if self.score_utility:
                    area = self.model.obs_shape[1] * self.model.obs_shape[2]
                    batch_values = score_utility_values(batch_values, heads["score"], self.score_utility, area)
            else:
                batch_logits, batch_values = self.model(x, mask)
            logits[start:end] = batch_logits.float().cpu().numpy()
            values[start:end] = batch_values.float().cpu().numpy()
            if draws is not None:  # a win/draw/loss head's (win, draw, loss) logits
                draws[start:end] = value_outputs.float().softmax(-1)[:, 1].cpu().numpy()
        self.last_draws = draws
        self.positions_evaluated += len(planes)
        self.forward_seconds += time.perf_counter() - t0
        return logits, values

    def _fused_net(self) -> FusedNet | Int8Net:
        """The bf16 or int8 inference form of the model, rebuilt when its weights have changed
        (for int8, also until enough positions have been seen to calibrate it)."""
        version = weights_version(self._weights)
        uncalibrated = self.precision == "int8" and not isinstance(self._fused, Int8Net)
        if self._fused is None or version != self._fused_version or uncalibrated:
            self._fused, self._fused_version = self._build_fused(), version
        return self._fused

    def _build_fused(self) -> FusedNet | Int8Net:
        if self.precision == "bf16":
            return FusedNet(self.model, torch.bfloat16, self.score_utility)
        calibration = self._calibration.planes()
        if len(calibration) < MIN_CALIBRATION:
            return FusedNet(self.model, torch.float32, self.score_utility)
        return Int8Net(self.model, torch.from_numpy(calibration), self.score_utility)

    def priors(self, planes: np.ndarray, legal_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities (0 on illegal moves) and values, for callers outside the search (uncached)."""
        logits, values = self.forward(planes, legal_mask)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True)) * legal_mask
        return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32), values
