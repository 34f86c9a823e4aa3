"""Go as a Game: the checked Python surface over the kernels (games.go.board, scoring,
encoding, playouts), with GTP coordinates, SGF points, symmetries, the terminal board and
the game's records (SGF, written and read by games.go.sgf)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from games.base import Game, GameError, GameRecord, MoveParseError, Rules
from games.go.board import (
    board_colors,
    is_terminal,
    legal_mask,
    setup_stones,
    step,
    to_play,
)
from games.go.encoding import encode
from games.go.playouts import rollout
from games.go.scoring import area_ownership, score2, terminal_value
from games.go.sgf import GoRecord, game_sgf, read_sgf_dir, sgf_point
from games.go.state import (
    BLACK,
    CAPTURES,
    EMPTY,
    LAST_MOVE,
    MAX_SIZE,
    MIN_SIZE,
    MOVE_NUMBER,
    NUM_PLANES,
    TO_PLAY,
    WHITE,
    new_state,
    table_capacity,
)
from games.kernel_ids import GO

COLUMNS = "ABCDEFGHJKLMNOPQRST"  # GTP column letters: I is skipped

#: Komi by board size where none is given (``komi=None``): 5x5 is a Black win by the whole
#: board with perfect play, 7x7 has the accepted fair komi 9, 9x9 the 7 of the CGOS
#: computer-Go server; other sizes 7.5.
FAIR_KOMI = {5: 24.5, 7: 9.0, 9: 7.0}


def fair_komi(size: int) -> float:
    return FAIR_KOMI.get(size, 7.5)


class ScoreBreakdown(NamedTuple):
    """Area scoring's counts: each side's area is its stones plus the empty points that reach
    only its stones; the score is Black's area minus White's minus komi."""

    black_stones: int
    black_territory: int
    white_stones: int
    white_territory: int
    komi: float

    @property
    def black_area(self) -> int:
        return self.black_stones + self.black_territory

    @property
    def white_area(self) -> int:
        return self.white_stones + self.white_territory

    @property
    def score(self) -> float:
        return self.black_area - self.white_area - self.komi

    @property
    def result(self) -> str:
        """As GoGame.result_string: "B+3.5", "W+1", "Draw"."""
        s = self.score
        return "Draw" if s == 0 else f"{'B' if s > 0 else 'W'}+{abs(s):g}"

    def lines(self) -> list[str]:
        result = self.result
        return [f"Black: {_stones(self.black_stones)} + {self.black_territory} territory = {self.black_area}",
                f"White: {_stones(self.white_stones)} + {self.white_territory} territory = {self.white_area}"
                f" + komi {self.komi:g} = {self.white_area + self.komi:g}",
                f"result: {result}"]


class GoGame(Game):
    """Go with its parameters; see games.go for the rules and games.go.state for the state layout."""

    name = "go"
    kernel_id = GO
    rules = Rules(legal_mask, step, is_terminal, terminal_value, to_play, encode, rollout)
    num_symmetries = 8

    def __init__(self, size: int = 9, komi: float | None = 7.5, max_moves: int | None = None):
        """``komi=None``: the fair komi of the board size (FAIR_KOMI); ``max_moves=None``:
        2 * size * size, as OpenSpiel."""
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
            raise GameError(f"go: board size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
        if komi is None:
            komi = fair_komi(int(size))
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
        self._initial: np.ndarray | None = None  # made on first use: a GTP engine answers before it

    @classmethod
    def for_record(cls, record: GoRecord) -> GoGame:
        """The rules a record is played by: its board and komi, the move cap raised if the
        record is longer than the default one."""
        return cls(record.size, record.komi, max_moves=max(2 * record.size * record.size, len(record.moves) + 1))

    def __repr__(self):
        return f"GoGame(size={self.size}, komi={self.komi}, max_moves={self.max_moves})"

    # ---- identity --------------------------------------------------------------------------
    def params(self):
        return {"size": self.size, "komi": self.komi, "max_moves": self.max_moves}

    def label(self):
        return f"go-{self.size}x{self.size}-komi{self.komi:g}"

    # ---- positions -------------------------------------------------------------------------
    def initial_state(self):
        if self._initial is None:
            self._initial = new_state(self.size, int(self.komi * 2), self.max_moves, table_capacity(self.max_moves))
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

    def final_ownership(self, state) -> tuple[np.ndarray, float]:
        """Black's area (+1), White's (-1) and nobody's (0) point by point, and Black's score
        margin (komi included) per point of the board."""
        owners = np.zeros((self.size, self.size), dtype=np.int8)
        area_ownership(state, owners)
        return owners, self.score(state) / (self.size * self.size)

    def score_breakdown(self, state) -> ScoreBreakdown:
        """The counts behind ``score``, for people: each side's stones and the empty points that
        reach only its stones (area scoring, as the kernel scoring.area_difference counts them)."""
        board = self.board(state)
        n = self.size
        territory = {BLACK: 0, WHITE: 0}
        seen = np.zeros((n, n), dtype=bool)
        for row in range(n):
            for col in range(n):
                if board[row, col] != EMPTY or seen[row, col]:
                    continue
                seen[row, col] = True
                stack, region, reaches = [(row, col)], 0, set()
                while stack:
                    r, c = stack.pop()
                    region += 1
                    for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                        if not (0 <= rr < n and 0 <= cc < n):
                            continue
                        if board[rr, cc] == EMPTY:
                            if not seen[rr, cc]:
                                seen[rr, cc] = True
                                stack.append((rr, cc))
                        else:
                            reaches.add(int(board[rr, cc]))
                if len(reaches) == 1:
                    territory[reaches.pop()] += region
        return ScoreBreakdown(int((board == BLACK).sum()), territory[BLACK],
                              int((board == WHITE).sum()), territory[WHITE], self.komi)

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

    def resignation_string(self, state):
        return "W+R" if self.to_play(state) == 0 else "B+R"  # SGF's RE

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
        if not (digits.isascii() and digits.isdigit()):
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
        if not 0 <= action <= self.pass_action:
            raise GameError(f"go: action {action} is out of range 0..{self.pass_action}")
        return sgf_point(action, self.size)

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

    def move_hint(self):
        return "a vertex such as C3, or pass"

    def rules_text(self) -> str:
        """The rules in a line, for the start of a game at the terminal."""
        return (f"Go {self.size}x{self.size}, komi {self.komi:g}: area scoring (stones + surrounded "
                "empty points), positional superko, no suicide; two passes in a row end the game"
                f" (as does move {self.max_moves})")

    # ---- saved games -----------------------------------------------------------------------
    record_suffix = ".sgf"

    def record_text(self, actions, first, second, result, date):
        """The game as SGF (Black ``first``, White ``second``), as the arena saves it."""
        return game_sgf(self.size, self.komi, actions, first, second, result, date)

    def read_records(self, path):
        """Every SGF game of this board size in the folder ``path`` (recursively), each checked
        by replaying it; files unreadable, illegal by our rules or of another size are skipped,
        each with its reason."""
        def rules_for(record):
            if record.size != self.size:
                raise GameError(f"a {record.size}x{record.size} game, not {self.size}x{self.size}")
            return GoGame.for_record(record)

        skipped: list[str] = []
        found, _ = read_sgf_dir(path, rules_for, skipped)
        records = []
        for record in found:
            start = self.from_board(record.setup_board(), record.first_player) if record.has_setup else None
            records.append(GameRecord(record.actions(self), record.returns, start))
        return records, skipped

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


def _stones(count: int) -> str:
    return f"{count} stone{'' if count == 1 else 's'}"
