"""Games on Ray actors (``selfplay arena --backend ray``), an executor as in
selfplay/distributed/processes.py: slices of the schedule played where the cluster has room,
a slice's outcomes coming back together."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from games import GameError
from selfplay.distributed.processes import PlayShare, WorkerError
from selfplay.distributed.ray_cluster import (
    RETRY_SECONDS,
    RayConfig,
    actor_options,
    actor_setup,
    connect,
    restarting,
)
from selfplay.errors import UserError


class GamesActor:
    """Plays slices of a schedule (run as a Ray actor); a slice's outcomes come back together,
    so an actor that dies loses that slice only, which is then played again."""

    def __init__(self, ray_config: RayConfig):
        actor_setup(ray_config)

    def play(self, play: PlayShare, games: list, slice_index: int) -> list:
        outcomes: list = []
        play(games, slice_index, lambda o: outcomes.append(o) or True)
        return outcomes


class RayActors:
    """Slices of ``slice_size`` games played on up to ``actors`` GamesActors; slice ``k`` is share
    ``k``, so results are a function of the seed and the slice size (not of ``actors``)."""

    def __init__(self, actors: int, slice_size: int, ray_config: RayConfig):
        if actors < 1 or slice_size < 1:
            raise WorkerError(f"Ray actors and their slices need at least 1, got {actors} and {slice_size}")
        self.actors = actors
        self.slice_size = slice_size
        self.ray_config = ray_config

    def __call__(self, play: PlayShare, games: Sequence, record: Callable[[Any], Any]) -> None:
        config = self.ray_config
        config.validate()
        ray, started = connect(config)
        from ray.exceptions import RayActorError, RayTaskError
        slices = [list(games[i:i + self.slice_size]) for i in range(0, len(games), self.slice_size)]
        actor_class = ray.remote(**actor_options(config))(GamesActor)
        pool = [actor_class.remote(config) for _ in range(min(self.actors, len(slices)))]
        todo = list(reversed(range(len(slices))))
        free_at = {i: 0.0 for i in range(len(pool))}  # idle actors: when each may take a slice
        failures_in_a_row = {i: 0 for i in range(len(pool))}
        pending: dict = {}  # ObjectRef -> (actor index, slice index)
        try:
            while todo or pending:
                for i in sorted(free_at):
                    if todo and free_at[i] <= time.monotonic():
                        del free_at[i]
                        k = todo.pop()
                        pending[pool[i].play.remote(play, slices[k], k)] = (i, k)
                if not pending:  # every idle actor is restarting
                    time.sleep(RETRY_SECONDS / 4)
                    continue
                done, _ = ray.wait(list(pending), num_returns=1, timeout=RETRY_SECONDS)
                for ref in done:
                    i, k = pending.pop(ref)
                    try:
                        outcomes = ray.get(ref)
                    except RayActorError as e:
                        todo.append(k)  # played again from its start: nothing of it was recorded
                        free_at[i] = time.monotonic() + RETRY_SECONDS
                        if not restarting(ray, e):
                            failures_in_a_row[i] += 1
                            if failures_in_a_row[i] >= config.max_failures_in_a_row:
                                raise WorkerError(f"games actor {i} died {failures_in_a_row[i]} times in a row: "
                                                  f"{e}") from None
                        continue
                    except RayTaskError as e:
                        cause = getattr(e, "cause", None)
                        if isinstance(cause, (UserError, GameError)):
                            raise WorkerError(f"games actor: {cause}") from None
                        raise
                    failures_in_a_row[i] = 0
                    free_at[i] = 0.0
                    for outcome in outcomes:
                        record(outcome)
        finally:
            for actor in pool:
                ray.kill(actor, no_restart=True)
            if started:
                ray.shutdown()
