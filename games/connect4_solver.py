"""A perfect Connect Four solver: negamax with alpha-beta on the bitboards of games.connect4.

The search follows Pascal Pons's "Solving Connect 4" design, as Numba kernels:
- only *non-losing* moves are searched (a move under an opponent's winning cell, or one that
  leaves an opponent's immediate win unblocked, is never tried), so a node never has to look
  for an immediate win of its own: the parent made sure there is none;
- moves are tried in order of the winning cells they create, ties centre first;
- a transposition table of upper and lower bounds, one int64 per entry (layout below),
  cleared in O(1) by bumping a generation number, so benchmarks can start every position from
  an empty table; the children's entries are prefetched while the moves are sorted, since
  the search spends most of its time waiting for the memory that holds them;
- the root narrows [min, max] with null-window searches around the midpoint (bisection on the
  score), each of which is cheap because it only answers "above or below?";
- an opening book (exact scores of every position with at most ``book_depth`` stones, mirror
  images folded) so that the first plies, whose full search takes minutes, are answered at once.

Score convention (the benchmark files' one): 0 for a draw; when the side to move wins against
best play, 22 minus the number of its own stones on the board when it connects four (so faster
wins score higher); the negative of the opponent's figure when it loses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from games.base import GameError
from games.connect4 import (
    BOARD_MASK,
    BOTTOM_ROW,
    HEIGHT,
    MASK,
    MOVES,
    POSITION,
    WIDTH,
    WON,
    column_bits,
    top_bit,
)

CELLS = WIDTH * HEIGHT
MIN_SCORE = -(CELLS // 2) + 3  # the opponent wins with its 4th stone
MAX_SCORE = (CELLS + 1) // 2 - 3  # the side to move wins with its 4th stone
#: Score of a full column in ``move_scores`` (below every real score, fits an int8).
ILLEGAL = -128
#: Columns in the order they are tried: centre first.
COLUMN_ORDER = np.array([3, 2, 4, 1, 5, 0, 6], dtype=np.int64)
ALL_COLUMNS = np.arange(WIDTH, dtype=np.int64)

# Slots of the ``info`` array that the kernels share with the Solver class.
GENERATION, BOOK_DEPTH, NODES = 0, 1, 2
INFO_SIZE = 3

# Transposition-table entry (int64): bits 0-31 the low 32 bits of the key, bits 32-39 the
# stored bound, bits 40-62 the generation. The table's size is a prime p > 2**17 and an entry
# lives at index key % p, so (key % p, key % 2**32) identify a key < 2**49 uniquely.
KEY_BITS = np.int64(0xFFFFFFFF)
VALUE_SHIFT, GENERATION_SHIFT = 32, 40
VALUE_FIELD = np.int64(0xFF) << VALUE_SHIFT
MAX_GENERATION = (1 << 23) - 1
# Stored bound, clamped to [MIN_SCORE, MAX_SCORE] (which keeps it true): an upper bound u as
# u - MIN_SCORE + 1 (1..37), a lower bound l as l - MIN_SCORE + LOWER_BOUND (38..74); 0 means
# "no entry".
LOWER_BOUND = MAX_SCORE - MIN_SCORE + 2

DEFAULT_LOG_SIZE = 23
#: A position with fewer stones can take the solver minutes when no opening book covers it; a
#: book of every position with up to SLOW_BELOW - 2 stones brings most answers under a second.
SLOW_BELOW = 10
NO_BOOK_NOTE = ("no opening book covers the first plies, so the solver may take minutes on a position "
                f"with fewer than {SLOW_BELOW} stones; `selfplay solve --build-book` builds one (resumable)")
BOOK_PATH = Path(__file__).resolve().parent / "data" / "connect4_book.npz"


class GameOverError(GameError):
    """The position is already decided (four in a row, or a full board): nothing to solve."""


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of an int64 (one POPCNT instruction)."""
    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [args[0].type])
        return builder.call(fn, args)
    return types.int64(types.int64), codegen


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the CPU to bring ``array[index]`` into cache without waiting for it (a hint: no
    effect on results). Index must be in range; nothing is checked."""
    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        array_struct = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(context, builder, array_type, array_struct, [args[1]],
                                           wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0")
        # read access, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(array, types.int64), codegen


@njit(cache=True)
def half(x):
    """x / 2 rounded toward zero (C's division, which the score bounds are written in)."""
    return x // 2 if x >= 0 else -((-x) // 2)


# ---- bitboard helpers -----------------------------------------------------------------------
@njit(cache=True)
def winning_cells(position, mask):
    """Empty cells where a stone of ``position``'s owner would complete four in a row."""
    # vertical: three stones right below
    r = (position << 1) & (position << 2) & (position << 3)
    for shift in (7, 6, 8):  # horizontal and the two diagonals (column step 7, rows -1/+1)
        pair = (position << shift) & (position << (2 * shift))
        r |= pair & (position << (3 * shift))
        r |= pair & (position >> shift)
        pair = (position >> shift) & (position >> (2 * shift))
        r |= pair & (position << shift)
        r |= pair & (position >> (3 * shift))
    return r & (BOARD_MASK ^ mask)


@njit(cache=True)
def playable_cells(mask):
    """The lowest empty cell of every column that is not full."""
    return (mask + BOTTOM_ROW) & BOARD_MASK


@njit(cache=True)
def can_win_now(position, mask):
    return (winning_cells(position, mask) & playable_cells(mask)) != 0


@njit(cache=True)
def non_losing_moves(position, mask):
    """Playable cells after which the opponent cannot win at once (0 if there are none).

    Assumes the side to move cannot win at once itself."""
    playable = playable_cells(mask)
    threats = winning_cells(position ^ mask, mask)
    forced = playable & threats
    if forced:
        if forced & (forced - 1):
            return 0  # two immediate threats: one of them wins
        playable = forced
    return playable & ~(threats >> 1)  # never play right under an opponent's winning cell


@njit(cache=True)
def move_order_score(position, mask, move):
    """How many winning cells the side to move has after playing ``move`` (a cell bit)."""
    return popcount(winning_cells(position | move, mask | move))


@njit(cache=True)
def mirror(bits):
    """The bitboard reflected left to right."""
    out = np.int64(0)
    for col in range(WIDTH):
        out |= ((bits >> (7 * col)) & 0x7F) << (7 * (WIDTH - 1 - col))
    return out


@njit(cache=True)
def book_key(position, mask):
    """Key of a position or its mirror image, whichever is smaller (the book folds mirrors)."""
    key = position + mask
    other = mirror(position) + mirror(mask)
    return key if key < other else other


# ---- transposition table --------------------------------------------------------------------
@njit(cache=True)
def _tt_get(table, key, generation):
    entry = table[key % table.size]
    wanted = (generation << GENERATION_SHIFT) | (key & KEY_BITS)
    if (entry & ~VALUE_FIELD) == wanted:
        return (entry >> VALUE_SHIFT) & 0xFF
    return 0


@njit(cache=True)
def _tt_put(table, key, generation, score, offset):
    score = min(max(score, MIN_SCORE), MAX_SCORE)
    value = np.int64(score - MIN_SCORE + offset)
    table[key % table.size] = (generation << GENERATION_SHIFT) | (value << VALUE_SHIFT) | (key & KEY_BITS)


@njit(cache=True)
def _book_get(book, key):
    """Exact score of ``key`` in the book (sorted int64 entries key << 8 | score + 128), or ILLEGAL."""
    i = np.searchsorted(book, key << 8)
    if i < book.size and (book[i] >> 8) == key:
        return (book[i] & 0xFF) - 128
    return ILLEGAL


# ---- search ---------------------------------------------------------------------------------
@njit(cache=True)
def negamax(position, mask, moves, alpha, beta, table, order, book, info):
    """Score of a position within the window (alpha, beta), alpha < beta: exact inside it,
    otherwise a bound on the side it fell (fail-soft). The side to move must not be able to
    win at once. ``order`` is scratch space, one row per stone count, for move ordering."""
    info[NODES] += 1
    possible = non_losing_moves(position, mask)
    if possible == 0:
        return -((CELLS - moves) // 2)  # the opponent wins with its next stone
    if moves >= CELLS - 2:
        return 0  # two cells left, neither side can connect four with them
    low = -((CELLS - 2 - moves) // 2)  # the opponent cannot win with its next stone
    if alpha < low:
        alpha = low
        if alpha >= beta:
            return alpha
    high = (CELLS - 1 - moves) // 2  # we cannot win with this stone
    if beta > high:
        beta = high
        if alpha >= beta:
            return beta
    key = position + mask
    generation = info[GENERATION]
    stored = _tt_get(table, key, generation)
    if stored != 0:
        if stored >= LOWER_BOUND:
            low = stored + MIN_SCORE - LOWER_BOUND
            if alpha < low:
                alpha = low
                if alpha >= beta:
                    return alpha
        else:
            high = stored + MIN_SCORE - 1
            if beta > high:
                beta = high
                if alpha >= beta:
                    return beta
    if moves <= info[BOOK_DEPTH]:
        score = _book_get(book, book_key(position, mask))
        if score != ILLEGAL:
            return score

    # Sort the candidate moves by winning cells created (stable insertion sort, so ties keep
    # the centre-first order); row ``moves`` of ``order`` holds (move, score) pairs. Meanwhile
    # ask the memory for the children's table entries.
    n = 0
    for i in range(WIDTH):
        move = possible & column_bits(COLUMN_ORDER[i])
        if move:
            score = move_order_score(position, mask, move)
            prefetch(table, ((position ^ mask) + (mask | move)) % table.size)
            j = n
            while j > 0 and order[moves, 2 * j - 1] < score:
                order[moves, 2 * j] = order[moves, 2 * j - 2]
                order[moves, 2 * j + 1] = order[moves, 2 * j - 1]
                j -= 1
            order[moves, 2 * j] = move
            order[moves, 2 * j + 1] = score
            n += 1

    for i in range(n):
        move = order[moves, 2 * i]
        # after the move the opponent is to move: its stones are ours ^ mask
        score = -negamax(position ^ mask, mask | move, moves + 1, -beta, -alpha, table, order, book, info)
        if score >= beta:
            _tt_put(table, key, generation, score, LOWER_BOUND)
            return score
        if score > alpha:
            alpha = score
    _tt_put(table, key, generation, alpha, 1)
    return alpha


@njit(cache=True)
def solve_position(position, mask, moves, weak, table, order, book, info):
    """Exact score of a position that is not over (with ``weak``, only its sign: -1, 0, 1)."""
    if can_win_now(position, mask):
        return 1 if weak else (CELLS + 1 - moves) // 2
    if moves <= info[BOOK_DEPTH]:
        score = _book_get(book, book_key(position, mask))
        if score != ILLEGAL:
            return np.sign(score) if weak else score
    low = -((CELLS - moves) // 2)
    high = (CELLS + 1 - moves) // 2
    if weak:
        low, high = -1, 1
    while low < high:
        # Null-window probe: is the score above mid? Probes nearer zero first, where the
        # search is cheapest (short wins and losses are found fast).
        mid = low + (high - low) // 2
        if mid <= 0 and half(low) < mid:
            mid = half(low)
        elif mid >= 0 and half(high) > mid:
            mid = half(high)
        r = negamax(position, mask, moves, mid, mid + 1, table, order, book, info)
        if r <= mid:
            high = r
        else:
            low = r
    return np.sign(low) if weak else low


@njit(cache=True)
def move_scores_kernel(position, mask, moves, weak, table, order, book, info, out):
    """out[c] = score of playing column c for the side to move (ILLEGAL for a full column)."""
    for col in range(WIDTH):
        if mask & top_bit(col):
            out[col] = ILLEGAL
            continue
        move = (mask + (np.int64(1) << (7 * col))) & column_bits(col)
        if winning_cells(position, mask) & move:
            out[col] = 1 if weak else (CELLS + 1 - moves) // 2
        else:
            out[col] = -solve_position(position ^ mask, mask | move, moves + 1, weak, table, order, book, info)


@njit(cache=True)
def best_columns_kernel(position, mask, moves, weak, columns, stop_at_first, table, order, book, info, out):
    """out[c] = 1 where playing column c keeps the position's score (with ``weak``, its sign),
    0 where it does not, ILLEGAL where the column is full; the columns are looked at in the
    order of ``columns``, and with ``stop_at_first`` the ones after the first that keeps the
    score are left at 0. Far cheaper than ``move_scores_kernel`` when the book knows the
    position: a column then costs one null-window probe (is the child's score at most minus
    the position's?) instead of a bisection for its exact score."""
    best = solve_position(position, mask, moves, weak, table, order, book, info)
    # playing c keeps the score iff the child's score (for the opponent) is at most -best;
    # with weak, iff its sign is: a win needs a child below 0, a draw one at or below 0
    limit = -best if not weak else (-1 if best > 0 else 0)
    out[:] = 0
    for col in columns:
        if mask & top_bit(col):
            out[col] = ILLEGAL
            continue
        move = (mask + (np.int64(1) << (7 * col))) & column_bits(col)
        if winning_cells(position, mask) & move:
            out[col] = 1  # the fastest win there is
        elif weak and best < 0:
            out[col] = 1  # lost whatever is played
        else:
            child, child_mask = position ^ mask, mask | move
            if can_win_now(child, child_mask):
                child_score = (CELLS - moves) // 2  # the opponent connects four with its next stone
            else:
                child_score = negamax(child, child_mask, moves + 1, limit, limit + 1, table, order, book, info)
            out[col] = 1 if child_score <= limit else 0
        if stop_at_first and out[col] == 1:
            return


@njit(cache=True)
def solve_batch(positions, masks, moves, reset_each, table, order, book, info, out):
    """Solve many positions in one call (benchmarks); with ``reset_each`` each one starts from an
    empty transposition table. Returns the generation number in use at the end."""
    for i in range(positions.size):
        if reset_each and i > 0:
            _next_generation(table, info)
        out[i] = solve_position(positions[i], masks[i], moves[i], False, table, order, book, info)
    return info[GENERATION]


@njit(cache=True)
def _next_generation(table, info):
    """Forget every entry of the table: O(1), except for a real clear every 2**23 - 1 calls."""
    if info[GENERATION] >= MAX_GENERATION:
        table[:] = 0
        info[GENERATION] = 0
    info[GENERATION] += 1


# ---- Python surface -------------------------------------------------------------------------
def _prime_at_least(n: int) -> int:
    def is_prime(k):
        return k > 1 and all(k % d for d in range(2, int(k ** 0.5) + 1))
    while not is_prime(n):
        n += 1
    return n


def user_book_path() -> Path:
    """Where a book built outside a checkout goes (the user's cache), looked at after games/data."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "selfplay" / "connect4" / "connect4_book.npz"


def load_book(path: Path | None = None) -> tuple[np.ndarray, int]:
    """The opening book (sorted int64 entries) and its depth, or an empty book of depth -1; by
    default the one in games/data, else the one in the user's cache. A damaged file is an error
    naming it, never a wrong score."""
    if path is None:
        path = next((p for p in (BOOK_PATH, user_book_path()) if p.exists()), BOOK_PATH)
    if not path.exists():
        return np.zeros(0, dtype=np.int64), -1
    try:
        with np.load(path, allow_pickle=False) as data:
            entries = np.ascontiguousarray(data["entries"], dtype=np.int64)
            depth = int(data["depth"])
        scores = (entries & 0xFF) - 128
        if entries.ndim != 1 or not 0 <= depth <= CELLS or np.any(np.diff(entries >> 8) <= 0) \
                or np.any(scores < MIN_SCORE) or np.any(scores > MAX_SCORE):
            raise ValueError("its entries are not sorted book entries with scores in range")
    except Exception as e:  # zip, npy and key errors alike: the file is not a book
        raise GameError(f"{path}: not a readable opening book ({e}); delete it, or rebuild it with "
                        "`selfplay solve --build-book`") from None
    return entries, depth


class Solver:
    """Exact scores of Connect Four positions (states of games.connect4).

    The transposition table (``2**log_size`` entries of 8 bytes, rounded up to a prime) is kept
    between calls, since its entries stay true for any later search; ``reset`` empties it.
    ``book=False`` ignores the opening book (benchmarks time the search itself)."""

    def __init__(self, log_size: int = DEFAULT_LOG_SIZE, book: bool = True):
        if not 18 <= log_size <= 30:
            raise ValueError(f"log_size must be in 18..30, got {log_size}")
        self.table = np.zeros(_prime_at_least(1 << log_size), dtype=np.int64)
        self.order = np.zeros((CELLS + 1, 2 * WIDTH), dtype=np.int64)
        self.book, depth = load_book() if book else (np.zeros(0, dtype=np.int64), -1)
        self.info = np.zeros(INFO_SIZE, dtype=np.int64)
        self.info[GENERATION] = 1
        self.info[BOOK_DEPTH] = depth

    @property
    def book_depth(self) -> int:
        return int(self.info[BOOK_DEPTH])

    @property
    def nodes(self) -> int:
        """Nodes searched since the solver was made (a measure of work)."""
        return int(self.info[NODES])

    def reset(self) -> None:
        """Empty the transposition table (in O(1))."""
        _next_generation(self.table, self.info)

    def _check(self, state: np.ndarray) -> None:
        if state[WON]:
            raise GameOverError("connect4: the game is over (four in a row), there is nothing to solve")
        if state[MOVES] >= CELLS:
            raise GameOverError("connect4: the board is full (a draw), there is nothing to solve")

    def solve(self, state: np.ndarray, weak: bool = False) -> int:
        """Score of the position for the side to move; with ``weak``, only its sign."""
        self._check(state)
        return int(solve_position(state[POSITION], state[MASK], state[MOVES], weak,
                                  self.table, self.order, self.book, self.info))

    def move_scores(self, state: np.ndarray, weak: bool = False) -> np.ndarray:
        """Score of every column for the side to move (ILLEGAL where the column is full): the
        score of the position after the move, from the mover's side. With ``weak``, signs only."""
        self._check(state)
        out = np.empty(WIDTH, dtype=np.int64)
        move_scores_kernel(state[POSITION], state[MASK], state[MOVES], weak,
                           self.table, self.order, self.book, self.info, out)
        return out

    def best_moves(self, state: np.ndarray, weak: bool = False) -> np.ndarray:
        """The columns that keep the position's exact score (with ``weak``, its sign): the
        maxima of ``move_scores``, found with one probe a column rather than a full search."""
        return np.flatnonzero(self._best_columns(state, weak, ALL_COLUMNS, False) == 1)

    def first_best_move(self, state: np.ndarray, columns: np.ndarray, weak: bool = False) -> int:
        """The first of ``columns`` (a permutation of the columns) that keeps the score: with a
        random permutation, a uniformly random best move, for the probes up to it only."""
        columns = np.asarray(columns, dtype=np.int64)
        if sorted(columns.tolist()) != list(range(WIDTH)):
            raise ValueError(f"columns must be an ordering of 0..{WIDTH - 1}, got {columns.tolist()}")
        return int(np.argmax(self._best_columns(state, weak, columns, True) == 1))

    def _best_columns(self, state, weak, columns, stop_at_first):
        self._check(state)
        out = np.empty(WIDTH, dtype=np.int64)
        best_columns_kernel(state[POSITION], state[MASK], state[MOVES], weak, columns, stop_at_first,
                            self.table, self.order, self.book, self.info, out)
        return out


def describe_score(score: int, moves: int) -> str:
    """A score in words for a position with ``moves`` stones, e.g. "X wins with its 3rd stone
    from now (its 12th)"."""
    mover, other = ("X", "O") if moves % 2 == 0 else ("O", "X")
    if score == 0:
        return "draw with best play from both sides"
    winner, winner_stones = (mover, moves // 2) if score > 0 else (other, (moves + 1) // 2)
    total = 22 - abs(score)
    return f"{winner} wins with its {_ordinal(total - winner_stones)} stone from now (its {_ordinal(total)})"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
