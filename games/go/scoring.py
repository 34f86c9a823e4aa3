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
def area_difference(state):
    """Black's area minus White's (Tromp-Taylor): stones, plus empty regions that reach
    stones of one colour only."""
    color = base_of(state, COLOR)
    size = state[SIZE]
    width = state[WIDTH]
    seen = np.zeros(state[AREA], dtype=np.bool_)
    stack = np.empty(size * size, dtype=np.int64)
    diff = 0
    for row in range(size):
        for col in range(size):
            p = (row + 1) * width + col + 1
            c = state[color + p]
            if c == BLACK:
                diff += 1
            elif c == WHITE:
                diff -= 1
            elif not seen[p]:
                seen[p] = True
                stack[0] = p
                top = 1
                region = 0
                reach = 0  # bit 0: reaches Black, bit 1: reaches White
                while top > 0:
                    top -= 1
                    s = stack[top]
                    region += 1
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
                if reach == 1:
                    diff += region
                elif reach == 2:
                    diff -= region
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

