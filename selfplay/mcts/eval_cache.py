"""A bounded cache of network evaluations, keyed by position, in front of the batched forward.

Self-play reaches the same positions again and again: the openings every game shares, and
transpositions (in Connect Four most positions can be reached by several move orders). A
network is a pure function of its input planes, so an evaluation is keyed by the planes: two
independent 64-bit Zobrist-style hashes (a wrong answer needs both to collide). The planes
decide the network's output but not always the legal moves (Go's superko), so the table keeps
the unmasked logits and each lookup masks them with the leaf's own legal moves.

- Bounded: ``entries`` slots (a power of two, at least WAYS) of numpy arrays, in buckets of
  WAYS slots chosen by the first key; a new evaluation takes an empty slot of its bucket, else
  replaces the bucket's oldest entry. Lookups and inserts are Numba kernels.
- Symmetries folded (``fold=True``): a position and its images under the game's symmetries
  (``Game.symmetry``, when they permute planes and actions) share one entry. The network then
  always evaluates the canonical image (the one with the smallest key) and the policy is mapped
  back, so every orientation gets the same answer whether it hits or not; without the fold the
  answer is exactly the network's on the planes as given.
- Rows of one batch with the same key are evaluated once.
- ``clear()`` empties the table in O(1) (an epoch number): call it when the weights change.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numba import njit

from games import Game

_SEED1, _SEED2 = 0x5DEECE66D, 0x2545F4914F6CDD1D
WAYS = 4  # slots per bucket
MAX_ENTRIES = 1 << 24  # 16M positions: about 1 GB for Connect Four, 6 GB for Go 9x9


@njit(cache=True, inline="always")
def _mix(h):
    """splitmix64's finalizer: every input bit moves every output bit."""
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


@njit(cache=True)
def position_keys(bits, cell_source, zobrist1, zobrist2, key1, key2, symmetry):
    """Keys of each row of ``bits`` (the planes' float32 bit patterns, [n, F]) under its
    canonical symmetry: the image ``s`` (features ``bits[i, cell_source[s]]``) with the smallest
    (key1, key2). Writes key1, key2 and the chosen ``symmetry`` per row."""
    n, features = bits.shape
    for i in range(n):
        best1 = np.uint64(0)
        best2 = np.uint64(0)
        best = -1
        for s in range(cell_source.shape[0]):
            h1 = np.uint64(0)
            h2 = np.uint64(0)
            for j in range(features):
                v = np.uint64(bits[i, cell_source[s, j]])
                h1 += _mix(zobrist1[j] ^ v)
                h2 += _mix(zobrist2[j] ^ v)
            if best < 0 or h1 < best1 or (h1 == best1 and h2 < best2):
                best1, best2, best = h1, h2, s
        key1[i] = best1
        key2[i] = best2
        symmetry[i] = best


@njit(cache=True, inline="always")
def _find(k1, k2, table_key1, table_key2, table_epoch, epoch):
    """The slot holding (k1, k2) in its bucket, or -1."""
    first = (k1 & np.uint64(table_key1.shape[0] // WAYS - 1)) * np.uint64(WAYS)
    for w in range(WAYS):
        slot = first + np.uint64(w)
        if table_epoch[slot] == epoch and table_key1[slot] == k1 and table_key2[slot] == k2:
            return np.int64(slot)
    return np.int64(-1)


@njit(cache=True)
def lookup(key1, key2, symmetry, legal, action_source, table_key1, table_key2, table_epoch, epoch, table_stamp,
           table_logits, table_values, illegal_logit, out_logits, out_values, hit):
    """Answer every row whose key the table holds: its logits mapped back from the canonical
    image (illegal moves set to ``illegal_logit``) and its value; ``hit[i]`` says which rows."""
    hits = 0
    for i in range(key1.shape[0]):
        slot = _find(key1[i], key2[i], table_key1, table_key2, table_epoch, epoch)
        if slot < 0:
            hit[i] = False
            continue
        hit[i] = True
        hits += 1
        _unfold(table_logits[slot], action_source[symmetry[i]], legal[i], illegal_logit, out_logits[i])
        out_values[i] = table_values[slot]
    return hits


@njit(cache=True)
def insert(key1, key2, logits, values, table_key1, table_key2, table_epoch, epoch, table_stamp, table_logits,
           table_values, clock):
    """Store canonical evaluations, each in its bucket: in a slot of an older epoch (empty)
    if there is one, else in place of the bucket's oldest insert. Returns the advanced clock."""
    for u in range(key1.shape[0]):
        first = (key1[u] & np.uint64(table_key1.shape[0] // WAYS - 1)) * np.uint64(WAYS)
        slot = first
        for w in range(WAYS):
            candidate = first + np.uint64(w)
            if table_epoch[candidate] != epoch:
                slot = candidate
                break
            if table_stamp[candidate] < table_stamp[slot]:
                slot = candidate
        clock += 1
        table_key1[slot] = key1[u]
        table_key2[slot] = key2[u]
        table_epoch[slot] = epoch
        table_stamp[slot] = clock
        table_logits[slot] = logits[u]
        table_values[slot] = values[u]
    return clock


@njit(cache=True)
def answer_rows(rows, unique_of_row, symmetry, legal, action_source, logits, values, illegal_logit, out_logits,
                out_values):
    """Fill the rows the network evaluated (``unique_of_row[k]``: which evaluated image row
    ``rows[k]`` shares) from the canonical logits and values."""
    for k in range(rows.shape[0]):
        i = rows[k]
        u = unique_of_row[k]
        _unfold(logits[u], action_source[symmetry[i]], legal[i], illegal_logit, out_logits[i])
        out_values[i] = values[u]


@njit(cache=True, inline="always")
def _unfold(canonical, source, legal, illegal_logit, out):
    for a in range(canonical.shape[0]):
        original = source[a]
        out[original] = canonical[a] if legal[original] else illegal_logit


def symmetry_permutations(game: Game, fold: bool) -> tuple[np.ndarray, np.ndarray]:
    """(cell_source [S, F], action_source [S, A]) of the game's symmetries: image ``s`` of
    flat planes is ``planes[cell_source[s]]``, and its action ``a`` is the original action
    ``action_source[s, a]``. Only the identity without ``fold``, or when a symmetry is not a
    permutation of planes and actions (then folding it is not defined)."""
    features = int(np.prod(game.obs_shape))
    identity = np.arange(features, dtype=np.int64), np.arange(game.num_actions, dtype=np.int64)
    cells, actions = [identity[0]], [identity[1]]
    for k in range(1, game.num_symmetries if fold else 1):
        planes, policy = game.symmetry(k, identity[0].astype(np.float64).reshape(game.obs_shape),
                                       identity[1].astype(np.float64))
        cell = np.asarray(planes).reshape(-1).astype(np.int64)
        action = np.asarray(policy).reshape(-1).astype(np.int64)
        if not (np.array_equal(np.sort(cell), identity[0]) and np.array_equal(np.sort(action), identity[1])):
            return identity[0][None], identity[1][None]
        cells.append(cell)
        actions.append(action)
    return np.stack(cells), np.stack(actions)


def _distinct(key1: np.ndarray, key2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first row of each distinct key pair, which distinct pair each row has): by the first
    key (a 1-D sort), by both only if two rows share a first key but not the second."""
    _, first, inverse = np.unique(key1, return_index=True, return_inverse=True)
    if np.array_equal(key2[first][inverse], key2):
        return first, inverse
    _, first, inverse = np.unique(np.stack([key1, key2], axis=1), axis=0, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


class EvalCache:
    """``entries`` evaluations (rounded up to a power of two) of one network, with hit counts.

    ``evaluate(game, planes, legal, forward)`` answers what the table holds and calls
    ``forward(planes) -> (logits [m, A], values [m])`` (unmasked, float32) once for the rest."""

    def __init__(self, entries: int, num_actions: int, fold: bool = False, illegal_logit: float = -1e9):
        if isinstance(entries, bool) or not isinstance(entries, (int, np.integer)) or entries < 1:
            raise ValueError(f"an evaluation cache needs at least 1 entry, got {entries!r}")
        size = max(1 << max(int(entries) - 1, 0).bit_length(), WAYS)
        self.fold = fold
        self.illegal_logit = np.float32(illegal_logit)
        self.key1 = np.zeros(size, dtype=np.uint64)
        self.key2 = np.zeros(size, dtype=np.uint64)
        self.epoch_of = np.full(size, -1, dtype=np.int64)
        self.stamp = np.zeros(size, dtype=np.int64)   # when each slot was written (the insert clock)
        self.clock = 0
        self.logits = np.zeros((size, num_actions), dtype=np.float32)
        self.values = np.zeros(size, dtype=np.float32)
        self.epoch = 0
        self.lookups = 0   # rows asked for
        self.hits = 0      # rows answered without a forward of their own (table, or a twin in the batch)
        self._game_shape = None

    @property
    def entries(self) -> int:
        return self.key1.shape[0]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.key1, self.key2, self.epoch_of, self.stamp, self.logits,
                                        self.values))

    def clear(self) -> None:
        """Forget every entry (new weights); the counters keep running."""
        self.epoch += 1

    def hit_rate(self) -> float:
        return self.hits / self.lookups if self.lookups else 0.0

    def _prepare(self, game: Game) -> None:
        shape = (game.name, tuple(game.obs_shape), game.num_actions)
        if shape != self._game_shape:
            self.cell_source, self.action_source = symmetry_permutations(game, self.fold)
            features = self.cell_source.shape[1]
            rng = np.random.default_rng(_SEED1)
            self.zobrist1 = rng.integers(0, 2**63, size=features, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            rng = np.random.default_rng(_SEED2)
            self.zobrist2 = rng.integers(0, 2**63, size=features, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
            self._game_shape = shape
            self.clear()

    def evaluate(self, game: Game, planes: np.ndarray, legal: np.ndarray,
                 forward: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Masked logits [n, A] and values [n] of every row, the network asked only for misses."""
        self._prepare(game)
        n = planes.shape[0]
        flat = np.ascontiguousarray(planes, dtype=np.float32).reshape(n, -1)
        legal = np.ascontiguousarray(legal, dtype=np.bool_)
        key1, key2 = np.empty(n, np.uint64), np.empty(n, np.uint64)
        symmetry = np.empty(n, np.int64)
        position_keys(flat.view(np.uint32), self.cell_source, self.zobrist1, self.zobrist2, key1, key2, symmetry)
        out_logits = np.empty(legal.shape, dtype=np.float32)
        out_values = np.empty(n, dtype=np.float32)
        hit = np.empty(n, dtype=np.bool_)
        table = (self.key1, self.key2, self.epoch_of, self.epoch, self.stamp, self.logits, self.values)
        hits = lookup(key1, key2, symmetry, legal, self.action_source, *table, self.illegal_logit, out_logits,
                      out_values, hit)
        self.lookups += n
        rows = np.flatnonzero(~hit)
        if rows.size:
            first, unique_of_row = _distinct(key1[rows], key2[rows])
            unique_rows = rows[first]
            images = np.take_along_axis(flat[unique_rows], self.cell_source[symmetry[unique_rows]], axis=1)
            logits, values = forward(images.reshape(len(unique_rows), *planes.shape[1:]))
            logits = np.ascontiguousarray(logits, dtype=np.float32)
            values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
            self.clock = insert(key1[unique_rows], key2[unique_rows], logits, values, *table, self.clock)
            answer_rows(rows, unique_of_row.reshape(-1).astype(np.int64), symmetry, legal, self.action_source,
                        logits, values, self.illegal_logit, out_logits, out_values)
            hits += rows.size - unique_rows.size
        self.hits += hits
        return out_logits, out_values
