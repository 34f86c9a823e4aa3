"""Self-play worker processes: each plays with the newest checkpoint it finds in the run
directory and writes its finished games there as replay chunks, until the run's STOP file
appears or the learner that started it is gone. After every chunk it records where its time
went in stages/worker-N.json (selfplay.training.stages)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

import torch

from selfplay.errors import UserError
from selfplay.network import PolicyValueNet, resolve_device
from selfplay.run.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from selfplay.run.directory import RunDir, load_run_config
from selfplay.training.chunk_player import ChunkPlayer
from selfplay.training.config import RunConfig
from selfplay.training.replay import ChunkWriter
from selfplay.training.stages import (
    CHECKPOINT_IO,
    FORWARD,
    REPLAY_IO,
    SEARCH,
    STARTUP,
    WAITING,
    StageClock,
    remove_stage_files,
    write_stage_file,
)

WORKER_PROCESS = "worker-"  # stages/worker-N.json


def start_workers(run_root: str | Path, count: int) -> list:
    RunDir(run_root).stop.unlink(missing_ok=True)
    remove_stage_files(run_root, WORKER_PROCESS)  # a previous session's, perhaps of more workers
    context = mp.get_context("spawn")  # no forked torch/OpenMP state
    workers = []
    for worker_id in range(1, count + 1):
        p = context.Process(target=worker_main, args=(str(run_root), worker_id, os.getpid(), time.time()),
                            name=f"selfplay-worker-{worker_id}", daemon=True)
        p.start()
        workers.append(p)
    return workers


def stop_workers(run_root: str | Path, workers: list, timeout: float = 30.0) -> None:
    stop = RunDir(run_root).stop
    stop.touch()
    deadline = time.monotonic() + timeout
    for p in workers:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.terminate()
            p.join(5)
    stop.unlink(missing_ok=True)


def check_workers(workers: list) -> None:
    for p in workers:
        if p.exitcode not in (None, 0):
            raise UserError(f"self-play worker {p.name} died with exit code {p.exitcode}; see log.txt")


def worker_main(run_root: str, worker_id: int, learner_pid: int, spawned_at: float | None = None) -> None:
    clock = StageClock()
    if spawned_at is not None:  # the interpreter's start and imports (time.time(): comparable across processes)
        clock.backdate(STARTUP, time.time() - spawned_at)
    with clock.stage(STARTUP):
        run = RunDir(run_root)
        config = load_run_config(RunConfig, run_root)
        torch.set_num_threads(1)
        game = config.game.make()
        device = resolve_device(config.device)
        model = PolicyValueNet(game.obs_shape, game.num_actions, config.network).to(device)
        writer = ChunkWriter(run.replay, worker_id)
        player = ChunkPlayer(game, model, device, config.selfplay,
                             seed=config.seed * 1000 + worker_id + writer.sequence)
    process = f"{WORKER_PROCESS}{worker_id}"
    while not run.stop.exists() and _alive(learner_pid):
        with clock.stage(CHECKPOINT_IO):
            checkpoints = list_checkpoints(run.checkpoints)
            if checkpoints and checkpoints[-1][0] > (-1 if player.version is None else player.version):
                step, path = checkpoints[-1]
                try:
                    player.load(step, lambda: load_checkpoint(path, device)["model"])
                except CheckpointError:
                    pass  # a newer one will come; keep playing with the weights we have
        if player.version is None:
            with clock.stage(WAITING):
                time.sleep(0.5)
            continue
        with clock.stage(SEARCH):
            chunk, _, forward_seconds = player.play(player.version)
        clock.move(SEARCH, FORWARD, forward_seconds)
        with clock.stage(REPLAY_IO):
            writer.write(chunk)
            write_stage_file(run_root, process, clock, player.counts())
    write_stage_file(run_root, process, clock, player.counts())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
