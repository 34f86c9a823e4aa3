"""The network's view of a Go position: planes from the point of view of the player to move."""

from __future__ import annotations

import numpy as np
from numba import njit

from games.go.board import is_legal_point, is_terminal
from games.go.state import HISTORY, NWORDS, SIZE, TO_PLAY, WIDTH, bits_base


@njit(cache=True)
def encode(state, out):
    """Planes (11, size, size) from the point of view of the player to move, [row, col] with
    row 0 the bottom row: 0/1 own/opponent stones now, 2/3 one move ago, 4/5 two moves ago,
    6/7 three moves ago (empty before the game started), 8 ones when Black is to move,
    9 the legal points (pass is always legal and has no plane), 10 ones (the board's extent,
    so a zero-padded convolution sees the edge)."""
    size = state[SIZE]
    width = state[WIDTH]
    nwords = state[NWORDS]
    bits = bits_base(state)
    me = state[TO_PLAY]
    terminal = is_terminal(state)
    black_to_move = 1.0 if me == 0 else 0.0
    for row in range(size):
        for col in range(size):
            p = (row + 1) * width + col + 1
            word, bit = p >> 6, np.int64(1) << (p & 63)
            for t in range(HISTORY + 1):
                block = bits + 2 * t * nwords + word
                own = state[block + me * nwords] & bit
                other = state[block + (1 - me) * nwords] & bit
                out[2 * t, row, col] = 1.0 if own else 0.0
                out[2 * t + 1, row, col] = 1.0 if other else 0.0
            out[8, row, col] = black_to_move
            out[9, row, col] = 0.0 if terminal else (1.0 if is_legal_point(state, p, me + 1) else 0.0)
            out[10, row, col] = 1.0

