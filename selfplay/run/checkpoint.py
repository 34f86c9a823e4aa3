"""Checkpoints: written atomically, read back with ``torch.load(weights_only=True)`` only.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (no pickled objects,
no numpy arrays), so loading one that a user hands us cannot run code.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import torch

from selfplay.atomic import atomic_write_bytes
from selfplay.errors import UserError

CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.pt$")


class CheckpointError(UserError):
    """A checkpoint is missing, truncated, corrupt or not one of ours."""


def save_checkpoint(path: str | Path, payload: dict) -> None:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many kinds for truncated or foreign files
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is unreadable (truncated, corrupt or not a "
                              f"checkpoint): {reason}") from None
    if not isinstance(payload, dict) or "model" not in payload:
        raise CheckpointError(f"checkpoint {path} has no model weights: not a selfplay checkpoint")
    return payload


def checkpoint_path(directory: str | Path, step: int) -> Path:
    return Path(directory) / f"step-{step:08d}.pt"


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """(step, path) of every checkpoint in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := CHECKPOINT_NAME.match(p.name))]
    return sorted(found)


def load_latest_good(directory: str | Path, map_location="cpu", on_bad=None) -> tuple[Path, dict] | None:
    """The newest checkpoint that loads; broken newer ones are reported through ``on_bad(path,
    error)`` and skipped, so a run killed while something corrupted its last file falls back."""
    for _, path in reversed(list_checkpoints(directory)):
        try:
            return path, load_checkpoint(path, map_location)
        except CheckpointError as e:
            if on_bad is not None:
                on_bad(path, e)
    return None
