"""Files of expert games for SFT: Connect Four by the alpha-beta expert against itself, Go by
GNU Go (or any GTP engine) against itself.

Output directory:
    meta.json     the settings the games were made with (a rerun must use the same ones)
    games.txt     Connect Four: a line per game "MOVES RESULT", MOVES the 1-based columns,
                  RESULT 1-0 (X won), 0-1 (O won) or 1/2-1/2
    <key>.sgf     Go: one SGF file per game, named by a hash of its moves

Games are varied by a few random opening moves (``random_plies``: the first moves of every
game are uniformly random, not the expert's; SFT may skip them), by the expert's random
choice among equal moves and, for GNU Go, by its random seed. Duplicates are dropped.

Resumable: a rerun counts the games already there and plays until the target. Records are
never half-written: Connect Four lines are appended a batch at a time and a torn last line
(the run was killed inside a write) is cut off when the file is next opened; an SGF file is
written to a temporary name and renamed. Worker processes play batches of games; only the
parent process writes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from games import GameError, make_game
from games.connect4 import ConnectFour
from games.go import GoGame
from games.go.sgf import GoRecord, to_sgf
from games.registry import game_entry
from selfplay.arena.lockstep import Outcome, SpecLineup, play_games
from selfplay.arena.schedule import Contestant, ScheduledGame, random_opening
from selfplay.atomic import atomic_write_bytes, atomic_write_text
from selfplay.errors import UserError
from selfplay.experts.registry import EXPERTS
from selfplay.gtp.client import (
    DEFAULT_TIMEOUT,
    CommandFailedError,
    GTPClient,
    resolve_command,
)

GAMES_FILE = "games.txt"
META_FILE = "meta.json"
C4_RESULTS = {0: "1-0", 1: "0-1", None: "1/2-1/2"}


class ExpertGamesError(UserError):
    """Bad settings, or an output directory made with other settings."""


@dataclass(frozen=True)
class Settings:
    """What the games are made with; stored in meta.json and checked on a rerun."""
    game: str  # "connect4" or "go"
    random_plies: int
    depth: int = 0  # connect4: the expert's search depth
    size: int = 0  # go
    komi: float = 0.0
    engine: str = ""  # go: the engine's command line (GNU Go's seed excluded)

    def check(self) -> None:
        if self.game not in EXPERTS:
            raise ExpertGamesError(f"expert games are made for {' or '.join(EXPERTS)}, not {self.game}")
        if self.random_plies < 0:
            raise ExpertGamesError(f"random opening moves must be >= 0, got {self.random_plies}")


def expert_settings(game: str, random_plies: int | None = None, depth: int = 0, size: int = 0,
                    komi: float = 0.0, engine: str = "") -> Settings:
    """Settings with the expert's default random opening moves filled in, and the board (the
    game's parameters among size and komi) and the engine checked now (a missing engine is
    one error here, not one in every worker)."""
    if game not in EXPERTS:
        raise ExpertGamesError(f"expert games are made for {' or '.join(EXPERTS)}, not {game}")
    plies = EXPERTS[game].random_plies if random_plies is None else random_plies
    board = {"size": size, "komi": komi}
    make_game(game, **{name: board[name] for name in game_entry(game).params if name in board})
    if engine:
        resolve_command(engine)
    return Settings(game, plies, depth=depth, size=size, komi=float(komi), engine=engine)


# ---- one batch of games (runs in a worker process) ------------------------------------------
def play_connect4_batch(settings: Settings, seed: int, count: int) -> list[tuple[str, str]]:
    """``count`` games of the expert against itself, through the arena's lock-step loop, each
    from ``random_plies`` random moves that leave the game going: (key, line) pairs."""
    game = ConnectFour()
    rng = np.random.default_rng(seed)
    spec = f"expert:depth={settings.depth}"
    lineup = SpecLineup(game, (Contestant("first", spec), Contestant("second", spec)))
    games = [ScheduledGame(n, 0, 1, opening=random_opening(game, settings.random_plies, rng)) for n in range(count)]
    out = []

    def report(outcome: Outcome) -> bool:
        text = game.moves_to_string(outcome.actions)
        out.append((text, f"{text} {C4_RESULTS[game.winner(outcome.final_state)]}"))
        return True

    play_games(game, lineup, games, 0, report, seed=int(rng.integers(2**31)))
    return out


def play_go_batch(settings: Settings, seed: int, count: int, timeout: float = DEFAULT_TIMEOUT
                  ) -> list[tuple[str, bytes]]:
    """``count`` games of the engine against itself: (key, SGF bytes) pairs. A game in which
    the engine plays a move our rules forbid (an engine with other ko or suicide rules) is
    dropped. ``timeout``: seconds the engine may take for one command."""
    rng = np.random.default_rng(seed)
    game = GoGame(settings.size, settings.komi)
    command = settings.engine
    if os.path.basename(command.split()[0]) == "gnugo":
        command += f" --seed {int(rng.integers(1, 2 ** 31))}"
    out = []
    with GTPClient(command, timeout=timeout) as engine:
        engine.name = f"{engine.engine_name()} {engine.version()}".strip()
        engine.boardsize(settings.size)
        engine.komi(settings.komi)
        can_seed = engine.known_command("set_random_seed")
        for _ in range(count):
            engine.clear_board()
            if can_seed:
                engine.send(f"set_random_seed {int(rng.integers(1, 2 ** 31))}")
            record = _play_go_game(game, engine, rng, settings.random_plies)
            if record is not None:
                key = _go_key(settings, record.moves)
                out.append((key, to_sgf(record)))
    return out


def _play_go_game(game: GoGame, engine: GTPClient, rng: np.random.Generator, random_plies: int) -> GoRecord | None:
    """One game: ``random_plies`` random points, then the engine's moves for both sides."""
    state, moves = game.initial_state(), []
    result = None
    while not game.is_terminal(state):
        colour = game.to_play(state)
        if len(moves) < random_plies:
            points = game.legal_actions(state)[:-1]  # no pass in the opening
            if points.size == 0:
                return None
            action = int(rng.choice(points))
            try:
                engine.play(colour, game.format_move(action))
            except CommandFailedError:
                return None
        else:
            reply = engine.genmove(colour)
            if reply == "resign":
                result = f"{'WB'[colour]}+R"
                break
            try:
                action = game.parse_move(reply)
            except GameError:
                raise ExpertGamesError(f"{engine.name} answered genmove with {reply!r}, not a move") from None
            if not game.legal_mask(state)[action]:
                return None  # legal for the engine, not by our rules (superko)
        moves.append(action)
        state = game.step(state, action)
    return GoRecord.from_game(game, moves, result=result, black=engine.name, white=engine.name)


def _go_key(settings: Settings, moves: list[int]) -> str:
    text = f"{settings.size} {settings.komi} " + " ".join(map(str, moves))
    return f"go{settings.size}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _run_batch(settings: Settings, seed: int, count: int, timeout: float = DEFAULT_TIMEOUT):
    if settings.game == "connect4":
        return play_connect4_batch(settings, seed, count)
    return play_go_batch(settings, seed, count, timeout)


# ---- the output directory -------------------------------------------------------------------
class GameStore:
    """The games already in ``out`` (their keys) and the way to add more."""

    def __init__(self, out: str | Path, settings: Settings):
        self.out = Path(out)
        self.settings = settings
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_meta()
        self.keys: set[str] = set()
        if settings.game == "connect4":
            self._open_lines()
        else:
            for stray in self.out.glob(".*.tmp"):  # a write cut short by a kill
                stray.unlink()
            self.keys = {p.stem for p in self.out.glob("*.sgf")}

    def __len__(self) -> int:
        return len(self.keys)

    def _check_meta(self) -> None:
        path = self.out / META_FILE
        wanted = asdict(self.settings)
        if path.exists():
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError) as e:
                raise ExpertGamesError(f"{path} cannot be read ({e}); remove it or choose another --out") from None
            if found != wanted:
                diff = ", ".join(f"{k}={found.get(k)!r} (now {v!r})" for k, v in wanted.items() if found.get(k) != v)
                raise ExpertGamesError(f"{self.out} holds games made with other settings: {diff}; "
                                       "use the same options or another --out")
        else:
            atomic_write_text(path, json.dumps(wanted, indent=2) + "\n")

    def _open_lines(self) -> None:
        path = self.out / GAMES_FILE
        if not path.exists():
            return
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a torn last record: keep only whole lines
            with open(path, "r+b") as f:
                f.truncate(cut)
        for line in data[:cut].decode("utf-8", errors="replace").splitlines():
            fields = line.split()
            if fields and not line.startswith("#"):
                self.keys.add(fields[0])

    def add(self, batch: list[tuple[str, object]], limit: int) -> int:
        """Store the games of ``batch`` that are new, at most ``limit``; returns how many."""
        fresh = []
        for key, payload in batch:
            if len(fresh) >= limit:
                break
            if key not in self.keys:
                self.keys.add(key)
                fresh.append((key, payload))
        if not fresh:
            return 0
        if self.settings.game == "connect4":
            data = "".join(line + "\n" for _, line in fresh).encode()
            fd = os.open(self.out / GAMES_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = 0
                while written < len(data):
                    written += os.write(fd, data[written:])
                os.fsync(fd)
            finally:
                os.close(fd)
        else:
            for key, payload in fresh:
                atomic_write_bytes(self.out / f"{key}.sgf", payload)
        return len(fresh)


# ---- the driver -----------------------------------------------------------------------------
def generate(settings: Settings, out: str | Path, target: int, workers: int = 1, batch: int | None = None,
             seed: int | None = None, progress: Callable[[int, int], None] | None = None,
             max_batches_without_new: int = 50, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Play games until ``out`` holds ``target`` distinct ones; returns how many were added.
    ``progress(done, target)`` is called after every batch; ``timeout`` bounds each GTP command."""
    settings.check()
    if target < 1:
        raise ExpertGamesError(f"--games must be at least 1, got {target}")
    if timeout <= 0:
        raise ExpertGamesError(f"--timeout must be positive, got {timeout:g}")
    if workers < 1:
        raise ExpertGamesError(f"--workers must be at least 1, got {workers}")
    store = GameStore(out, settings)
    batch = batch or (100 if settings.game == "connect4" else 4)
    seeds = np.random.SeedSequence(seed if seed is not None else None, spawn_key=(len(store),))
    start = len(store)
    if progress:
        progress(len(store), target)
    fruitless = 0

    def record(results) -> None:
        nonlocal fruitless
        added = store.add(results, target - len(store))
        fruitless = 0 if added else fruitless + 1
        if fruitless >= max_batches_without_new:
            raise ExpertGamesError(f"{max_batches_without_new} batches in a row brought no new game: "
                                   "the games are not varied enough (raise the random opening moves)")
        if progress:
            progress(len(store), target)

    if workers == 1:
        while len(store) < target:
            child = seeds.spawn(1)[0]
            record(_run_batch(settings, int(child.generate_state(1)[0]), min(batch, target - len(store)), timeout))
        return len(store) - start

    # Never more games in flight than are missing (a batch still running when the target is
    # reached would be waited for, then thrown away); a batch short of new games (duplicates)
    # makes room for another.
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        in_flight: dict[Future, int] = {}
        try:
            while len(store) < target:
                missing = target - len(store) - sum(in_flight.values())
                while missing > 0 and len(in_flight) < 2 * workers:
                    count = min(batch, -(-missing // workers))
                    child = seeds.spawn(1)[0]
                    in_flight[pool.submit(_run_batch, settings, int(child.generate_state(1)[0]), count,
                                          timeout)] = count
                    missing -= count
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    record(future.result())
        finally:
            for future in in_flight:
                future.cancel()
    return len(store) - start
