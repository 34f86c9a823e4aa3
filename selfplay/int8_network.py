"""Int8Net: a PolicyValueNet's int8 inference form, for CPUs with VNNI (AVX-512 VNNI, AVX-VNNI, AMX).

The residual tower is nearly all of the forward's arithmetic, and a VNNI core multiplies int8
about twice as fast as bf16. Int8Net runs the tower and the heads' 1x1 convolution on oneDNN's
quantized convolutions (``torch.ops.onednn.qconv2d_pointwise``, the kernels that torch.compile's
x86 int8 path lowers to), called directly: activations stay uint8 from layer to layer, each
convolution's bias, ReLU and residual sum are fused into it, and the heads' small linear layers
run in float32. No quantized tensor types (deprecated in torch) and no compilation, so a
self-play worker rebuilds an Int8Net in about 0.03 s (256 calibration positions, 48 channels)
when its weights change.

Weights are quantized symmetrically per output channel from the folded convolutions of a
float32 FusedNet. A tower wider than 32 channels is padded with zero filters to a multiple of
64: with 48 or 96 output channels oneDNN reorders the packed weights at every call (12 ms a call
at batch 8, 7x slower than bf16), while 32, 64 and 128 run at full speed at every batch size
(48 padded to 64: 1.8x bf16 at batch 100-256); the padded channels stay exactly 0 through every
ReLU and residual sum. Each activation's scale is its largest value over calibration positions
(every activation follows a ReLU, so uint8 with zero point 0): the maximum measured better than
any percentile (clipping the largest activations moved the value more than rounding the small
ones). On 20,000 positions of a Connect Four run against fp32, with 256 calibration positions:
value within 0.13 (mean 0.006), policy KL 1.5e-4, the most likely move changed on 0.8%.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from selfplay.fused_network import Conv, FusedNet

#: Tower widths above 32 are padded to a multiple of this (see above).
CHANNEL_MULTIPLE = 64

#: Fewer calibration positions than this give ranges too narrow for the positions that follow
#: (one position: most likely move changed on 6%; 16 positions: 0.7%).
MIN_CALIBRATION = 16


class PackedConv:
    """One convolution's int8 weights (per output channel), packed for oneDNN given the scale of
    the uint8 input it will see."""

    def __init__(self, conv: Conv, input_scale: float, padding: int):
        weight, bias = conv
        weight = weight.float()
        self.weight_scale = (weight.abs().amax(dim=(1, 2, 3)) / 127).clamp_min(1e-12)
        quantized = torch.round(weight / self.weight_scale.reshape(-1, 1, 1, 1)).clamp(-127, 127).to(torch.int8)
        self.padding = [padding, padding]
        self.weight_zero = torch.zeros(len(self.weight_scale), dtype=torch.int64)
        self.bias = bias.float()
        self.input_scale = input_scale
        self.packed = torch.ops.onednn.qconv_prepack(
            quantized.contiguous(memory_format=torch.channels_last), self.weight_scale, input_scale, 0,
            [1, 1], self.padding, [1, 1], 1, None)

    def _args(self, x: torch.Tensor) -> tuple:
        return (x, self.input_scale, 0, self.packed, self.weight_scale, self.weight_zero)

    def relu(self, x: torch.Tensor, output_scale: float | None) -> torch.Tensor:
        """relu(conv(x)): uint8 at ``output_scale``, or float32 when it is None."""
        out_dtype = torch.float32 if output_scale is None else None
        return torch.ops.onednn.qconv2d_pointwise(*self._args(x), self.bias, [1, 1], self.padding, [1, 1], 1,
                                                  output_scale or 1.0, 0, out_dtype, "relu", [], "")

    def add_relu(self, x: torch.Tensor, residual: torch.Tensor, residual_scale: float,
                 output_scale: float) -> torch.Tensor:
        """relu(conv(x) + residual), uint8 at ``output_scale``; ``residual`` is overwritten."""
        return torch.ops.onednn.qconv2d_pointwise.binary(
            *self._args(x), residual, self.bias, [1, 1], self.padding, [1, 1], 1, output_scale, 0, None,
            residual_scale, 0, "sum", 1.0, "relu", [], "")


def pad_channels(conv: Conv, outputs: int, inputs: int) -> Conv:
    """The convolution with zero filters added up to ``outputs`` output channels and zero weights
    for input channels up to ``inputs`` (channels that are always 0)."""
    weight, bias = conv
    out, inp = weight.shape[:2]
    weight = F.pad(weight.float(), (0, 0, 0, 0, 0, inputs - inp, 0, outputs - out))
    return weight, F.pad(bias.float(), (0, outputs - out))


class Int8Net:
    """``Int8Net(model, calibration)(planes)`` gives about what ``model(planes)`` gives in eval
    mode (float32 logits, unmasked, and values), with the convolutions in int8; ``calibration``
    (at least MIN_CALIBRATION encoded positions like those it will see) sets the activation
    scales. The input planes must be 0/1, as every game's encoding here is. ``score_utility``:
    as FusedNet's (the values are the search's utility)."""

    INPUT_SCALE = 1 / 255  # planes are 0 or 1: exact in uint8

    def __init__(self, model: torch.nn.Module, calibration: torch.Tensor, score_utility: float = 0.0):
        if len(calibration) < MIN_CALIBRATION:
            raise ValueError(f"int8 calibration needs at least {MIN_CALIBRATION} positions, got {len(calibration)}")
        if not bool(((calibration == 0) | (calibration == 1)).all()):
            raise ValueError("int8 inference reads 0/1 input planes (every board game's encoding here); these "
                             "planes hold other values: use precision bf16 or fp32")
        self.float_net = FusedNet(model, torch.float32, score_utility)
        maxima: list[float] = []
        with torch.no_grad():
            self.float_net.trunk(calibration.float(), maxima)
        scales = iter([max(m, 1e-6) / 255 for m in maxima])
        stem = self.float_net.stem
        width = stem[0].shape[0]
        if width > 32:
            width = -(-width // CHANNEL_MULTIPLE) * CHANNEL_MULTIPLE
        self.stem_scale = next(scales)
        self.stem = PackedConv(pad_channels(stem, width, stem[0].shape[1]), self.INPUT_SCALE, 1)
        self.blocks = []
        scale = self.stem_scale
        for conv1, conv2 in self.float_net.blocks:
            middle, out = next(scales), next(scales)
            self.blocks.append((PackedConv(pad_channels(conv1, width, width), scale, 1), middle,
                                PackedConv(pad_channels(conv2, width, width), middle, 1), scale, out))
            scale = out
        heads = self.float_net.heads
        self.heads = PackedConv(pad_channels(heads, heads[0].shape[0], width), scale, 0)

    def __call__(self, planes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (planes * 255).to(torch.uint8).contiguous(memory_format=torch.channels_last)
        x = self.stem.relu(x, self.stem_scale)
        for conv1, middle, conv2, scale, out in self.blocks:
            x = conv2.add_relu(conv1.relu(x, middle), x, scale, out)
        heads = self.heads.relu(x, None)
        return self.float_net.head_outputs(heads)

    @property
    def last_value_outputs(self) -> torch.Tensor:
        """The value head's last-layer outputs of the last call's rows (FusedNet's)."""
        return self.float_net.last_value_outputs


class CalibrationBuffer:
    """The last ``size`` positions an evaluator saw (a ring of rows), to calibrate an Int8Net
    whenever the weights change, whatever the size of the batch at hand."""

    def __init__(self, size: int = 256):  # 256 calibrate as well as 1,024 or 4,096, and 6x cheaper to rebuild
        self.size = size
        self.rows: np.ndarray | None = None
        self.count = 0

    def add(self, planes: np.ndarray) -> None:
        if self.rows is None:
            self.rows = np.empty((self.size, *planes.shape[1:]), dtype=np.float32)
        take = planes[-self.size:]
        index = (self.count + np.arange(len(take))) % self.size
        self.rows[index] = take
        self.count += len(take)

    def planes(self) -> np.ndarray:
        return self.rows[:min(self.count, self.size)]
