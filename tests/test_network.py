"""PolicyValueNet and its evaluator: shapes, masking, learning on a fixed sample."""

import math

import numpy as np
import pytest
import torch

from games import make_game
from selfplay.network import (
    NetworkConfig,
    NetworkEvaluator,
    PolicyValueNet,
    resolve_device,
)
from selfplay.errors import UserError
from selfplay.training import learner

GAME = make_game("connect4")


def small_net():
    torch.manual_seed(0)
    return PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=16, blocks=1, value_hidden=16))


def test_masked_moves_get_zero_probability():
    state = GAME.state_from_moves("444444")  # column 4 full
    planes = GAME.encode(state)[None]
    mask = GAME.legal_mask(state)[None]
    priors, values = NetworkEvaluator(small_net(), "cpu").priors(planes, mask)
    assert priors.shape == (1, 7) and priors[0, 3] == 0.0
    assert np.isclose(priors.sum(), 1.0) and -1 <= values[0] <= 1


def test_evaluator_batches_like_single_calls():
    evaluator = NetworkEvaluator(small_net(), "cpu", max_batch=3)
    rng = np.random.default_rng(0)
    states = [GAME.state_from_moves("".join(str(c) for c in rng.integers(1, 8, size=6))) for _ in range(7)]
    planes = np.stack([GAME.encode(s) for s in states])
    masks = np.stack([GAME.legal_mask(s) for s in states])
    priors, values = evaluator.priors(planes, masks)
    for i in range(7):
        p, v = evaluator.priors(planes[i:i + 1], masks[i:i + 1])
        assert np.allclose(p[0], priors[i], atol=1e-6) and np.isclose(v[0], values[i], atol=1e-6)


def sample_planes() -> torch.Tensor:
    """Four Connect Four positions, encoded: the opening to a full column."""
    states = [GAME.state_from_moves(m) for m in ("4", "4453", "1234567", "44444")]
    return torch.from_numpy(np.stack([GAME.encode(s) for s in states]))


def test_a_scalar_value_head_becomes_win_draw_loss_with_nearly_its_values():
    scalar = small_net()
    scalar.eval()
    wdl = PolicyValueNet(GAME.obs_shape, GAME.num_actions,
                         NetworkConfig(channels=16, blocks=1, value_hidden=16, value_head="wdl"))
    wdl.deepen_from(scalar)
    wdl.eval()
    planes = sample_planes()
    with torch.no_grad():
        (scalar_logits, scalar_values), (wdl_logits, wdl_values) = scalar(planes), wdl(planes)
    assert torch.equal(scalar_logits, wdl_logits)
    z = torch.atanh(scalar_values.double())  # the scalar head's output before its tanh
    by_hand = 2 * torch.sinh(z) / (2 * torch.cosh(z) + math.exp(-2.0))  # logits (z, -2, -z)
    assert torch.allclose(wdl_values.double(), by_hand, atol=1e-5)
    assert (wdl_values - scalar_values).abs().max() < 0.07
    with pytest.raises(UserError, match="not back"):
        small_net().deepen_from(wdl)


def test_a_deepened_network_computes_what_the_smaller_one_did_then_learns():
    small = small_net()
    for module in small.modules():  # running statistics away from 0 and 1, as after training
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
    small.eval()
    deep = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=16, blocks=3, value_hidden=16))
    deep.deepen_from(small)
    deep.eval()
    planes = sample_planes()
    with torch.no_grad():
        (small_logits, small_values), (deep_logits, deep_values) = small(planes), deep(planes)
    assert torch.allclose(small_logits, deep_logits, atol=1e-5) and torch.allclose(small_values, deep_values, atol=1e-6)
    deep.train()  # the new blocks are not dead: their zeroed scales get a gradient
    deep.training_outputs(planes)["values"].sum().backward()
    assert deep.tower[2].bn2.weight.grad.abs().sum() > 0
    with pytest.raises(UserError, match="only grows deeper"):
        small_net().deepen_from(deep)


def test_loss_goes_down_on_a_fixed_sample():
    net = small_net()
    rng = np.random.default_rng(1)
    planes = torch.from_numpy(rng.integers(0, 2, size=(64, *GAME.obs_shape)).astype(np.float32))
    target_policy = torch.softmax(torch.from_numpy(rng.normal(size=(64, 7)).astype(np.float32)), -1)
    target_value = torch.from_numpy(rng.choice([-1.0, 0.0, 1.0], size=64).astype(np.float32))
    entropy = -(target_policy * target_policy.log()).sum(-1).mean()  # the floor of the cross-entropy
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = learner.losses(net, planes, target_policy, target_value)[0] - entropy
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]


def test_device_auto_is_cpu_without_a_gpu():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_symmetry_average_is_the_mean_of_the_mirrored_evaluations():
    """sym=2 on Connect Four: the geometric mean of the network's policy on the board and (mapped
    back) on its mirror image, renormalized over the legal moves; the mean of the two values."""
    net = small_net()
    plain, averaged = NetworkEvaluator(net, "cpu"), NetworkEvaluator(net, "cpu", symmetries=2, game=GAME)
    state = GAME.state_from_moves("4444443")  # column 4 full
    planes, mask = GAME.encode(state)[None], GAME.legal_mask(state)[None]
    p0, v0 = plain.priors(planes, mask)
    p1, v1 = plain.priors(planes[..., ::-1].copy(), mask[..., ::-1].copy())
    expected = np.sqrt(p0 * p1[..., ::-1])
    expected /= expected.sum()
    priors, values = averaged.priors(planes, mask)
    assert np.allclose(priors, expected, atol=1e-5) and priors[0, 3] == 0.0
    assert np.isclose(values[0], (v0[0] + v1[0]) / 2, atol=1e-6)
    assert averaged.positions_evaluated == 2


def test_symmetry_average_over_all_of_go_is_invariant():
    """Averaged over the 8 symmetries of the square, a network answers every turned or reflected
    board the same, its policy turned the same way (an untrained network does not)."""
    go = make_game("go", size=5)
    torch.manual_seed(0)
    net = PolicyValueNet(go.obs_shape, go.num_actions, NetworkConfig(channels=8, blocks=1, value_hidden=8))
    state = go.initial_state()
    for move in ("B2", "C3", "D2", "B4"):
        state = go.step(state, go.parse_move(move))
    planes, mask = go.encode(state)[None].astype(np.float32), go.legal_mask(state)[None]
    plain, averaged = NetworkEvaluator(net, "cpu"), NetworkEvaluator(net, "cpu", symmetries=8, game=go)
    priors, values = averaged.priors(planes, mask)
    plain_priors = plain.priors(planes, mask)[0]
    for k in range(1, 8):
        turned, turned_mask = go.symmetry(k, planes, mask)
        turned_priors, turned_values = averaged.priors(np.ascontiguousarray(turned), np.ascontiguousarray(turned_mask))
        assert np.allclose(turned_priors, go.symmetry(k, planes, priors)[1], atol=1e-5)
        assert np.isclose(turned_values[0], values[0], atol=1e-5)
    assert not np.allclose(plain.priors(*(np.ascontiguousarray(a) for a in go.symmetry(1, planes, mask)))[0],
                           go.symmetry(1, planes, plain_priors)[1], atol=1e-3)


def test_symmetries_beyond_the_game_are_refused():
    with np.testing.assert_raises_regex(ValueError, "symmetries must be 1 to 2"):
        NetworkEvaluator(small_net(), "cpu", symmetries=3, game=GAME)
    with np.testing.assert_raises_regex(ValueError, "symmetries must be 1 to 1"):
        NetworkEvaluator(small_net(), "cpu", symmetries=2)
