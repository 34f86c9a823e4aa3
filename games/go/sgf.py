"""Go game records in SGF (FF[4]), read and written with sgfmill, checked by our rules.

What is kept: SZ, KM, RU, RE, PB/PW, setup stones (AB/AW in the root node), who moves first
(PL, else the first move's colour, else Black) and the main line of B/W moves; variations are
dropped on reading. A pass is ``B[]``, or ``B[tt]`` on boards up to 19x19; both are read,
``B[]`` is written. sgfmill tolerates the lower-case letters of old property names
(``AddBlack`` is AB) and picks the file's charset from CA.

Every file is replayed on reading, so a record that comes back is a legal game by our rules
(area scoring, positional superko, no suicide): anything else raises SgfError naming the file
and, for a move, its number. Moves must alternate, as in our games. The readers take the
rules to replay in (``GoGame.for_record``) rather than importing them, since the rules use
this module to write their records.

SGF is written here only: ``to_sgf`` writes a whole record (setup stones included) with
sgfmill, ``game_sgf`` the compact form of a game played from the empty board that
``GoGame.record_text`` gives the arena.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from sgfmill import sgf

from games.base import Game, GameError
from games.go.state import BLACK, MAX_SIZE, MIN_SIZE, WHITE

COLOURS = "bw"


class SgfError(GameError):
    """An SGF file is malformed, or holds a game our rules cannot replay."""


@dataclass
class GoRecord:
    """One Go game: the rules' parameters, the starting position and the moves (actions of a
    ``size`` board: ``row * size + col`` with row 0 at the bottom, ``size * size`` a pass)."""

    size: int = 9
    komi: float = 7.5
    moves: list[int] = field(default_factory=list)
    setup_black: tuple[int, ...] = ()  # points of Black's setup stones, sorted
    setup_white: tuple[int, ...] = ()
    first_player: int = 0  # 0 Black, 1 White: who plays the first move
    result: str | None = None  # RE as written: "B+3.5", "W+R", "0", ...
    black: str | None = None  # PB and PW: the players' names
    white: str | None = None
    rules: str | None = None  # RU

    @property
    def has_setup(self) -> bool:
        return bool(self.setup_black or self.setup_white)

    def setup_board(self) -> np.ndarray:
        """(size, size) int8 board of the setup stones: 0 empty, 1 Black, 2 White, row 0 the bottom."""
        board = np.zeros(self.size * self.size, dtype=np.int8)
        board[list(self.setup_black)] = BLACK
        board[list(self.setup_white)] = WHITE
        return board.reshape(self.size, self.size)

    def initial_state(self, game: Game) -> np.ndarray:
        if self.has_setup or self.first_player:
            return game.from_board(self.setup_board(), self.first_player)
        return game.initial_state()

    def actions(self, game: Game | None = None) -> list[int]:
        if game is not None and game.size != self.size:
            raise GameError(f"go: this record is of a {self.size}x{self.size} game, not {game.size}x{game.size}")
        return list(self.moves)

    def replay(self, game: Game) -> list[np.ndarray]:
        """Every position of the game in ``game`` (``GoGame.for_record(self)``), the starting
        one first; GameError names a bad move."""
        states = [self.initial_state(game)]
        for number, action in enumerate(self.moves, start=1):
            state = states[-1]
            try:
                states.append(game.step(state, action))
            except GameError as e:
                who = game.player_name(game.to_play(state))
                move = game.format_move(action) if 0 <= action < game.num_actions else str(action)
                raise GameError(f"move {number} ({who} {move}) is illegal by our rules: {e}") from None
        return states

    @property
    def returns(self) -> tuple[float, float] | None:
        """Outcome for Black and White from RE; None when it names no winner (void, unknown)."""
        text = (self.result or "").strip().upper()
        if text in ("0", "DRAW", "D", "JIGO"):
            return 0.0, 0.0
        if text.startswith("B+"):
            return 1.0, -1.0
        if text.startswith("W+"):
            return -1.0, 1.0
        return None

    @classmethod
    def from_game(cls, game: Game, actions, start: np.ndarray | None = None, result: str | None = None,
                  black: str | None = None, white: str | None = None, rules: str | None = "Chinese") -> GoRecord:
        """The record of ``actions`` played from ``start`` (the empty board by default); the
        result defaults to our score of the final position when the game is over."""
        actions = [int(a) for a in actions]
        setup_black: tuple[int, ...] = ()
        setup_white: tuple[int, ...] = ()
        first = 0
        if start is not None:
            board = game.board(start).reshape(-1)
            setup_black = tuple(int(a) for a in np.flatnonzero(board == BLACK))
            setup_white = tuple(int(a) for a in np.flatnonzero(board == WHITE))
            first = game.to_play(start)
        record = cls(game.size, game.komi, actions, setup_black, setup_white, first, result, black, white, rules)
        if result is None:
            final = record.replay(game)[-1]
            if game.is_terminal(final):
                record.result = _result_text(game.score(final))
        return record


def _result_text(score: float) -> str:
    return "0" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"


#: The rules a record is checked against when read: ``GoGame.for_record``.
RulesFor = Callable[[GoRecord], Game]


# ---- writing --------------------------------------------------------------------------------
def sgf_point(action: int, size: int) -> str:
    """SGF point "xy" of an action (x the column, y the row counted from the top, both from
    "a"); pass (``size * size``) is ""."""
    if action == size * size:
        return ""
    return chr(ord("a") + action % size) + chr(ord("a") + size - 1 - action // size)


def _sgf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("]", "\\]")


def game_sgf(size: int, komi: float, actions: Sequence[int], black: str, white: str, result: str,
             date: str) -> str:
    """A game played from the empty board, Black first, as SGF FF[4] on two lines (passes as
    empty moves), readable by Sabaki, GoGui and gnugo."""
    header = (f"(;FF[4]GM[1]CA[UTF-8]AP[selfplay]SZ[{size}]KM[{komi:g}]RU[Chinese]"
              f"PB[{_sgf_text(black)}]PW[{_sgf_text(white)}]RE[{_sgf_text(result)}]DT[{date}]")
    moves = "".join(f";{'BW'[i % 2]}[{sgf_point(int(a), size)}]" for i, a in enumerate(actions))
    return header + "\n" + moves + ")\n"


def to_sgf(record: GoRecord) -> bytes:
    """The record as an SGF FF[4] file (UTF-8)."""
    game = sgf.Sgf_game(record.size)
    root = game.get_root()
    root.set("KM", float(record.komi))
    for identifier, value in (("RU", record.rules), ("RE", record.result), ("PB", record.black),
                              ("PW", record.white)):
        if value:
            root.set(identifier, value)
    n = record.size
    if record.has_setup:
        root.set_setup_stones([divmod(a, n) for a in record.setup_black], [divmod(a, n) for a in record.setup_white])
    if record.first_player:
        root.set("PL", "w")
    colour = record.first_player
    for action in record.moves:
        node = game.extend_main_sequence()
        if action == n * n:
            node.set_raw(COLOURS[colour].upper(), b"")  # FF[4]'s pass: B[] (sgfmill would write tt)
        else:
            node.set_move(COLOURS[colour], divmod(action, n))
        colour ^= 1
    return game.serialise()


def from_sgf(data: bytes, rules_for: RulesFor, name: str = "<sgf>") -> GoRecord:
    """Parse one game (the first of a collection) and check it by replaying it in
    ``rules_for(record)``; SgfError names ``name`` and what is wrong."""
    try:
        return _parse(data, rules_for)
    except SgfError as e:
        raise SgfError(f"{name}: {e}") from None
    except GameError as e:
        raise SgfError(f"{name}: {e}") from None
    except (ValueError, LookupError, TypeError, UnicodeError, AssertionError) as e:
        raise SgfError(f"{name}: not a valid SGF game: {e or type(e).__name__}") from None


def _text(node, identifier: str) -> str | None:
    if not node.has_property(identifier):
        return None
    value = node.get(identifier)
    return value.strip() if isinstance(value, str) else str(value)


def _parse(data: bytes, rules_for: RulesFor) -> GoRecord:
    game = sgf.Sgf_game.from_bytes(data)
    root = game.get_root()
    if root.has_property("GM") and root.get("GM") != 1:
        raise SgfError(f"GM[{root.get('GM')}] is not a game of Go (GM[1])")
    size = game.get_size()
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise SgfError(f"board size {size} is outside the sizes our rules support ({MIN_SIZE}-{MAX_SIZE})")
    komi = root.get("KM") if root.has_property("KM") else 0.0
    if komi * 2 != int(komi * 2):
        raise SgfError(f"komi {komi:g} is not a multiple of 0.5, which our rules need")
    black, white, _empty = root.get_setup_stones()
    setup_black = tuple(sorted(r * size + c for r, c in black))
    setup_white = tuple(sorted(r * size + c for r, c in white))
    if set(setup_black) & set(setup_white):
        raise SgfError("a point has both a black and a white setup stone")

    nodes = game.get_main_sequence()
    moves, colours = [], []
    for node in nodes[1:]:
        if node.has_setup_stones():
            raise SgfError(f"setup stones (AB/AW/AE) after move {len(moves)} are not supported, only in the root")
        if node.has_property("B") and node.has_property("W"):
            raise SgfError(f"move {len(moves) + 1}: one node holds both a B and a W move")
        try:
            colour, point = node.get_move()
        except ValueError:
            which = "B" if node.has_property("B") else "W"
            raise SgfError(f"move {len(moves) + 1}: {node.get_raw(which)!r} is not a point of a "
                           f"{size}x{size} board") from None
        if colour is None:
            continue
        colours.append(COLOURS.index(colour))
        moves.append(size * size if point is None else point[0] * size + point[1])
    if root.get_move()[0] is not None:
        raise SgfError("a move in the root node: moves belong in the nodes after it")

    first = colours[0] if colours else 0
    if root.has_property("PL"):
        first = COLOURS.index(root.get("PL"))
        if colours and colours[0] != first:
            raise SgfError(f"PL says {'BW'[first]} plays first, but move 1 is {'BW'[colours[0]]}'s")
    for number in range(1, len(colours)):
        if colours[number] == colours[number - 1]:
            raise SgfError(f"move {number + 1}: {'BW'[colours[number]]} plays twice in a row "
                           "(our games alternate)")
    record = GoRecord(size, float(komi), moves, setup_black, setup_white, first, _text(root, "RE"),
                      _text(root, "PB"), _text(root, "PW"), _text(root, "RU"))
    record.replay(rules_for(record))
    return record


def read_sgf(path: str | Path, rules_for: RulesFor) -> GoRecord:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise SgfError(f"cannot read {path}: {e.strerror}") from None
    return from_sgf(data, rules_for, str(path))


def read_sgf_dir(path: str | Path, rules_for: RulesFor, errors: list[str] | None = None
                 ) -> tuple[list[GoRecord], int]:
    """Every ``*.sgf`` under ``path`` (recursively, in name order) that reads as a legal game,
    and the number of files skipped; ``errors`` collects each skipped file's reason."""
    path = Path(path)
    if not path.is_dir():
        raise SgfError(f"{path}: no such directory")
    records, skipped = [], 0
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            if not name.lower().endswith(".sgf"):
                continue
            try:
                records.append(read_sgf(Path(root) / name, rules_for))
            except SgfError as e:
                skipped += 1
                if errors is not None:
                    errors.append(str(e))
    return records, skipped
