"""Connect Four (7 columns x 6 rows) on 64-bit bitboards, as Numba kernels.

Bit layout (Pascal Pons's): column c occupies bits 7c .. 7c+5, row 0 at the bottom, and bit
7c+6 is an always-empty sentinel so that shifts never carry a line from one column into the
next. A position is two bitboards: ``position`` (the stones of the player to move) and
``mask`` (all stones). Playing a move flips ``position`` to the other side and adds the new
stone to ``mask``, so the stones of the player who just moved are ``position ^ mask``.

State array (int64[STATE_SIZE]):
    [POSITION] stones of the player to move    [MASK] all stones
    [MOVES]    stones on the board              [LAST] column of the last move, -1 at start
    [WON]      1 when the player who just moved connected four
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from games.base import (
    Game,
    GameError,
    GameRecord,
    IllegalMoveError,
    MoveParseError,
    Rules,
)
from games.kernel_ids import CONNECT4

WIDTH, HEIGHT = 7, 6
NUM_ACTIONS = WIDTH
POSITION, MASK, MOVES, LAST, WON = 0, 1, 2, 3, 4
STATE_SIZE = 5
NUM_PLANES = 3

BOTTOM_ROW = np.int64(sum(1 << (7 * c) for c in range(WIDTH)))
BOARD_MASK = np.int64(BOTTOM_ROW * ((1 << HEIGHT) - 1))


@njit(cache=True)
def bottom_bit(col):
    return np.int64(1) << (7 * col)


@njit(cache=True)
def top_bit(col):
    return np.int64(1) << (7 * col + HEIGHT - 1)


@njit(cache=True)
def column_bits(col):
    return np.int64((1 << HEIGHT) - 1) << (7 * col)


@njit(cache=True)
def has_four(bits):
    """True when the bitboard ``bits`` contains four in a row in any direction."""
    for shift in (1, 7, 6, 8):  # vertical, horizontal, the two diagonals
        pairs = bits & (bits >> shift)
        if pairs & (pairs >> (2 * shift)):
            return True
    return False


@njit(cache=True)
def initial_state():
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[LAST] = -1
    return state


@njit(cache=True)
def is_terminal(state):
    return state[WON] != 0 or state[MOVES] == WIDTH * HEIGHT


@njit(cache=True)
def terminal_value(state):
    """-1 when the previous player connected four (the player to move lost), else 0."""
    return -1.0 if state[WON] != 0 else 0.0


@njit(cache=True)
def to_play(state):
    return state[MOVES] & 1


@njit(cache=True)
def can_play(state, col):
    return (state[MASK] & top_bit(col)) == 0


@njit(cache=True)
def legal_mask(state, out):
    terminal = is_terminal(state)
    for col in range(WIDTH):
        out[col] = (not terminal) and can_play(state, col)


@njit(cache=True)
def step(state, col):
    """Drop a stone of the player to move in ``col`` (assumed legal)."""
    position = state[POSITION] ^ state[MASK]  # the opponent becomes the player to move
    mask = state[MASK] | (state[MASK] + bottom_bit(col))
    state[POSITION] = position
    state[MASK] = mask
    state[MOVES] += 1
    state[LAST] = col
    if has_four(position ^ mask):
        state[WON] = 1


@njit(cache=True)
def encode(state, out):
    """Planes (3, 6, 7): stones of the player to move, of the opponent, and a plane of ones
    when the first player is to move. Row 0 of a plane is the top row of the board."""
    own = state[POSITION]
    other = state[POSITION] ^ state[MASK]
    first_to_move = 1.0 if to_play(state) == 0 else 0.0
    for col in range(WIDTH):
        for row in range(HEIGHT):
            bit = np.int64(1) << (7 * col + row)
            r = HEIGHT - 1 - row
            out[0, r, col] = 1.0 if own & bit else 0.0
            out[1, r, col] = 1.0 if other & bit else 0.0
            out[2, r, col] = first_to_move


@njit(cache=True)
def random_action(state):
    """A uniformly random legal column (state must not be terminal): rejection sampling over
    the seven columns, which is uniform over the legal ones and allocates nothing."""
    while True:
        col = np.random.randint(WIDTH)
        if can_play(state, col):
            return col


@njit(cache=True)
def rollout(state):
    """Play uniformly random moves to the end on ``state`` (modified in place); return the
    outcome for the player who was to move when the rollout started."""
    start_player = to_play(state)
    while not is_terminal(state):
        step(state, random_action(state))
    value = terminal_value(state)
    return value if to_play(state) == start_player else -value


@njit(cache=True)
def seed(value):
    np.random.seed(value)


class ConnectFour(Game):
    name = "connect4"
    kernel_id = CONNECT4
    rules = Rules(legal_mask, step, is_terminal, terminal_value, to_play, encode, rollout)
    num_actions = NUM_ACTIONS
    obs_shape = (NUM_PLANES, HEIGHT, WIDTH)
    num_symmetries = 2  # identity and the left-right mirror
    width, height = WIDTH, HEIGHT

    def initial_state(self):
        return initial_state()

    def winner(self, state):
        """0 or 1 for the player who connected four, None for a draw or an unfinished game."""
        return 1 - self.to_play(state) if state[WON] else None

    def result_string(self, state):
        if not self.is_terminal(state):
            return "unfinished"
        w = self.winner(state)
        return "draw" if w is None else f"{self.player_name(w)} wins"

    def step(self, state, action):
        """As Game.step, a full column named as such (the rules are the kernels')."""
        action = int(action)
        if 0 <= action < WIDTH and not self.is_terminal(state) and not can_play(state, action):
            raise IllegalMoveError(f"connect4: {action + 1} is not legal here: column {action + 1} is full")
        return super().step(state, action)

    def winning_four(self, state) -> list[tuple[int, int]]:
        """The (col, row) cells of the winner's four in a row, row 0 at the bottom, read from the
        final board (the state keeps only that someone won); [] without a winner. The first
        line found wins when the last stone made more than one."""
        w = self.winner(state)
        if w is None:
            return []
        mark = self.player_name(w)
        for col in range(WIDTH):
            for row in range(HEIGHT):
                for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
                    cells = [(col + i * dc, row + i * dr) for i in range(4)]
                    if all(0 <= c < WIDTH and 0 <= r < HEIGHT and self.cell(state, c, r) == mark
                           for c, r in cells):
                        return cells
        return []

    def cell_name(self, col: int, row: int) -> str:
        """Column letter a-g and row 1-6 from the bottom, the notation of Connect Four books."""
        return f"{'abcdefg'[col]}{row + 1}"

    def player_name(self, player):
        return "XO"[player]

    def symmetry(self, k, planes, policy):
        if k == 0:
            return planes, policy
        if k == 1:
            return planes[..., ::-1].copy(), policy[..., ::-1].copy()
        raise ValueError(f"connect4 has symmetries 0 and 1, not {k}")

    # ---- humans ----------------------------------------------------------------------------
    def cell(self, state, col, row):
        """'X', 'O' or '.' at (col, row), row 0 at the bottom."""
        bit = 1 << (7 * col + row)
        if not state[MASK] & bit:
            return "."
        mover_is_owner = bool(state[POSITION] & bit)
        owner = self.to_play(state) if mover_is_owner else 1 - self.to_play(state)
        return "XO"[owner]

    def render(self, state):
        """The board, row 1 at the bottom; the last stone in [brackets], and once a player has
        connected four, those four between *stars*."""
        winning = set(self.winning_four(state))
        last = int(state[LAST])
        last_row = -1
        if last >= 0:
            last_row = bin(int(state[MASK]) & int(column_bits(last))).count("1") - 1
        lines = ["  " + "  ".join(str(c + 1) for c in range(WIDTH))]
        for row in range(HEIGHT - 1, -1, -1):
            cells = []
            for col in range(WIDTH):
                mark = self.cell(state, col, row)
                if (col, row) in winning:
                    cells.append(f"*{mark}*")
                elif (col, row) == (last, last_row):
                    cells.append(f"[{mark}]")
                else:
                    cells.append(f" {mark} ")
            lines.append("|" + "".join(cells) + "|")
        lines.append("+" + "-" * (3 * WIDTH) + "+")
        return "\n".join(lines)

    def parse_move(self, text):
        t = text.strip()
        if not (t.isascii() and t.isdigit()) or not 1 <= int(t) <= WIDTH:
            raise MoveParseError(f"connect4: {text!r} is not a column; type a number from 1 to {WIDTH}")
        return int(t) - 1

    def format_move(self, action):
        return str(int(action) + 1)

    def move_hint(self):
        return f"a column 1-{WIDTH}"

    def rules_text(self) -> str:
        """The goal in a line, for the start of a game at the terminal."""
        return (f"Connect Four: drop a stone into a column (1-{WIDTH}); the first to line up four, "
                "across, up or diagonally, wins; a full board is a draw")

    def split_moves(self, text):
        """A digit string ("4453") or space-separated columns."""
        text = text.strip()
        return list(text) if text.isascii() and text.isdigit() else text.split()

    def state_from_moves(self, moves: str) -> np.ndarray:
        """Position after a move string such as "4453" (1-indexed columns, first move first)."""
        state = self.initial_state()
        for i, ch in enumerate(moves.strip()):
            where = f"move {i + 1} ({ch!r}) of {moves[:40]!r}{'...' if len(moves) > 40 else ''}"
            if not (ch.isascii() and ch.isdigit()) or not 1 <= int(ch) <= WIDTH:
                raise MoveParseError(f"connect4: {where} is not a column 1-{WIDTH}")
            if self.is_terminal(state):
                raise IllegalMoveError(f"connect4: {where} comes after the game ended ({self.result_string(state)})")
            col = int(ch) - 1
            if not can_play(state, col):
                raise IllegalMoveError(f"connect4: {where} plays in column {ch}, which is full")
            step(state, col)
        return state

    def moves_to_string(self, actions) -> str:
        return "".join(self.format_move(a) for a in actions)

    # ---- saved games -----------------------------------------------------------------------
    def record_text(self, actions, first, second, result, date):
        """The move string ("4453"), the notation of Connect Four solvers and databases."""
        return self.moves_to_string(actions) + "\n"

    def read_records(self, path):
        """Lines "MOVES [RESULT]" (MOVES a move string) in the file ``path`` or in the ``*.txt``
        files of the folder ``path``; the result is recomputed from the moves. Nothing is
        skipped: a bad line is an error naming its file and line."""
        path = Path(path)
        files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
        if not files:
            raise GameError(f"{path}: no Connect Four game files (*.txt)")
        records = []
        for file in files:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except OSError as e:
                raise GameError(f"cannot read {file}: {e.strerror}") from None
            except UnicodeDecodeError as e:
                raise GameError(f"{file} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") \
                    from None
            for number, line in enumerate(lines, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                moves = line.split()[0]
                try:
                    state = self.state_from_moves(moves)
                except GameError as e:
                    raise GameError(f"{file}:{number}: {e}") from None
                returns = self.returns(state) if self.is_terminal(state) else None
                records.append(GameRecord([int(c) - 1 for c in moves], returns))
        return records, []
