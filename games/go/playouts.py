"""Random play: uniform random games (the speed benchmark, OpenSpiel's random player) and the
classic UCT playout that rollout evaluation uses."""

from __future__ import annotations

import numpy as np
from numba import njit

from games.go.board import is_legal_point, is_terminal, step_point
from games.go.scoring import terminal_value
from games.go.state import (
    BORDER,
    COLOR,
    EMPTIES,
    EMPTY_INDEX,
    NUM_EMPTY,
    PASS_POINT,
    TO_PLAY,
    WIDTH,
    base_of,
)


@njit(cache=True)
def is_eyelike(state, p, me):
    """A point whose four neighbours are own stones or the edge and whose diagonals hold at
    most one enemy stone (none when p is on the edge): filling it is almost always a waste."""
    color = base_of(state, COLOR)
    width = state[WIDTH]
    for q in (p + width, p - 1, p + 1, p - width):
        c = state[color + q]
        if c != me and c != BORDER:
            return False
    them = 3 - me
    enemies = 0
    edge = 0
    for q in (p + width - 1, p + width + 1, p - width - 1, p - width + 1):
        c = state[color + q]
        if c == them:
            enemies += 1
        elif c == BORDER:
            edge = 1
    return enemies + edge < 2


@njit(cache=True)
def sample_point(state, with_pass, skip_eyes):
    """A random move as a padded point (PASS_POINT for pass), by rejection: draw among the
    untried empty points (plus pass when ``with_pass``), test that one, move a rejected point
    past the end of the untried range and draw again. With ``with_pass`` and no eye rule this
    is uniform over the legal actions; without, pass comes only when no point is left."""
    empties, empty_index = base_of(state, EMPTIES), base_of(state, EMPTY_INDEX)
    me = state[TO_PLAY] + 1
    untried = state[NUM_EMPTY]
    while True:
        if with_pass:
            r = np.random.randint(untried + 1)
            if r == untried:
                return PASS_POINT
        else:
            if untried == 0:
                return PASS_POINT
            r = np.random.randint(untried)
        p = state[empties + r]
        if is_legal_point(state, p, me) and not (skip_eyes and is_eyelike(state, p, me)):
            return p
        untried -= 1
        q = state[empties + untried]
        state[empties + r] = q
        state[empty_index + q] = r
        state[empties + untried] = p
        state[empty_index + p] = untried


@njit(cache=True)
def random_game(state):
    """Play uniformly random legal actions (pass included, like a uniform random OpenSpiel
    player) in place until the game ends; returns the number of actions played."""
    moves = 0
    while not is_terminal(state):
        step_point(state, sample_point(state, True, False))
        moves += 1
    return moves


@njit(cache=True)
def rollout(state):
    """Classic UCT playout in place: random legal moves that do not fill the mover's own
    eye-like points, passing only when nothing else is left, until two passes or the cap.
    Returns the outcome for the player who was to move at the start."""
    start = state[TO_PLAY]
    while not is_terminal(state):
        step_point(state, sample_point(state, False, True))
    value = terminal_value(state)
    return value if state[TO_PLAY] == start else -value


@njit(cache=True)
def seed(value):
    np.random.seed(value)

