"""Weight averaging (SWA): the mean checked by hand, batch norm re-measured against statistics
computed directly, and scripts/average_checkpoints.py end to end on real checkpoints."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from games import make_game
from selfplay.arena.match import play_game
from selfplay.network import NetworkConfig, PolicyValueNet
from selfplay.players import RandomPlayer, make_player
from selfplay.players.net import load_network
from selfplay.run.checkpoint import CheckpointError, checkpoint_path, network_sections, save_checkpoint
from selfplay.training.averaging import average_state_dicts, newest_planes, recalibrate_batchnorm
from selfplay.training.replay import GameChunk, write_chunk

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("average_checkpoints", ROOT / "scripts" / "average_checkpoints.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)

SMALL = NetworkConfig(channels=4, blocks=1, value_hidden=4)


def test_the_mean_of_floats_by_hand_and_counters_from_the_last():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(9)}
    c = {"w": torch.tensor([2.0, 1.0]), "n": torch.tensor(12)}
    out = average_state_dicts([a, b, c])
    assert torch.equal(out["w"], torch.tensor([2.0, 3.0])) and out["w"].dtype == torch.float32
    assert int(out["n"]) == 12


@pytest.mark.parametrize("other, says", [
    ({"w": torch.zeros(2), "extra": torch.zeros(1)}, "name other tensors"),
    ({"w": torch.zeros(3)}, r"w has shape \(3,\), weights 0 has \(2,\)"),
])
def test_weights_that_do_not_match_are_refused_by_name(other, says):
    with pytest.raises(CheckpointError, match=says):
        average_state_dicts([{"w": torch.zeros(2)}, other])


def test_batch_norm_is_measured_again_on_the_given_positions():
    """The stem's batch norm must end with the mean and (unbiased) variance of the stem
    convolution's outputs over the positions, computed here directly with F.conv2d."""
    game = make_game("tictactoe")
    model = PolicyValueNet(game.obs_shape, game.num_actions, SMALL).eval()
    bn = model.stem[1]
    bn.running_mean.fill_(7.0)  # stale statistics the measurement must replace
    bn.running_var.fill_(0.01)
    planes = np.random.default_rng(0).integers(0, 2, (64, *game.obs_shape)).astype(np.uint8)
    assert recalibrate_batchnorm(model, planes, batch_size=64) == sum(
        isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    conv = F.conv2d(torch.from_numpy(planes).float(), model.stem[0].weight, padding=1)
    channels = conv.transpose(0, 1).reshape(SMALL.channels, -1)
    torch.testing.assert_close(bn.running_mean, channels.mean(1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bn.running_var, channels.var(1, unbiased=True), rtol=1e-4, atol=1e-5)
    assert not model.training and bn.momentum == 0.1  # left as it was found


def write_run(tmp_path, steps):
    game = make_game("tictactoe")
    states = []
    for step in steps:
        torch.manual_seed(step)
        model = PolicyValueNet(game.obs_shape, game.num_actions, SMALL)
        states.append(model.state_dict())
        save_checkpoint(checkpoint_path(tmp_path / "checkpoints", step),
                        {"model": model.state_dict(), "step": step, "elapsed_seconds": float(step),
                         **network_sections(game, SMALL)})
    rng = np.random.default_rng(1)
    for sequence in range(3):
        n = 40
        planes = rng.integers(0, 2, (n, *game.obs_shape)).astype(np.uint8)
        policy = np.full((n, game.num_actions), 1 / game.num_actions, np.float32)
        write_chunk(tmp_path / "replay", 0, sequence, GameChunk(planes, policy, np.zeros(n, np.float32), 4, 0))
    return game, states


def test_the_script_writes_a_checkpoint_that_plays(tmp_path, capsys):
    game, states = write_run(tmp_path, (100, 200))
    out = tmp_path / "avg.pt"
    paths = [str(checkpoint_path(tmp_path / "checkpoints", s)) for s in (100, 200)]
    assert script.main([*paths, "--replay", str(tmp_path / "replay"), "--positions", "100", "--out", str(out)]) == 0
    assert "the mean of steps 100, 200, batch norm re-measured" in capsys.readouterr().out
    loaded_game, model, payload = load_network(out)
    assert loaded_game.name == "tictactoe" and payload["step"] == 200 and payload["averaged"] == [100, 200]
    key = "stem.0.weight"
    torch.testing.assert_close(model.state_dict()[key], (states[0][key] + states[1][key]) / 2)
    # the statistics are new ones: not the snapshots' (fresh networks: mean 0, variance 1)
    assert not torch.allclose(model.state_dict()["stem.1.running_mean"], torch.zeros(SMALL.channels))
    record = play_game(game, [make_player(f"net:{out},sims=8", game), RandomPlayer(seed=1)])
    assert record.returns is not None


def test_newest_planes_takes_the_newest_chunks_and_skips_a_damaged_one(tmp_path):
    write_run(tmp_path, (1,))
    newest = sorted((tmp_path / "replay").iterdir())[-1]
    reports = []
    assert len(newest_planes(tmp_path / "replay", 50, reports.append)) == 50
    newest.write_bytes(b"not a zip")
    assert len(newest_planes(tmp_path / "replay", 50, reports.append)) == 50
    assert len(reports) == 1 and "skipped" in reports[0] and newest.name in reports[0]


@pytest.mark.parametrize("argv, says", [
    (["only-one.pt"], "two checkpoints or more"),
    (["a.pt", "b.pt", "--positions", "0"], "--positions must be positive"),
    (["missing-a.pt", "missing-b.pt"], "does not exist"),
])
def test_bad_input_gets_a_clear_error(tmp_path, capsys, argv, says):
    assert script.main([*argv, "--out", str(tmp_path / "x.pt")]) == 2
    assert says in capsys.readouterr().err


def test_an_output_that_cannot_be_written_is_named(tmp_path, capsys):
    write_run(tmp_path, (1, 2))
    paths = [str(checkpoint_path(tmp_path / "checkpoints", s)) for s in (1, 2)]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert script.main([*paths, "--out", str(blocker / "avg.pt")]) == 2
    assert "average_checkpoints: error:" in capsys.readouterr().err


def test_checkpoints_of_different_networks_are_refused(tmp_path, capsys):
    write_run(tmp_path, (1,))
    game = make_game("tictactoe")
    other = NetworkConfig(channels=8, blocks=1, value_hidden=4)
    path = tmp_path / "other.pt"
    save_checkpoint(path, {"model": PolicyValueNet(game.obs_shape, game.num_actions, other).state_dict(),
                           "step": 2, **network_sections(game, other)})
    assert script.main([str(checkpoint_path(tmp_path / "checkpoints", 1)), str(path), "--out",
                        str(tmp_path / "x.pt")]) == 2
    assert "another game or network" in capsys.readouterr().err
