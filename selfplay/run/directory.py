"""The run directory, the contract between stages (as in KataGo): every stage of a run (the
learner, self-play workers and actors, rating, plots, the token mode's phases) finds what it
needs here by these names, and nothing else says where a file lives.

    config.yaml                 the resolved config (``prepare_run`` writes it, ``load_run_config`` reads it)
    checkpoints/step-N.pt       the board trainer's checkpoints (selfplay.run.checkpoint)
    <phase>/step-N.pt           a token-mode phase's checkpoints (sft/, grpo/)
    replay/chunk-W-S.npz        finished self-play games of writer W, its S-th chunk
    tb/, tb/<phase>/            TensorBoard events
    eval.csv                    one row per evaluation (columns: the union of every row's)
    log.txt                     the run's log
    ratings.csv                 rating games (the arena's columns)
    STOP                        present while the learner asks its worker processes to stop
    stages/PROCESS.json         each process's wall time by stage (selfplay.training.stages)
    sft-data.json               what an SFT run imitates (its --games, --positions or --replay), for --resume
    .lock                       locked by the process running the run (``hold_lock``): one at a time
"""

from __future__ import annotations

import atexit
import csv
import io
import os
import re
import sys
from pathlib import Path
from typing import Iterable, TypeVar

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError, dump_config, load_config
from selfplay.errors import UserError
from selfplay.run.checkpoint import list_checkpoints

try:
    import fcntl
except ImportError:  # not POSIX: runs are not locked
    fcntl = None

T = TypeVar("T")

CHUNK_NAME = re.compile(r"^chunk-(\d+)-(\d+)\.npz$")  # chunk-<writer>-<sequence>.npz
LEARNER_WRITER = 0  # chunks of self-play in the learner's process; worker processes and actors are 1..N


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
        self.ratings = self.root / "ratings.csv"
        self.stop = self.root / "STOP"
        self.stages = self.root / "stages"  # stages/<process>.json: where each process's time went
        self.sft_data = self.root / "sft-data.json"

    def phase_checkpoints(self, phase: str) -> Path:
        """A token-mode phase's checkpoints (``sft``, ``grpo``)."""
        return self.root / phase

    def phase_tb(self, phase: str) -> Path:
        return self.tb / phase

    def make(self) -> None:
        for d in (self.checkpoints, self.replay, self.tb):
            d.mkdir(parents=True, exist_ok=True)


# ---- the resolved config -------------------------------------------------------------------------
def prepare_run(config_class: type[T], run_dir: str | Path, config_path: str | None, overrides: list[str],
                resume: bool, checkpoints: Path | None = None, kind: str = "run", frozen: tuple[str, ...] = ()) -> T:
    """The run's config: a new run writes it into the directory; a resumed run reads it back
    (overrides still apply, for example a larger total_steps), but an override that changes a
    ``frozen`` section (what the checkpoints' weights were built for: the game, the network) is
    refused before anything is written. A new run is refused where ``checkpoints`` (the run's,
    by default) already holds some: that run must be resumed."""
    run = RunDir(run_dir)
    if run.root.is_dir():
        hold_lock(run.root)  # before anything of the run is read or written
    if resume:
        if not run.config.is_file():
            raise UserError(f"cannot resume {run.root}: it has no config.yaml (not a run directory?)")
        config = load_config(config_class, run.config, overrides)
        stored = load_config(config_class, run.config)
        for section in frozen:
            if getattr(config, section) != getattr(stored, section):
                changed = [k for k, v in vars(getattr(config, section)).items() if getattr(getattr(stored, section), k) != v]
                raise UserError(f"cannot resume {run.root} with {section}.{changed[0]} changed: its checkpoints were "
                                f"built with {section}.{changed[0]}={getattr(getattr(stored, section), changed[0])!r}; "
                                f"start a new run (--name) or --init from this one instead")
    else:
        if run.config.exists() and list_checkpoints(run.checkpoints if checkpoints is None else checkpoints):
            raise UserError(f"{run.root} already holds a {kind}; use --resume to continue it, or another --name")
        config = load_config(config_class, config_path, overrides)
    run.root.mkdir(parents=True, exist_ok=True)
    hold_lock(run.root)
    dump_config(config, run.config)
    return config


LOCK_NAME = ".lock"
_held: dict[Path, object] = {}  # the lock files this process holds, open until it exits


def hold_lock(root: Path) -> None:
    """Take the run directory's lock for the rest of this process (again: a no-op), so that two
    processes never run one directory at once; UserError naming the holder if another has it.
    The operating system releases it when the process ends, however it ends; a process that
    ends normally also clears the holder's name, so a name found on taking the lock is a killed
    run's, and the takeover is said."""
    root = Path(root).resolve()
    if root in _held or fcntl is None:
        return
    handle = open(root / LOCK_NAME, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(f"{root} is in use by {holder}: two runs would overwrite each other's checkpoints and "
                        f"games; wait for it to finish or stop it first") from None
    handle.seek(0)
    left = handle.read().strip()
    if left and left != f"process {os.getpid()}":
        print(f"note: {root} was locked by {left}, which is gone (killed?): the lock is taken over", file=sys.stderr)
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}\n")
    handle.flush()
    if not _held:
        atexit.register(_clear_names)
    _held[root] = handle


def _clear_names() -> None:
    """At a normal exit: the locks this process held name nobody (the OS releases the locks)."""
    for handle in _held.values():
        try:
            handle.seek(0)
            handle.truncate()
            handle.flush()
        except (OSError, ValueError):
            pass


def load_run_config(config_class: type[T], run_dir: str | Path, overrides: Iterable[str] = ()) -> T:
    path = RunDir(run_dir).config
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no config.yaml: not a run directory")
    return load_config(config_class, path, list(overrides))


# ---- small CSV files (eval.csv) ------------------------------------------------------------------
def read_rows(path: str | Path) -> list[dict]:
    """The rows of a small CSV as dicts of strings; none when the file is missing."""
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def append_csv_row(path: str | Path, row: dict, first_columns: Iterable[str] = ()) -> None:
    """Add a row to a small CSV, rewriting it atomically with the union of the columns (after
    ``first_columns``), so rows written before a new column existed (an older run, another
    config, another phase) stay aligned."""
    rows = read_rows(path)
    rows.append({k: str(v) for k, v in row.items()})
    columns = list(dict.fromkeys([*first_columns, *(k for r in rows for k in r)]))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


# ---- replay chunks -------------------------------------------------------------------------------
def chunk_path(directory: str | Path, writer: int, sequence: int) -> Path:
    return Path(directory) / f"chunk-{writer:03d}-{sequence:08d}.npz"


def list_chunks(directory: str | Path) -> list[Path]:
    """Chunk files in the order they were written (several writers write concurrently)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    paths = [p for p in directory.iterdir() if CHUNK_NAME.match(p.name)]
    return sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name))  # oldest first


def next_sequences(known_names: Iterable[str], writers: Iterable[int]) -> dict[int, int]:
    """The chunk sequence rule: for each writer, one past the highest sequence in any chunk name
    the run has seen (on disk, or ingested and since pruned), so no name is written twice."""
    next_of = {w: 0 for w in writers}
    for name in known_names:
        m = CHUNK_NAME.match(name)
        if m and int(m.group(1)) in next_of:
            w = int(m.group(1))
            next_of[w] = max(next_of[w], int(m.group(2)) + 1)
    return next_of


def next_sequence(directory: str | Path, writer: int, known_names: Iterable[str] = ()) -> int:
    """``next_sequences`` of one writer over the chunks in ``directory`` and ``known_names``."""
    names = [*known_names, *(p.name for p in list_chunks(directory))]
    return next_sequences(names, [writer])[writer]
