"""A run's log, shared by the board trainer and the token mode's phases: log.txt lines, a
progress bar for a terminal, TensorBoard scalars and eval.csv rows, with one clock.

    log.txt    ``YYYY-mm-dd HH:MM:SS [tag] message`` (a token-mode phase tags its lines)
    eval.csv   one row per evaluation; the columns are the union of every row's
    tb/...     the writer's folder (``tb/`` of a board run, ``tb/<phase>`` of a token-mode phase)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

import numpy as np
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from selfplay.run.directory import RunDir, append_csv_row


class RunLog:
    """``echo`` receives the lines that are not quiet; with a progress bar drawn, the periodic
    step lines go to log.txt only."""

    def __init__(self, run: RunDir, tb: Path, total_steps: int, tag: str = "", echo=print,
                 show_progress: bool = False, max_seconds: float = 0.0):
        """``max_seconds``: the training time after which the run stops (0: none), so that the
        progress says which budget ends the run, steps or time, and when."""
        from torch.utils.tensorboard import SummaryWriter
        self.run = run
        self.tag = tag
        self.echo = echo
        self.total_steps = total_steps
        self.show_progress = show_progress
        self.writer = SummaryWriter(str(tb))
        self.max_seconds = max_seconds
        self.started = time.monotonic()
        self.last_line = 0.0
        self.progress = None
        self.rate_from: tuple[int, float] | None = None  # (step, elapsed seconds) the rate is measured from

    # ---- the clock -------------------------------------------------------------------------------
    def elapsed_seconds(self) -> float:
        return time.monotonic() - self.started

    def continue_clock(self, elapsed_seconds: float) -> None:
        """A resumed run's training time goes on from what its checkpoint recorded."""
        self.started = time.monotonic() - elapsed_seconds

    def minutes(self) -> float:
        return round(self.elapsed_seconds() / 60, 2)

    # ---- lines, scalars, the bar ------------------------------------------------------------------
    def log(self, message: str, quiet: bool = False) -> None:
        self.run.root.mkdir(parents=True, exist_ok=True)
        tag = f"[{self.tag}] " if self.tag else ""
        with open(self.run.log, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {tag}{message}\n")
        if not quiet:
            self.echo(message)

    def scalar(self, name: str, value: float, step: int) -> None:
        self.writer.add_scalar(name, value, step)

    def remaining(self, step: int) -> str:
        """Which budget ends the run and how long until then, at the step rate seen so far:
        "1:12:05 to step 100000" or "0:40:00 to max_hours" (empty until a rate is known)."""
        elapsed = self.elapsed_seconds()
        if self.rate_from is None or step <= self.rate_from[0] or elapsed <= self.rate_from[1]:
            return ""
        rate = (step - self.rate_from[0]) / (elapsed - self.rate_from[1])
        by_steps = (self.total_steps - step) / rate
        by_time = self.max_seconds - elapsed if self.max_seconds > 0 else float("inf")
        left, goal = (by_time, "max_hours") if by_time < by_steps else (by_steps, f"step {self.total_steps}")
        return f"{_clock(max(left, 0.0))} to {goal}"

    def start_progress(self, completed: int, figures: str = "") -> None:
        self.rate_from = (completed, self.elapsed_seconds())
        if self.show_progress:
            self.progress = Progress(TextColumn(f"[bold]{self.tag or 'train'}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[figures]}"))
            self.progress_task = self.progress.add_task(self.tag or "train", total=self.total_steps,
                                                        completed=completed, figures=figures)
            self.progress.start()

    def report(self, step: int, metrics: dict[str, float], figures: str) -> None:
        """Scalars to TensorBoard, figures to the progress bar, a log line every 10 s and at the end."""
        for name, value in metrics.items():
            if np.isfinite(value):
                self.writer.add_scalar(name, value, step)
        left = self.remaining(step)
        if self.progress is not None:
            self.progress.update(self.progress_task, completed=step, figures=f"{figures}  {left}".rstrip())
        now = time.monotonic()
        if now - self.last_line >= 10 or step == self.total_steps:
            self.last_line = now
            self.log(f"step {step}/{self.total_steps}  {figures}  {(now - self.started) / 60:.1f} min"
                     + (f"  ({left})" if left else ""), quiet=self.progress is not None)

    def record_eval(self, step: int, row: dict, results: dict[str, float], first_columns: Iterable[str] = ()) -> None:
        """``results`` as ``eval/NAME`` scalars; ``row`` (which holds them) to eval.csv and the log
        (without its ``phase``, which the line's tag says)."""
        for name, value in results.items():
            self.writer.add_scalar(f"eval/{name}", value, step)
        append_csv_row(self.run.eval_csv, row, first_columns)
        self.log("eval: " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in row.items() if k != "phase"))

    def close(self) -> None:
        self.writer.close()
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _clock(seconds: float) -> str:
    """H:MM:SS."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
