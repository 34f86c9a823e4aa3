"""The Go position as one int64 array: its layout, the Zobrist keys, and the table of every
earlier position's hash that the positional-superko test probes.

State array (int64), a header then sections of the padded board (``width = size + 2``, a
border of BORDER points round the board, ``area = width * width``; point ``p`` of action
``a`` is ``(row + 1) * width + col + 1``):

    header     SIZE, KOMI2 (2 * komi), MAX_MOVES, TO_PLAY (0 Black, 1 White), MOVE_NUMBER,
               PASSES (consecutive), LAST_MOVE (action, -1 at start), CAPTURES + 0/1 (stones
               captured by Black/White), HASH (Zobrist hash of the board alone), NUM_EMPTY,
               TABLE_MASK, WIDTH, AREA, NWORDS
    color      EMPTY / BLACK / WHITE / BORDER per point
    head, next group representative and circular next-stone list per stone
    stones, libs, ghash   per group head: size, pseudo-liberties, XOR of Zobrist keys
    empties, empty_index  the empty points in a list, and each point's index in it (in no
               particular order: the random samplers reorder it, so compare positions by
               board and hash, not by the whole array)
    bits       bitboards over padded points: current Black and White stones, then the same
               for the 3 previous positions (NWORDS words each), for the history planes
    table      hashes of every position so far (0 = free slot), linear probing
"""

from __future__ import annotations

import numpy as np
from numba import njit

MIN_SIZE, MAX_SIZE = 5, 19
EMPTY, BLACK, WHITE, BORDER = 0, 1, 2, 3
HISTORY = 3  # previous positions in the encoded planes
NUM_PLANES = 2 * (HISTORY + 1) + 3

(SIZE, KOMI2, MAX_MOVES, TO_PLAY, MOVE_NUMBER, PASSES, LAST_MOVE, CAPTURES, _CAPTURES_WHITE,
 HASH, NUM_EMPTY, TABLE_MASK, WIDTH, AREA, NWORDS) = range(15)
HEADER = 16
# Sections of AREA entries each, in this order after the header.
COLOR, HEAD, NEXT, STONES, LIBS, GHASH, EMPTIES, EMPTY_INDEX = range(8)
NUM_SECTIONS = 8
PASS_POINT = 0  # padded point 0 is a border point: kernels use it to mean pass

_MAX_AREA = (MAX_SIZE + 2) ** 2
_rng = np.random.default_rng(20240607)
# Zobrist keys by colour (rows BLACK and WHITE used) and padded point, and a nonzero hash of the
# empty board so that 0 can mark a free slot of the position table.
ZOBRIST = _rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=(3, _MAX_AREA), dtype=np.int64)
EMPTY_BOARD_HASH = np.int64(0x2545F4914F6CDD1D)


def table_capacity(max_moves: int) -> int:
    """Slots of the position table: a power of two at least twice the positions a game can reach."""
    capacity = 64
    while capacity < 2 * (max_moves + 2):
        capacity *= 2
    return capacity


# ---- construction ----------------------------------------------------------------------------
# Kernels address the state's sections by base offset: ``color = base_of(state, COLOR)`` then
# ``state[color + p]``. It reads like an array per section and, unlike slicing a view per
# section on every call, costs nothing in the hot loops.
@njit(cache=True)
def base_of(state, section):
    return HEADER + section * state[AREA]


@njit(cache=True)
def bits_base(state):
    """Bitboards: 2 * (HISTORY + 1) blocks of NWORDS words (Black then White, newest first)."""
    return HEADER + NUM_SECTIONS * state[AREA]


@njit(cache=True)
def table_base(state):
    return bits_base(state) + 2 * (HISTORY + 1) * state[NWORDS]


@njit(cache=True)
def new_state(size, komi2, max_moves, capacity):
    """The empty board; ``capacity`` is table_capacity(max_moves)."""
    width = size + 2
    area = width * width
    nwords = (area + 63) // 64
    state = np.zeros(HEADER + NUM_SECTIONS * area + 2 * (HISTORY + 1) * nwords + capacity, dtype=np.int64)
    state[SIZE] = size
    state[KOMI2] = komi2
    state[MAX_MOVES] = max_moves
    state[LAST_MOVE] = -1
    state[TABLE_MASK] = capacity - 1
    state[WIDTH] = width
    state[AREA] = area
    state[NWORDS] = nwords
    color, empties, empty_index = base_of(state, COLOR), base_of(state, EMPTIES), base_of(state, EMPTY_INDEX)
    state[color:color + area] = BORDER
    n = 0
    for row in range(size):
        for col in range(size):
            p = (row + 1) * width + col + 1
            state[color + p] = EMPTY
            state[empties + n] = p
            state[empty_index + p] = n
            n += 1
    state[NUM_EMPTY] = n
    state[HASH] = EMPTY_BOARD_HASH
    table_insert(state, EMPTY_BOARD_HASH)
    return state


@njit(cache=True)
def point_of(state, action):
    """Padded point of a point action (the pass action has none)."""
    size = state[SIZE]
    return (action // size + 1) * state[WIDTH] + action % size + 1


@njit(cache=True)
def action_of(state, p):
    width = state[WIDTH]
    return (p // width - 1) * state[SIZE] + p % width - 1


# ---- the position table (positional superko) -------------------------------------------------
@njit(cache=True)
def table_contains(state, h):
    table = table_base(state)
    mask = state[TABLE_MASK]
    i = h & mask
    while True:
        v = state[table + i]
        if v == h:
            return True
        if v == 0:
            return False
        i = (i + 1) & mask


@njit(cache=True)
def table_insert(state, h):
    table = table_base(state)
    mask = state[TABLE_MASK]
    i = h & mask
    while state[table + i] != 0:
        if state[table + i] == h:
            return
        i = (i + 1) & mask
    state[table + i] = h

