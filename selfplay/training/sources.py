"""Where the learner's positions come from: one protocol, four sources.

Self-play, wherever it runs, reaches the learner as chunk files in the run's replay/ folder
(selfplay.run.directory), which the replay buffer ingests; the learner trains while
``samples trained <= replay_ratio * positions generated``, so it never runs far ahead of fresh
data, and otherwise asks its source for more:

    InProcessSelfPlay   plays a chunk in the learner's process, between training steps (writer 0)
    WorkerProcesses     N local processes play with the newest checkpoint they find (writers 1..N)
    RayActors           N Ray actors anywhere in a cluster; the driver writes their chunks (writers 1..N)
    ExpertDataset       a fixed dataset of expert positions (SFT): always ready, nothing to play

The trainer calls ``restore`` once (with the checkpoint it resumed from, or None), ``start``,
then around every step ``collect`` and ``may_train``, ``produce`` when it may not, ``publish``
after every checkpoint, and ``stop`` at the end; ``state_dict`` goes into each checkpoint.
"""

from __future__ import annotations

import time
from typing import Callable, Protocol

import numpy as np
import torch

from games import Game
from selfplay.distributed.ray_selfplay import RaySelfPlayPool
from selfplay.distributed.workers import check_workers, start_workers, stop_workers
from selfplay.network import PolicyValueNet
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import LEARNER_WRITER, RunDir
from selfplay.run.log import RunLog
from selfplay.training.chunk_player import ChunkPlayer
from selfplay.training.config import RunConfig
from selfplay.training.replay import ChunkWriter, GameChunk, ReplayBuffer, ReplayConfig
from selfplay.training.selfplay import SelfPlayStats
from selfplay.training.stages import FORWARD, REPLAY_IO, SEARCH, WAITING, StageClock


class DataSource(Protocol):
    buffer: ReplayBuffer

    def restore(self, payload: dict | None) -> None: ...
    def state_dict(self) -> dict: ...
    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None: ...
    def collect(self, step: int) -> None: ...
    def may_train(self, samples_trained: int) -> bool: ...
    def produce(self, step: int) -> None: ...
    def publish(self, step: int, model: PolicyValueNet) -> None: ...
    def stop(self) -> None: ...


class SelfPlaySource:
    """What every self-play source shares: the buffer over replay/ and the replay ratio; ``clock``
    is the learner's (what ``produce`` does in its process is timed there)."""

    def __init__(self, config: RunConfig, run: RunDir, buffer: ReplayBuffer, runlog: RunLog,
                 clock: StageClock | None = None):
        self.config = config
        self.run = run
        self.buffer = buffer
        self.runlog = runlog
        self.clock = clock or StageClock()

    def restore(self, payload: dict | None) -> None:
        """The buffer's counters from the checkpoint, then the window read back from disk (chunks
        written after that checkpoint, by a run killed later, included)."""
        expected = 0
        if payload is not None:
            self.buffer.load_state_dict(payload["replay"])
            expected = min(self.buffer.config.capacity, self.buffer.positions_total)
        if self._ingest():
            self.runlog.log(f"replay: {self.buffer.size} positions in the window ({self.buffer.games} games so far)")
        if self.buffer.size < expected:  # a run carried to another machine without its replay/
            self.runlog.log(f"replay: only {self.buffer.size} of the {expected} positions of the checkpoint's window "
                            f"are in {self.run.replay} (moved, deleted or damaged); the window refills from new "
                            f"self-play, and the learner trains only as fast as that comes in (replay_ratio)")

    def state_dict(self) -> dict:
        return {"replay": self.buffer.state_dict(), "chunk_sequence": 0}

    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None:
        pass

    def collect(self, step: int) -> None:
        self._ingest()

    def may_train(self, samples_trained: int) -> bool:
        ratio = self.config.optim.replay_ratio
        return self.buffer.ready() and samples_trained < ratio * self.buffer.positions_total

    def produce(self, step: int) -> None:
        raise NotImplementedError

    def publish(self, step: int, model: PolicyValueNet) -> None:
        pass

    def stop(self) -> None:
        pass

    def counts(self) -> dict[str, int]:
        """What self-play in this process has produced (the learner's stage record holds it)."""
        return {}

    def _ingest(self) -> int:
        return self.buffer.ingest_new(on_bad=lambda path, e: self.runlog.log(f"skipping: {e}"))


class InProcessSelfPlay(SelfPlaySource):
    """Self-play in the learner's process with the model being trained (``selfplay.workers = 0``)."""

    def __init__(self, config: RunConfig, run: RunDir, buffer: ReplayBuffer, runlog: RunLog, game: Game,
                 model: PolicyValueNet, device: torch.device, rng: np.random.Generator,
                 clock: StageClock | None = None):
        super().__init__(config, run, buffer, runlog, clock)
        self.game, self.model, self.device, self.rng = game, model, device, rng
        self.player: ChunkPlayer | None = None
        self.writer = ChunkWriter(run.replay, LEARNER_WRITER)
        self.totals = SelfPlayStats()

    def restore(self, payload: dict | None) -> None:
        super().restore(payload)
        self.writer = ChunkWriter(self.run.replay, LEARNER_WRITER, self.buffer.seen_chunks())
        if payload is not None:
            self.writer.sequence = max(self.writer.sequence, int(payload["chunk_sequence"]))

    def state_dict(self) -> dict:
        return {"replay": self.buffer.state_dict(), "chunk_sequence": self.writer.sequence}

    def counts(self) -> dict[str, int]:
        return {} if self.player is None else self.player.counts()

    def produce(self, step: int) -> None:
        with self.clock.stage(SEARCH):
            if self.player is None:
                self.player = ChunkPlayer(self.game, self.model, self.device, self.config.selfplay,
                                          seed=int(self.rng.integers(2**31)))
            chunk, stats, forward_seconds = self.player.play(step)
        self.clock.move(SEARCH, FORWARD, forward_seconds)
        with self.clock.stage(REPLAY_IO):
            self.writer.write(chunk)
        self._log(step, stats, forward_seconds)

    def _log(self, step: int, stats: SelfPlayStats, forward_seconds: float) -> None:
        self.totals.merge(stats)
        scalar = self.runlog.scalar
        if stats.seconds > 0:
            scalar("selfplay/games_per_s", stats.games / stats.seconds, step)
            scalar("selfplay/positions_per_s", stats.positions / stats.seconds, step)
            scalar("selfplay/moves_per_s", stats.moves / stats.seconds, step)
            scalar("selfplay/simulations_per_s", stats.simulations / stats.seconds, step)
            scalar("selfplay/network_time_share", forward_seconds / stats.seconds, step)
        if stats.cache_lookups:
            scalar("selfplay/eval_cache_hit_rate", stats.cache_hits / stats.cache_lookups, step)
        scalar("selfplay/first_player_win_rate", stats.outcomes[0] / max(stats.games, 1), step)
        scalar("selfplay/draw_rate", stats.outcomes[1] / max(stats.games, 1), step)
        scalar("selfplay/game_length", stats.moves / max(stats.games, 1), step)
        scalar("selfplay/resign_rate", stats.resigned / max(stats.games, 1), step)
        if stats.opponent_games:
            scalar("selfplay/score_against_opponent", stats.opponent_points / stats.opponent_games, step)
        if self.totals.resign_checks:
            scalar("selfplay/false_resign_rate", self.totals.false_resigns / self.totals.resign_checks, step)
        scalar("replay/positions", self.buffer.size, step)
        scalar("replay/games_total", self.buffer.games, step)
        self.runlog.log(f"self-play: {stats.games} games, {stats.positions} positions in {stats.seconds:.1f}s "
                        f"({stats.simulations / max(stats.seconds, 1e-9):,.0f} sims/s, network "
                        f"{forward_seconds / max(stats.seconds, 1e-9):.0%}); buffer {self.buffer.size}", quiet=True)


class _RemoteSelfPlay(SelfPlaySource):
    """Self-play elsewhere, reporting only through its chunks: rates from the buffer's growth."""

    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None:
        self.mark = (time.monotonic(), self.buffer.games, self.buffer.positions_total)

    def collect(self, step: int) -> None:
        if not self._ingest():
            return
        now = time.monotonic()
        since, games_then, positions_then = self.mark
        if now - since >= 60:
            games_per_s = (self.buffer.games - games_then) / (now - since)
            positions_per_s = (self.buffer.positions_total - positions_then) / (now - since)
            self.runlog.scalar("selfplay/games_per_s", games_per_s, step)
            self.runlog.scalar("selfplay/positions_per_s", positions_per_s, step)
            self.runlog.scalar("replay/positions", self.buffer.size, step)
            self.runlog.scalar("replay/games_total", self.buffer.games, step)
            self.runlog.log(f"self-play workers: {games_per_s:.2f} games/s, {positions_per_s:.1f} positions/s; "
                            f"{self.buffer.games} games, buffer {self.buffer.size}")
            self.mark = (now, self.buffer.games, self.buffer.positions_total)


class WorkerProcesses(_RemoteSelfPlay):
    """``selfplay.workers`` local processes (selfplay.distributed.workers); weights reach them
    by version through checkpoints/, so the run needs one before they start."""

    def __init__(self, config: RunConfig, run: RunDir, buffer: ReplayBuffer, runlog: RunLog,
                 clock: StageClock | None = None):
        super().__init__(config, run, buffer, runlog, clock)
        self.processes = []

    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None:
        super().start(step, model, save)
        if not list_checkpoints(self.run.checkpoints):
            save()
        self.processes = start_workers(self.run.root, self.config.selfplay.workers)

    def produce(self, step: int) -> None:
        with self.clock.stage(WAITING):
            check_workers(self.processes)
            time.sleep(0.2)

    def stop(self) -> None:
        if self.processes:
            stop_workers(self.run.root, self.processes)
            self.processes = []


class RayActors(_RemoteSelfPlay):
    """``selfplay.workers`` Ray actors (``backend: ray``, selfplay.distributed.ray_selfplay);
    weights reach them through Ray's object store at every checkpoint."""

    pool: RaySelfPlayPool | None = None

    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None:
        super().start(step, model, save)
        self.pool = RaySelfPlayPool(self.config, self.run.replay, self.buffer.seen_chunks(), log=self.runlog.log)
        self.pool.start(step, model)

    def collect(self, step: int) -> None:
        self.pool.collect()
        super().collect(step)

    def produce(self, step: int) -> None:
        with self.clock.stage(WAITING):
            self.pool.collect(wait_seconds=0.2)  # ingested on the next collect

    def publish(self, step: int, model: PolicyValueNet) -> None:
        if self.pool is not None:
            self.pool.publish(step, model)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool = None


def selfplay_source(config: RunConfig, run: RunDir, game: Game, model: PolicyValueNet, device: torch.device,
                    rng: np.random.Generator, runlog: RunLog, clock: StageClock | None = None) -> SelfPlaySource:
    """The self-play source the config asks for."""
    buffer = ReplayBuffer(game, config.replay, run.replay, auxiliary=config.network.ownership_head)
    if config.backend == "ray":
        return RayActors(config, run, buffer, runlog, clock)
    if config.selfplay.workers > 0:
        return WorkerProcesses(config, run, buffer, runlog, clock)
    return InProcessSelfPlay(config, run, buffer, runlog, game, model, device, rng, clock)


class ExpertDataset:
    """A fixed dataset (imitation learning): the whole of it is the window, always ready."""

    def __init__(self, game: Game, data: GameChunk, augment: bool, run: RunDir, auxiliary: bool = False):
        self.buffer = ReplayBuffer(game, ReplayConfig(capacity=max(len(data), 1), min_positions=1, augment=augment),
                                   run.replay, auxiliary=auxiliary)
        self.buffer.add(data)

    def restore(self, payload: dict | None) -> None:
        pass  # the counters are the dataset's, not a checkpoint's

    def state_dict(self) -> dict:
        return {"replay": self.buffer.state_dict(), "chunk_sequence": 0}

    def start(self, step: int, model: PolicyValueNet, save: Callable[[], None]) -> None:
        pass

    def collect(self, step: int) -> None:
        pass

    def may_train(self, samples_trained: int) -> bool:
        return True

    def produce(self, step: int) -> None:
        pass

    def publish(self, step: int, model: PolicyValueNet) -> None:
        pass

    def stop(self) -> None:
        pass
