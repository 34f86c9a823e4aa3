"""The AlphaZero loop: data -> train -> checkpoint -> evaluate, resumable.

Everything a run needs lives in its directory (selfplay.run.directory):

    config.yaml  checkpoints/step-N.pt  replay/chunk-W-S.npz  tb/  eval.csv  log.txt  ratings.csv

The positions come from a data source (selfplay.training.sources): self-play in this process,
in worker processes or in Ray actors, each writing finished games as replay chunks that the
buffer ingests; or a fixed expert dataset (SFT). The learner trains while the source says it
may (self-play: ``samples trained <= replay_ratio * positions generated``), and otherwise asks
it for more. Every ``checkpoint_every`` steps it checkpoints (and hands the weights to the
source); every ``eval.every_steps`` it evaluates and rates the network. Where the wall time
goes (learner steps, waiting for data, rating, I/O...) is timed per stage
(selfplay.training.stages): stages/learner.json and ``time/...`` scalars in TensorBoard.

A resumed run loads the newest checkpoint that reads (model, optimizer, step, RNG states, the
buffer's counters) and re-ingests the chunks on disk, those written after that checkpoint
included, so a SIGKILL loses at most the games in progress and the steps since the checkpoint,
which are trained again. SIGINT and SIGTERM stop the loop after the current step, checkpointed.
"""

from __future__ import annotations

import random
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from selfplay.errors import UserError
from selfplay.evaluation.matches import evaluate_checkpoint
from selfplay.network import PolicyValueNet, resolve_device
from selfplay.players.net import load_network
from selfplay.rating.rate import rate_checkpoint
from selfplay.run.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_latest_good,
    network_sections,
    prune_checkpoints,
    save_checkpoint,
)
from selfplay.run.directory import RunDir, prepare_run, read_rows
from selfplay.run.log import RunLog
from selfplay.training.config import RunConfig
from selfplay.training.learner import apply_optim_config, make_optimizer, scheduled_lr, train_step
from selfplay.training.sources import DataSource, selfplay_source
from selfplay.training.stages import (
    CHECKPOINT_IO,
    EVALUATION,
    LEARNER,
    LEARNER_PROCESS,
    RATING,
    REPLAY_IO,
    SHUTDOWN,
    STARTUP,
    StageClock,
    combine,
    read_stage_files,
    shares,
    write_stage_file,
)


class Trainer:
    def __init__(self, config: RunConfig, run_dir: str | Path, log=print, show_progress: bool = False):
        """``log`` receives one line per event; ``show_progress`` draws a progress bar with the
        same key figures (for a terminal; the lines then go to log.txt only)."""
        self.config = config
        self.clock = StageClock()  # where the run's wall time goes (selfplay.training.stages)
        self.run = RunDir(run_dir)
        self.run.make()
        self.runlog = RunLog(self.run, self.run.tb, config.total_steps, echo=log, show_progress=show_progress,
                             max_seconds=config.max_hours * 3600)
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
        self.initial: dict = {}  # the training behind init_from's network (for curves over total training)
        self.metrics: dict[str, float] = {}
        self.first_step = 0  # the step train() started from
        self.source = self._make_source()
        self.buffer = self.source.buffer

    def _make_source(self) -> DataSource:
        return selfplay_source(self.config, self.run, self.game, self.model, self.device, self.rng, self.runlog,
                               self.clock)

    def log(self, message: str, quiet: bool = False) -> None:
        self.runlog.log(message, quiet)

    # ---- state -----------------------------------------------------------------------------------
    def restore(self) -> None:
        found = load_latest_good(self.run.checkpoints, self.device,
                                 on_bad=lambda p, e: self.log(f"skipping a broken checkpoint: {e}"))
        payload = None
        if found is not None:
            path, payload = found
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.step = int(payload["step"])
            self.samples_trained = int(payload["samples_trained"])
            self.rng.bit_generator.state = payload["numpy_rng"]
            torch.set_rng_state(payload["torch_rng"])
            random.setstate(_tuple_state(payload["python_rng"]))
            self.initial = dict(payload.get("initial", {}))
            self.runlog.continue_clock(float(payload.get("elapsed_seconds", 0.0)))  # training time goes on
            self.log(f"resumed from {path.name} at step {self.step}")
            for change in apply_optim_config(self.optimizer, self.config.optim):
                self.log(f"optimizer from the config: {change}")
        elif list_checkpoints(self.run.checkpoints):
            raise UserError(f"every checkpoint in {self.run.checkpoints} is unreadable (see the log): there is no "
                            f"state to resume from; restore a good checkpoint there, or move them away to start "
                            f"the run again from step 0")
        elif self.config.init_from:
            self._load_initial_weights(self.config.init_from)
        self.source.restore(payload)

    def _load_initial_weights(self, source: str) -> None:
        """A new run starting from another run's network (RL from the SFT network)."""
        game, model, payload = load_network(source, self.device)
        if (game.name, game.num_actions, game.obs_shape) != (self.game.name, self.game.num_actions,
                                                             self.game.obs_shape):
            raise UserError(f"init_from {source}: its network plays {game.name}, not this run's {self.game.name}")
        # The heads it lacks start untrained; a new value discount only changes what the value
        # head learns to predict from here on; more blocks start as the identity; a scalar value
        # head becomes a win/draw/loss one (not back).
        loose = dict(ownership_head=False, value_discount=1.0, blocks=0, value_head="scalar")
        if replace(model.config, **loose) != replace(self.config.network, **loose) \
                or model.config.blocks > self.config.network.blocks \
                or (model.config.value_head, self.config.network.value_head) == ("wdl", "scalar"):
            raise UserError(f"init_from {source}: its network {model.config} differs from this run's "
                            f"{self.config.network}; set the same network section (more blocks may be added)")
        self.model.deepen_from(model)  # the trunk, policy and value heads
        if model.config.blocks < self.config.network.blocks:
            self.log(f"deepened from {model.config.blocks} to {self.config.network.blocks} residual blocks: "
                     f"the new ones start as the identity")
        if model.config.value_head != self.config.network.value_head:
            self.log("the scalar value head becomes win/draw/loss: the same values up to a 6% draw share at "
                     "an even position, the draw probability learnt from here on")
        if model.config.value_discount != self.config.network.value_discount:
            self.log(f"the value head was trained with value_discount {model.config.value_discount}; "
                     f"it learns {self.config.network.value_discount} from here on")
        if model.config.ownership_head != self.config.network.ownership_head:
            self.log("the ownership and score heads " + ("start untrained" if self.config.network.ownership_head
                                                         else "of the initial network are dropped"))
        before = payload.get("initial", {})  # the source may itself have started from another run
        self.initial = {"source": str(source),
                        "step": int(payload.get("step", 0)) + int(before.get("step", 0)),
                        "elapsed_seconds": float(payload.get("elapsed_seconds", 0.0))
                        + float(before.get("elapsed_seconds", 0.0))}
        self.log(f"initial weights from {source} (its step {payload.get('step')})")

    def save(self) -> None:
        """A checkpoint: what rebuilds the network (game, network), what resumes the run, then
        the weights to the data source; older checkpoints and chunks out of the window pruned."""
        with self.clock.stage(CHECKPOINT_IO):
            self._save()
        self._record_stages()

    def _save(self) -> None:
        payload = {
            "model": self.model.state_dict(), **network_sections(self.game, self.config.network),
            "optimizer": self.optimizer.state_dict(), "step": self.step, "samples_trained": self.samples_trained,
            "numpy_rng": self.rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "python_rng": _list_state(random.getstate()), **self.source.state_dict(),
            "elapsed_seconds": self.runlog.elapsed_seconds(), "initial": self.initial,
        }
        save_checkpoint(checkpoint_path(self.run.checkpoints, self.step), payload)
        self.source.publish(self.step, self.model)
        # the newest keep_checkpoints and every rated one, for re-rating and the Elo curve: those
        # of the evaluation steps and an evaluated end off that grid (a run stopped by max_hours)
        every, evaluated = self.config.eval.every_steps, self._evaluated_steps()
        prune_checkpoints(self.run.checkpoints, self.config.keep_checkpoints, lambda step: (every > 0 and step % every == 0) or step in evaluated)
        self.buffer.prune_disk()

    def _evaluated_steps(self) -> set[int]:
        """The steps eval.csv has a row of."""
        return {int(row["step"]) for row in read_rows(self.run.eval_csv) if (row.get("step") or "").isdigit()}

    # ---- the loop --------------------------------------------------------------------------------
    def train(self) -> None:
        c = self.config
        self.clock.claim(STARTUP)  # the construction: imports, the network, the buffer
        with self.clock.stage(STARTUP):
            self.restore()
        self.first_step = self.step
        self.runlog.start_progress(self.step, "waiting for data")
        stop = _StopFlag()
        try:
            with self.clock.stage(STARTUP):
                self.source.start(self.step, self.model, self.save)
            while self.step < c.total_steps and not stop.requested and not self._out_of_time():
                with self.clock.stage(REPLAY_IO):
                    self.source.collect(self.step)
                if not self._may_train():
                    self.source.produce(self.step)  # the source times its own stages (waiting, self-play)
                    continue
                with self.clock.stage(LEARNER):
                    for group in self.optimizer.param_groups:
                        group["lr"] = scheduled_lr(c.optim, self._progress())
                    batch = self.buffer.sample(c.optim.batch_size, self.rng)
                    self.metrics = train_step(self.model, self.optimizer, batch, c.optim, self.device)
                self.step += 1
                self.samples_trained += c.optim.batch_size
                self._after_step()
                m = {**self.metrics, "optim/learning_rate": self.optimizer.param_groups[0]["lr"]}
                self.runlog.report(self.step, m, f"policy {m['losses/policy']:.3f}  value {m['losses/value']:.3f}  "
                                   f"entropy {m['policy/entropy']:.2f}  games {self.buffer.games}  "
                                   f"buffer {self.buffer.size}")
                if self.step % c.checkpoint_every == 0 or self.step == c.total_steps:
                    self.save()
                if c.eval.every_steps and self.step % c.eval.every_steps == 0:
                    self.evaluate()
            if self._out_of_time() or self.step not in [s for s, _ in list_checkpoints(self.run.checkpoints)]:
                self.save()  # a run stopped by max_hours records the time it spent: a resume ends at once
            if not stop.requested and self._unevaluated_end():
                self.evaluate()  # the run's last network is on the curve, whatever stopped it
        finally:
            with self.clock.stage(SHUTDOWN):
                self.source.stop()
            stop.restore()
            self._record_stages()
            self.runlog.close()
        why = ("stopped on request" if stop.requested else f"max_hours {c.max_hours:g} reached"
               if self._out_of_time() else f"total_steps {c.total_steps} reached" if self.step >= c.total_steps else "")
        self.log(f"stopped at step {self.step} of {c.total_steps}" + (f": {why}" if why else ""))

    def _may_train(self) -> bool:
        return self.source.may_train(self.samples_trained)

    def _after_step(self) -> None:
        """Hook for subclasses (imitation validates here)."""

    def _unevaluated_end(self) -> bool:
        every = self.config.eval.every_steps
        if not every or self.step == 0 or self.step % every == 0:
            return False
        return self.step not in self._evaluated_steps()

    def _record_stages(self) -> None:
        """The learner's stage seconds to stages/learner.json, every process's shares to TensorBoard
        (``time/<stage>_share``, ``time/workers/<stage>_share``: where a real run's time goes)."""
        counts = {"steps": self.step - self.first_step,
                  "samples_trained": self.samples_trained, "positions_ingested": self.buffer.positions_total}
        counts.update(getattr(self.source, "counts", dict)())  # self-play in this process, if any
        for name, share in shares(write_stage_file(self.run.root, LEARNER_PROCESS, self.clock, counts)).items():
            self.runlog.scalar(f"time/{name}_share", share, self.step)
        records = read_stage_files(self.run.root)
        records.pop(LEARNER_PROCESS, None)
        if records:
            for name, share in shares(combine(list(records.values()))).items():
                self.runlog.scalar(f"time/workers/{name}_share", share, self.step)

    def _progress(self) -> float:
        """How far the run is, 0..1: by steps or by training time, whichever is further."""
        c = self.config
        by_time = self.runlog.elapsed_seconds() / (c.max_hours * 3600) if c.max_hours > 0 else 0.0
        return min(1.0, max(self.step / c.total_steps, by_time))

    def _out_of_time(self) -> bool:
        hours = self.config.max_hours
        return hours > 0 and self.runlog.elapsed_seconds() > hours * 3600

    # ---- evaluation ------------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        self.model.eval()
        with self.clock.stage(EVALUATION):
            results = evaluate_checkpoint(self.game, self.model, self.device, self.config.eval,
                                          seed=int(self.rng.integers(2**31)))
        if self.config.eval.rate:
            with self.clock.stage(RATING):
                results.update(self._rate())
        row = {"step": self.step, "minutes": self.runlog.minutes(), "games": self.buffer.games, **results}
        self.runlog.record_eval(self.step, row, results)
        return results

    def _rate(self) -> dict[str, float]:
        """Elo of this step's checkpoint against the reference pool (ratings.csv grows)."""
        path = checkpoint_path(self.run.checkpoints, self.step)
        if not path.exists():
            self.save()
        rating = rate_checkpoint(self.run.root, path, config=self.config.rating, seed=self.config.seed + self.step)
        for note in rating.notes:
            self.log(f"rating: {note}", quiet=True)
        return {"elo": round(rating.elo, 1), "elo_low": round(rating.lower, 1), "elo_high": round(rating.upper, 1)}


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


def _list_state(state):
    """Python's RNG state as nested lists (a checkpoint holds no tuples of arbitrary objects)."""
    return [state[0], list(state[1]), state[2]]


def _tuple_state(state):
    return (state[0], tuple(state[1]), state[2])


def run_training(run_dir: str | Path, config_path: str | None = None, overrides: list[str] = (),
                 resume: bool = False, log=print, show_progress: bool = False) -> Trainer:
    config = prepare_run(RunConfig, run_dir, config_path, list(overrides), resume, frozen=("game", "network"))
    trainer = Trainer(config, run_dir, log, show_progress)
    trainer.train()
    return trainer
