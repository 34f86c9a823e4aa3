"""A GTP 2 client: an external Go engine (GNU Go, KataGo, ...) as a subprocess, and as a Player.

``GTPClient`` starts the engine from a command line, sends one command at a time with a time
limit and parses the ``=`` / ``?`` responses; every failure is a GTPError (a UserError, so
the CLI prints one line): the binary is missing, the engine died, it answered ``?``, it was
too slow, or it replied something that is not GTP. ``close()`` (also on leaving a ``with``
block, or when the client is garbage collected) asks the engine to quit, then terminates and
finally kills it, and always reaps the child, so no zombie is left behind. The engine runs in a
process group of its own, and signals go to the whole group: an engine started through a
wrapper script takes the script's children with it, so no orphan is left behind either.

``GTPPlayer`` plays Go through any engine, keeping the engine's board in step with the game
through ``observe``: every move of either side is sent with ``play``, except the one the
engine itself just generated.
"""

from __future__ import annotations

import os
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref

import numpy as np

from games import Game, GameError
from selfplay.errors import UserError
from selfplay.players import Player, PlayerSpecError, Resignation, read_options

DEFAULT_TIMEOUT = 30.0
#: Where Debian and Ubuntu install GNU Go (not on root's PATH).
KNOWN_LOCATIONS = {"gnugo": "/usr/games/gnugo"}
INSTALL_HINTS = {"gnugo": "apt-get install gnugo, the binary is /usr/games/gnugo"}
MAX_RESPONSE = 1 << 20


class GTPError(UserError):
    """Talking to a GTP engine failed."""


class EngineNotFoundError(GTPError):
    """The engine's binary does not exist or cannot be run."""


class EngineDiedError(GTPError):
    """The engine exited (or closed its output) before answering."""


class EngineTimeoutError(GTPError):
    """The engine did not answer within the time limit."""


class CommandFailedError(GTPError):
    """The engine answered ``? message``."""

    def __init__(self, message: str, command: str, reason: str):
        super().__init__(message)
        self.command = command
        self.reason = reason


class ProtocolError(GTPError):
    """The engine replied something that is not a GTP response."""


def resolve_command(command: str | list[str]) -> list[str]:
    """The argument list of an engine command line (a string is split like a shell would); the
    program is looked up on PATH, then in KNOWN_LOCATIONS (``gnugo`` -> /usr/games/gnugo)."""
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    except ValueError as e:
        raise GTPError(f"cannot parse the engine command line {command!r}: {e}") from None
    if not argv:
        raise GTPError("empty engine command line")
    program = argv[0]
    name = os.path.basename(program)
    if os.sep in program:
        found = program if os.access(program, os.X_OK) and os.path.isfile(program) else None
    else:
        found = shutil.which(program)
        known = KNOWN_LOCATIONS.get(program)
        if found is None and known and os.access(known, os.X_OK):
            found = known
    if found is None:
        hint = INSTALL_HINTS.get(name)
        raise EngineNotFoundError(f"{program} not found" + (f"; {hint}" if hint else " (not an executable on PATH)"))
    return [found, *argv[1:]]


#: The engine leads its own process group (a wrapper script's children go with it when it is
#: signalled) but stays in the caller's session: Linux schedules each session as one "autogroup",
#: so an engine in a session of its own escaped its caller's `nice` (a niced run's GNU Go took
#: half the CPU from everything else). Python 3.10 has no process_group: a new session there.
_OWN_GROUP = ({} if not hasattr(os, "killpg") else
              {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True})


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    """``sig`` to the engine's whole process group (it leads its own: a wrapper script's
    children go with it), or to the engine alone where there are no process groups."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except OSError:  # already gone
        pass


def _exited(process: subprocess.Popen) -> bool:
    """Whether the engine has exited, without reaping it: until it is waited for, its pid (its
    group's id) cannot be given to another process, so signalling the group stays safe."""
    if process.returncode is not None:
        return True
    if not hasattr(os, "waitid"):
        return process.poll() is not None
    try:
        return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _reap(process: subprocess.Popen, grace: float) -> None:
    """Make sure the engine and its process group are gone and waited for: wait, then SIGTERM
    to the group, then SIGKILL; whatever of the group outlived the engine (a wrapper script's
    child) is killed before the engine is reaped."""
    for sig in (None, signal.SIGTERM, getattr(signal, "SIGKILL", signal.SIGTERM)):
        if sig is not None:
            _signal_group(process, sig)
        deadline = time.monotonic() + grace
        while not _exited(process) and time.monotonic() < deadline:
            time.sleep(0.01)
        if _exited(process):
            break
    if process.returncode is None and _exited(process):
        _signal_group(process, getattr(signal, "SIGKILL", signal.SIGTERM))  # orphans of the group
    process.wait()


def _shutdown(process: subprocess.Popen, stderr, grace: float) -> None:
    """Finalizer: close the engine's input (a GTP engine exits on end of input), reap it, then
    close its output (not before: an engine still answering ``quit`` would get SIGPIPE)."""
    for stream in (process.stdin, None, process.stdout):
        if stream is None:
            _reap(process, grace)
            continue
        try:
            stream.close()
        except OSError:
            pass
    stderr.close()


class GTPClient:
    """One engine process, one command at a time. Use as a context manager, or call close()."""

    def __init__(self, command: str | list[str], timeout: float = DEFAULT_TIMEOUT, name: str | None = None,
                 grace: float = 2.0, cwd: str | None = None):
        """``timeout``: seconds a command may take; ``grace``: seconds the engine gets to exit
        at each step of closing (after quit, after SIGTERM) before the next, harsher one;
        ``cwd``: the engine's working directory."""
        self.argv = resolve_command(command)
        self.timeout = float(timeout)
        self.name = name or os.path.basename(self.argv[0])
        self._stderr = tempfile.TemporaryFile()  # a file, not a pipe: it never fills up and blocks
        try:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=self._stderr, bufsize=0, cwd=cwd, **_OWN_GROUP)
        except OSError as e:
            self._stderr.close()
            raise EngineNotFoundError(f"cannot start {self.argv[0]}: {e.strerror}") from None
        self._finalizer = weakref.finalize(self, _shutdown, self.process, self._stderr, grace)
        self._buffer = b""
        self._next_id = 1
        self.broken: str | None = None  # why the engine can no longer be used

    @property
    def pid(self) -> int:
        return self.process.pid

    # ---- the protocol --------------------------------------------------------------------
    def send(self, command: str, timeout: float | None = None) -> str:
        """Send one command and return the text of its ``=`` response; raises GTPError."""
        command = command.strip()
        if not command or "\n" in command or "#" in command:
            raise GTPError(f"{self.name}: not a single GTP command: {command!r}")
        if self.broken:
            raise GTPError(f"{self.name}: cannot send {command!r}: {self.broken}")
        ident = self._next_id
        self._next_id += 1
        try:
            self.process.stdin.write(f"{ident} {command}\n".encode())
        except (BrokenPipeError, OSError):
            raise self._died(command) from None
        ok, text = self._read_response(command, ident, self.timeout if timeout is None else timeout)
        if not ok:
            raise CommandFailedError(f"{self.name} refused {command!r}: {text or '(no reason given)'}", command, text)
        return text

    def _read_response(self, command: str, ident: int, timeout: float) -> tuple[bool, str]:
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                # A response ends with an empty line. CRs are dropped, and so are empty lines
                # before a response (some engines send one too many).
                normalized = self._buffer.replace(b"\r", b"").lstrip(b"\n")
                end = normalized.find(b"\n\n")
                if end >= 0:
                    self._buffer = normalized[end + 2:]
                    return self._parse(command, ident, normalized[:end].decode("utf-8", errors="replace"))
                if len(self._buffer) > MAX_RESPONSE:
                    self._fail(f"sent more than {MAX_RESPONSE} bytes without ending its response")
                    raise ProtocolError(f"{self.name}: answer to {command!r} never ends (over {MAX_RESPONSE} bytes)")
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self._fail(f"it did not answer {command!r} within {timeout:g} s")
                    _signal_group(self.process, signal.SIGTERM)  # busy or stuck: it would not read a quit
                    self.close()
                    raise EngineTimeoutError(f"{self.name} did not answer {command!r} within {timeout:g} s")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise self._died(command)
                self._buffer += chunk

    def _parse(self, command: str, ident: int, text: str) -> tuple[bool, str]:
        head, _, rest = text.partition("\n")
        if not head or head[0] not in "=?":
            self._fail("its output is out of step with the commands")
            raise ProtocolError(f"{self.name} replied {text[:80]!r} to {command!r}: not a GTP response "
                                "(it must start with '=' or '?')")
        ok = head[0] == "="
        body = head[1:]
        digits = len(body) - len(body.lstrip("0123456789"))
        if digits and int(body[:digits]) != ident:
            self._fail("its answers are out of step with the commands")
            raise ProtocolError(f"{self.name} answered command id {body[:digits]} to command {ident} ({command!r})")
        body = body[digits:]
        if body and body[0] not in " \t":
            self._fail("it replied garbage")
            raise ProtocolError(f"{self.name} replied {text[:80]!r} to {command!r}: not a GTP response")
        # Keep the layout of multi-line answers (showboard): only the separator space goes.
        result = body[1:] + ("\n" + rest if rest else "")
        return ok, result.lstrip("\n").rstrip()

    def _died(self, command: str) -> EngineDiedError:
        deadline = time.monotonic() + 1.0
        while not _exited(self.process) and time.monotonic() < deadline:
            time.sleep(0.01)
        code = None
        if _exited(self.process):  # reaped only after what is left of its group is killed
            _reap(self.process, grace=0.0)
            code = self.process.returncode
        self._fail("it has exited")
        status = "closed its output" if code is None else f"exited with status {code}"
        tail = self._stderr_tail()
        return EngineDiedError(f"{self.name} {status} while answering {command!r}" + (f": {tail}" if tail else ""))

    def _stderr_tail(self, limit: int = 300) -> str:
        try:
            self._stderr.seek(0)
            data = self._stderr.read().decode("utf-8", errors="replace").strip()
        except (OSError, ValueError):
            return ""
        return " | ".join(data.splitlines())[-limit:]

    def _fail(self, why: str) -> None:
        self.broken = self.broken or why

    # ---- commands ------------------------------------------------------------------------
    def protocol_version(self) -> str:
        return self.send("protocol_version")

    def engine_name(self) -> str:
        return self.send("name")

    def version(self) -> str:
        return self.send("version")

    def known_command(self, name: str) -> bool:
        return self.send(f"known_command {name}").strip().lower() == "true"

    def boardsize(self, size: int) -> None:
        self.send(f"boardsize {int(size)}")

    def komi(self, komi: float) -> None:
        self.send(f"komi {float(komi):g}")

    def clear_board(self) -> None:
        self.send("clear_board")

    def play(self, color: str, vertex: str) -> None:
        self.send(f"play {_color(color)} {vertex}")

    def genmove(self, color: str, timeout: float | None = None) -> str:
        """The engine's move for ``color`` (played on its board): a vertex such as "d4" in lower
        case, "pass" or "resign"."""
        return self.send(f"genmove {_color(color)}", timeout).strip().lower()

    def final_score(self) -> str:
        """The engine's score of the position, e.g. "B+3.5", "W+2" or "0"."""
        return self.send("final_score").strip()

    def quit(self) -> None:
        self.close()

    # ---- lifetime --------------------------------------------------------------------------
    def close(self) -> None:
        """Ask the engine to quit, then terminate or kill it; always reap it. Idempotent."""
        if not self._finalizer.alive:
            return
        if not _exited(self.process) and not self.broken:  # not poll(): reaping first would spare the group
            try:
                self.process.stdin.write(b"quit\n")
                self.process.stdin.flush()
            except OSError:
                pass
        self.broken = self.broken or "it was closed"
        self._finalizer()  # closes the pipes and reaps (wait, terminate, kill)

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def __enter__(self) -> GTPClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _color(color: str | int) -> str:
    if color in (0, "b", "B", "black", "Black"):
        return "b"
    if color in (1, "w", "W", "white", "White"):
        return "w"
    raise GTPError(f"not a colour: {color!r} (b or w)")


def _same_position(game: Game, a: np.ndarray, b: np.ndarray) -> bool:
    """Go positions compare by board, side to move, move number and passes (not by the whole
    state array, whose empty-point list is kept in no particular order)."""
    return (game.to_play(a) == game.to_play(b) and game.move_number(a) == game.move_number(b)
            and np.array_equal(game.board(a), game.board(b)) and game.last_move(a) == game.last_move(b))


class GTPPlayer(Player):
    """Any GTP engine as a Go player. The engine starts on first use and its board follows the
    game: ``reset`` sets the size and komi and clears it, ``observe`` plays every move."""

    def __init__(self, command: str | list[str], timeout: float = DEFAULT_TIMEOUT, name: str | None = None):
        self.command = command
        self.argv = resolve_command(command)  # fail now, not at the first move, if it is missing
        self.timeout = timeout
        self.name = name or f"gtp({os.path.basename(self.argv[0])})"
        self.client: GTPClient | None = None
        self._game: Game | None = None
        self._state: np.ndarray | None = None  # the engine's position, by our rules
        self._generated: int | None = None  # the move the engine just played itself

    def _engine(self) -> GTPClient:
        if self.client is None or self.client.closed:
            self.client = GTPClient(self.argv, self.timeout, name=self.name)
        return self.client

    def reset(self, game: Game) -> None:
        if game.name != "go":
            raise GameError(f"{self.name}: a GTP engine plays go only, not {game.name}")
        engine = self._engine()
        engine.boardsize(game.size)
        engine.komi(game.komi)
        engine.clear_board()
        self._game, self._state, self._generated = game, game.initial_state(), None

    def _sync(self, game: Game, state: np.ndarray) -> None:
        if self._game is not game or self._state is None:
            self.reset(game)
        if not _same_position(game, self._state, state):
            if _same_position(game, game.initial_state(), state):
                self.reset(game)
            else:
                raise GTPError(f"{self.name}: the engine's board is not this position; a GTP player must "
                               "see every move of the game from the start (through observe)")

    def select_move(self, game, state):
        self._sync(game, state)
        reply = self._engine().genmove(game.to_play(state))
        if reply == "resign":
            self._generated = None
            raise Resignation(self.name)
        try:
            action = game.parse_move(reply)
        except GameError:
            raise ProtocolError(f"{self.name} answered genmove with {reply!r}, not a move on a "
                                f"{game.size}x{game.size} board") from None
        self._generated = action
        return action

    def observe(self, game, state, action):
        if game.name != "go":
            raise GameError(f"{self.name}: a GTP engine plays go only, not {game.name}")
        self._sync(game, state)
        if self._generated != action:
            self._engine().play(game.to_play(state), game.format_move(action))
        self._generated = None
        self._state = game.step(state, action)

    def final_score(self) -> str:
        """The engine's own score of the current position."""
        return self._engine().final_score()

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def __enter__(self) -> GTPPlayer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_gtp_player(game: Game, options: dict[str, str], context: dict) -> GTPPlayer:
    """Factory for PLAYER_FACTORIES["gtp"]: ``gtp:"gnugo --mode gtp --level 10",timeout=30``
    (the quoted command line may hold commas and ``=``; unquoted, it runs to the first comma)."""
    options = dict(options)
    command = options.pop("", None)
    if not command:
        raise PlayerSpecError('gtp: give the engine\'s command line, e.g. gtp:"gnugo --mode gtp --level 10"')
    o = read_options("gtp", options, timeout=DEFAULT_TIMEOUT)
    if o["timeout"] <= 0:
        raise PlayerSpecError(f"gtp: timeout={o['timeout']:g} must be a positive number of seconds")
    if game.name != "go":
        raise PlayerSpecError(f"gtp: a GTP engine plays go only, not {game.name}")
    if context.get("check_only"):
        return None
    return GTPPlayer(command, timeout=o["timeout"])
