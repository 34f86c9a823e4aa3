"""Executors: where the shares of a schedule of games are played. This process, or local
worker processes here; Ray actors are selfplay/distributed/ray_arena.py.

An executor is called as ``executor(play, games, record)``. It cuts ``games`` into shares,
calls ``play(share, share_index, report)`` for each wherever it runs them (``report(outcome)``
returns False to stop a share early), and passes every outcome to ``record`` in this process
as it arrives. How games are cut into shares, and so the share index that seeds their
players, is each executor's own documented rule; executors know nothing else of the games.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue as queue_module
import signal
import sys
import threading
import time
from typing import Any, Callable, Protocol, Sequence

from games import GameError
from selfplay.errors import UserError

Report = Callable[[Any], bool]
PlayShare = Callable[[list, int, Report], None]


class Executor(Protocol):
    def __call__(self, play: PlayShare, games: Sequence, record: Callable[[Any], Any]) -> None: ...


class WorkerError(UserError):
    """A worker playing a share of the games failed or died."""


def in_this_process(play: PlayShare, games: Sequence, record: Callable[[Any], Any]) -> None:
    """All games are share 0, played here; ``record`` hears of each game as it finishes."""
    def report(outcome) -> bool:
        record(outcome)
        return True

    play(list(games), 0, report)


class LocalProcesses:
    """``workers`` spawned processes on this machine: worker ``w`` plays share ``w``, the games
    ``games[w::workers]``, and its outcomes stream back one by one. A worker stops when the
    process that started it is gone; a failing or dead worker stops the whole with WorkerError."""

    def __init__(self, workers: int):
        if workers < 1:
            raise WorkerError(f"a pool of worker processes needs at least one, got {workers}")
        self.workers = workers

    def __call__(self, play: PlayShare, games: Sequence, record: Callable[[Any], Any]) -> None:
        count = min(self.workers, max(len(games), 1))
        if count == 1:
            in_this_process(play, games, record)
            return
        context = mp.get_context("spawn")  # no forked torch/OpenMP/Numba state
        results = context.Queue()
        workers = [context.Process(target=_worker_main, daemon=True, name=f"games-worker-{w}",
                                   args=(play, list(games[w::count]), w, os.getpid(), results))
                   for w in range(count)]
        for p in workers:
            p.start()
        running = len(workers)
        try:
            while running:
                try:
                    kind, payload = results.get(timeout=1.0)
                except queue_module.Empty:
                    dead = [p for p in workers if p.exitcode not in (None, 0)]
                    if dead:
                        raise WorkerError(f"worker {dead[0].name} died with exit code {dead[0].exitcode}")
                    continue
                if kind == "result":
                    record(payload)
                elif kind == "error":
                    raise WorkerError(payload)
                else:
                    running -= 1
        finally:
            for p in workers:
                if p.is_alive():
                    p.terminate()
                p.join(5)


def exit_with_parent(parent_pid: int, every: float = 0.5) -> None:
    """A pool worker's initializer: a watcher thread ends the worker once the process that
    started it is gone (killed, or stopped by a signal that skips the pool's shutdown), so no
    orphan goes on with work nobody will record; an engine it drives sees its input close."""
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(every)
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def quiet_worker(parent_pid: int) -> None:
    """A pool worker's initializer where the parent answers Ctrl-C: it reaches the whole process
    group, but only the parent keeps the finished work and stops the pool; a worker whose
    parent died quits (exit_with_parent)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)


@contextlib.contextmanager
def sigterm_interrupts():
    """SIGTERM (``kill``, a scheduler's stop) acts as Ctrl-C inside the block, so long work keeps
    what it finished and stops its workers, instead of the process dying on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _worker_main(play: PlayShare, games: list, share: int, parent_pid: int, results) -> None:
    """A worker process: plays its share and puts ("result", outcome) / ("error", text) /
    ("done", share) on the queue; stops when the process that started it is gone."""
    def report(outcome) -> bool:
        if os.getppid() != parent_pid:
            return False
        results.put(("result", outcome))
        return True

    # the workers share the cores: one thread each for torch (now or when a network player loads it)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
    else:
        os.environ["OMP_NUM_THREADS"] = "1"
    try:
        play(games, share, report)
    except (UserError, GameError) as e:
        results.put(("error", str(e)))
    except Exception as e:  # reported to the parent, which stops with one line naming it
        results.put(("error", f"worker {share} failed: {type(e).__name__}: {e}"))
    results.put(("done", share))
