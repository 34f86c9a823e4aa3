"""The replay buffer: a bounded window of the most recent self-play positions, kept on disk as
chunk files in the run directory (the contract between self-play and the learner, as in KataGo).

Self-play (in the learner's process or in worker processes) writes each batch of *finished*
games as one chunk, atomically; the learner ingests chunks it has not seen. A killed run loses
at most the games in progress: every finished game is in a chunk, and chunks are read back on
resume. Planes are stored as uint8 (they are all 0/1), policy targets as float32 visit shares,
value targets as the final result from the point of view of the player to move; in territory
games also KataGo's auxiliary targets: the final owner of each point (int8) and the final score
margin per point, both for the player to move (NaN margin: the game was resigned, no target).
"""

from __future__ import annotations

import zipfile

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from games import Game
from selfplay.atomic import atomic_path
from selfplay.configio import require
from selfplay.errors import UserError
from selfplay.run.directory import chunk_path, list_chunks, next_sequence


@dataclass
class ReplayConfig:
    capacity: int = 100_000        # positions in the window
    min_positions: int = 2_000     # no training before the buffer holds this many
    augment: bool = True           # a random symmetry of the game on every sample

    def validate(self):
        require(self.capacity >= 1, "capacity must be positive")
        require(0 <= self.min_positions <= self.capacity, "min_positions must be between 0 and capacity")


@dataclass
class GameChunk:
    planes: np.ndarray   # uint8 [n, C, H, W]
    policy: np.ndarray   # float32 [n, A], rows sum to 1
    value: np.ndarray    # float32 [n], in [-1, 1]
    games: int           # finished games in the chunk
    model_step: int      # training step of the network that played them
    ownership: np.ndarray | None = None  # int8 [n, H, W] in {-1, 0, 1}, or None (no such target)
    score: np.ndarray | None = None      # float32 [n], NaN where the game has no final board

    def __len__(self):
        return len(self.value)

    def last(self, n: int) -> "GameChunk":
        """The newest ``n`` positions."""
        cut = (lambda a: None if a is None else a[-n:])
        return GameChunk(self.planes[-n:], self.policy[-n:], self.value[-n:], self.games, self.model_step,
                         cut(self.ownership), cut(self.score))

    def repeated(self, counts: np.ndarray) -> "GameChunk":
        """Position ``i`` written ``counts[i]`` times, in order (KataGo's frequency weights)."""
        rep = (lambda a: None if a is None else np.repeat(a, counts, axis=0))
        return GameChunk(rep(self.planes), rep(self.policy), rep(self.value), self.games, self.model_step,
                         rep(self.ownership), rep(self.score))


def write_chunk(directory: str | Path, worker: int, sequence: int, chunk: GameChunk) -> Path:
    path = chunk_path(directory, worker, sequence)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            auxiliary = {} if chunk.ownership is None else {"ownership": chunk.ownership, "score": chunk.score}
            np.savez(f, planes=chunk.planes, policy=chunk.policy, value=chunk.value,
                     games=np.int64(chunk.games), model_step=np.int64(chunk.model_step), **auxiliary)
    return path


# What a damaged .npz raises when read: a truncated or empty file (BadZipFile, EOFError), a
# flipped bit (BadZipFile "Bad CRC-32"), a missing or garbled array (KeyError, ValueError).
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def read_chunk(path: str | Path) -> GameChunk:
    try:
        with np.load(path, allow_pickle=False) as data:
            auxiliary = (data["ownership"], data["score"]) if "ownership" in data.files else (None, None)
            chunk = GameChunk(data["planes"], data["policy"], data["value"],
                              int(data["games"]), int(data["model_step"]), *auxiliary)
    except UNREADABLE as e:
        raise UserError(f"replay chunk {path} is unreadable: {e}") from None
    lengths = {len(a) for a in (chunk.planes, chunk.policy, chunk.value, chunk.ownership, chunk.score) if a is not None}
    if len(lengths) > 1:
        raise UserError(f"replay chunk {path} has arrays of different lengths")
    return chunk


class ChunkWriter:
    """One writer's chunks, numbered by the run directory's sequence rule: it continues past
    every chunk name of this writer the run has seen (``known_names``: a buffer's ingested ones)."""

    def __init__(self, directory: str | Path, writer: int, known_names=()):
        self.directory = Path(directory)
        self.writer = writer
        self.sequence = next_sequence(self.directory, writer, known_names)

    def write(self, chunk: GameChunk) -> Path:
        path = write_chunk(self.directory, self.writer, self.sequence, chunk)
        self.sequence += 1
        return path


class ReplayBuffer:
    """The newest ``capacity`` positions, ingested chunk by chunk, sampled uniformly. With
    ``auxiliary``, it also keeps the ownership and score targets (a chunk without them, such as
    an expert game's, gets none: NaN scores) and samples them too."""

    def __init__(self, game: Game, config: ReplayConfig, directory: str | Path, auxiliary: bool = False):
        self.game = game
        self.config = config
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        c, h, w = game.obs_shape
        self.planes = np.zeros((config.capacity, c, h, w), dtype=np.uint8)
        self.policy = np.zeros((config.capacity, game.num_actions), dtype=np.float32)
        self.value = np.zeros(config.capacity, dtype=np.float32)
        self.ownership = np.zeros((config.capacity, h, w), dtype=np.int8) if auxiliary else None
        self.score = np.full(config.capacity, np.nan, dtype=np.float32) if auxiliary else None
        self.size = 0
        self.cursor = 0            # next slot to write (ring)
        self.ingested: set[str] = set()
        self.counted: set[str] = set()  # chunks already in the counters of a restored state
        self.games = 0
        self.positions_total = 0   # every position ever ingested

    def state_dict(self) -> dict:
        """What a checkpoint records of the buffer: the contents are the chunk files themselves."""
        return {"ingested": sorted(self.ingested), "games": self.games, "positions_total": self.positions_total}

    def load_state_dict(self, state: dict) -> None:
        """Restore the counters of a checkpoint; the next ``ingest_new`` reads the window back
        from disk (chunks written after the checkpoint, by a run killed later, included)."""
        self.games = int(state["games"])
        self.positions_total = int(state["positions_total"])
        self.counted = set(state["ingested"])

    def seen_chunks(self) -> set[str]:
        """Names of every chunk read or counted (some pruned from disk since): the sequence rule's input."""
        return self.ingested | self.counted

    def ingest_new(self, on_bad=None) -> int:
        """Read every chunk on disk not read yet; returns the number of new positions. An
        unreadable chunk (a disk fault; writes are atomic) is reported and skipped."""
        added = 0
        for path in list_chunks(self.directory):
            if path.name in self.ingested:
                continue
            self.ingested.add(path.name)
            try:
                chunk = read_chunk(path)
            except UserError as e:
                if on_bad is not None:
                    on_bad(path, e)
                continue
            self.add(chunk, count=path.name not in self.counted)
            added += len(chunk)
        return added

    def add(self, chunk: GameChunk, count: bool = True) -> None:
        n = original = len(chunk)
        if n > self.config.capacity:  # only the newest positions fit
            chunk = chunk.last(self.config.capacity)
            n = len(chunk)
        idx = (self.cursor + np.arange(n)) % self.config.capacity
        self.planes[idx] = chunk.planes
        self.policy[idx] = chunk.policy
        self.value[idx] = chunk.value
        if self.ownership is not None:
            known = chunk.ownership is not None
            self.ownership[idx] = chunk.ownership if known else 0
            self.score[idx] = chunk.score if known else np.nan
        self.cursor = int((self.cursor + n) % self.config.capacity)
        self.size = min(self.size + n, self.config.capacity)
        if count:
            self.games += chunk.games
            self.positions_total += original

    def prune_disk(self) -> None:
        """Delete chunk files whose positions have all left the window (newest kept)."""
        kept = 0
        for path in reversed(list_chunks(self.directory)):
            if kept >= self.config.capacity and path.name in self.ingested:
                path.unlink(missing_ok=True)
                continue
            try:
                with np.load(path, allow_pickle=False) as data:
                    kept += len(data["value"])
            except UNREADABLE:
                continue

    def ready(self) -> bool:
        return self.size >= max(1, self.config.min_positions)

    def sample(self, batch_size: int, rng: np.random.Generator):
        """(planes float32 [B, C, H, W], policy [B, A], value [B]), each with a random symmetry;
        with auxiliary targets, also (ownership float32 [B, H, W], score [B]) after them."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        planes = self.planes[idx].astype(np.float32)
        if self.ownership is not None:  # one more plane, so that it turns with the board
            planes = np.concatenate([planes, self.ownership[idx, None].astype(np.float32)], axis=1)
        policy = self.policy[idx].copy()
        value = self.value[idx].copy()
        if self.config.augment and self.game.num_symmetries > 1:
            ks = rng.integers(0, self.game.num_symmetries, size=batch_size)
            for k in np.unique(ks):
                if k == 0:
                    continue
                rows = ks == k
                planes[rows], policy[rows] = self.game.symmetry(int(k), planes[rows], policy[rows])
        if self.ownership is None:
            return planes, policy, value
        return np.ascontiguousarray(planes[:, :-1]), policy, value, planes[:, -1].copy(), self.score[idx].copy()
