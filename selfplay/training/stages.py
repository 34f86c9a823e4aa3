"""Where a training run's wall time goes, per process and per stage.

A ``StageClock`` adds ``perf_counter`` time to the stage a ``with clock.stage(NAME):`` block
names: two clock reads per block, nothing per move, so it can stay on in every real run.
Stages nest: time inside an inner block counts for the inner stage only, so the stages of a
process never overlap and, with ``other`` (the wall time no block claims), they add up to its
wall time. The network forward of self-play is timed inside the network evaluator; ``move``
takes those seconds out of the self-play stage that enclosed them.

Each process of a run writes its totals to ``stages/<process>.json`` in the run directory
(atomically, a few hundred bytes): the learner at every checkpoint and at the end, a self-play
worker after every chunk. ``selfplay bench train`` and the trainer's ``time/...`` TensorBoard
scalars read them back.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selfplay.atomic import atomic_write_text
from selfplay.run.directory import RunDir

# The stages, in the order tables show them.
FORWARD = "selfplay_forward"     # the network forward of self-play's searches
SEARCH = "selfplay_search"       # the rest of self-play: tree search, the rules, recording games
LEARNER = "learner"              # sampling minibatches and training steps
EVALUATION = "evaluation"        # evaluation matches of a checkpoint
RATING = "rating"                # rating games of a checkpoint against the pool
CHECKPOINT_IO = "checkpoint_io"  # writing, pruning, publishing and loading checkpoints
REPLAY_IO = "replay_io"          # writing chunks, ingesting them into the buffer
WAITING = "waiting"              # idle: the learner waiting for data, a worker for its first weights
STARTUP = "startup"              # process start, resuming, starting workers
SHUTDOWN = "shutdown"            # stopping the workers (they finish their chunk in progress)
OTHER = "other"                  # wall time no stage claims (logging, the loop itself)

STAGES = (FORWARD, SEARCH, LEARNER, EVALUATION, RATING, CHECKPOINT_IO, REPLAY_IO, WAITING, STARTUP, SHUTDOWN, OTHER)

LABELS = {
    FORWARD: "network forward (self-play)",
    SEARCH: "search and rules (self-play)",
    LEARNER: "learner steps",
    EVALUATION: "evaluation games",
    RATING: "rating games",
    CHECKPOINT_IO: "checkpoint I/O",
    REPLAY_IO: "replay I/O",
    WAITING: "idle waiting",
    STARTUP: "startup",
    SHUTDOWN: "shutdown",
    OTHER: "other (not attributed)",
}

LEARNER_PROCESS = "learner"


class StageClock:
    """Exclusive wall seconds per named stage, the process's CPU seconds beside them."""

    def __init__(self, now: Callable[[], float] = time.perf_counter,
                 cpu_now: Callable[[], float] = time.process_time):
        self._now, self._cpu_now = now, cpu_now
        self.restart()

    def restart(self) -> None:
        """Forget everything: the wall time counts from now."""
        self.started = self._mark = self._now()
        self.cpu_started = self._cpu_now()
        self.seconds: dict[str, float] = {}
        self._open: list[str] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self._settle()
        self._open.append(name)
        try:
            yield
        finally:
            self._settle()
            self._open.pop()

    def _settle(self) -> None:
        """Credit the time since the last mark to the innermost open stage."""
        now = self._now()
        if self._open:
            self.add(self._open[-1], now - self._mark)
        self._mark = now

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def move(self, source: str, target: str, seconds: float) -> None:
        """Re-attribute ``seconds`` measured inside ``source`` (never more than it holds)."""
        seconds = max(0.0, min(seconds, self.seconds.get(source, 0.0)))
        self.add(source, -seconds)
        self.add(target, seconds)

    def claim(self, name: str) -> None:
        """Credit all the wall time no stage holds so far to ``name`` (what happened before the
        first block, such as a trainer's construction, as its startup)."""
        self._settle()
        unclaimed = (self._mark - self.started) - sum(self.seconds.values())
        self.add(name, max(0.0, unclaimed))

    def backdate(self, name: str, seconds: float) -> None:
        """Start the clock at the process's start, ``seconds`` ago, spent in ``name`` (a worker's
        interpreter start and imports, measured from when its parent spawned it); the CPU time
        then counts from the process's start too (``process_time`` starts at 0)."""
        seconds = max(0.0, seconds)
        self.started -= seconds
        self.cpu_started = 0.0
        self.add(name, seconds)

    def snapshot(self) -> dict:
        """Wall and CPU seconds so far and the seconds per stage, ``other`` the remainder."""
        self._settle()
        wall = self._mark - self.started
        stages = dict(self.seconds)
        stages[OTHER] = stages.get(OTHER, 0.0) + wall - sum(self.seconds.values())
        return {"wall_seconds": wall, "cpu_seconds": self._cpu_now() - self.cpu_started, "stages": stages}


def shares(snapshot: dict) -> dict[str, float]:
    """Each stage's share of the snapshot's wall time (they sum to 1)."""
    wall = snapshot["wall_seconds"]
    return {name: seconds / wall if wall > 0 else 0.0 for name, seconds in snapshot["stages"].items()}


def combine(snapshots: list[dict]) -> dict:
    """Several processes as one: their wall, CPU and stage seconds added up."""
    stages: dict[str, float] = {}
    for snap in snapshots:
        for name, seconds in snap["stages"].items():
            stages[name] = stages.get(name, 0.0) + seconds
    return {"wall_seconds": sum(s["wall_seconds"] for s in snapshots),
            "cpu_seconds": sum(s["cpu_seconds"] for s in snapshots), "stages": stages}


def stage_file(run_root: str | Path, process: str) -> Path:
    return RunDir(run_root).stages / f"{process}.json"


def write_stage_file(run_root: str | Path, process: str, clock: StageClock, counts: dict[str, int]) -> dict:
    """The process's snapshot and what it produced (positions, steps...), replaced atomically;
    returns the record."""
    record = {"process": process, **clock.snapshot(), "counts": counts}
    atomic_write_text(stage_file(run_root, process), json.dumps(record, indent=1) + "\n")
    return record


def read_stage_files(run_root: str | Path) -> dict[str, dict]:
    """Every process's last record, by process name (a file being replaced or damaged is skipped)."""
    records = {}
    folder = RunDir(run_root).stages
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text())
            records[record["process"]] = record
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return records


def remove_stage_files(run_root: str | Path, prefix: str) -> None:
    """Drop the records of a previous session's processes (workers that are not restarted)."""
    folder = RunDir(run_root).stages
    for path in folder.glob(f"{prefix}*.json") if folder.is_dir() else []:
        path.unlink(missing_ok=True)
