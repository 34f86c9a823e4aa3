"""Int8 inference (Int8Net) against float32: each quantized convolution against the same
arithmetic done by hand in float32, the whole network within bounded error, and the evaluator's
calibration and rebuild on weight changes."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from selfplay.benchmarks.selfplay import precision_error
from selfplay.int8_network import MIN_CALIBRATION, Int8Net, PackedConv, pad_channels
from selfplay.network import NetworkConfig, NetworkEvaluator, PolicyValueNet, cpu_has_int8
from tests.test_inference_precision import GAME, positions, trained_net

pytestmark = pytest.mark.skipif(not cpu_has_int8(), reason="int8 inference needs a CPU with VNNI and oneDNN")


def quantize(x, scale):
    return torch.clamp(torch.round(x / scale), 0, 255)


def test_a_quantized_convolution_is_the_integer_arithmetic_done_by_hand():
    """relu(conv(x)) and relu(conv(x) + residual) in uint8: the same as float32 convolution of
    the dequantized input with the dequantized int8 weights, requantized (within one step)."""
    gen = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(8, 4, 3, 3, generator=gen), torch.randn(8, generator=gen)
    x = torch.rand(5, 4, 6, 7, generator=gen) * 3
    x_scale, out_scale, res_scale = 3 / 255, 0.1, 0.05
    conv = PackedConv((weight, bias), x_scale, padding=1)
    qx = quantize(x, x_scale).to(torch.uint8).contiguous(memory_format=torch.channels_last)
    w_hand = torch.round(weight / conv.weight_scale.reshape(-1, 1, 1, 1)) * conv.weight_scale.reshape(-1, 1, 1, 1)
    exact = F.conv2d(qx.float() * x_scale, w_hand, bias, padding=1)

    out = conv.relu(qx, out_scale)
    assert out.dtype == torch.uint8
    assert (out.float() - quantize(exact.relu(), out_scale)).abs().max() <= 1
    np.testing.assert_allclose(conv.relu(qx, None).numpy(), exact.relu().numpy(), atol=1e-3)

    residual = torch.rand(5, 8, 6, 7, generator=gen) * 4
    q_residual = quantize(residual, res_scale).to(torch.uint8).contiguous(memory_format=torch.channels_last)
    summed = (exact + q_residual.float() * res_scale).relu()
    out = conv.add_relu(qx, q_residual, res_scale, out_scale)
    assert (out.float() - quantize(summed, out_scale)).abs().max() <= 1


def test_int8_answers_are_close_to_fp32():
    _, planes, legal = positions(400, seed=2)
    error = precision_error(trained_net(), planes, legal, "int8")
    assert error["precision"] == "int8"
    assert error["mean |dvalue|"] < 0.02 and error["max |dvalue|"] < 0.2
    assert error["mean KL"] < 2e-3
    assert error["argmax changed"] < 0.05


def test_int8_is_really_int8_and_needs_calibration():
    net = trained_net()
    _, planes, _ = positions(64, seed=3)
    x = torch.from_numpy(planes)
    with pytest.raises(ValueError, match="calibration"):
        Int8Net(net, x[:MIN_CALIBRATION - 1])
    with pytest.raises(ValueError, match="0/1 input planes"):
        Int8Net(net, x * 0.5)
    int8 = Int8Net(net, x)
    packed = [int8.stem, int8.heads] + [conv for block in int8.blocks for conv in (block[0], block[2])]
    assert len(packed) == 2 + 2 * net.config.blocks and all(conv.packed.dtype == torch.int8 for conv in packed)
    with torch.inference_mode():
        _, values = net(x)
        _, int8_values = int8(x)
    assert not torch.equal(values, int8_values)


def test_evaluator_calibrates_on_what_it_sees_and_rebuilds_when_weights_change():
    """The first positions go through float32 until MIN_CALIBRATION have been seen; after a
    weight change the int8 network is rebuilt (its answers follow the new weights)."""
    net = trained_net()
    copy = type(net)(net.obs_shape, net.num_actions, net.config)
    copy.load_state_dict(net.state_dict())
    evaluator = NetworkEvaluator(copy, "cpu", precision="int8")
    _, planes, legal = positions(3 * MIN_CALIBRATION, seed=4)
    fp32_logits, fp32_values = NetworkEvaluator(net, "cpu", precision="fp32").forward(planes[:1], legal[:1])
    logits, values = evaluator.forward(planes[:1], legal[:1])
    assert type(evaluator._fused).__name__ == "FusedNet"
    np.testing.assert_allclose(values, fp32_values, atol=1e-5)
    evaluator.forward(planes, legal)
    first = evaluator._fused
    assert isinstance(first, Int8Net)
    evaluator.forward(planes, legal)
    assert evaluator._fused is first
    with torch.no_grad():
        copy.value_head[6].bias.add_(0.5)
    _, moved = evaluator.forward(planes, legal)
    assert evaluator._fused is not first
    with torch.inference_mode():
        _, expected = copy(torch.from_numpy(planes))
    assert np.abs(moved - expected.numpy()).mean() < 0.02


def test_padding_channels_leaves_the_convolution_unchanged():
    gen = torch.Generator().manual_seed(1)
    weight, bias = torch.randn(48, 48, 3, 3, generator=gen), torch.randn(48, generator=gen)
    x = torch.randn(2, 48, 6, 7, generator=gen)
    padded_weight, padded_bias = pad_channels((weight, bias), 64, 64)
    assert padded_weight.shape == (64, 64, 3, 3) and padded_bias.shape == (64,)
    out = F.conv2d(F.pad(x, (0, 0, 0, 0, 0, 16)), padded_weight, padded_bias, padding=1)
    torch.testing.assert_close(out[:, :48], F.conv2d(x, weight, bias, padding=1))
    assert torch.all(out[:, 48:] == 0)


def test_a_tower_padded_to_64_channels_answers_like_fp32():
    """48 channels run padded to 64 (the width oneDNN packs without a reorder at every call)."""
    torch.manual_seed(2)
    net = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=48, blocks=2, value_hidden=32)).eval()
    _, planes, legal = positions(200, seed=5)
    int8 = Int8Net(net, torch.from_numpy(planes))
    assert int8.stem.bias.shape == (64,) and int8.heads.bias.shape == (net.policy_head[0].out_channels + 1,)
    error = precision_error(net, planes, legal, "int8")
    assert error["max |dvalue|"] < 0.1 and error["mean KL"] < 2e-3
