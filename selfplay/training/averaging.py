"""Weight averaging of a run's checkpoints (SWA, Izmailov et al. 2018; KataGo plays with an
average of its recent snapshots rather than the newest one).

Snapshots taken while a constant learning rate keeps the weights moving circle a flat region of
the loss; their mean lies nearer its middle than any one of them, which is what annealing the
rate buys, without stopping the run. The batch-norm running statistics of the mean are not the
mean of the statistics (every layer's input changed), so they are measured again on replay
positions, in training mode with a cumulative average (SWA's ``update_bn``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from selfplay.errors import UserError
from selfplay.network import PolicyValueNet
from selfplay.run.checkpoint import CheckpointError, load_checkpoint, network_sections, read_sections
from selfplay.run.directory import list_chunks
from selfplay.training.replay import read_chunk


def average_state_dicts(states: list[dict]) -> dict:
    """The element-wise mean of floating-point tensors (accumulated in float64); other entries
    (batch norm's ``num_batches_tracked``) are the last state's."""
    if not states:
        raise UserError("no weights to average")
    first = states[0]
    for i, state in enumerate(states[1:], 1):
        if state.keys() != first.keys():
            raise CheckpointError(f"weights {i} name other tensors than weights 0: "
                                  f"{sorted(state.keys() ^ first.keys())[:3]}")
        for key, tensor in state.items():
            if tensor.shape != first[key].shape:
                raise CheckpointError(f"weights {i}: {key} has shape {tuple(tensor.shape)}, "
                                      f"weights 0 has {tuple(first[key].shape)}")
    averaged = {}
    for key, tensor in states[-1].items():
        if tensor.is_floating_point():
            total = sum(state[key].double() for state in states)
            averaged[key] = (total / len(states)).to(tensor.dtype)
        else:
            averaged[key] = tensor.clone()
    return averaged


def recalibrate_batchnorm(model: nn.Module, planes: np.ndarray, batch_size: int = 256) -> int:
    """Measure every batch norm's running mean and variance again on ``planes`` [n, C, H, W],
    as the cumulative average over batches; returns how many layers were measured."""
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not layers or len(planes) == 0:
        return 0
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # cumulative: every batch counts the same
    was_training = model.training
    model.train()
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(planes), batch_size):
            model(torch.from_numpy(planes[start:start + batch_size]).to(device, torch.float32))
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    model.train(was_training)
    return len(layers)


def newest_planes(replay_dir: str | Path, positions: int, on_bad=print) -> np.ndarray:
    """The planes of the newest ``positions`` positions in a run's replay chunks; unreadable
    chunks are skipped and reported through ``on_bad``."""
    chunks = list_chunks(replay_dir)[::-1]  # newest first
    if not chunks:
        raise UserError(f"{replay_dir} holds no replay chunks (chunk-W-S.npz) to measure batch norm on")
    kept, count = [], 0
    for path in chunks:
        try:
            planes = read_chunk(path).planes
        except UserError as e:
            on_bad(f"skipped: {e}")
            continue
        kept.append(planes[-(positions - count):])
        count += len(kept[-1])
        if count >= positions:
            break
    if not kept:
        raise UserError(f"no replay chunk in {replay_dir} could be read")
    return np.concatenate(kept[::-1])


def average_checkpoints(paths: list[str | Path], replay_dir: str | Path | None = None,
                        positions: int = 20_000, on_bad=print) -> dict:
    """A checkpoint payload holding the mean of the checkpoints' weights (their batch norm
    re-measured on the newest ``positions`` replay positions when ``replay_dir`` is given), the
    game and network of the first, the step and clock of the newest, and the averaged steps."""
    if len(paths) < 2:
        raise UserError(f"averaging needs two checkpoints or more, got {len(paths)}")
    payloads = [load_checkpoint(path) for path in paths]
    game, network = read_sections(payloads[0], paths[0])
    for path, payload in zip(paths[1:], payloads[1:]):
        if network_sections(*read_sections(payload, path)) != network_sections(game, network):
            raise CheckpointError(f"checkpoint {path} is of another game or network than {paths[0]}: "
                                  "only snapshots of one network can be averaged")
    state = average_state_dicts([payload["model"] for payload in payloads])
    if replay_dir is not None:
        model = PolicyValueNet(game.obs_shape, game.num_actions, network)
        model.load_state_dict(state)
        recalibrate_batchnorm(model, newest_planes(replay_dir, positions, on_bad))
        state = model.state_dict()
    newest = max(payloads, key=lambda payload: int(payload.get("step", 0)))
    kept = {key: newest[key] for key in ("step", "elapsed_seconds", "initial") if key in newest}
    return {"model": state, **network_sections(game, network), **kept,
            "averaged": [int(payload.get("step", -1)) for payload in payloads],
            "batchnorm": "re-measured" if replay_dir is not None else "averaged"}
