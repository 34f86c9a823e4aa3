"""Go on square boards of size 5 to 19 as Numba kernels: area (Tromp-Taylor) scoring with komi,
positional superko, suicide forbidden, the game ending after two consecutive passes or at a
move cap (default 2 * size * size moves, passes included, as OpenSpiel's ``max_game_length``).

Coordinates. Action ``a = row * size + col`` for a point, ``size * size`` for pass. Row 0 is
the *bottom* row, GTP row 1, so action 0 is A1 (OpenSpiel numbers the points the same way).
Encoded planes use the same orientation: ``planes[:, row, col]`` is the point of action
``row * size + col``, so a policy over points reshaped to (size, size) lines up with them.

Groups are kept incrementally, never flood-filled per move: every stone knows its group's
representative (``head``) and the next stone of its group (a circular list); the head holds
the group's stone count, pseudo-liberties (pairs stone / empty neighbour: 0 means captured)
and the XOR of its stones' Zobrist keys, so the position hash after any move, captures
included, costs O(1) and the superko test is one probe of an open-addressing hash table of
every earlier position, kept in the state too.

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

from games.base import Game, GameError, MoveParseError, Rules

MIN_SIZE, MAX_SIZE = 5, 19
EMPTY, BLACK, WHITE, BORDER = 0, 1, 2, 3
HISTORY = 3  # previous positions in the encoded planes
NUM_PLANES = 2 * (HISTORY + 1) + 3
COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP column letters: I is skipped

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
# Kernels address the state's sections by base offset: ``color = _base(state, COLOR)`` then
# ``state[color + p]``. It reads like an array per section and, unlike slicing a view per
# section on every call, costs nothing in the hot loops.
@njit(cache=True)
def _base(state, section):
    return HEADER + section * state[AREA]


@njit(cache=True)
def _bits_base(state):
    """Bitboards: 2 * (HISTORY + 1) blocks of NWORDS words (Black then White, newest first)."""
    return HEADER + NUM_SECTIONS * state[AREA]


@njit(cache=True)
def _table_base(state):
    return _bits_base(state) + 2 * (HISTORY + 1) * state[NWORDS]


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
    color, empties, empty_index = _base(state, COLOR), _base(state, EMPTIES), _base(state, EMPTY_INDEX)
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
    _table_insert(state, EMPTY_BOARD_HASH)
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
def _table_contains(state, h):
    table = _table_base(state)
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
def _table_insert(state, h):
    table = _table_base(state)
    mask = state[TABLE_MASK]
    i = h & mask
    while state[table + i] != 0:
        if state[table + i] == h:
            return
        i = (i + 1) & mask
    state[table + i] = h


# ---- stones and groups -----------------------------------------------------------------------
@njit(cache=True)
def _set_bit(state, colour, p, on):
    word = _bits_base(state) + (colour - 1) * state[NWORDS] + (p >> 6)
    bit = np.int64(1) << (p & 63)
    if on:
        state[word] |= bit
    else:
        state[word] &= ~bit


@njit(cache=True)
def _merge(state, a, b):
    """Join the groups with heads a and b; the larger keeps its head, which is returned."""
    head, nxt = _base(state, HEAD), _base(state, NEXT)
    stones, libs, ghash = _base(state, STONES), _base(state, LIBS), _base(state, GHASH)
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
def _add_stone(state, p, me):
    """Put a stone of colour ``me`` on the empty point p and join it to its friendly
    neighbours; enemy groups lose a pseudo-liberty but are not captured here."""
    color, head, nxt = _base(state, COLOR), _base(state, HEAD), _base(state, NEXT)
    stones, libs, ghash = _base(state, STONES), _base(state, LIBS), _base(state, GHASH)
    empties, empty_index = _base(state, EMPTIES), _base(state, EMPTY_INDEX)
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
    color, head, nxt, libs = _base(state, COLOR), _base(state, HEAD), _base(state, NEXT), _base(state, LIBS)
    empties, empty_index = _base(state, EMPTIES), _base(state, EMPTY_INDEX)
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
    color, head, libs = _base(state, COLOR), _base(state, HEAD), _base(state, LIBS)
    width = state[WIDTH]
    _add_stone(state, p, me)
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
    color = _base(state, COLOR)
    if state[color + p] != EMPTY:
        return 0
    head, libs = _base(state, HEAD), _base(state, LIBS)
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
                h ^= state[_base(state, GHASH) + g]
            ok = True
    return h if ok else 0


@njit(cache=True)
def is_legal_point(state, p, me):
    """Whether colour ``me`` may play at padded point p: empty, not suicide, and not
    recreating an earlier position (positional superko: one probe of the position table)."""
    h = hash_after(state, p, me)
    return h != 0 and not _table_contains(state, h)


# ---- the kernels of games.kernels ------------------------------------------------------------
@njit(cache=True)
def to_play(state):
    return state[TO_PLAY]


@njit(cache=True)
def is_terminal(state):
    return state[PASSES] >= 2 or state[MOVE_NUMBER] >= state[MAX_MOVES]


@njit(cache=True)
def legal_mask(state, out):
    """out[a] for every action; pass is always legal, nothing is once the game is over."""
    size = state[SIZE]
    n = size * size
    if is_terminal(state):
        out[:n + 1] = False
        return
    me = state[TO_PLAY] + 1
    for a in range(n):
        out[a] = is_legal_point(state, point_of(state, a), me)
    out[n] = True


@njit(cache=True)
def _step_point(state, p):
    """Play padded point p, or pass when p is 0 (a border point, never a move)."""
    bits = _bits_base(state)
    block = 2 * state[NWORDS]
    for i in range(HISTORY * block - 1, -1, -1):  # the history planes move one step back
        state[bits + block + i] = state[bits + i]
    if p == PASS_POINT:
        state[PASSES] += 1
        state[LAST_MOVE] = state[SIZE] * state[SIZE]
    else:
        me = state[TO_PLAY] + 1
        state[CAPTURES + me - 1] += _play_stone(state, p, me)
        _table_insert(state, state[HASH])
        state[PASSES] = 0
        state[LAST_MOVE] = action_of(state, p)
    state[MOVE_NUMBER] += 1
    state[TO_PLAY] ^= 1


@njit(cache=True)
def step(state, action):
    """Play a legal action in place (a pass included)."""
    _step_point(state, PASS_POINT if action == state[SIZE] * state[SIZE] else point_of(state, action))


@njit(cache=True)
def area_difference(state):
    """Black's area minus White's (Tromp-Taylor): stones, plus empty regions that reach
    stones of one colour only."""
    color = _base(state, COLOR)
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
    bits = _bits_base(state)
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


@njit(cache=True)
def is_eyelike(state, p, me):
    """A point whose four neighbours are own stones or the edge and whose diagonals hold at
    most one enemy stone (none when p is on the edge): filling it is almost always a waste."""
    color = _base(state, COLOR)
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
def _sample_point(state, with_pass, skip_eyes):
    """A random move as a padded point (PASS_POINT for pass), by rejection: draw among the
    untried empty points (plus pass when ``with_pass``), test that one, move a rejected point
    past the end of the untried range and draw again. With ``with_pass`` and no eye rule this
    is uniform over the legal actions; without, pass comes only when no point is left."""
    empties, empty_index = _base(state, EMPTIES), _base(state, EMPTY_INDEX)
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
        _step_point(state, _sample_point(state, True, False))
        moves += 1
    return moves


@njit(cache=True)
def rollout(state):
    """Classic UCT playout in place: random legal moves that do not fill the mover's own
    eye-like points, passing only when nothing else is left, until two passes or the cap.
    Returns the outcome for the player who was to move at the start."""
    start = state[TO_PLAY]
    while not is_terminal(state):
        _step_point(state, _sample_point(state, False, True))
    value = terminal_value(state)
    return value if state[TO_PLAY] == start else -value


@njit(cache=True)
def seed(value):
    np.random.seed(value)


@njit(cache=True)
def board_colors(state, out):
    """out[row, col] = EMPTY/BLACK/WHITE, row 0 at the bottom."""
    color = _base(state, COLOR)
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
            _add_stone(state, point_of(state, a), colors[a])
    table = _table_base(state)
    state[table:table + state[TABLE_MASK] + 1] = 0
    _table_insert(state, state[HASH])
    bits = _bits_base(state)
    block = 2 * state[NWORDS]
    state[bits + block:bits + (HISTORY + 1) * block] = 0


# ---- the Python surface ----------------------------------------------------------------------
class GoGame(Game):
    """Go with its parameters; see the module docstring for the rules and the state layout."""

    name = "go"
    kernel_id = 1
    rules = Rules(legal_mask, step, is_terminal, terminal_value, to_play, encode, rollout)
    num_symmetries = 8

    def __init__(self, size: int = 9, komi: float = 7.5, max_moves: int | None = None):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
            raise GameError(f"go: board size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
        try:
            komi2 = float(komi) * 2
        except (TypeError, ValueError):
            raise GameError(f"go: komi must be a number, got {komi!r}") from None
        if not np.isfinite(komi2) or komi2 != int(komi2):
            raise GameError(f"go: komi must be a multiple of 0.5, got {komi!r}")
        size = int(size)
        if max_moves is None:
            max_moves = 2 * size * size
        if isinstance(max_moves, bool) or not isinstance(max_moves, (int, np.integer)) or max_moves <= 0:
            raise GameError(f"go: the move cap must be a positive integer, got {max_moves!r}")
        if max_moves > 100 * size * size:
            raise GameError(f"go: the move cap {max_moves} is above {100 * size * size} (100 * size * size)")
        self.size = size
        self.komi = komi2 / 2
        self.max_moves = int(max_moves)
        self.num_actions = size * size + 1
        self.pass_action = size * size
        self.obs_shape = (NUM_PLANES, size, size)
        self._initial = new_state(size, int(komi2), self.max_moves, table_capacity(self.max_moves))

    def __repr__(self):
        return f"GoGame(size={self.size}, komi={self.komi}, max_moves={self.max_moves})"

    # ---- positions -------------------------------------------------------------------------
    def initial_state(self):
        return self._initial.copy()

    def from_board(self, board, to_play: int = 0) -> np.ndarray:
        """A starting position with stones already on the board (handicap, SGF setup, tests):
        ``board[row, col]`` is 0 empty, 1 Black, 2 White, row 0 the bottom row (GTP row 1)."""
        board = np.asarray(board)
        n = self.size
        if board.shape != (n, n):
            raise GameError(f"go: a board for size {n} must have shape ({n}, {n}), got {board.shape}")
        if not np.isin(board, (EMPTY, BLACK, WHITE)).all():
            raise GameError("go: board entries must be 0 (empty), 1 (Black) or 2 (White)")
        if to_play not in (0, 1):
            raise GameError(f"go: to_play must be 0 (Black) or 1 (White), got {to_play!r}")
        dead = next(_groups_without_liberty(board), None)
        if dead is not None:
            raise GameError(f"go: the group at {self.format_move(dead[0] * n + dead[1])} has no liberty")
        state = self.initial_state()
        setup_stones(state, board.reshape(-1).astype(np.int64))
        state[TO_PLAY] = to_play
        return state

    def board(self, state) -> np.ndarray:
        """(size, size) int8 array: 0 empty, 1 Black, 2 White; [row, col], row 0 the bottom."""
        out = np.zeros((self.size, self.size), dtype=np.int8)
        board_colors(state, out)
        return out

    def score(self, state) -> float:
        """Black's area minus White's minus komi (the game's result when it is over)."""
        return float(score2(state)) / 2

    def captures(self, state) -> tuple[int, int]:
        """Stones captured so far by Black and by White."""
        return int(state[CAPTURES]), int(state[CAPTURES + 1])

    def move_number(self, state) -> int:
        return int(state[MOVE_NUMBER])

    def last_move(self, state) -> int | None:
        return None if state[LAST_MOVE] < 0 else int(state[LAST_MOVE])

    def result_string(self, state):
        if not self.is_terminal(state):
            return "unfinished"
        s = self.score(state)
        if s == 0:
            return "Draw"
        return f"{'B' if s > 0 else 'W'}+{abs(s):g}"

    # ---- network input and data augmentation ------------------------------------------------
    def symmetry(self, k, planes, policy):
        """Symmetry k of the square (k & 3 quarter turns after a transpose when k >= 4) applied
        to planes (..., size, size) and a policy (..., size * size + 1); pass stays pass."""
        if not 0 <= k < 8:
            raise ValueError(f"go has symmetries 0..7, not {k}")
        n = self.size
        policy = np.asarray(policy)
        points = _dihedral(policy[..., :n * n].reshape(*policy.shape[:-1], n, n), k)
        new_policy = np.concatenate([points.reshape(*policy.shape[:-1], n * n), policy[..., n * n:]], axis=-1)
        return _dihedral(np.asarray(planes), k).copy(), new_policy

    def symmetry_action(self, k, action: int) -> int:
        """The action that symmetry k maps ``action`` to."""
        policy = np.zeros(self.num_actions, dtype=np.int8)
        policy[action] = 1
        return int(np.argmax(self.symmetry(k, np.zeros((1, self.size, self.size)), policy)[1]))

    # ---- humans ----------------------------------------------------------------------------
    def player_name(self, player):
        return ("Black", "White")[player]

    def parse_move(self, text):
        """A GTP vertex: "C3" or "c3" (column letter without I, row 1 at the bottom) or "pass"."""
        n = self.size
        t = str(text).strip()
        cols = COLUMNS[:n]
        if not t:
            raise MoveParseError(f"go: empty move; type a point such as C3 (columns A-{cols[-1]}, rows 1-{n}) or pass")
        if t.lower() == "pass":
            return self.pass_action
        letter, digits = t[0].upper(), t[1:]
        if letter == "I":
            raise MoveParseError(f"go: {text!r}: there is no column I in Go coordinates (H is followed by J)")
        if not ("A" <= letter <= "Z"):
            raise MoveParseError(f"go: {text!r} is not a point; type a column letter then a row, such as C3, or pass")
        if letter not in cols:
            raise MoveParseError(f"go: {text!r}: column {letter} is off the {n}x{n} board (columns A-{cols[-1]})")
        if not digits.isdigit():
            raise MoveParseError(f"go: {text!r}: the row after the column letter must be a number 1-{n}")
        row = int(digits)
        if not 1 <= row <= n:
            raise MoveParseError(f"go: {text!r}: row {row} is off the {n}x{n} board (rows 1-{n})")
        return (row - 1) * n + cols.index(letter)

    def format_move(self, action):
        action = int(action)
        n = self.size
        if action == self.pass_action:
            return "pass"
        if not 0 <= action < self.pass_action:
            raise GameError(f"go: action {action} is out of range 0..{self.pass_action}")
        return f"{COLUMNS[action % n]}{action // n + 1}"

    def action_to_sgf(self, action: int) -> str:
        """SGF point "xy" (x the column, y the row counted from the top, both from "a"); pass is ""."""
        action = int(action)
        n = self.size
        if action == self.pass_action:
            return ""
        if not 0 <= action < self.pass_action:
            raise GameError(f"go: action {action} is out of range 0..{self.pass_action}")
        return chr(ord("a") + action % n) + chr(ord("a") + n - 1 - action // n)

    def sgf_to_action(self, text: str) -> int:
        """Inverse of action_to_sgf; "" and (on boards up to 19x19) "tt" are pass."""
        n = self.size
        t = text.strip()
        if t == "" or t == "tt":
            return self.pass_action
        if len(t) != 2 or not all("a" <= ch < chr(ord("a") + n) for ch in t):
            last = chr(ord("a") + n - 1)
            raise MoveParseError(f"go: {text!r} is not an SGF point of a {n}x{n} board (two letters a-{last})")
        col, from_top = ord(t[0]) - ord("a"), ord(t[1]) - ord("a")
        return (n - 1 - from_top) * n + col

    def render(self, state):
        """The board with coordinates on all four edges, X Black, O White, + star points, the
        last move in parentheses, then who is to move (or the result) and the captures."""
        n = self.size
        board = self.board(state)
        last = self.last_move(state)
        stars = _star_points(n)
        letters = "    " + " ".join(COLUMNS[:n])
        lines = [letters]
        for row in range(n - 1, -1, -1):
            cells = []
            for col in range(n):
                c = board[row, col]
                cells.append("X" if c == BLACK else "O" if c == WHITE else "+" if (row, col) in stars else ".")
            text = ""
            for col in range(n + 1):
                a = row * n + col
                if last == a and col < n:
                    text += "("
                elif last is not None and last == a - 1 and col > 0:
                    text += ")"
                else:
                    text += " "
                if col < n:
                    text += cells[col]
            lines.append(f"{row + 1:2d} {text}{row + 1}")
        lines.append(letters)
        b, w = self.captures(state)
        if self.is_terminal(state):
            status = f"Game over: {self.result_string(state)}"
        else:
            status = f"{self.player_name(self.to_play(state))} to move (move {self.move_number(state) + 1})"
            if last == self.pass_action:
                status += f", {self.player_name(1 - self.to_play(state))} passed"
        lines.append(f"{status}; captures: Black {b}, White {w}")
        return "\n".join(lines)


def _dihedral(x, k):
    """Symmetry k of the last two axes: transpose first when k >= 4, then k & 3 quarter turns."""
    if k >= 4:
        x = np.swapaxes(x, -1, -2)
    return np.rot90(x, k & 3, axes=(-2, -1))


def _star_points(n):
    if n < 9:
        return set()
    d = 2 if n < 13 else 3
    lines = [d, n - 1 - d]
    points = {(r, c) for r in lines for c in lines}
    if n % 2:
        mid = n // 2
        points.add((mid, mid))
        if n >= 19:
            points |= {(mid, d), (mid, n - 1 - d), (d, mid), (n - 1 - d, mid)}
    return points


def _groups_without_liberty(board):
    """(row, col) of one stone of each group that touches no empty point (plain flood fill)."""
    n = board.shape[0]
    seen = np.zeros_like(board, dtype=bool)
    for r0 in range(n):
        for c0 in range(n):
            if board[r0, c0] == EMPTY or seen[r0, c0]:
                continue
            stack, free = [(r0, c0)], False
            seen[r0, c0] = True
            while stack:
                r, c = stack.pop()
                for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                    if 0 <= rr < n and 0 <= cc < n:
                        if board[rr, cc] == EMPTY:
                            free = True
                        elif board[rr, cc] == board[r0, c0] and not seen[rr, cc]:
                            seen[rr, cc] = True
                            stack.append((rr, cc))
            if not free:
                yield r0, c0
