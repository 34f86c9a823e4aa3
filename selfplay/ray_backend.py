"""Self-play workers and arena games as Ray actors (``backend: ray``), for runs that outgrow
one machine. The only module that imports Ray, and only inside functions: a local run never
loads it, and a missing Ray is one clear error saying how to install it.

The contract is the local backend's (selfplay/workers.py): the learner stays in the driver
process, self-play actors play ``selfplay.parallel_games`` games at a time and send back only
*finished* games as a GameChunk, and the driver writes each chunk into the run's replay folder
(atomically, as ``chunk-W-S.npz`` with worker ids 1..N), where the learner ingests it as usual.
Weights reach the actors by version through Ray's object store: the driver puts a new copy at
every checkpoint and each actor fetches it only when the version changed.

Fault tolerance follows from that shape. An actor that dies (its process or its machine) is
restarted by Ray (``ray.max_restarts``); its task in flight fails, and since a task returns
whole chunks only, the games it was playing are simply lost, never half-written. The driver
logs the failure and submits a new task once Ray has the actor back (``max_task_retries=0``:
Ray itself never replays a task, so a game cannot be recorded twice), and the learner trains on
meanwhile from the buffer and the other actors. Sequence numbers continue from every chunk name the run has seen, so a
restarted driver (``selfplay train --resume``) never overwrites or repeats a chunk.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from selfplay.configio import require
from selfplay.errors import UserError

INSTALL_HINT = ("backend: ray needs Ray, which is not installed here: "
                "pip install 'selfplay[ray]' (or 'ray[client]>=2.9')")
RETRY_SECONDS = 1.0  # a failed actor is asked again this much later (Ray may still be restarting it)
ADDRESS = re.compile(r"^(auto|local|ray://[^\s:/]+:\d+|[^\s:/]+:\d+)$")


@dataclass
class RayConfig:
    """Where the Ray cluster is and what each actor asks of it."""
    address: str = "auto"            # auto: the cluster this machine joined (ray start); ray://host:port
                                     # (Ray Client); host:port (the head's GCS); local: a private one here
    num_cpus_per_actor: float = 1.0  # Ray resources of one self-play or arena actor
    num_gpus_per_actor: float = 0.0  # > 0: the actor's network runs on its (share of a) GPU
    max_restarts: int = -1           # Ray restarts a dead actor this many times; -1 = always
    max_failures_in_a_row: int = 3   # an actor failing this often without a finished chunk stops the run

    def validate(self):
        require(bool(ADDRESS.match(self.address)),
                f"address {self.address!r} is not auto, local, ray://host:port or host:port")
        require(self.num_cpus_per_actor >= 0 and self.num_gpus_per_actor >= 0,
                "num_cpus_per_actor and num_gpus_per_actor must be 0 or more")
        require(self.num_cpus_per_actor > 0 or self.num_gpus_per_actor > 0,
                "an actor needs some CPU or GPU: num_cpus_per_actor or num_gpus_per_actor must be positive")
        require(self.max_restarts >= -1, "max_restarts must be -1 (always) or 0 or more")
        require(self.max_failures_in_a_row >= 1, "max_failures_in_a_row must be positive")


def import_ray():
    """The ``ray`` module, or a UserError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


def connect(config: RayConfig):
    """Join (or, for ``local``, start) the cluster unless this process already has; returns
    (ray, whether this call connected, so that the caller shuts down only what it started)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    main_thread = threading.current_thread() is threading.main_thread()
    sigterm = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        if config.address == "local":
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1")  # loopback only
        else:
            ray.init(address=config.address)
    except (ConnectionError, RuntimeError, ValueError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"cannot reach the Ray cluster at ray.address={config.address}: {reason} "
                        "(start one with `ray start --head`, or set ray.address=local for a private "
                        "one on this machine)") from None
    finally:
        if sigterm is not None:  # ray.init makes SIGTERM exit at once; the trainer's handler checkpoints first
            signal.signal(signal.SIGTERM, sigterm)
    return ray, True


def _actor_options(config: RayConfig) -> dict:
    return {"num_cpus": config.num_cpus_per_actor, "num_gpus": config.num_gpus_per_actor,
            "max_restarts": config.max_restarts, "max_task_retries": 0}


def _actor_setup(config: RayConfig) -> str:
    """Torch threads to match the CPUs the actor was given; the device it computes on."""
    import torch
    torch.set_num_threads(max(1, round(config.num_cpus_per_actor)))
    return "cuda" if config.num_gpus_per_actor > 0 else "cpu"


def _restarting(ray, error: Exception) -> bool:
    """Ray is restarting the actor (it turns tasks away meanwhile): not a failure to count.
    Older Ray releases have no such error class and raise ActorDiedError for both."""
    return isinstance(error, getattr(ray.exceptions, "ActorUnavailableError", ()))


def chunk_seed(seed: int, worker: int, sequence: int) -> int:
    """A restarted actor's games must not repeat its first life's: it is seeded by the chunk
    it is about to play, which only ever moves forward."""
    return int(np.random.SeedSequence([seed, worker, sequence]).generate_state(1)[0] % 2**31)


class SelfPlayActor:
    """One self-play worker (run as a Ray actor): the game, a network and a SelfPlay whose
    unfinished games stay in this process; ``play`` returns the next chunk of finished games."""

    def __init__(self, run_config, worker_id: int):
        from selfplay.network import PolicyValueNet
        self.config = run_config
        self.worker_id = worker_id
        self.device = _actor_setup(run_config.ray)
        self.game = run_config.game.make()
        self.model = PolicyValueNet(self.game.obs_shape, self.game.num_actions, run_config.network).to(self.device)
        self.version: int | None = None
        self.selfplay = None

    def play(self, version: int, weights: list, seed: int):
        """(GameChunk, SelfPlayStats, seconds in the network). ``weights`` is ``[ObjectRef]``:
        wrapped in a list so Ray hands over the reference and the weights are fetched only when
        ``version`` is new to this actor."""
        import ray
        import torch

        from selfplay.network import NetworkEvaluator
        from selfplay.selfplay import SelfPlay
        if version != self.version:
            arrays = ray.get(weights[0])
            # torch.tensor copies: arrays from the object store are read-only
            self.model.load_state_dict({name: torch.tensor(a) for name, a in arrays.items()})
            self.version = version
        if self.selfplay is None:
            self.evaluator = NetworkEvaluator(self.model, self.device)
            self.selfplay = SelfPlay(self.game, self.evaluator, self.config.selfplay, seed=seed)
        self.model.eval()
        forward_before = self.evaluator.forward_seconds
        chunk, stats = self.selfplay.play(self.config.selfplay.parallel_games)
        chunk.model_step = version
        return chunk, stats, self.evaluator.forward_seconds - forward_before


def next_sequences(known_names: Iterable[str], workers: Iterable[int]) -> dict[int, int]:
    """For each worker id, one past the highest sequence in any chunk name the run has seen."""
    from selfplay.replay import CHUNK_NAME
    next_of = {w: 0 for w in workers}
    for name in known_names:
        m = CHUNK_NAME.match(name)
        if m and int(m.group(1)) in next_of:
            w = int(m.group(1))
            next_of[w] = max(next_of[w], int(m.group(2)) + 1)
    return next_of


class RaySelfPlayPool:
    """The driver's side: N SelfPlayActor, one task in flight each. ``collect`` writes every
    finished chunk to ``replay_dir`` and resubmits; ``publish`` hands out new weights."""

    def __init__(self, config, replay_dir: str | Path, known_chunks: Iterable[str] = (), log=print):
        self.ray = import_ray()
        self.config = config
        self.replay_dir = Path(replay_dir)
        self.log = log
        self.worker_ids = list(range(1, config.selfplay.workers + 1))  # as the local workers
        on_disk = [p.name for p in self.replay_dir.glob("chunk-*.npz")]
        self.sequence = next_sequences([*known_chunks, *on_disk], self.worker_ids)
        self.actors: dict[int, object] = {}
        self.pending: dict[object, int] = {}   # ObjectRef of a play task -> worker id
        self.retry_at: dict[int, float] = {}   # worker id -> when to resubmit after a failure
        self.down: set[int] = set()             # workers failed since their last chunk
        self.failures_in_a_row = {w: 0 for w in self.worker_ids}
        self.failures = 0                       # deaths seen
        self.written = {w: 0 for w in self.worker_ids}   # chunks written by this pool, per worker
        self.version = -1
        self.weights = None
        self.started_ray = False
        self.stopping = False

    def start(self, version: int, model) -> None:
        _, self.started_ray = connect(self.config.ray)
        self.publish(version, model)
        actor_class = self.ray.remote(**_actor_options(self.config.ray))(SelfPlayActor)
        for w in self.worker_ids:
            self.actors[w] = actor_class.remote(self.config, w)
            self._submit(w)

    def publish(self, version: int, model) -> None:
        """Put the model's weights in the object store; tasks submitted from now on use them."""
        arrays = {name: t.detach().cpu().numpy() for name, t in model.state_dict().items()}
        self.weights = self.ray.put(arrays)
        self.version = version

    def _submit(self, w: int) -> None:
        if self.stopping:
            return
        seed = chunk_seed(self.config.seed, w, self.sequence[w])
        self.pending[self.actors[w].play.remote(self.version, [self.weights], seed)] = w

    def collect(self, wait_seconds: float = 0.0) -> list[Path]:
        """Write the chunks of every finished task (waiting up to ``wait_seconds`` for one) and
        resubmit those actors; returns the paths written."""
        from ray.exceptions import RayActorError

        from selfplay.replay import write_chunk
        now = time.monotonic()
        for w in [w for w, due in self.retry_at.items() if due <= now]:
            del self.retry_at[w]
            self._submit(w)
        refs = list(self.pending)
        if wait_seconds > 0:
            if refs:
                self.ray.wait(refs, num_returns=1, timeout=wait_seconds)
            else:  # every actor is restarting
                time.sleep(wait_seconds)
        if not refs:
            return []
        ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        written = []
        for ref in ready:
            w = self.pending.pop(ref)
            try:
                chunk, _stats, _forward = self.ray.get(ref)
            except RayActorError as e:
                self._actor_failed(w, e)
                continue
            written.append(write_chunk(self.replay_dir, w, self.sequence[w], chunk))
            self.sequence[w] += 1
            self.written[w] += 1
            self.down.discard(w)
            self.failures_in_a_row[w] = 0
            self._submit(w)
        return written

    def _actor_failed(self, w: int, error: Exception) -> None:
        """The task's games are gone (a task returns whole chunks only). Ask the actor again
        a little later: while Ray restarts it, it refuses tasks (ActorUnavailableError); an
        actor that stays dead (ActorDiedError again and again) stops the run."""
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if w not in self.down:
            self.down.add(w)
            self.failures += 1
            self.log(f"self-play actor {w} died; its unfinished games are discarded and its task "
                     f"will be resubmitted ({reason})")
        if not _restarting(self.ray, error):
            self.failures_in_a_row[w] += 1
            if self.failures_in_a_row[w] >= self.config.ray.max_failures_in_a_row:
                raise UserError(f"self-play actor {w} died {self.failures_in_a_row[w]} times in a row without "
                                f"finishing a game (ray.max_restarts={self.config.ray.max_restarts}); "
                                f"see the Ray logs (/tmp/ray/session_latest/logs on its machine): {reason}")
        self.retry_at[w] = time.monotonic() + RETRY_SECONDS

    def stop(self) -> None:
        """Keep what is already finished, then end the actors (games in progress are dropped,
        as when local workers stop) and leave the cluster if this pool joined it."""
        self.stopping = True
        try:
            self.collect()
        except UserError:
            pass  # an actor that keeps dying: reported already, and the run is ending anyway
        finally:
            for actor in self.actors.values():
                self.ray.kill(actor, no_restart=True)
            self.actors, self.pending, self.retry_at = {}, {}, {}
            if self.started_ray:
                self.ray.shutdown()
                self.started_ray = False


# ---- arena games ---------------------------------------------------------------------------------
class ArenaActor:
    """Plays slices of an arena schedule (run as a Ray actor); a slice's results come back
    together, so an actor that dies loses that slice only, which is then played again."""

    def __init__(self, game, contestants: Sequence, ray_config: RayConfig):
        _actor_setup(ray_config)
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
    actor_class = ray.remote(**_actor_options(ray_config))(ArenaActor)
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
                    if not _restarting(ray, e):
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
