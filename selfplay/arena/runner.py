"""The arena: matches between any players (specs such as ``random``, ``mcts:sims=200``,
``net:runs/c4``) over a schedule, each finished game saved, appended to a results file and
reported before the next.

Games in flight: each share of the schedule is played up to ``batch`` games at once in
lock-step (selfplay.arena.lockstep); the executor passed in decides where the shares are
played (this process, local worker processes, Ray actors: selfplay.distributed).

Determinism: players are seeded from (seed, share, player[, slot]) by adding ``seed=N`` to
specs that accept it, and every share is played in order; the results are a function of the
seed, ``batch`` and how the executor cuts the schedule into shares (``parallel`` local
processes: share ``w`` is every ``parallel``-th game; Ray: slices of ``batch`` games).
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from games import Game
from selfplay.arena.errors import ArenaError
from selfplay.arena.lockstep import Outcome, SpecLineup, build_player, play_games
from selfplay.arena.results import GameResult, ResultsWriter
from selfplay.arena.saving import GameSaver
from selfplay.arena.schedule import Contestant, ScheduledGame, with_openings
from selfplay.distributed.processes import Executor, LocalProcesses, in_this_process
from selfplay.players import Player, parse_spec


def check_contestants(contestants: Sequence[Contestant], game: Game) -> None:
    """Clear errors before any game: too few players, repeated names, specs that do not build."""
    if len(contestants) < 2:
        raise ArenaError(f"an arena needs at least two players, got {len(contestants)}")
    names = [c.name for c in contestants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ArenaError(f"player {repeated[0]!r} is named twice; give each player once "
                         "(add an option such as seed=2 to tell two copies apart)")
    for c in contestants:
        if parse_spec(c.spec)[0] == "human":
            continue
        p = build_player(c.spec, game, seed=0)  # raises a PlayerSpecError naming what is wrong
        close = getattr(p, "close", None)
        if callable(close):
            close()


def run_arena(game: Game, contestants: Sequence[Contestant], games: Sequence[ScheduledGame], *,
              parallel: int = 1, batch: int = 16, seed: int | None = None, executor: Executor | None = None,
              results_path: str | Path | None = None,
              save_dir: str | Path | None = None, on_result: Callable[[GameResult], None] | None = None,
              context: dict | None = None, wrap_human: Callable[[Player], Player] | None = None,
              check: bool = True, opening_plies: int = 0) -> list[GameResult]:
    """Play the scheduled games and return their results in the order they finished.

    Each finished game is saved (``save_dir``), appended to ``results_path`` and passed to
    ``on_result`` before the next is reported, so an interrupted arena keeps every finished
    game. ``executor`` plays the shares of the schedule, each up to ``batch`` games at once; by
    default ``parallel`` local processes (this one when 1). A human among the contestants plays
    in this process, one game at a time (``context`` then carries its read_line/write functions
    and ``wrap_human`` may adapt it). ``opening_plies`` random moves open every game, each
    opening played with both colours.
    """
    if parallel < 1:
        raise ArenaError(f"--parallel must be at least 1, got {parallel}")
    if batch < 1:
        raise ArenaError(f"--batch must be at least 1, got {batch}")
    if check:
        check_contestants(contestants, game)
    human = any(parse_spec(c.spec)[0] == "human" for c in contestants)
    if human and executor is not None:
        raise ArenaError("a human plays at this terminal: the games are played in this process, not by an executor")
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    games = with_openings(game, games, opening_plies, seed)
    if human:
        lineup = SpecLineup(game, tuple(contestants), context, wrap_human)
        executor, batch = in_this_process, 1
    else:
        lineup = SpecLineup(game, tuple(contestants))
        executor = executor or LocalProcesses(parallel)
    label = game.label()
    saver = GameSaver(save_dir, game) if save_dir else None  # before the results file: a bad folder writes nothing
    writer = ResultsWriter(results_path) if results_path else None
    games_by_index = {g.index: g for g in games}
    done: list[GameResult] = []

    def record(outcome: Outcome) -> None:
        g = games_by_index[outcome.index]
        first, second = contestants[g.first].name, contestants[g.second].name
        path = saver.save(outcome.actions, first, second, outcome.final_state, outcome.resigned) if saver else ""
        result = GameResult(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), label, first, second,
                            outcome.result, len(outcome.actions), str(path))
        if writer:
            writer.append(result)
        done.append(result)
        if on_result:
            on_result(result)

    try:
        executor(partial(play_games, game, lineup, seed=seed, batch=batch), games, record)
    finally:
        if writer:
            writer.close()
    return done
