"""Self-play workers as Ray actors (``backend: ray``), for runs that outgrow one machine.

The contract is the local backend's (selfplay.distributed.workers): the learner stays in the driver
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
meanwhile from the buffer and the other actors. Sequence numbers continue from every chunk
name the run has seen (selfplay.run.directory's rule), so a restarted driver (``selfplay train --resume``) never overwrites or repeats a chunk.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

import numpy as np

from selfplay.distributed.ray_cluster import (
    RETRY_SECONDS,
    actor_options,
    actor_setup,
    connect,
    import_ray,
    restarting,
)
from selfplay.errors import UserError
from selfplay.network import PolicyValueNet
from selfplay.training.chunk_player import ChunkPlayer
from selfplay.training.replay import ChunkWriter


def chunk_seed(seed: int, worker: int, sequence: int) -> int:
    """A restarted actor's games must not repeat its first life's: it is seeded by the chunk
    it is about to play, which only ever moves forward."""
    return int(np.random.SeedSequence([seed, worker, sequence]).generate_state(1)[0] % 2**31)


class SelfPlayActor:
    """One self-play worker (run as a Ray actor): the game, a network and a ChunkPlayer whose
    unfinished games stay in this process; ``play`` returns the next chunk of finished games."""

    def __init__(self, run_config, worker_id: int):
        self.config = run_config
        self.worker_id = worker_id
        self.device = actor_setup(run_config.ray)
        self.game = run_config.game.make()
        self.model = PolicyValueNet(self.game.obs_shape, self.game.num_actions, run_config.network).to(self.device)
        self.player = None

    def play(self, version: int, weights: list, seed: int):
        """(GameChunk, SelfPlayStats, seconds in the network). ``weights`` is ``[ObjectRef]``:
        wrapped in a list so Ray hands over the reference and the weights are fetched only when
        ``version`` is new to this actor."""
        import ray
        import torch

        if self.player is None:
            self.player = ChunkPlayer(self.game, self.model, self.device, self.config.selfplay, seed=seed)
        # torch.tensor copies: arrays from the object store are read-only
        self.player.load(version, lambda: {name: torch.tensor(a) for name, a in ray.get(weights[0]).items()})
        return self.player.play(version)


class RaySelfPlayPool:
    """The driver's side: N SelfPlayActor, one task in flight each. ``collect`` writes every
    finished chunk to ``replay_dir`` and resubmits; ``publish`` hands out new weights."""

    def __init__(self, config, replay_dir: str | Path, known_chunks: Iterable[str] = (), log=print):
        self.ray = import_ray()
        self.config = config
        self.replay_dir = Path(replay_dir)
        self.log = log
        self.worker_ids = list(range(1, config.selfplay.workers + 1))  # as the local workers
        known = list(known_chunks)
        self.writers = {w: ChunkWriter(self.replay_dir, w, known) for w in self.worker_ids}
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
        actor_class = self.ray.remote(**actor_options(self.config.ray))(SelfPlayActor)
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
        seed = chunk_seed(self.config.seed, w, self.writers[w].sequence)
        self.pending[self.actors[w].play.remote(self.version, [self.weights], seed)] = w

    def collect(self, wait_seconds: float = 0.0) -> list[Path]:
        """Write the chunks of every finished task (waiting up to ``wait_seconds`` for one) and
        resubmit those actors; returns the paths written."""
        from ray.exceptions import RayActorError
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
            written.append(self.writers[w].write(chunk))
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
        if not restarting(self.ray, error):
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
