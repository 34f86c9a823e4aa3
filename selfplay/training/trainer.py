"""The AlphaZero loop: self-play -> replay -> train -> checkpoint -> evaluate, resumable.

Everything a run needs lives in its directory (see docs/architecture.md):

    config.yaml  checkpoints/step-N.pt  replay/chunk-W-S.npz  tb/  eval.csv  log.txt

Self-play writes finished games as replay chunks (atomically); the learner ingests them and
trains while ``samples trained <= replay_ratio * positions generated``, so it never runs far
ahead of fresh data. With ``selfplay.workers = 0`` self-play runs in this process between
training steps; with N > 0, N worker processes play with the newest checkpoint they find
(weights reach them by version through checkpoints/) while this process only trains. With
``backend: ray`` the N workers are Ray actors anywhere in a cluster (selfplay/ray_backend.py);
this process writes their chunks and hands them each checkpoint's weights.

A resumed run loads the newest checkpoint that reads (model, optimizer, step, RNG states, the
buffer's counters) and re-ingests the chunks on disk, those written after that checkpoint
included, so a SIGKILL loses at most the games in progress and the steps since the checkpoint,
which are trained again.
"""

from __future__ import annotations

import csv
import io
import random
import signal
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError, dump_config, load_config
from selfplay.errors import UserError
from selfplay.network import NetworkEvaluator, PolicyValueNet, resolve_device
from selfplay.run.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_latest_good,
    save_checkpoint,
)
from selfplay.training.config import RunConfig
from selfplay.training.learner import apply_optim_config, make_optimizer, train_step
from selfplay.training.replay import ReplayBuffer, list_chunks, write_chunk
from selfplay.training.selfplay import SelfPlay, SelfPlayStats

LEARNER_WORKER_ID = 0  # chunks written by in-process self-play; worker processes use 1..N


class RunDir:
    """Paths of a run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.checkpoints = self.root / "checkpoints"
        self.replay = self.root / "replay"
        self.tb = self.root / "tb"
        self.eval_csv = self.root / "eval.csv"
        self.log = self.root / "log.txt"
        self.stop = self.root / "STOP"

    def make(self) -> None:
        for d in (self.checkpoints, self.replay, self.tb):
            d.mkdir(parents=True, exist_ok=True)


def prepare_run(run_dir: str | Path, config_path: str | None, overrides: list[str], resume: bool) -> RunConfig:
    """The run's config: a new run writes it into the directory; a resumed run reads it back
    (overrides still apply, for example a larger total_steps)."""
    run = RunDir(run_dir)
    if resume:
        if not run.config.is_file():
            raise UserError(f"cannot resume {run.root}: it has no config.yaml (not a run directory?)")
        config = load_config(RunConfig, run.config, overrides)
    else:
        if run.config.exists() and list_checkpoints(run.checkpoints):
            raise UserError(f"{run.root} already holds a run; use --resume to continue it, or another --name")
        config = load_config(RunConfig, config_path, overrides)
    run.make()
    dump_config(config, run.config)
    return config


class Trainer:
    def __init__(self, config: RunConfig, run_dir: str | Path, log=print, show_progress: bool = False):
        """``log`` receives one line per event; ``show_progress`` draws a progress bar with the
        same key figures (for a terminal; the lines then go to log.txt only)."""
        self.config = config
        self.show_progress = show_progress
        self.progress = None
        self.run = RunDir(run_dir)
        self.log_fn = log
        self.game = config.game.make()
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.device = resolve_device(config.device)
        self.model = PolicyValueNet(self.game.obs_shape, self.game.num_actions, config.network).to(self.device)
        self.optimizer = make_optimizer(self.model, config.optim)
        self.step = 0
        self.samples_trained = 0
        self.rng = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)
        self.buffer = ReplayBuffer(self.game, config.replay, self.run.replay)
        self.chunk_sequence = 0
        self.initial: dict = {}  # the training behind init_from's network (for curves over total training)
        self.selfplay: SelfPlay | None = None
        self.selfplay_stats = SelfPlayStats()
        self.pool = None  # the Ray actors' pool with backend: ray
        self.started = time.monotonic()
        self.last_log = 0.0
        self._progress_mark = (self.started, 0, 0)
        self.metrics: dict[str, float] = {}
        from torch.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(str(self.run.tb))

    # ---- state -----------------------------------------------------------------------------------
    def restore(self) -> None:
        found = load_latest_good(self.run.checkpoints, self.device,
                                 on_bad=lambda p, e: self.log(f"skipping a broken checkpoint: {e}"))
        if found is not None:
            path, payload = found
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.step = int(payload["step"])
            self.samples_trained = int(payload["samples_trained"])
            self.rng.bit_generator.state = payload["numpy_rng"]
            torch.set_rng_state(payload["torch_rng"])
            random.setstate(_tuple_state(payload["python_rng"]))
            self.buffer.load_state_dict(payload["replay"])
            self.chunk_sequence = int(payload["chunk_sequence"])
            self.initial = dict(payload.get("initial", {}))
            self.started = time.monotonic() - float(payload.get("elapsed_seconds", 0.0))  # training time goes on
            self.log(f"resumed from {path.name} at step {self.step}")
            for change in apply_optim_config(self.optimizer, self.config.optim):
                self.log(f"optimizer from the config: {change}")
        elif self.config.init_from:
            self._load_initial_weights(self.config.init_from)
        self.chunk_sequence = max([self.chunk_sequence] + [_sequence(p) + 1 for p in list_chunks(self.run.replay)
                                                           if _worker(p) == LEARNER_WORKER_ID])
        added = self.buffer.ingest_new(on_bad=lambda p, e: self.log(f"skipping: {e}"))
        if added:
            self.log(f"replay: {self.buffer.size} positions in the window ({self.buffer.games} games so far)")

    def _load_initial_weights(self, source: str) -> None:
        """A new run starting from another run's network (RL from the SFT network)."""
        from selfplay.players.net import load_network
        game, model, payload = load_network(source, self.device)
        if (game.name, game.num_actions, game.obs_shape) != (self.game.name, self.game.num_actions,
                                                             self.game.obs_shape):
            raise UserError(f"init_from {source}: its network plays {game.name}, not this run's {self.game.name}")
        if model.config != self.config.network:
            raise UserError(f"init_from {source}: its network {model.config} differs from this run's "
                            f"{self.config.network}; set the same network section")
        self.model.load_state_dict(model.state_dict())
        before = payload.get("initial", {})  # the source may itself have started from another run
        self.initial = {"source": str(source),
                        "step": int(payload.get("step", 0)) + int(before.get("step", 0)),
                        "elapsed_seconds": float(payload.get("elapsed_seconds", 0.0))
                        + float(before.get("elapsed_seconds", 0.0))}
        self.log(f"initial weights from {source} (its step {payload.get('step')})")

    def save(self) -> None:
        payload = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
            "samples_trained": self.samples_trained, "config": asdict(self.config),
            "numpy_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "python_rng": _list_state(random.getstate()), "replay": self.buffer.state_dict(),
            "chunk_sequence": self.chunk_sequence, "elapsed_seconds": time.monotonic() - self.started,
            "initial": self.initial,
        }
        save_checkpoint(checkpoint_path(self.run.checkpoints, self.step), payload)
        if self.pool is not None:
            self.pool.publish(self.step, self.model)
        self._prune_checkpoints()
        self.buffer.prune_disk()

    def _prune_checkpoints(self) -> None:
        """Keep the newest five and every rated one, for re-rating and the Elo curve: those of the
        evaluation steps and an evaluated end off that grid (a run stopped by max_hours)."""
        every = self.config.eval.every_steps
        evaluated = self._evaluated_steps()
        for step, old in list_checkpoints(self.run.checkpoints)[:-5]:
            if not (every > 0 and step % every == 0) and step not in evaluated:
                old.unlink(missing_ok=True)

    def _evaluated_steps(self) -> set[int]:
        """The steps eval.csv has a row of."""
        try:
            with open(self.run.eval_csv, newline="") as f:
                return {int(row["step"]) for row in csv.DictReader(f) if (row.get("step") or "").isdigit()}
        except OSError:
            return set()

    # ---- the loop --------------------------------------------------------------------------------
    def train(self) -> None:
        c = self.config
        self.restore()
        self._progress_mark = (time.monotonic(), self.buffer.games, self.buffer.positions_total)
        if self.show_progress:
            self.progress = Progress(TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[figures]}"), transient=False)
            self.progress_task = self.progress.add_task("train", total=c.total_steps, completed=self.step,
                                                        figures="waiting for data")
            self.progress.start()
        stop = _StopFlag()
        try:
            self._start_data()
            while self.step < c.total_steps and not stop.requested and not self._out_of_time():
                batch = self._next_batch()
                if batch is None:
                    continue
                self.metrics = train_step(self.model, self.optimizer, batch, c.optim, self.device)
                self.step += 1
                self.samples_trained += c.optim.batch_size
                self._after_step()
                self._report()
                if self.step % c.checkpoint_every == 0 or self.step == c.total_steps:
                    self.save()
                if c.eval.every_steps and self.step % c.eval.every_steps == 0:
                    self.evaluate()
            if self.step not in [s for s, _ in list_checkpoints(self.run.checkpoints)]:
                self.save()
            if not stop.requested and self._unevaluated_end():
                self.evaluate()  # the run's last network is on the curve, whatever stopped it
        finally:
            self._stop_data()
            stop.restore()
            self.writer.close()
            if self.progress is not None:
                self.progress.stop()
        self.log(f"stopped at step {self.step} of {c.total_steps}")

    # ---- where the training data comes from: self-play (overridden by imitation) ------------------
    def _start_data(self) -> None:
        self.workers = []
        if self.config.backend == "ray":
            from selfplay.distributed.ray_selfplay import RaySelfPlayPool
            self.pool = RaySelfPlayPool(self.config, self.run.replay, self.buffer.ingested | self.buffer.counted,
                                        log=self.log)
            self.pool.start(self.step, self.model)
        elif self.config.selfplay.workers > 0:
            if not list_checkpoints(self.run.checkpoints):
                self.save()  # workers need weights to start from
            from selfplay.distributed.workers import start_workers
            self.workers = start_workers(self.run.root, self.config.selfplay.workers)

    def _stop_data(self) -> None:
        if self.pool is not None:
            self.pool.stop()
            self.pool = None
        if self.workers:
            from selfplay.distributed.workers import stop_workers
            stop_workers(self.run.root, self.workers)

    def _next_batch(self):
        """A minibatch from the replay window, or None after waiting for (or playing) self-play
        games when training is ahead of the replay ratio."""
        if self.pool is not None:
            self.pool.collect()
        if self.buffer.ingest_new(on_bad=lambda p, e: self.log(f"skipping: {e}")) and (self.workers or self.pool):
            self._log_worker_progress()
        if self._may_train():
            return self.buffer.sample(self.config.optim.batch_size, self.rng)
        if self.pool is not None:
            self.pool.collect(wait_seconds=0.2)  # ingested on the next call
        elif self.workers:
            _check_workers(self.workers)
            time.sleep(0.2)
        else:
            self._play_in_process()
        return None

    def _after_step(self) -> None:
        """Hook for subclasses (imitation validates here)."""

    def _unevaluated_end(self) -> bool:
        every = self.config.eval.every_steps
        if not every or self.step == 0 or self.step % every == 0:
            return False
        return self.step not in self._evaluated_steps()

    def _may_train(self) -> bool:
        ratio = self.config.optim.replay_ratio
        return self.buffer.ready() and self.samples_trained < ratio * self.buffer.positions_total

    def _out_of_time(self) -> bool:
        hours = self.config.max_hours
        return hours > 0 and time.monotonic() - self.started > hours * 3600

    def _play_in_process(self) -> None:
        c = self.config
        if self.selfplay is None:
            self.evaluator = NetworkEvaluator(self.model, self.device)
            self.selfplay = SelfPlay(self.game, self.evaluator, c.selfplay, seed=int(self.rng.integers(2**31)))
        self.model.eval()
        forward_before = self.evaluator.forward_seconds
        chunk, stats = self.selfplay.play(c.selfplay.parallel_games)
        chunk.model_step = self.step
        write_chunk(self.run.replay, LEARNER_WORKER_ID, self.chunk_sequence, chunk)
        self.chunk_sequence += 1
        self._log_selfplay(stats, self.evaluator.forward_seconds - forward_before)

    def _log_selfplay(self, stats: SelfPlayStats, forward_seconds: float) -> None:
        self.selfplay_stats.merge(stats)
        w, s = self.writer, self.step
        if stats.seconds > 0:
            w.add_scalar("selfplay/games_per_s", stats.games / stats.seconds, s)
            w.add_scalar("selfplay/positions_per_s", stats.positions / stats.seconds, s)
            w.add_scalar("selfplay/moves_per_s", stats.moves / stats.seconds, s)
            w.add_scalar("selfplay/simulations_per_s", stats.simulations / stats.seconds, s)
            w.add_scalar("selfplay/network_time_share", forward_seconds / stats.seconds, s)
        w.add_scalar("selfplay/first_player_win_rate", stats.outcomes[0] / max(stats.games, 1), s)
        w.add_scalar("selfplay/draw_rate", stats.outcomes[1] / max(stats.games, 1), s)
        w.add_scalar("selfplay/game_length", stats.moves / max(stats.games, 1), s)
        w.add_scalar("selfplay/resign_rate", stats.resigned / max(stats.games, 1), s)
        total = self.selfplay_stats
        if total.resign_checks:
            w.add_scalar("selfplay/false_resign_rate", total.false_resigns / total.resign_checks, s)
        w.add_scalar("replay/positions", self.buffer.size, s)
        w.add_scalar("replay/games_total", self.buffer.games, s)
        self.log(f"self-play: {stats.games} games, {stats.positions} positions in {stats.seconds:.1f}s "
                 f"({stats.simulations / max(stats.seconds, 1e-9):,.0f} sims/s, network "
                 f"{forward_seconds / max(stats.seconds, 1e-9):.0%}); buffer {self.buffer.size}", quiet=True)

    def _log_worker_progress(self) -> None:
        """Worker processes report through their chunks: rates from the buffer's growth."""
        now = time.monotonic()
        since, games_then, positions_then = self._progress_mark
        if now - since >= 60:
            games_per_s = (self.buffer.games - games_then) / (now - since)
            positions_per_s = (self.buffer.positions_total - positions_then) / (now - since)
            self.writer.add_scalar("selfplay/games_per_s", games_per_s, self.step)
            self.writer.add_scalar("selfplay/positions_per_s", positions_per_s, self.step)
            self.writer.add_scalar("replay/positions", self.buffer.size, self.step)
            self.writer.add_scalar("replay/games_total", self.buffer.games, self.step)
            self.log(f"self-play workers: {games_per_s:.2f} games/s, {positions_per_s:.1f} positions/s; "
                     f"{self.buffer.games} games, buffer {self.buffer.size}")
            self._progress_mark = (now, self.buffer.games, self.buffer.positions_total)

    def _report(self) -> None:
        for name, value in self.metrics.items():
            if np.isfinite(value):
                self.writer.add_scalar(name, value, self.step)
        m = self.metrics
        figures = (f"policy {m['losses/policy']:.3f}  value {m['losses/value']:.3f}  "
                   f"entropy {m['policy/entropy']:.2f}  games {self.buffer.games}  buffer {self.buffer.size}")
        if self.progress is not None:
            self.progress.update(self.progress_task, completed=self.step, figures=figures)
        now = time.monotonic()
        if now - self.last_log >= 10 or self.step == self.config.total_steps:
            self.last_log = now
            self.log(f"step {self.step}/{self.config.total_steps}  {figures}  {(now - self.started) / 60:.1f} min",
                     quiet=self.progress is not None)

    def evaluate(self) -> dict[str, float]:
        from selfplay.evaluation.matches import evaluate_checkpoint
        self.model.eval()
        results = evaluate_checkpoint(self.game, self.model, self.device, self.config.eval,
                                      seed=int(self.rng.integers(2**31)))
        if self.config.eval.rate:
            results.update(self._rate())
        row = {"step": self.step, "minutes": round((time.monotonic() - self.started) / 60, 2),
               "games": self.buffer.games, **results}
        for name, value in results.items():
            self.writer.add_scalar(f"eval/{name}", value, self.step)
        append_csv_row(self.run.eval_csv, row)
        self.log("eval: " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
        return results

    def _rate(self) -> dict[str, float]:
        """Elo of this step's checkpoint against the reference pool (ratings.csv grows)."""
        from selfplay.rating.rate import rate_checkpoint
        path = checkpoint_path(self.run.checkpoints, self.step)
        if not path.exists():
            self.save()
        rating = rate_checkpoint(self.run.root, path, config=self.config.rating, seed=self.config.seed + self.step)
        for note in rating.notes:
            self.log(f"rating: {note}", quiet=True)
        return {"elo": round(rating.elo, 1), "elo_low": round(rating.lower, 1), "elo_high": round(rating.upper, 1)}

    def log(self, message: str, quiet: bool = False) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.run.log, "a") as f:
            f.write(f"{stamp} {message}\n")
        if not quiet:
            self.log_fn(message)


def append_csv_row(path: Path, row: dict) -> None:
    """Add a row to a small CSV, rewriting it atomically with the union of the columns, so rows
    written before a new column existed (an older run, another config) stay aligned."""
    rows = []
    if path.exists():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    rows.append({k: str(v) for k, v in row.items()})
    columns = list(dict.fromkeys(k for r in rows for k in r))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


class _StopFlag:
    """SIGINT/SIGTERM ask the loop to stop after the current step (and checkpoint)."""

    def __init__(self):
        self.requested = False
        self._previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass

    def _handle(self, signum, frame):
        self.requested = True

    def restore(self):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _check_workers(workers) -> None:
    for p in workers:
        if p.exitcode not in (None, 0):
            raise UserError(f"self-play worker {p.name} died with exit code {p.exitcode}; see log.txt")


def _worker(path: Path) -> int:
    return int(path.name.split("-")[1])


def _sequence(path: Path) -> int:
    return int(path.name.split("-")[2].split(".")[0])


def _list_state(state):
    """Python's RNG state as nested lists (a checkpoint holds no tuples of arbitrary objects)."""
    return [state[0], list(state[1]), state[2]]


def _tuple_state(state):
    return (state[0], tuple(state[1]), state[2])


def run_training(run_dir: str | Path, config_path: str | None = None, overrides: list[str] = (),
                 resume: bool = False, log=print, show_progress: bool = False) -> Trainer:
    config = prepare_run(run_dir, config_path, list(overrides), resume)
    trainer = Trainer(config, run_dir, log, show_progress)
    trainer.train()
    return trainer


def load_run_config(run_dir: str | Path, overrides: list[str] = ()) -> RunConfig:
    path = RunDir(run_dir).config
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no config.yaml: not a run directory")
    return load_config(RunConfig, path, overrides)

