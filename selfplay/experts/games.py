"""Files of expert games for SFT, each expert against itself (selfplay.experts.registry: the
alpha-beta expert in Connect Four, GNU Go or any GTP engine in Go).

Output directory (selfplay.experts.store):
    meta.json     the settings the games were made with (a rerun must use the same ones)
    games.txt     Connect Four: a line per game "MOVES RESULT", MOVES the 1-based columns,
                  RESULT 1-0 (X won), 0-1 (O won) or 1/2-1/2
    <key>.sgf     Go: one SGF file per game, named by a hash of its moves

Games are varied by a few random opening moves (``random_plies``: the first moves of every
game are uniformly random, not the expert's; SFT may skip them), by the expert's random
choice among equal moves and, for GNU Go, by its random seed. Duplicates are dropped.

Resumable: a rerun counts the games already there and plays until the target; records are
never half-written (see the store). Worker processes play batches of games; only the parent
process writes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from games import make_game
from games.registry import game_entry
from selfplay.distributed.processes import quiet_worker, sigterm_interrupts
from selfplay.experts.registry import EXPERTS, Expert
from selfplay.experts.settings import ExpertGamesError, Settings
from selfplay.experts.store import GameStore
from selfplay.gtp.client import DEFAULT_TIMEOUT, resolve_command


def expert_for(game: str) -> Expert:
    """The expert that plays ``game``'s games; ExpertGamesError names those that exist."""
    if game not in EXPERTS:
        raise ExpertGamesError(f"expert games are made for {' or '.join(EXPERTS)}, not {game}")
    return EXPERTS[game]


def expert_settings(game: str, random_plies: int | None = None, depth: int = 0, size: int = 0,
                    komi: float = 0.0, engine: str = "") -> Settings:
    """Settings with the expert's default random opening moves filled in, and the board (the
    game's parameters among size and komi) and the engine checked now (a missing engine is
    one error here, not one in every worker)."""
    plies = expert_for(game).random_plies if random_plies is None else random_plies
    board = {"size": size, "komi": komi}
    make_game(game, **{name: board[name] for name in game_entry(game).params if name in board})
    if engine:
        resolve_command(engine)
    return Settings(game, plies, depth=depth, size=size, komi=float(komi), engine=engine)


def _play_batch(settings: Settings, seed: int, count: int, timeout: float) -> list[tuple[str, object]]:
    """A batch of the expert's games; module-level, so a worker process can be handed it."""
    return EXPERTS[settings.game].play_games(settings, seed, count, timeout)


def generate(settings: Settings, out: str | Path, target: int, workers: int = 1, batch: int | None = None,
             seed: int | None = None, progress: Callable[[int, int], None] | None = None,
             max_batches_without_new: int = 50, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Play games until ``out`` holds ``target`` distinct ones; returns how many were added.
    ``progress(done, target)`` is called after every batch; ``timeout`` bounds each GTP command."""
    expert = expert_for(settings.game)
    settings.check()
    if target < 1:
        raise ExpertGamesError(f"--games must be at least 1, got {target}")
    if workers < 1:
        raise ExpertGamesError(f"--workers must be at least 1, got {workers}")
    if timeout <= 0:
        raise ExpertGamesError(f"--timeout must be positive, got {timeout:g}")
    store = GameStore(out, settings, expert.records)
    return fill_store(store, partial(_play_batch, settings, timeout=timeout), target, workers,
                      batch or expert.batch, seed, progress, max_batches_without_new)


class Stopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped fill_store; what was finished is in the store."""

    def __init__(self, added: int, held: int, what: str):
        super().__init__(f"stopped with {held} {what}s ({added} added); rerun to continue")


def fill_store(store: GameStore, play: Callable[[int, int], list[tuple[str, object]]], target: int,
               workers: int, batch: int, seed: int | None, progress: Callable[[int, int], None] | None = None,
               max_batches_without_new: int = 50, what: str = "game") -> int:
    """Call ``play(seed, count)`` (picklable: it may run in a worker process) for batches of new
    records until ``store`` holds ``target``; returns how many were added. Every expert's games
    and the solver's labelled positions (selfplay.experts.connect4_labels) are made by it."""
    if target < 1:
        raise ExpertGamesError(f"the target must be at least 1 {what}, got {target}")
    if workers < 1:
        raise ExpertGamesError(f"--workers must be at least 1, got {workers}")
    seeds = np.random.SeedSequence(seed if seed is not None else None, spawn_key=(len(store),))
    start = len(store)
    if progress:
        progress(len(store), target)
    fruitless = 0

    def record(results) -> None:
        nonlocal fruitless
        added = store.add(results, target - len(store))
        fruitless = 0 if added else fruitless + 1
        if fruitless >= max_batches_without_new:
            raise ExpertGamesError(f"{max_batches_without_new} batches in a row brought no new {what}: "
                                   "the games are not varied enough (raise the random opening moves)")
        if progress:
            progress(len(store), target)

    try:
        with sigterm_interrupts():
            if workers == 1:
                while len(store) < target:
                    child = seeds.spawn(1)[0]
                    record(play(int(child.generate_state(1)[0]), min(batch, target - len(store))))
            else:
                _fill_in_parallel(store, play, target, workers, batch, seeds, record)
    except KeyboardInterrupt:
        raise Stopped(len(store) - start, len(store), what) from None
    return len(store) - start


def _fill_in_parallel(store: GameStore, play, target: int, workers: int, batch: int,
                      seeds: np.random.SeedSequence, record: Callable) -> None:
    """Batches in worker processes. Never more in flight than are missing (a batch still
    running when the target is reached would be waited for, then thrown away); a batch short of
    new records (duplicates) makes room for another. A stop (Ctrl-C, SIGTERM) cancels the batches
    not started and keeps those that finish."""
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=quiet_worker,
                             initargs=(os.getpid(),)) as pool:
        in_flight: dict[Future, int] = {}
        try:
            while len(store) < target:
                missing = target - len(store) - sum(in_flight.values())
                while missing > 0 and len(in_flight) < 2 * workers:
                    count = min(batch, -(-missing // workers))
                    child = seeds.spawn(1)[0]
                    in_flight[pool.submit(play, int(child.generate_state(1)[0]), count)] = count
                    missing -= count
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    record(future.result())
        except KeyboardInterrupt:
            running = [future for future in in_flight if not future.cancel()]
            for future in wait(running).done:
                if future.exception() is None:
                    record(future.result())
            raise
        finally:
            for future in in_flight:
                future.cancel()
