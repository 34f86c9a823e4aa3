"""Checkpoints: written atomically, read back with ``torch.load(weights_only=True)`` only.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts (no pickled objects,
no numpy arrays), so loading one that a user hands us cannot run code. What rebuilds its
network is in two sections, ``game`` (the game's name and ``Game.params()``) and ``network``
(the NetworkConfig), so a reader needs only the rules and the network module; checkpoints
written before those sections existed hold the whole run config under ``config`` instead.
Each checkpoint holds the SHA-256 of the rest of its contents (``checksum``), checked on every
read, so damage inside a tensor, which loads without complaint, is caught and the run falls back
a checkpoint.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from games import Game, GameError, make_game
from games.registry import game_entry
from selfplay.atomic import atomic_write_bytes
from selfplay.configio import ConfigError, from_dict
from selfplay.errors import UserError
from selfplay.network import NetworkConfig

CHECKPOINT_NAME = re.compile(r"^step-(\d+)\.pt$")


class CheckpointError(UserError):
    """A checkpoint is missing, truncated, corrupt or not one of ours."""


CHECKSUM = "checksum"


def _digest(value, h) -> None:
    """Feed ``value`` (dicts by sorted key, lists in order, tensors by dtype, shape and bytes,
    other leaves by type and repr) into the hash ``h``."""
    if isinstance(value, dict):
        h.update(b"{")
        for key in sorted(value, key=repr):
            h.update(repr(key).encode())
            _digest(value[key], h)
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _digest(item, h)
        h.update(b"]")
    elif isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    else:
        h.update(f"{type(value).__name__}:{value!r}".encode())


def payload_checksum(payload: dict) -> str:
    """The SHA-256 of everything in a checkpoint but its own checksum."""
    h = hashlib.sha256()
    _digest({k: v for k, v in payload.items() if k != CHECKSUM}, h)
    return h.hexdigest()


def save_checkpoint(path: str | Path, payload: dict) -> None:
    """The payload with its checksum (``payload_checksum``), written atomically."""
    buffer = io.BytesIO()
    torch.save({**payload, CHECKSUM: payload_checksum(payload)}, buffer)
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
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), dict):
        raise CheckpointError(f"checkpoint {path} has no model weights: not a selfplay checkpoint")
    recorded = payload.pop(CHECKSUM, None)  # checkpoints written before checksums have none
    if recorded is not None and recorded != payload_checksum(payload):
        raise CheckpointError(f"checkpoint {path} does not match its checksum: its contents were changed after "
                              f"it was written")
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


def prune_checkpoints(directory: str | Path, keep_newest: int, keep: Callable[[int], bool] = lambda step: False) -> None:
    """Delete all but the newest ``keep_newest`` checkpoints, except those whose step ``keep`` names."""
    for step, old in list_checkpoints(directory)[:-keep_newest]:
        if not keep(step):
            old.unlink(missing_ok=True)


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


# ---- what rebuilds the network -------------------------------------------------------------------
def network_sections(game: Game, network: NetworkConfig) -> dict:
    """The ``game`` and ``network`` sections of a checkpoint."""
    return {"game": {"name": game.name, **game.params()}, "network": asdict(network)}


def read_sections(payload: dict, where) -> tuple[Game, NetworkConfig]:
    """The game and network config a checkpoint was trained with (``network_sections``, or the
    run config of a checkpoint written before them)."""
    if "game" in payload and "network" in payload:
        game_section, network_section = dict(payload["game"]), payload["network"]
        name = game_section.pop("name", None)
    elif isinstance(payload.get("config"), dict) and {"game", "network"} <= payload["config"].keys():
        game_section, network_section = _older_game(payload["config"]["game"]), payload["config"]["network"]
        name = game_section.pop("name", None)
    else:
        raise CheckpointError(f"checkpoint {where} has neither game and network sections nor a run config: "
                              "cannot rebuild its network (a checkpoint of another program, or of the token "
                              "mode? Retrain it, or load it with the tool that wrote it)")
    try:
        game = make_game(str(name), **game_section)
        network = from_dict(NetworkConfig, network_section, f"network of {where}")
    except (GameError, ConfigError, TypeError) as e:
        raise CheckpointError(f"checkpoint {where}: cannot rebuild its game or network: {e}") from None
    return game, network


def _older_game(section: dict) -> dict:
    """The game of a run config's ``game`` section, as written before checkpoints had sections:
    every game's section held every game's fields (size, komi, max_moves), of which the game
    takes only its registry entry's ``params``; a max_moves of 0 meant the rules' default."""
    name = section.get("name")
    try:
        params = game_entry(name).params
    except GameError:
        return {"name": name}  # make_game names the unknown game
    game = {"name": name, **{param: section.get(param) for param in params}}
    if game.get("max_moves") == 0:
        game["max_moves"] = None
    return game
