"""Checkpoints: atomic, loaded with weights_only, broken ones reported and skipped."""

import pytest
import torch

from selfplay.run.checkpoint import (
    CheckpointError,
    checkpoint_path,
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
