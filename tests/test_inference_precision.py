"""Reduced-precision inference against the fp32 path: bounded policy and value error, the same
moves almost everywhere, and the choice of precision checked like any other option."""

import functools

import numpy as np
import pytest
import torch

from games import make_game
from selfplay.benchmarks.selfplay import planes_legal_connect4, precision_error
from selfplay.errors import UserError
from selfplay.mcts import MCTS, MCTSConfig
from selfplay.network import (
    NetworkConfig,
    NetworkEvaluator,
    PolicyValueNet,
    cpu_has_bf16,
    cpu_has_int8,
    resolve_precision,
)
from selfplay.players import PlayerSpecError, check_player

GAME = make_game("connect4")


@functools.cache
def trained_net():
    """A small network fitted for a few steps to a fixed target, so that its outputs are not
    the near-uniform ones of a fresh initialisation (those would hide precision error)."""
    torch.manual_seed(0)
    net = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=32, blocks=2, value_hidden=32))
    _, planes, _ = positions(256, seed=1)
    x = torch.from_numpy(planes)
    target_policy = torch.softmax(torch.randn(len(planes), GAME.num_actions), dim=1)
    target_value = torch.rand(len(planes)) * 2 - 1
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(30):
        logits, values = net(x)
        loss = -(target_policy * torch.log_softmax(logits, 1)).sum(1).mean() + ((values - target_value) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def positions(count, seed=0):
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = GAME.initial_state()
        for _ in range(rng.integers(0, 20)):
            state = GAME.step(state, int(rng.choice(np.flatnonzero(GAME.legal_mask(state)))))
            if GAME.is_terminal(state):
                break
        if not GAME.is_terminal(state):
            states.append(state)
    return states, np.stack([GAME.encode(s) for s in states]), np.stack([GAME.legal_mask(s) for s in states])


def test_bf16_answers_are_close_to_fp32():
    _, planes, legal = positions(400, seed=2)
    error = precision_error(trained_net(), planes, legal, "bf16")
    assert error["precision"] == "bf16"
    assert error["max |dvalue|"] < 0.05
    assert error["mean KL"] < 1e-3
    assert error["argmax changed"] < 0.03


def test_fp32_is_the_plain_forward_and_bf16_differs():
    """fp32 through the evaluator is exactly the network; bf16 is really another computation."""
    net = trained_net()
    _, planes, legal = positions(64, seed=3)
    with torch.inference_mode():
        logits, values = net(torch.from_numpy(planes), torch.from_numpy(legal))
    fp32_logits, fp32_values = NetworkEvaluator(net, "cpu", precision="fp32").forward(planes, legal)
    np.testing.assert_array_equal(fp32_values, values.numpy())
    np.testing.assert_array_equal(fp32_logits, logits.numpy())
    _, bf16_values = NetworkEvaluator(net, "cpu", precision="bf16").forward(planes, legal)
    assert not np.array_equal(bf16_values, fp32_values)


def test_bf16_search_chooses_like_fp32():
    """Whole searches from the same roots: the most visited move agrees on nearly every root."""
    net = trained_net()
    states, _, _ = positions(48, seed=4)
    best = []
    for precision in ("fp32", "bf16"):
        mcts = MCTS(GAME, NetworkEvaluator(net, "cpu", precision=precision),
                    MCTSConfig(num_simulations=64, dirichlet_fraction=0.0, seed=5), batch_size=len(states))
        mcts.set_roots(states)
        best.append(mcts.search().visit_counts.argmax(axis=1))
    assert np.mean(best[0] == best[1]) >= 0.9


def test_auto_picks_the_fastest_precision_the_cpu_computes_natively():
    expected = "int8" if cpu_has_int8() else "bf16" if cpu_has_bf16() else "fp32"
    assert resolve_precision("auto", torch.device("cpu")) == expected
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(UserError, match="int4"):
        resolve_precision("int4", torch.device("cpu"))
    with pytest.raises(UserError, match="int8 runs on a CPU"):
        resolve_precision("int8", torch.device("meta"))


def test_replay_planes_give_connect4_legal_moves():
    _, planes, legal = positions(50, seed=6)
    np.testing.assert_array_equal(planes_legal_connect4(planes), legal)


@pytest.mark.parametrize("spec, message", [("net:x.pt,precision=int4", "precision"),
                                           ("net:x.pt,cache=-1", "cache"),
                                           ("net:x.pt,cache=lots", "cache")])
def test_net_player_options_are_checked(spec, message):
    with pytest.raises(PlayerSpecError, match=message):
        check_player(spec, GAME)


def test_net_player_accepts_precision_and_cache():
    check_player("net:x.pt,precision=bf16,cache=65536", GAME)
    check_player("net:x.pt,precision=auto", GAME)
    if cpu_has_int8():
        check_player("net:x.pt,precision=int8", GAME)


def test_the_score_utility_is_katagos_mixture_in_every_precision():
    """With score_utility the values are (1 - w) v + w (2/pi) atan(margin / scale), the margin the
    score head's points per board point times the board's 25 points and the scale 20 * 5 / 19:
    by hand from the model's own heads, then through the fp32, fused and int8 paths."""
    go5 = make_game("go", size=5, komi=0.5)
    torch.manual_seed(0)
    net = PolicyValueNet(go5.obs_shape, go5.num_actions, NetworkConfig(8, 1, 8, ownership_head=True)).eval()
    with torch.no_grad():
        net.score[6].weight.mul_(20)  # margins of several points either way, not all near 0
    rng = np.random.default_rng(0)
    planes = (rng.random((64, *go5.obs_shape)) < 0.3).astype(np.float32)
    with torch.no_grad():
        heads = net.training_outputs(torch.from_numpy(planes))
    v, margin = heads["values"].numpy(), heads["score"].numpy() * 25
    assert np.abs(margin).max() > 2
    expected = 0.7 * v + 0.3 * (2 / np.pi) * np.arctan(margin / (20 * 5 / 19))
    legal = np.ones((64, go5.num_actions), dtype=np.bool_)
    tolerances = {"fp32": 1e-5, "bf16": 0.05, **({"int8": 0.1} if cpu_has_int8() else {})}
    for precision, tolerance in tolerances.items():
        evaluator = NetworkEvaluator(net, "cpu", precision=precision, score_utility=0.3)
        for _ in range(3):  # int8 calibrates on what it has seen first
            logits, values = evaluator.forward(planes, legal)
        np.testing.assert_allclose(values, expected, atol=tolerance, err_msg=precision)
        plain_logits, _ = NetworkEvaluator(net, "cpu", precision=precision).forward(planes, legal)
        np.testing.assert_allclose(logits, plain_logits, atol=1e-5, err_msg=precision)  # the policy is untouched
    with pytest.raises(ValueError, match="needs a network with the score head"):
        NetworkEvaluator(PolicyValueNet(go5.obs_shape, go5.num_actions, NetworkConfig(8, 1, 8)), "cpu",
                         score_utility=0.3)
    with pytest.raises(ValueError, match="score_utility must be 0"):
        NetworkEvaluator(net, "cpu", score_utility=1.5)


def test_the_fused_network_computes_the_model():
    """FusedNet in float32 is the model up to rounding (batch norms folded, heads merged,
    channels-last), for Connect Four and for Go (whose pass needs the policy's own logit),
    with and without residual blocks, with a scalar or a win/draw/loss value head; and it follows the weights when they change."""
    from games import make_game
    from selfplay.fused_network import FusedNet
    from selfplay.network import NetworkConfig, PolicyValueNet
    for game, config in [(GAME, NetworkConfig(8, 2, 8)), (GAME, NetworkConfig(8, 1, 8, value_head="wdl")),
                         (make_game("go", size=5, komi=0.5), NetworkConfig(6, 0, 5))]:
        torch.manual_seed(0)
        net = PolicyValueNet(game.obs_shape, game.num_actions, config)
        net.train()
        for _ in range(3):  # batch statistics that are not the identity
            net(torch.rand(16, *game.obs_shape) * 3)
        net.eval()
        planes = torch.rand(32, *game.obs_shape)
        with torch.inference_mode():
            logits, values = net(planes)
            fused_logits, fused_values = FusedNet(net, torch.float32)(planes)
        torch.testing.assert_close(fused_logits, logits, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fused_values, values, rtol=1e-5, atol=1e-5)
    evaluator = NetworkEvaluator(net, "cpu", precision="bf16")
    legal = np.ones((32, game.num_actions), dtype=np.bool_)
    before = evaluator.forward(planes.numpy(), legal)[1]
    with torch.no_grad():
        net.value_head[6].bias.add_(0.5)
    after = evaluator.forward(planes.numpy(), legal)[1]
    assert np.all(after > before)  # the new weights, not the first snapshot
