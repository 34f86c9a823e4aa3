"""Area (Tromp-Taylor) scoring with komi, and the outcome of a finished game."""

from __future__ import annotations

import numpy as np
from numba import njit

from games.go.state import (
    AREA,
    BLACK,
    COLOR,
    EMPTY,
    KOMI2,
    SIZE,
    TO_PLAY,
    WHITE,
    WIDTH,
    base_of,
)


@njit(cache=True)
def area_ownership(state, out):
    """out[row, col] = +1 where the point is Black's area, -1 White's, 0 neither (Tromp-Taylor:
    a stone is its owner's; an empty region is the area of the one colour it reaches, and
    nobody's when it reaches both or none). Row 0 is the bottom row, as in the planes."""
    color = base_of(state, COLOR)
    size = state[SIZE]
    width = state[WIDTH]
    seen = np.zeros(state[AREA], dtype=np.bool_)
    stack = np.empty(size * size, dtype=np.int64)
    region = np.empty(size * size, dtype=np.int64)
    for row in range(size):
        for col in range(size):
            p = (row + 1) * width + col + 1
            c = state[color + p]
            if c == BLACK:
                out[row, col] = 1
            elif c == WHITE:
                out[row, col] = -1
            elif not seen[p]:
                seen[p] = True
                stack[0] = p
                top = 1
                count = 0
                reach = 0  # bit 0: reaches Black, bit 1: reaches White
                while top > 0:
                    top -= 1
                    s = stack[top]
                    region[count] = s
                    count += 1
                    for q in (s + width, s - 1, s + 1, s - width):
                        cq = state[color + q]
                        if cq == EMPTY:
                            if not seen[q]:
                                seen[q] = True
                                stack[top] = q
                                top += 1
                        elif cq == BLACK:
                            reach |= 1
                        elif cq == WHITE:
                            reach |= 2
                owner = 1 if reach == 1 else (-1 if reach == 2 else 0)
                for k in range(count):
                    out[region[k] // width - 1, region[k] % width - 1] = owner


@njit(cache=True)
def area_difference(state):
    """Black's area minus White's (Tromp-Taylor): stones, plus empty regions that reach
    stones of one colour only."""
    size = state[SIZE]
    owners = np.zeros((size, size), dtype=np.int8)
    area_ownership(state, owners)
    diff = 0
    for row in range(size):
        for col in range(size):
            diff += owners[row, col]
    return diff


@njit(cache=True)
def score2(state):
    """Twice Black's score minus White's, komi included: > 0 Black wins, < 0 White, 0 a draw."""
    return 2 * area_difference(state) - state[KOMI2]


@njit(cache=True)
def terminal_value(state):
    s = score2(state)
    black = 1.0 if s > 0 else (-1.0 if s < 0 else 0.0)
    return black if state[TO_PLAY] == 0 else -black

