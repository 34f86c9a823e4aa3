"""Our agent as a GTP 2 engine (for Sabaki, GoGui, twogtp, ...): lines in, responses out.

Follows the GTP 2 specification (Farnebäck, draft 2): on input, control characters other than
tab and newline are dropped, tabs become spaces, everything after ``#`` is a comment, and
empty lines are ignored; a command is ``[id] name [arguments]``; a response is ``=[id] result``
or ``?[id] message`` followed by an empty line. Vertices are read in either case and written
in upper case ("D4"), with ``pass``; colours are ``b``/``black``/``w``/``white``. A malformed
or illegal command gets ``? reason`` and the engine keeps going; only ``quit`` and the end of
input stop it.

The controller may play either colour at any time (setting up a position, or a GUI's edit
mode) and may continue after two passes: the engine then gives that colour the move and, for
a game already over by passes, reopens it. Undo, komi and board size changes replay or reset
the position; the player is rebuilt for a new board size (a network fits one size) and reset
otherwise.

Time: ``time_settings`` and ``time_left`` (Canadian byo-yomi, as in the spec) give each
``genmove`` a budget of seconds; for a search player the engine turns it into a number of
simulations from the speed measured on earlier moves (never above the player's own setting).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import re
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, TextIO

import numpy as np

from games import GameError
from games.go import MAX_MOVES, PASSES, TO_PLAY, GoGame
from games.go.sgf import GoRecord, SgfError, read_sgf, to_sgf
from selfplay.atomic import atomic_write_text
from selfplay.errors import UserError
from selfplay.players import Player, Resignation

COMMANDS = ["protocol_version", "name", "version", "known_command", "list_commands", "boardsize", "komi",
            "clear_board", "play", "genmove", "undo", "final_score", "showboard", "time_settings", "time_left",
            "quit", "kgs-genmove_cleanup", "final_status_list", "loadsgf", "printsgf", "gogui-analyze_commands",
            "fixed_handicap", "place_free_handicap", "set_free_handicap", "lz-analyze", "kata-analyze"]
#: Random playouts behind final_status_list: a stone whose point the other colour owns at the end
#: of most of them is dead (the classic Monte Carlo status estimate).
STATUS_PLAYOUTS = 64
#: The move cap of an engine game: a GUI game must not stop at the cap self-play uses.
MAX_MOVES_PER_POINT = 4
#: Fewest moves a player is assumed to still have to play in main time.
MIN_MOVES_LEFT = 10
#: Share of a byo-yomi period's time per stone that a move may use (the rest is the margin).
BYO_YOMI_SHARE = 0.8
#: Simulations of the first timed search, which measures the search speed.
PROBE_SIMULATIONS = 64
MIN_SIMULATIONS = 8
#: `lz-analyze` and `kata-analyze` (Sabaki's live analysis): streamed until the next command.
ANALYZE = re.compile(r"^(\d+)?\s*(lz-analyze|kata-analyze)\b(.*)$")
ANALYSIS_CAP_SECONDS = 600
#: A timed search may run this many times the player's own simulations when the clock allows.
MAX_TIMED_FACTOR = 20


def package_version() -> str:
    try:
        return importlib.metadata.version("selfplay")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class CommandError(Exception):
    """A command cannot be carried out: answered ``? message``."""


@dataclass
class Clock:
    """What the controller said about time: settings (Canadian byo-yomi) and time left."""
    main_time: float | None = None
    byo_yomi_time: float = 0.0
    byo_yomi_stones: int = 0
    time_left: dict[int, tuple[float, int]] = dataclasses.field(default_factory=dict)

    @property
    def unlimited(self) -> bool:
        # The spec: byo-yomi time > 0 with 0 stones means no time limit; no time at all is
        # taken to mean the same (no controller asks for moves in zero seconds).
        return (self.main_time is None or (self.byo_yomi_time > 0 and self.byo_yomi_stones == 0)
                or self.main_time == self.byo_yomi_time == 0)

    def budget(self, color: int, empty_points: int) -> float | None:
        """Seconds the next move of ``color`` may take, None without a limit."""
        if self.unlimited:
            return None
        per_stone = self.byo_yomi_time / self.byo_yomi_stones if self.byo_yomi_stones else 0.0
        left, stones = self.time_left.get(color, (self.main_time, 0))
        if stones > 0:  # in byo-yomi: share the period's time among its stones
            return BYO_YOMI_SHARE * left / stones
        moves_left = max(MIN_MOVES_LEFT, empty_points // 2)
        return left / moves_left + BYO_YOMI_SHARE * per_stone


def parse_color(text: str) -> int:
    color = {"b": 0, "black": 0, "w": 1, "white": 1}.get(text.lower())
    if color is None:
        raise CommandError(f"invalid color {text!r}")
    return color


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"syntax error: {what} {text!r} is not an integer") from None


@contextmanager
def simulations(player: Player, count: int | None):
    """Run the body with a search player's simulation count set to ``count`` (no effect on
    other players, or when ``count`` is None). MCTS reads the count from its config at the
    start of each search, so swapping the frozen config for the move is enough."""
    mcts = getattr(player, "mcts", None)
    config = getattr(mcts, "config", None)
    if count is None or config is None or not hasattr(config, "num_simulations"):
        yield
        return
    mcts.config = dataclasses.replace(config, num_simulations=int(count))
    try:
        yield
    finally:
        mcts.config = config


class GTPEngine:
    """The engine's state (board size, komi, moves, clock) and the player that generates moves.

    ``make_player(game)`` builds the player for a game; it is called again when the board size
    changes, so a player bound to one size can refuse the others (a UserError or GameError
    answers ``boardsize`` with ``? unacceptable size``).

    The first player is built in a background thread (``player_ready``): loading torch and a
    network takes seconds, and a GUI's handshake (name, version, boardsize, komi, play) need
    not wait for it. The first command that needs the player waits; moves played before it
    exists are replayed into it."""

    def __init__(self, make_player: Callable[[GoGame], Player], size: int = 9, komi: float = 7.5,
                 name: str = "selfplay", version: str | None = None):
        self.make_player = make_player
        self.name = name
        self.version = version or package_version()
        self.komi = float(komi)
        self.game = self._make_game(size, self.komi)
        self._player: Player | None = None
        self.player_ready = self._build_in_background(self.game)
        self.setup: tuple[int, ...] = ()  # handicap stones (Black's points) the game starts from
        self.moves: list[tuple[int, int]] = []  # (colour, action) as played
        self._states: list[np.ndarray] | None = None  # the empty board, made when first needed
        self.clock = Clock()
        self.simulation_rate: float | None = None  # simulations per second, measured
        self.finished = False
        self._handlers = {name: getattr(self, f"cmd_{name.replace('-', '_')}") for name in COMMANDS}

    # ---- the loop --------------------------------------------------------------------------
    def run(self, stdin: TextIO, stdout: TextIO, pending: Callable[[], bool] | None = None) -> None:
        """Answer commands from ``stdin`` until ``quit`` or the end of input. ``pending()`` says
        whether another command is waiting (it ends a streaming analysis); without it an
        analysis reports once."""
        for line in iter(stdin.readline, ""):
            analysis = ANALYZE.match(line.strip())
            if analysis:
                self.analyze(analysis, stdout, pending or (lambda: True))
                continue
            response = self.handle(line)
            if response is not None:
                stdout.write(response)
                stdout.flush()
            if self.finished:
                break

    def handle(self, line: str) -> str | None:
        """The response to one line of input (None for an empty or comment line)."""
        text = "".join(ch for ch in line if ch in "\t\n" or ord(ch) >= 32 and ord(ch) != 127)
        text = text.replace("\t", " ").split("#", 1)[0].strip()
        if not text:
            return None
        parts = text.split()
        ident = ""
        if parts[0].isascii() and parts[0].isdigit():
            ident, parts = parts[0], parts[1:]
            if not parts:
                return f"?{ident} syntax error: a command id with no command\n\n"
        name, args = parts[0], parts[1:]
        handler = self._handlers.get(name)
        if handler is None:
            return f"?{ident} unknown command\n\n"
        try:
            result = handler(args)
        except CommandError as e:
            return f"?{ident} {_one_line(str(e))}\n\n"
        except (UserError, GameError) as e:
            return f"?{ident} {_one_line(str(e))}\n\n"
        except Exception as e:  # a bug must not take a GUI's engine down with it
            return f"?{ident} internal error: {type(e).__name__}: {_one_line(str(e))}\n\n"
        # An empty line ends a response, so none may appear inside one (showboard's result
        # starts on the line after the '=', which the first, empty line keeps).
        lines = (result or "").split("\n")
        body = "\n".join([lines[0].strip()] + [line.rstrip() for line in lines[1:] if line.strip()])
        return f"={ident} {body}\n\n"

    # ---- analysis (Sabaki's lz-analyze, kata-analyze) ---------------------------------------------
    def analyze(self, match: re.Match, stdout: TextIO, pending: Callable[[], bool]) -> None:
        """Stream ``info move ...`` lines, one every interval (centiseconds), of a search that
        goes on from the current position until the controller sends another command (or
        ANALYSIS_CAP_SECONDS); then the empty line that ends the response."""
        ident, name, rest = match.group(1) or "", match.group(2), match.group(3).split()
        color, interval = self.game.to_play(self.state), 100
        try:
            if rest and not rest[0].isdigit() and rest[0] != "interval":
                color, rest = parse_color(rest[0]), rest[1:]
            if rest and rest[0] == "interval":
                rest = rest[1:]
            if rest:
                interval = _integer(rest[0], "interval")
        except CommandError as e:
            stdout.write(f"?{ident} {e}\n\n")
            stdout.flush()
            return
        if getattr(self.player, "analysis", None) is None:
            stdout.write(f"?{ident} {self.player.name} does not search: nothing to analyze\n\n")
            stdout.flush()
            return
        state = self._state_for(color)
        stdout.write(f"={ident}\n")
        stdout.flush()
        started = time.perf_counter()
        while not self.game.is_terminal(state):
            self._timed_search(state, max(MIN_SIMULATIONS, int((self.simulation_rate or 100) * interval / 100)))
            stdout.write(self._info_line(name) + "\n")
            stdout.flush()
            if pending() or time.perf_counter() - started > ANALYSIS_CAP_SECONDS:
                break
        stdout.write("\n")
        stdout.flush()

    def _info_line(self, name: str) -> str:
        """The last search's moves in the analysis format Sabaki reads: Leela Zero's winrate and
        prior in 1/10000ths, KataGo's as fractions."""
        analysis = self.player.analysis(top=10)
        parts = []
        for order, m in enumerate(m for m in analysis.moves if m.visits > 0):
            win = (1 + (analysis.value if np.isnan(m.q) else m.q)) / 2
            pv = " ".join(analysis.pv) if order == 0 and analysis.pv else m.move.upper()
            if name == "lz-analyze":
                parts.append(f"info move {m.move.upper()} visits {m.visits} winrate {int(round(win * 10000))} "
                             f"prior {int(round(m.prior * 10000))} order {order} pv {pv.upper()}")
            else:
                parts.append(f"info move {m.move.upper()} visits {m.visits} winrate {win:.4f} prior {m.prior:.4f} "
                             f"order {order} pv {pv.upper()}")
        return " ".join(parts)

    # ---- the player --------------------------------------------------------------------------
    def _build_in_background(self, game: GoGame) -> Future:
        ready: Future = Future()

        def build():
            try:
                ready.set_result(self.make_player(game))
            except BaseException as e:  # handed to whoever waits for the player
                ready.set_exception(e)
        threading.Thread(target=build, name="gtp-player", daemon=True).start()
        return ready

    @property
    def player(self) -> Player:
        """The player, waiting for the background build the first time (its error is raised
        here); it is brought up to the moves played so far."""
        if self._player is None:
            self._use(self.player_ready.result())
        return self._player

    def _use(self, player: Player) -> None:
        self._player = player
        player.reset(self.game)
        for (color, action), state in zip(self.moves, self.states):
            player.observe(self.game, self._reopened(state, color), action)

    # ---- positions -------------------------------------------------------------------------
    @staticmethod
    def _make_game(size: int, komi: float) -> GoGame:
        return GoGame(size, komi, max_moves=MAX_MOVES_PER_POINT * size * size)

    @property
    def states(self) -> list[np.ndarray]:
        """The positions before and after each move (the first one made on first use, so that
        the handshake is answered before the rules' kernels are loaded)."""
        if self._states is None:
            self._states = [self._start()]
        return self._states

    @states.setter
    def states(self, states: list[np.ndarray]) -> None:
        self._states = states

    @property
    def state(self) -> np.ndarray:
        return self.states[-1]

    def _state_for(self, color: int) -> np.ndarray:
        """The current position with ``color`` to move (reopened if it ended by passes)."""
        return self._reopened(self.state, color)

    def _reopened(self, state: np.ndarray, color: int) -> np.ndarray:
        if self.game.to_play(state) == color and state[PASSES] < 2:
            return state
        state = state.copy()
        state[TO_PLAY] = color
        state[PASSES] = min(state[PASSES], 1)
        return state

    def _push(self, color: int, action: int) -> None:
        before = self._state_for(color)
        after = self.game.step(before, action)
        if self._player is not None:  # else replayed into it when it is ready
            self._player.observe(self.game, before, action)
        self.moves.append((color, action))
        self.states.append(after)

    def _start(self) -> np.ndarray:
        """The empty board, or the handicap stones with White to move."""
        if not self.setup:
            return self.game.initial_state()
        board = np.zeros((self.game.size, self.game.size), dtype=np.int8)
        for action in self.setup:
            board[divmod(action, self.game.size)] = 1
        return self.game.from_board(board, to_play=1)

    def _replay(self, moves: list[tuple[int, int]]) -> None:
        self.moves, self.states = [], [self._start()]
        if self._player is not None:
            self._player.reset(self.game)
        for color, action in moves:
            self._push(color, action)

    # ---- commands --------------------------------------------------------------------------
    def _args(self, args: list[str], count: int, usage: str) -> list[str]:
        if len(args) != count:
            raise CommandError(f"syntax error: usage: {usage}")
        return args

    def cmd_protocol_version(self, args):
        return "2"

    def cmd_name(self, args):
        return self.name

    def cmd_version(self, args):
        return self.version

    def cmd_known_command(self, args):
        (name,) = self._args(args, 1, "known_command COMMAND")
        return "true" if name in self._handlers else "false"

    def cmd_list_commands(self, args):
        return "\n".join(COMMANDS)

    def cmd_quit(self, args):
        self.finished = True
        return ""

    def cmd_boardsize(self, args):
        (text,) = self._args(args, 1, "boardsize SIZE")
        size = _integer(text, "board size")
        try:
            game = self._make_game(size, self.komi)
            player = self.make_player(game) if size != self.game.size else self._player  # None: still building
        except (GameError, UserError) as e:
            raise CommandError(f"unacceptable size ({_one_line(str(e))})") from None
        self.game, self._player = game, player
        self.simulation_rate = None
        self.setup = ()
        self._replay([])
        return ""

    def cmd_clear_board(self, args):
        self._args(args, 0, "clear_board")
        self.setup = ()
        self._replay([])
        return ""

    def cmd_fixed_handicap(self, args):
        (text,) = self._args(args, 1, "fixed_handicap NUMBER_OF_STONES")
        return self._place_handicap(handicap_points(self.game.size, _integer(text, "number of stones")))

    def cmd_place_free_handicap(self, args):
        """The engine's choice: the fixed points, as many as the board has (GTP lets it place fewer)."""
        (text,) = self._args(args, 1, "place_free_handicap NUMBER_OF_STONES")
        stones = _integer(text, "number of stones")
        if stones < 2:
            raise CommandError("invalid number of stones")
        return self._place_handicap(handicap_points(self.game.size, min(stones, max_handicap(self.game.size))))

    def cmd_set_free_handicap(self, args):
        if len(args) < 2:
            raise CommandError("syntax error: usage: set_free_handicap VERTEX VERTEX ...")
        points = [self._vertex(v) for v in args]
        if self.game.pass_action in points or len(set(points)) != len(points):
            raise CommandError("bad vertex list (a pass or a point twice)")
        self._place_handicap(points)
        return ""

    def _place_handicap(self, points: list[int]) -> str:
        if self.moves or self.setup:
            raise CommandError("board not empty")
        self.setup = tuple(points)
        try:
            self._replay([])
        except GameError as e:
            self.setup = ()
            self._replay([])
            raise CommandError(f"cannot place the handicap: {_one_line(str(e))}") from None
        return " ".join(self.game.format_move(p).upper() for p in points)

    def cmd_komi(self, args):
        (text,) = self._args(args, 1, "komi KOMI")
        try:
            komi = float(text)
        except ValueError:
            raise CommandError(f"syntax error: komi {text!r} is not a number") from None
        if komi != self.komi:
            self.game = self._make_game(self.game.size, komi)  # raises for a komi our rules cannot use
            self.komi = komi
            self._replay(list(self.moves))
        return ""

    def _vertex(self, text: str) -> int:
        try:
            return self.game.parse_move(text)
        except GameError as e:
            raise CommandError(f"invalid vertex ({_one_line(str(e))})") from None

    def cmd_play(self, args):
        color_text, vertex = self._args(args, 2, "play COLOR VERTEX")
        color = parse_color(color_text)
        action = self._vertex(vertex)
        state = self._state_for(color)
        if self.game.is_terminal(state):
            raise CommandError(f"illegal move: the game reached its cap of {int(state[MAX_MOVES])} moves")
        if not self.game.legal_mask(state)[action]:
            raise CommandError("illegal move")
        self._push(color, action)
        return ""

    def cmd_genmove(self, args):
        (color_text,) = self._args(args, 1, "genmove COLOR")
        color = parse_color(color_text)
        state = self._state_for(color)
        if self.game.is_terminal(state):
            return "pass"
        budget = self.clock.budget(color, int((self.game.board(state) == 0).sum()))
        try:
            action = self._search(state, budget)
        except Resignation:
            return "resign"
        if not self.game.legal_mask(state)[action]:
            raise CommandError(f"internal error: the player chose the illegal move {self.game.format_move(action)}")
        self._push(color, action)
        return self.game.format_move(action).upper() if action != self.game.pass_action else "pass"

    def _search(self, state: np.ndarray, budget: float | None) -> int:
        """The player's move. With a time budget a search player spends it rather than stopping
        at its own count: the first timed move starts with a short probe that measures its
        speed, then every move searches what fits the time left, up to MAX_TIMED_FACTOR times
        its own count (a second search from the same position continues the probe's tree)."""
        config = getattr(getattr(self.player, "mcts", None), "config", None)
        if budget is None or config is None:
            return int(self.player.select_move(self.game, state.copy()))
        started, action = time.perf_counter(), None
        if self.simulation_rate is None:
            action = self._timed_search(state, PROBE_SIMULATIONS)
        left = budget - (time.perf_counter() - started)
        count = int(min(MAX_TIMED_FACTOR * config.num_simulations, self.simulation_rate * max(left, 0.0)))
        if count >= MIN_SIMULATIONS or action is None:
            action = self._timed_search(state, max(count, MIN_SIMULATIONS))
        return action

    def _timed_search(self, state: np.ndarray, count: int) -> int:
        """One search of ``count`` simulations; the measured speed updates ``simulation_rate``."""
        start = time.perf_counter()
        with simulations(self.player, count):
            action = int(self.player.select_move(self.game, state.copy()))
        elapsed = time.perf_counter() - start
        if elapsed > 0:
            rate = count / elapsed
            self.simulation_rate = rate if self.simulation_rate is None else 0.5 * (self.simulation_rate + rate)
        return action

    def cmd_undo(self, args):
        self._args(args, 0, "undo")
        if not self.moves:
            raise CommandError("cannot undo")
        self._replay(self.moves[:-1])
        return ""

    def cmd_final_score(self, args):
        """Area scoring. A game that ended by two passes is scored as GNU Go and GUIs score it:
        after removing the stones final_status_list calls dead (none are left when both sides
        capture before passing, as our players do: then it is the Tromp-Taylor count). Before
        the end, random playouts judge life poorly, so the stones on the board count as they are."""
        self._args(args, 0, "final_score")
        board = self.game.board(self.state).copy()
        if self.state[PASSES] >= 2:
            for point in self._dead_points():
                board[point] = 0
        score = self.game.score(self.game.from_board(board, self.game.to_play(self.state)))
        return "0" if score == 0 else f"{'B' if score > 0 else 'W'}+{abs(score):g}"

    def cmd_kgs_genmove_cleanup(self, args):
        """KGS's genmove for the cleanup phase after a dispute: capture dead stones before passing.
        Our players already do (they are trained and scored by area with every stone alive,
        Tromp-Taylor), so it is genmove."""
        return self.cmd_genmove(args)

    def cmd_final_status_list(self, args):
        (status,) = self._args(args, 1, "final_status_list alive|dead|seki")
        if status not in ("alive", "dead", "seki"):
            raise CommandError(f"syntax error: status {status!r} is not alive, dead or seki")
        if status == "seki":
            return ""  # not estimated: seki stones are reported alive
        dead = self._dead_points()
        board = self.game.board(self.state)
        points = [(r, c) for r in range(self.game.size) for c in range(self.game.size)
                  if board[r, c] and ((r, c) in dead) == (status == "dead")]
        return " ".join(self.game.format_move(r * self.game.size + c).upper() for r, c in points)

    def _dead_points(self) -> set[tuple[int, int]]:
        """Stones whose point the other colour owns at the end of most of STATUS_PLAYOUTS random
        playouts (eye-preserving, as rollout MCTS plays them) from the current position."""
        from games.go.playouts import rollout, seed
        seed(len(self.moves))  # the same answer for the same game
        board = self.game.board(self.state)
        owned_by_other = np.zeros(board.shape, dtype=np.int64)
        for _ in range(STATUS_PLAYOUTS):
            state = self.state.copy()
            state[PASSES] = 0
            state[MAX_MOVES] = int(state[MAX_MOVES]) + 2 * self.game.size * self.game.size
            rollout(state)
            owner = _owners(self.game.board(state))
            owned_by_other += (board > 0) & (owner > 0) & (owner != board)
        return {(int(r), int(c)) for r, c in zip(*np.nonzero(owned_by_other * 2 > STATUS_PLAYOUTS))}

    def cmd_loadsgf(self, args):
        if len(args) not in (1, 2):
            raise CommandError("syntax error: usage: loadsgf FILE [MOVE_NUMBER]")
        until = _integer(args[1], "move number") if len(args) == 2 else None
        try:
            record = read_sgf(args[0], GoGame.for_record)
        except SgfError as e:
            raise CommandError(f"cannot load {args[0]}: {e}") from None
        if record.setup_white or (record.setup_black and record.first_player != 1):
            raise CommandError("cannot load a game with setup stones other than Black's handicap")
        game = self._make_game(record.size, record.komi)  # raises for a size or komi we cannot play
        moves = [((record.first_player + i) % 2, action) for i, action in enumerate(record.actions(game))]
        if until is not None:
            moves = moves[:max(until - 1, 0)]  # GTP: the position before move MOVE_NUMBER
        if (game.size, game.komi) != (self.game.size, self.game.komi):
            self.game, self.komi = game, record.komi
            self._player = self.make_player(game)
        self.setup = tuple(record.setup_black)
        self._replay(moves)
        return ""

    def cmd_printsgf(self, args):
        if len(args) > 1:
            raise CommandError("syntax error: usage: printsgf [FILE]")
        colours = [c for c, _ in self.moves]
        if any(a == b for a, b in zip(colours, colours[1:])):
            raise CommandError("cannot write SGF of a game whose colours do not alternate")
        first = colours[0] if colours else (1 if self.setup else 0)
        score = self.game.score(self.state)
        result = ("?" if not self.game.is_terminal(self.state) else "0" if score == 0
                  else f"{'B' if score > 0 else 'W'}+{abs(score):g}")
        record = GoRecord(self.game.size, self.game.komi, [a for _, a in self.moves],
                          setup_black=tuple(sorted(self.setup)), first_player=first, result=result, rules="Chinese")
        text = to_sgf(record).decode()
        if args:
            try:
                atomic_write_text(args[0], text)
            except OSError as e:
                raise CommandError(f"cannot write {args[0]}: {e.strerror}") from None
            return ""
        return "\n" + text

    def cmd_lz_analyze(self, args):
        raise CommandError("lz-analyze streams: it is answered by the engine's loop (GTPEngine.run)")

    cmd_kata_analyze = cmd_lz_analyze

    def cmd_gogui_analyze_commands(self, args):
        """GoGui's analyze menu: the commands it can run and how to show their answers."""
        self._args(args, 0, "gogui-analyze_commands")
        return "\n".join(["plist/Dead stones/final_status_list dead", "plist/Alive stones/final_status_list alive",
                          "string/Final score/final_score", "string/Show board/showboard"])

    def cmd_showboard(self, args):
        self._args(args, 0, "showboard")
        return "\n" + self.game.render(self.state)

    def cmd_time_settings(self, args):
        main, byo, stones = self._args(args, 3, "time_settings MAIN_TIME BYO_YOMI_TIME BYO_YOMI_STONES")
        main, byo = _integer(main, "main time"), _integer(byo, "byo-yomi time")
        stones = _integer(stones, "byo-yomi stones")
        if min(main, byo, stones) < 0:
            raise CommandError("syntax error: times and stones must not be negative")
        self.clock = Clock(float(main), float(byo), stones)
        return ""

    def cmd_time_left(self, args):
        color_text, left, stones = self._args(args, 3, "time_left COLOR TIME STONES")
        color = parse_color(color_text)
        left, stones = _integer(left, "time"), _integer(stones, "stones")
        if left < 0 or stones < 0:
            raise CommandError("syntax error: time and stones must not be negative")
        if self.clock.main_time is None:  # time left without settings: treat it as absolute time
            self.clock = Clock(float(left), 0.0, 0)
        self.clock.time_left[color] = (float(left), stones)
        return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _owners(board: np.ndarray) -> np.ndarray:
    """The colour owning each point at the end of a playout: a stone's own, an empty point's
    that of its neighbouring stones when they are all one colour (an eye), else 0."""
    padded = np.pad(board, 1)
    neighbours = np.stack([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]])
    black = (neighbours == 1).any(0) & ~(neighbours == 2).any(0)
    white = (neighbours == 2).any(0) & ~(neighbours == 1).any(0)
    empty_owner = np.where(black, 1, np.where(white, 2, 0))
    return np.where(board > 0, board, empty_owner)


def max_handicap(size: int) -> int:
    """The most fixed handicap stones of a board (GTP 2): 9 on odd boards from 9x9, else 4; none below 7x7."""
    return 0 if size < 7 else 9 if size % 2 and size >= 9 else 4


def handicap_points(size: int, stones: int) -> list[int]:
    """GTP 2's fixed placement: the 4-4 points (3-3 below 13x13) of the corners first, then the
    centre and the sides; actions ``row * size + col``, row 0 the bottom."""
    if not 2 <= stones <= max_handicap(size):
        raise CommandError("invalid number of stones")
    high = 3 if size >= 13 else 2  # the star points' distance from the edge, 0-based
    low, mid = size - 1 - high, size // 2
    corners = [(low, low), (high, high), (high, low), (low, high)]  # (col, row): top-right, bottom-left, ...
    sides = [(low, mid), (high, mid), (mid, low), (mid, high)]
    points = corners[:min(stones, 4)]
    if stones >= 6:
        points += sides[:2]
    if stones >= 8:
        points += sides[2:]
    if stones % 2 and stones >= 5:
        points.append((mid, mid))
    return [row * size + col for col, row in points]
