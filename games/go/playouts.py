"""Random play: uniform random games (the speed benchmark, OpenSpiel's random player) and the
classic UCT playout that rollout evaluation uses (``rollout``: light moves under simple ko;
``full_rollout``, the same playout under the full rules, is its reference)."""

from __future__ import annotations

import numpy as np
from numba import njit

from games.go.board import (
    is_legal_point,
    is_terminal,
    light_play_stone,
    light_step,
    step_point,
)
from games.go.scoring import area_difference, terminal_value
from games.go.state import (
    BLACK,
    BORDER,
    CAPTURES,
    COLOR,
    EMPTIES,
    EMPTY,
    EMPTY_INDEX,
    HEAD,
    KOMI2,
    LAST_MOVE,
    LIBS,
    MAX_MOVES,
    MOVE_NUMBER,
    NEXT,
    NUM_EMPTY,
    PASS_POINT,
    PASSES,
    SIZE,
    STONES,
    TO_PLAY,
    WHITE,
    WIDTH,
    action_of,
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


@njit(cache=True, inline="always")
def _set_aside(state, empties, empty_index, r, last):
    """Swap the rejected draw at index r of the empty list with the one at ``last``, the end of
    the untried range, keeping each point's index in step: the samplers' rejection step."""
    p, q = state[empties + r], state[empties + last]
    state[empties + r] = q
    state[empty_index + q] = r
    state[empties + last] = p
    state[empty_index + p] = last


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
        _set_aside(state, empties, empty_index, r, untried)


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
def _light_playable(state, color, head, libs, width, p, me):
    """Whether colour ``me`` may play the empty point p in a playout, the simple-ko point aside:
    not suicide and not one of its own eye-like points (is_eyelike). A point with an empty
    neighbour is both at once; otherwise pseudo-liberties decide in O(1), as in hash_after."""
    q0, q1, q2, q3 = p + width, p - 1, p + 1, p - width
    c0, c1, c2, c3 = state[color + q0], state[color + q1], state[color + q2], state[color + q3]
    if c0 == EMPTY or c1 == EMPTY or c2 == EMPTY or c3 == EMPTY:
        return True
    them = 3 - me
    if c0 != them and c1 != them and c2 != them and c3 != them and is_eyelike(state, p, me):
        return False
    # Every neighbour is a stone or the edge: legal iff an own neighbouring group keeps a
    # liberty or an enemy one is captured. Distinct negative stand-ins for the edge.
    g0 = state[head + q0] if c0 != BORDER else -1
    g1 = state[head + q1] if c1 != BORDER else -2
    g2 = state[head + q2] if c2 != BORDER else -3
    g3 = state[head + q3] if c3 != BORDER else -4
    for d in range(4):
        if d == 0:
            c, g = c0, g0
        elif d == 1:
            c, g = c1, g1
        elif d == 2:
            c, g = c2, g2
        else:
            c, g = c3, g3
        if c == BORDER:
            continue
        adj = (g0 == g) + (g1 == g) + (g2 == g) + (g3 == g)
        if c == me:
            if state[libs + g] > adj:
                return True
        elif state[libs + g] == adj:
            return True
    return False


@njit(cache=True, inline="always")
def _next_random(x):
    """One step of xorshift64* (x nonzero): (new generator state, 32 random bits)."""
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    return x, (x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(32)


@njit(cache=True, inline="always")
def _sample_light(state, color, head, libs, empties, empty_index, width, me, ko, x):
    """sample_point(state, False, True) under simple ko and with the playout's own generator:
    a random empty point that is legal but for positional superko, not the ko point and not
    one of the mover's eye-like points, drawn by the same rejection, or PASS_POINT when none
    is left; returns (point, generator state)."""
    untried = state[NUM_EMPTY]
    while untried > 0:
        x, bits = _next_random(x)
        r = np.int64((bits * np.uint64(untried)) >> np.uint64(32))  # uniform up to 2^-32 * untried
        p = state[empties + r]
        if p != ko and _light_playable(state, color, head, libs, width, p, me):
            return p, x
        untried -= 1
        _set_aside(state, empties, empty_index, r, untried)
    return PASS_POINT, x


@njit(cache=True)
def sample_light(state, ko, x):
    """One draw of the light playout, for tests: (point, generator state) from _sample_light
    for the player to move, ``ko`` the simple-ko point light_step returned (0 for none) and
    ``x`` a nonzero generator state (int64, the bits of the uint64 the generator keeps)."""
    p, y = _sample_light(state, base_of(state, COLOR), base_of(state, HEAD), base_of(state, LIBS),
                         base_of(state, EMPTIES), base_of(state, EMPTY_INDEX), state[WIDTH], state[TO_PLAY] + 1,
                         ko, np.uint64(np.int64(x)))
    return p, np.int64(y)


@njit(cache=True)
def _playout_area_difference(state):
    """area_difference, fast when every empty point is a region of its own (no empty
    neighbour), as at the end of nearly all playouts (all but about 1 in 1000 on 9x9), and
    without a branch per point; otherwise area_difference itself."""
    color, empties = base_of(state, COLOR), base_of(state, EMPTIES)
    size = state[SIZE]
    width = state[WIDTH]
    diff = 0
    for row in range(size):
        p = color + (row + 1) * width + 1
        for i in range(p, p + size):
            c = state[i]
            diff += (c == BLACK) - (c == WHITE)
    for k in range(state[NUM_EMPTY]):
        p = color + state[empties + k]
        c0, c1, c2, c3 = state[p + width], state[p - 1], state[p + 1], state[p - width]
        if c0 == EMPTY or c1 == EMPTY or c2 == EMPTY or c3 == EMPTY:
            return area_difference(state)
        # The colours (BLACK 1, WHITE 2) that the region reaches, the edge (BORDER 3) left out.
        reach = (c0 & (c0 != BORDER) * 3) | (c1 & (c1 != BORDER) * 3) | (c2 & (c2 != BORDER) * 3) \
            | (c3 & (c3 != BORDER) * 3)
        diff += (reach == 1) - (reach == 2)
    return diff


@njit(cache=True)
def rollout(state):
    """Classic UCT playout in place: random legal moves that do not fill the mover's own
    eye-like points, passing only when nothing else is left, until two passes or the cap.
    Returns the outcome (area score with komi, as terminal_value) for the player who was to
    move at the start.

    Light rules, the standard choice of MCTS programs: the first move obeys the full rules
    (sample_point, positional superko against the game so far, so a ko just taken is not
    retaken at once); the rest use simple ko (no immediate recapture of a single stone)
    instead of positional superko and are played by light_play_stone, which keeps no hashes,
    history planes or position table: afterwards the state is good for its board, header
    counters and score only. Moves are drawn with a xorshift64* generator seeded from Numba's
    (np.random.seed, so seeded playouts repeat). full_rollout is the same playout under the
    full rules and numpy's generator."""
    start = state[TO_PLAY]
    if not is_terminal(state):
        ko = light_step(state, sample_point(state, False, True))
        x = np.uint64(np.random.randint(1, np.iinfo(np.int64).max))
        color, head, nxt = base_of(state, COLOR), base_of(state, HEAD), base_of(state, NEXT)
        stones, libs = base_of(state, STONES), base_of(state, LIBS)
        empties, empty_index = base_of(state, EMPTIES), base_of(state, EMPTY_INDEX)
        width = state[WIDTH]
        max_moves = state[MAX_MOVES]
        moves, passes, me = state[MOVE_NUMBER], state[PASSES], state[TO_PLAY] + 1
        last = -1  # the last point played in the loop, PASS_POINT for a pass, -1 for none
        black_captures = white_captures = 0
        while passes < 2 and moves < max_moves:
            p, x = _sample_light(state, color, head, libs, empties, empty_index, width, me, ko, x)
            if p == PASS_POINT:
                passes += 1
                ko = 0
                last = PASS_POINT
            else:
                passes = 0
                captured, ko = light_play_stone(state, color, head, nxt, stones, libs, empties, empty_index,
                                                width, p, me)
                if me == BLACK:
                    black_captures += captured
                else:
                    white_captures += captured
                last = p
            moves += 1
            me = 3 - me
        state[MOVE_NUMBER], state[PASSES], state[TO_PLAY] = moves, passes, me - 1
        state[CAPTURES] += black_captures
        state[CAPTURES + 1] += white_captures
        if last == PASS_POINT:
            state[LAST_MOVE] = state[SIZE] * state[SIZE]
        elif last > 0:
            state[LAST_MOVE] = action_of(state, last)
    s = 2 * _playout_area_difference(state) - state[KOMI2]
    black = 1.0 if s > 0 else (-1.0 if s < 0 else 0.0)
    return black if start == 0 else -black


@njit(cache=True)
def full_rollout(state):
    """rollout under the full rules (positional superko, every move by step_point, the state
    kept whole): the reference the light rollout is checked against."""
    start = state[TO_PLAY]
    while not is_terminal(state):
        step_point(state, sample_point(state, False, True))
    value = terminal_value(state)
    return value if state[TO_PLAY] == start else -value


@njit(cache=True)
def seed(value):
    np.random.seed(value)

