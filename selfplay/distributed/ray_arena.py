"""Arena games on Ray actors (``selfplay arena --backend ray``): slices of the schedule played
where the cluster has room, a slice's results coming back together."""

from __future__ import annotations

import time
from typing import Callable, Sequence

from selfplay.distributed.ray_cluster import (
    RETRY_SECONDS,
    RayConfig,
    actor_options,
    actor_setup,
    connect,
    restarting,
)
from selfplay.errors import UserError


class ArenaActor:
    """Plays slices of an arena schedule (run as a Ray actor); a slice's results come back
    together, so an actor that dies loses that slice only, which is then played again."""

    def __init__(self, game, contestants: Sequence, ray_config: RayConfig):
        actor_setup(ray_config)
        self.game = game
        self.contestants = list(contestants)

    def play(self, games: list, seed: int, slice_index: int, batch: int) -> list:
        from selfplay.arena import _play_share
        outcomes = []
        _play_share(self.game, self.contestants, games, seed, slice_index, lambda o: outcomes.append(o) or True, batch)
        return outcomes


def play_arena_on_ray(game, contestants: Sequence, games: Sequence, seed: int, actors: int, batch: int,
                      record: Callable, ray_config: RayConfig) -> None:
    """Split ``games`` into slices of ``batch`` games, play them on ``actors`` ArenaActors and
    pass every outcome to ``record`` as its slice comes back. A slice is seeded by its index,
    so results are a function of the seed and ``batch`` (not of ``actors``)."""
    from games import GameError
    from selfplay.arena import ArenaError
    ray_config.validate()
    ray, started = connect(ray_config)
    from ray.exceptions import RayActorError, RayTaskError
    slices = [list(games[i:i + batch]) for i in range(0, len(games), batch)]
    actor_class = ray.remote(**actor_options(ray_config))(ArenaActor)
    pool = [actor_class.remote(game, list(contestants), ray_config) for _ in range(min(actors, len(slices)))]
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
                    pending[pool[i].play.remote(slices[k], seed, k, batch)] = (i, k)
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
                        if failures_in_a_row[i] >= ray_config.max_failures_in_a_row:
                            raise ArenaError(f"arena actor {i} died {failures_in_a_row[i]} times in a row: "
                                             f"{e}") from None
                    continue
                except RayTaskError as e:
                    cause = getattr(e, "cause", None)
                    if isinstance(cause, (UserError, GameError)):
                        raise ArenaError(f"arena actor: {cause}") from None
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
