"""Checkpoints: atomic, loaded with weights_only, broken ones reported and skipped."""

import pytest
import torch

from selfplay.run.checkpoint import (
    CheckpointError,
    checkpoint_path,
    payload_checksum,
    read_sections,
    list_checkpoints,
    load_checkpoint,
    load_latest_good,
    save_checkpoint,
)


def payload(step):
    return {"model": {"w": torch.full((3,), float(step))}, "step": step, "rng": {"seed": [1, 2]}}


def test_round_trip_and_latest(tmp_path):
    for step in (10, 20, 30):
        save_checkpoint(checkpoint_path(tmp_path, step), payload(step))
    assert [s for s, _ in list_checkpoints(tmp_path)] == [10, 20, 30]
    path, data = load_latest_good(tmp_path)
    assert path.name == "step-00000030.pt" and data["step"] == 30
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_truncated_newest_falls_back_to_previous(tmp_path):
    for step in (10, 20):
        save_checkpoint(checkpoint_path(tmp_path, step), payload(step))
    newest = checkpoint_path(tmp_path, 20)
    newest.write_bytes(newest.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(newest)
    bad = []
    path, data = load_latest_good(tmp_path, on_bad=lambda p, e: bad.append(p))
    assert data["step"] == 10 and bad == [newest]


def test_a_flipped_byte_inside_a_tensor_is_caught_by_the_checksum(tmp_path):
    for step in (10, 20):
        save_checkpoint(checkpoint_path(tmp_path, step), payload(step))
    newest = checkpoint_path(tmp_path, 20)
    data = bytearray(newest.read_bytes())
    where = bytes(data).index(torch.full((3,), 20.0).numpy().tobytes())  # the tensor's storage
    data[where + 1] ^= 0x01
    newest.write_bytes(bytes(data))
    unchecked = torch.load(newest, weights_only=True)
    assert unchecked["model"]["w"][0] != 20.0  # torch loads the damage without complaint
    with pytest.raises(CheckpointError, match="does not match its checksum"):
        load_checkpoint(newest)
    path, loaded = load_latest_good(tmp_path)
    assert loaded["step"] == 10 and "checksum" not in loaded  # the run falls back a checkpoint


def test_the_checksum_covers_every_part_and_older_checkpoints_load_without_one(tmp_path):
    base = payload(3)
    changed = [{**base, "step": 4}, {**base, "rng": {"seed": [1, 3]}}, {**base, "model": {"w": torch.ones(3)}},
               {**base, "model": {"w": torch.full((3,), 3.0, dtype=torch.float64)}}, {**base, "extra": None}]
    assert len({payload_checksum(p) for p in [base, *changed]}) == 1 + len(changed)
    assert payload_checksum(base) == payload_checksum(payload(3))  # the same contents, the same sum
    torch.save(base, tmp_path / "old.pt")  # written before checkpoints carried a checksum
    assert load_checkpoint(tmp_path / "old.pt")["step"] == 3


def test_a_model_that_is_not_a_dict_is_refused(tmp_path):
    save_checkpoint(tmp_path / "step-00000001.pt", {"model": torch.zeros(3), "step": 1})
    with pytest.raises(CheckpointError, match="no model weights"):
        load_checkpoint(tmp_path / "step-00000001.pt")


def test_pickled_objects_are_refused(tmp_path):
    from fractions import (
        Fraction,  # any object outside torch's allow-list stands for a payload
    )
    path = tmp_path / "step-00000001.pt"
    torch.save({"model": {}, "x": Fraction(1, 3)}, path)
    with pytest.raises(CheckpointError, match="unreadable"):
        load_checkpoint(path)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "none.pt")
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a selfplay checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


# ---- what rebuilds the network: the game and network sections, and the older run config ----------
def small_network():
    from selfplay.network import NetworkConfig
    return NetworkConfig(channels=4, blocks=1, value_hidden=4)


def test_a_checkpoint_rebuilds_its_game_and_network(tmp_path):
    from games import make_game
    from selfplay.network import PolicyValueNet
    from selfplay.players.net import load_network
    from selfplay.run.checkpoint import network_sections
    game = make_game("go", size=5, komi=0.5)
    model = PolicyValueNet(game.obs_shape, game.num_actions, small_network())
    path = checkpoint_path(tmp_path, 3)
    save_checkpoint(path, {"model": model.state_dict(), "step": 3, **network_sections(game, small_network())})
    loaded_game, loaded, payload = load_network(path)
    assert (loaded_game.name, loaded_game.size, loaded_game.komi) == ("go", 5, 0.5)
    assert loaded.config == small_network() and payload["step"] == 3
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), loaded.state_dict().values()))


@pytest.mark.parametrize("game_section, size", [
    ({"name": "go", "size": 5, "komi": 0.5, "max_moves": 0}, 5),   # max_moves 0: the rules' default
    ({"name": "connect4", "size": 9, "komi": 7.0, "max_moves": 0}, None),  # Go's fields, unused
    ({"name": "tictactoe", "size": 9, "komi": 7.0, "max_moves": 0}, None),
])
def test_a_checkpoint_of_the_older_format_still_loads(tmp_path, game_section, size):
    """Before the sections, a checkpoint held the whole run config under "config"."""
    from dataclasses import asdict

    from games import make_game
    from selfplay.network import PolicyValueNet
    from selfplay.players.net import load_network
    params = {k: v for k, v in game_section.items() if k != "name" and size is not None and v}
    game = make_game(game_section["name"], **params)
    model = PolicyValueNet(game.obs_shape, game.num_actions, small_network())
    old_config = {"seed": 0, "total_steps": 10, "game": game_section, "network": asdict(small_network()),
                  "optim": {"learning_rate": 0.002}}
    path = checkpoint_path(tmp_path / "run" / "checkpoints", 10)
    save_checkpoint(path, {"model": model.state_dict(), "step": 10, "config": old_config})
    loaded_game, loaded, _ = load_network(tmp_path / "run")  # a run directory: its newest checkpoint
    assert loaded_game.name == game_section["name"] and loaded_game.obs_shape == game.obs_shape
    assert loaded.config == small_network()


def test_an_older_checkpoint_of_an_unknown_game_names_the_game(tmp_path):
    from dataclasses import asdict

    from selfplay.players.net import load_network
    path = checkpoint_path(tmp_path, 1)
    old_config = {"game": {"name": "chess", "size": 8}, "network": asdict(small_network())}
    save_checkpoint(path, {"model": {}, "step": 1, "config": old_config})
    with pytest.raises(CheckpointError, match="cannot rebuild its game or network: unknown game 'chess'"):
        load_network(path)


def test_a_checkpoint_without_sections_names_the_way_out(tmp_path):
    from selfplay.players.net import load_network
    path = checkpoint_path(tmp_path, 1)
    save_checkpoint(path, {"model": {}, "step": 1, "config": {"task": {"min_digits": 2}}})  # the token mode's
    with pytest.raises(CheckpointError, match="cannot rebuild its network.*Retrain it"):
        load_network(path)


def test_a_checkpoint_asking_for_an_absurd_network_is_refused_before_it_is_built(tmp_path):
    payload = {"model": {}, "game": {"name": "connect4"}, "network": {"channels": 60_000, "blocks": 4,
                                                                       "value_hidden": 64}}
    with pytest.raises(CheckpointError, match="channels 60000 and blocks 4 make a trunk of 259,200,000,000 weights"):
        read_sections(payload, "step-1.pt")
