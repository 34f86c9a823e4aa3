"""Stones, groups, captures and legality: the Go kernels that play moves in place.

Groups are kept incrementally, never flood-filled per move: every stone knows its group's
representative (``head``) and the next stone of its group (a circular list); the head holds
the group's stone count, pseudo-liberties (pairs stone / empty neighbour: 0 means captured)
and the XOR of its stones' Zobrist keys, so the position hash after any move, captures
included, costs O(1) and the superko test is one probe of an open-addressing hash table of
every earlier position, kept in the state too (games.go.state).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from games.go.state import (
    BLACK,
    BORDER,
    CAPTURES,
    COLOR,
    EMPTIES,
    EMPTY,
    EMPTY_INDEX,
    GHASH,
    HASH,
    HEAD,
    HISTORY,
    LAST_MOVE,
    LIBS,
    MAX_MOVES,
    MOVE_NUMBER,
    NEXT,
    NUM_EMPTY,
    NWORDS,
    PASS_POINT,
    PASSES,
    SIZE,
    STONES,
    TABLE_MASK,
    TO_PLAY,
    WHITE,
    WIDTH,
    ZOBRIST,
    action_of,
    base_of,
    bits_base,
    point_of,
    table_base,
    table_contains,
    table_insert,
)


# ---- stones and groups -----------------------------------------------------------------------
@njit(cache=True)
def _set_bit(state, colour, p, on):
    word = bits_base(state) + (colour - 1) * state[NWORDS] + (p >> 6)
    bit = np.int64(1) << (p & 63)
    if on:
        state[word] |= bit
    else:
        state[word] &= ~bit


@njit(cache=True)
def _merge(state, a, b):
    """Join the groups with heads a and b; the larger keeps its head, which is returned."""
    head, nxt = base_of(state, HEAD), base_of(state, NEXT)
    stones, libs, ghash = base_of(state, STONES), base_of(state, LIBS), base_of(state, GHASH)
    if state[stones + a] < state[stones + b]:
        a, b = b, a
    s = b
    while True:
        state[head + s] = a
        s = state[nxt + s]
        if s == b:
            break
    state[nxt + a], state[nxt + b] = state[nxt + b], state[nxt + a]
    state[stones + a] += state[stones + b]
    state[libs + a] += state[libs + b]
    state[ghash + a] ^= state[ghash + b]
    return a


@njit(cache=True)
def add_stone(state, p, me):
    """Put a stone of colour ``me`` on the empty point p and join it to its friendly
    neighbours; enemy groups lose a pseudo-liberty but are not captured here."""
    color, head, nxt = base_of(state, COLOR), base_of(state, HEAD), base_of(state, NEXT)
    stones, libs, ghash = base_of(state, STONES), base_of(state, LIBS), base_of(state, GHASH)
    empties, empty_index = base_of(state, EMPTIES), base_of(state, EMPTY_INDEX)
    width = state[WIDTH]
    # Take p out of the empty list: the last empty point takes its slot.
    last = state[NUM_EMPTY] - 1
    i = state[empty_index + p]
    q = state[empties + last]
    state[empties + i] = q
    state[empty_index + q] = i
    state[NUM_EMPTY] = last

    key = ZOBRIST[me, p]
    state[color + p] = me
    state[HASH] ^= key
    _set_bit(state, me, p, True)
    state[head + p] = p
    state[nxt + p] = p
    state[stones + p] = 1
    state[ghash + p] = key
    n_libs = 0
    for q in (p + width, p - 1, p + 1, p - width):
        c = state[color + q]
        if c == EMPTY:
            n_libs += 1
        elif c != BORDER:
            state[libs + state[head + q]] -= 1
    state[libs + p] = n_libs
    g = p
    for q in (p + width, p - 1, p + 1, p - width):
        if state[color + q] == me and state[head + q] != g:
            g = _merge(state, g, state[head + q])


@njit(cache=True)
def _remove_group(state, g):
    """Take the group with head g off the board; returns the number of stones removed."""
    color, head, nxt, libs = base_of(state, COLOR), base_of(state, HEAD), base_of(state, NEXT), base_of(state, LIBS)
    empties, empty_index = base_of(state, EMPTIES), base_of(state, EMPTY_INDEX)
    width = state[WIDTH]
    them = state[color + g]
    capturer = 3 - them
    h = state[HASH]
    n_empty = state[NUM_EMPTY]
    count = 0
    s = g
    while True:
        following = state[nxt + s]
        state[color + s] = EMPTY
        h ^= ZOBRIST[them, s]
        _set_bit(state, them, s, False)
        state[empties + n_empty] = s
        state[empty_index + s] = n_empty
        n_empty += 1
        for q in (s + width, s - 1, s + 1, s - width):
            if state[color + q] == capturer:
                state[libs + state[head + q]] += 1
        count += 1
        s = following
        if s == g:
            break
    state[HASH] = h
    state[NUM_EMPTY] = n_empty
    return count


@njit(cache=True)
def _play_stone(state, p, me):
    """Play colour ``me`` at p (legal), capturing what it kills; returns the stones captured."""
    color, head, libs = base_of(state, COLOR), base_of(state, HEAD), base_of(state, LIBS)
    width = state[WIDTH]
    add_stone(state, p, me)
    them = 3 - me
    captured = 0
    for q in (p + width, p - 1, p + 1, p - width):
        if state[color + q] == them and state[libs + state[head + q]] == 0:
            captured += _remove_group(state, state[head + q])
    return captured


@njit(cache=True)
def hash_after(state, p, me):
    """Hash of the position after colour ``me`` plays the empty point p, captures included,
    or 0 when p is occupied or the move is suicide. O(1) thanks to pseudo-liberties: a
    neighbouring group with head g touches p ``adj`` times; a friendly one keeps a liberty
    iff libs[g] > adj, an enemy one is captured iff libs[g] == adj."""
    color = base_of(state, COLOR)
    if state[color + p] != EMPTY:
        return 0
    head, libs = base_of(state, HEAD), base_of(state, LIBS)
    width = state[WIDTH]
    q0, q1, q2, q3 = p + width, p - 1, p + 1, p - width
    c0, c1, c2, c3 = state[color + q0], state[color + q1], state[color + q2], state[color + q3]
    # Heads of the neighbouring groups; distinct negative stand-ins for empty and border.
    g0 = state[head + q0] if c0 == BLACK or c0 == WHITE else -1
    g1 = state[head + q1] if c1 == BLACK or c1 == WHITE else -2
    g2 = state[head + q2] if c2 == BLACK or c2 == WHITE else -3
    g3 = state[head + q3] if c3 == BLACK or c3 == WHITE else -4
    them = 3 - me
    h = state[HASH] ^ ZOBRIST[me, p]
    ok = c0 == EMPTY or c1 == EMPTY or c2 == EMPTY or c3 == EMPTY
    for d in range(4):
        if d == 0:
            c, g = c0, g0
        elif d == 1:
            c, g = c1, g1
        elif d == 2:
            c, g = c2, g2
        else:
            c, g = c3, g3
        if c != me and c != them:
            continue
        adj = (g0 == g) + (g1 == g) + (g2 == g) + (g3 == g)
        if c == me:
            if state[libs + g] > adj:
                ok = True
        elif state[libs + g] == adj:
            # Captured: XOR its stones out once (only at its first adjacency to p).
            first = (d == 0) or (d == 1 and g0 != g) or (d == 2 and g0 != g and g1 != g) \
                or (d == 3 and g0 != g and g1 != g and g2 != g)
            if first:
                h ^= state[base_of(state, GHASH) + g]
            ok = True
    return h if ok else 0


@njit(cache=True)
def is_legal_point(state, p, me):
    """Whether colour ``me`` may play at padded point p: empty, not suicide, and not
    recreating an earlier position (positional superko: one probe of the position table)."""
    h = hash_after(state, p, me)
    return h != 0 and not table_contains(state, h)


# ---- the kernels of games.kernels ------------------------------------------------------------
@njit(cache=True)
def to_play(state):
    return state[TO_PLAY]


@njit(cache=True)
def is_terminal(state):
    return state[PASSES] >= 2 or state[MOVE_NUMBER] >= state[MAX_MOVES]


@njit(cache=True)
def legal_mask(state, out):
    """out[a] for every action; pass is always legal, nothing is once the game is over. Each
    point is is_legal_point's answer; one with no stone next to it costs a single probe of
    the position table (no group to look at: the hash after is the board's with one key)."""
    size = state[SIZE]
    n = size * size
    if is_terminal(state):
        out[:n + 1] = False
        return
    me = state[TO_PLAY] + 1
    color = base_of(state, COLOR)
    width = state[WIDTH]
    h = state[HASH]
    a = 0
    for row in range(size):
        p = (row + 1) * width + 1
        for _ in range(size):  # action a is point p, without a division per action
            c0, c1, c2, c3 = state[color + p + width], state[color + p - 1], state[color + p + 1], \
                state[color + p - width]
            if state[color + p] != EMPTY:
                out[a] = False
            elif (c0 == EMPTY or c0 == BORDER) and (c1 == EMPTY or c1 == BORDER) \
                    and (c2 == EMPTY or c2 == BORDER) and (c3 == EMPTY or c3 == BORDER):
                # No stone next to p: the hash_after of is_legal_point without its groups.
                out[a] = not table_contains(state, h ^ ZOBRIST[me, p])
            else:
                out[a] = is_legal_point(state, p, me)
            a += 1
            p += 1
    out[n] = True


@njit(cache=True)
def step_point(state, p):
    """Play padded point p, or pass when p is 0 (a border point, never a move)."""
    bits = bits_base(state)
    block = 2 * state[NWORDS]
    for i in range(HISTORY * block - 1, -1, -1):  # the history planes move one step back
        state[bits + block + i] = state[bits + i]
    if p == PASS_POINT:
        state[PASSES] += 1
        state[LAST_MOVE] = state[SIZE] * state[SIZE]
    else:
        me = state[TO_PLAY] + 1
        state[CAPTURES + me - 1] += _play_stone(state, p, me)
        table_insert(state, state[HASH])
        state[PASSES] = 0
        state[LAST_MOVE] = action_of(state, p)
    state[MOVE_NUMBER] += 1
    state[TO_PLAY] ^= 1


@njit(cache=True)
def step(state, action):
    """Play a legal action in place (a pass included)."""
    step_point(state, PASS_POINT if action == state[SIZE] * state[SIZE] else point_of(state, action))




@njit(cache=True)
def board_colors(state, out):
    """out[row, col] = EMPTY/BLACK/WHITE, row 0 at the bottom."""
    color = base_of(state, COLOR)
    size = state[SIZE]
    width = state[WIDTH]
    for row in range(size):
        for col in range(size):
            out[row, col] = state[color + (row + 1) * width + col + 1]


@njit(cache=True)
def setup_stones(state, colors):
    """Put stones (colors[a] = EMPTY/BLACK/WHITE per action) on the empty board of a fresh
    state and make that the starting position; every group must have a liberty."""
    for a in range(colors.shape[0]):
        if colors[a] != EMPTY:
            add_stone(state, point_of(state, a), colors[a])
    table = table_base(state)
    state[table:table + state[TABLE_MASK] + 1] = 0
    table_insert(state, state[HASH])
    bits = bits_base(state)
    block = 2 * state[NWORDS]
    state[bits + block:bits + (HISTORY + 1) * block] = 0


# ---- light moves for the playouts ------------------------------------------------------------
# The playouts (games.go.playouts.rollout) need only the board, the groups with their
# pseudo-liberties and the empty list: these kernels play a move keeping just those (and the
# header's counters), without the Zobrist hashes (HASH, GHASH), the history bitboards or the
# position table, and report the simple-ko point instead. A state they have played on is only
# good for reading its board and score: its hash, history planes and position table are stale.
@njit(cache=True)
def _light_add_stone(state, color, head, nxt, stones, libs, empties, empty_index, width, p, me):
    """add_stone without the hashes and bitboards."""
    last = state[NUM_EMPTY] - 1
    i = state[empty_index + p]
    q = state[empties + last]
    state[empties + i] = q
    state[empty_index + q] = i
    state[NUM_EMPTY] = last

    state[color + p] = me
    state[head + p] = p
    state[nxt + p] = p
    state[stones + p] = 1
    n_libs = 0
    for q in (p + width, p - 1, p + 1, p - width):
        c = state[color + q]
        if c == EMPTY:
            n_libs += 1
        elif c != BORDER:
            state[libs + state[head + q]] -= 1
    state[libs + p] = n_libs
    g = p
    for q in (p + width, p - 1, p + 1, p - width):  # _merge inlined: calling it cost 7% of a playout
        if state[color + q] == me:
            b = state[head + q]
            if b != g:
                a = g
                if state[stones + a] < state[stones + b]:
                    a, b = b, a
                s = b
                while True:
                    state[head + s] = a
                    s = state[nxt + s]
                    if s == b:
                        break
                state[nxt + a], state[nxt + b] = state[nxt + b], state[nxt + a]
                state[stones + a] += state[stones + b]
                state[libs + a] += state[libs + b]
                g = a


@njit(cache=True)
def _light_remove_group(state, color, head, nxt, libs, empties, empty_index, width, g, capturer):
    """_remove_group without the hashes and bitboards; returns the stones removed."""
    n_empty = state[NUM_EMPTY]
    count = 0
    s = g
    while True:
        following = state[nxt + s]
        state[color + s] = EMPTY
        state[empties + n_empty] = s
        state[empty_index + s] = n_empty
        n_empty += 1
        for q in (s + width, s - 1, s + 1, s - width):
            if state[color + q] == capturer:
                state[libs + state[head + q]] += 1
        count += 1
        s = following
        if s == g:
            break
    state[NUM_EMPTY] = n_empty
    return count


@njit(cache=True, inline="always")
def light_play_stone(state, color, head, nxt, stones, libs, empties, empty_index, width, p, me):
    """Play colour ``me`` at the empty point p (legal) on the board, groups and empty list
    alone, the sections' bases given; returns (stones captured, simple-ko point): the point of
    the single stone just captured by a single stone left with that one liberty, where the
    other colour may not play next, or 0 for none."""
    them = 3 - me
    _light_add_stone(state, color, head, nxt, stones, libs, empties, empty_index, width, p, me)
    captured = 0
    ko = 0
    for q in (p + width, p - 1, p + 1, p - width):
        if state[color + q] == them and state[libs + state[head + q]] == 0:
            captured += _light_remove_group(state, color, head, nxt, libs, empties, empty_index, width,
                                            state[head + q], me)
            ko = q
    if captured != 1 or state[stones + state[head + p]] != 1 or state[libs + p] != 1:
        ko = 0
    return captured, ko


@njit(cache=True)
def light_step(state, p):
    """step_point for the playouts: play padded point p (legal), or pass when p is 0, keeping
    only the board, the groups, the empty list and the header's counters (see above). Returns
    the simple-ko point, where the player now to move may not play (0 for none)."""
    ko = 0
    if p == PASS_POINT:
        state[PASSES] += 1
        state[LAST_MOVE] = state[SIZE] * state[SIZE]
    else:
        me = state[TO_PLAY] + 1
        captured, ko = light_play_stone(state, base_of(state, COLOR), base_of(state, HEAD), base_of(state, NEXT),
                                        base_of(state, STONES), base_of(state, LIBS), base_of(state, EMPTIES),
                                        base_of(state, EMPTY_INDEX), state[WIDTH], p, me)
        state[CAPTURES + me - 1] += captured
        state[PASSES] = 0
        state[LAST_MOVE] = action_of(state, p)
    state[MOVE_NUMBER] += 1
    state[TO_PLAY] ^= 1
    return ko
