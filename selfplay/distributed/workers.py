"""Self-play worker processes: each plays with the newest checkpoint it finds in the run
directory and writes its finished games there as replay chunks, until the run's STOP file
appears or the learner that started it is gone."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import torch

from selfplay.run.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from selfplay.training.replay import list_chunks, write_chunk


def start_workers(run_root: str | Path, count: int) -> list:
    stop = Path(run_root) / "STOP"
    stop.unlink(missing_ok=True)
    context = mp.get_context("spawn")  # no forked torch/OpenMP state
    workers = []
    for worker_id in range(1, count + 1):
        p = context.Process(target=worker_main, args=(str(run_root), worker_id, os.getpid()),
                            name=f"selfplay-worker-{worker_id}", daemon=True)
        p.start()
        workers.append(p)
    return workers


def stop_workers(run_root: str | Path, workers: list, timeout: float = 30.0) -> None:
    stop = Path(run_root) / "STOP"
    stop.touch()
    deadline = time.monotonic() + timeout
    for p in workers:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.terminate()
            p.join(5)
    stop.unlink(missing_ok=True)


def worker_main(run_root: str, worker_id: int, learner_pid: int) -> None:
    from selfplay.network import NetworkEvaluator, PolicyValueNet, resolve_device
    from selfplay.training.selfplay import SelfPlay
    from selfplay.training.trainer import RunDir, load_run_config

    run = RunDir(run_root)
    config = load_run_config(run_root)
    torch.set_num_threads(1)
    game = config.game.make()
    device = resolve_device(config.device)
    model = PolicyValueNet(game.obs_shape, game.num_actions, config.network).to(device)
    version = -1
    sequence = 1 + max([int(p.name.split("-")[2].split(".")[0]) for p in list_chunks(run.replay)
                        if int(p.name.split("-")[1]) == worker_id], default=-1)
    selfplay = SelfPlay(game, NetworkEvaluator(model, device), config.selfplay, seed=config.seed * 1000 + worker_id
                        + sequence)
    while not run.stop.exists() and _alive(learner_pid):
        checkpoints = list_checkpoints(run.checkpoints)
        if checkpoints and checkpoints[-1][0] > version:
            try:
                payload = load_checkpoint(checkpoints[-1][1], device)
                model.load_state_dict(payload["model"])
                version = int(payload["step"])
            except CheckpointError:
                pass  # a newer one will come; keep playing with the weights we have
        if version < 0:
            time.sleep(0.5)
            continue
        model.eval()
        chunk, _ = selfplay.play(config.selfplay.parallel_games)
        chunk.model_step = version
        write_chunk(run.replay, worker_id, sequence, chunk)
        sequence += 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
