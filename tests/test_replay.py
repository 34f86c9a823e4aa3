"""Replay buffer: chunks round-trip through disk, the window is bounded, symmetry on sampling."""

import numpy as np
import pytest

from games import make_game
from selfplay.run.directory import list_chunks
from selfplay.training.replay import (
    GameChunk,
    ReplayBuffer,
    ReplayConfig,
    write_chunk,
)

GAME = make_game("connect4")


def chunk(n, start=0, games=1):
    planes = np.zeros((n, *GAME.obs_shape), dtype=np.uint8)
    planes[:, 0, 5, 0] = 1  # a stone in the bottom-left corner, to see the mirror
    policy = np.zeros((n, GAME.num_actions), dtype=np.float32)
    policy[:, 0] = 1.0
    value = (np.arange(start, start + n) % 3 - 1).astype(np.float32)
    return GameChunk(planes, policy, value, games=games, model_step=7)


def test_chunks_round_trip_and_window(tmp_path):
    buf = ReplayBuffer(GAME, ReplayConfig(capacity=10, min_positions=5), tmp_path)
    write_chunk(tmp_path, 0, 0, chunk(4, 0))
    write_chunk(tmp_path, 0, 1, chunk(8, 4, games=2))
    assert buf.ingest_new() == 12 and buf.ingest_new() == 0
    assert buf.size == 10 and buf.games == 3 and buf.positions_total == 12 and buf.ready()
    # the window holds the newest 10 values: positions 2..11
    assert sorted(buf.value.tolist()) == sorted(((np.arange(2, 12) % 3) - 1).tolist())
    buf.prune_disk()
    assert len(list_chunks(tmp_path)) == 2  # the newest chunk alone does not fill the window
    # a fresh buffer (a resumed run) reads the same window back from disk
    again = ReplayBuffer(GAME, ReplayConfig(capacity=10, min_positions=5), tmp_path)
    again.ingest_new()
    assert again.size == 10 and sorted(again.value.tolist()) == sorted(buf.value.tolist())
    # a chunk that fills the window on its own makes the older files useless
    write_chunk(tmp_path, 1, 0, chunk(10, 12))
    again.ingest_new()
    again.prune_disk()
    assert [p.name for p in list_chunks(tmp_path)] == ["chunk-001-00000000.npz"]


def test_sampling_applies_the_mirror_to_planes_and_policy(tmp_path):
    buf = ReplayBuffer(GAME, ReplayConfig(capacity=100, min_positions=1), tmp_path)
    buf.add(chunk(50))
    planes, policy, value = buf.sample(400, np.random.default_rng(0))
    assert planes.dtype == np.float32 and policy.shape == (400, 7)
    mirrored = policy[:, 6] == 1.0
    assert 100 < mirrored.sum() < 300  # about half the samples are mirrored
    assert (planes[mirrored, 0, 5, 6] == 1).all() and (planes[~mirrored, 0, 5, 0] == 1).all()
    assert np.allclose(policy.sum(axis=1), 1.0)


def test_unreadable_chunk_is_reported_and_skipped(tmp_path):
    write_chunk(tmp_path, 0, 0, chunk(3))
    (tmp_path / "chunk-000-00000001.npz").write_bytes(b"not a zip")
    buf = ReplayBuffer(GAME, ReplayConfig(capacity=10, min_positions=1), tmp_path)
    bad = []
    assert buf.ingest_new(on_bad=lambda p, e: bad.append(p.name)) == 3
    assert bad == ["chunk-000-00000001.npz"]


@pytest.mark.parametrize("damage", ["empty", "truncated", "flipped byte", "not a zip"])
def test_a_damaged_chunk_is_reported_and_skipped_however_it_was_damaged(tmp_path, damage):
    write_chunk(tmp_path, 0, 0, chunk(3))
    path = write_chunk(tmp_path, 0, 1, chunk(4))
    data = bytearray(path.read_bytes())
    if damage == "empty":
        data = bytearray()
    elif damage == "truncated":
        data = data[:len(data) // 2]
    elif damage == "flipped byte":
        data[len(data) // 3] ^= 0xFF  # inside an array: the zip's CRC check catches it
    else:
        data = bytearray(b"not a zip")
    path.write_bytes(bytes(data))
    buf = ReplayBuffer(GAME, ReplayConfig(capacity=10, min_positions=1), tmp_path)
    bad = []
    assert buf.ingest_new(on_bad=lambda p, e: bad.append(p.name)) == 3
    assert bad == [path.name]
    buf.prune_disk()  # counting positions on disk skips it too


def test_empty_buffer_cannot_be_sampled(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(GAME, ReplayConfig(capacity=10, min_positions=1), tmp_path).sample(1, np.random.default_rng())
