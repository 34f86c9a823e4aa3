"""Matches between any players (specs such as ``random``, ``mcts:sims=200``, ``net:runs/c4``):
schedules with alternating colours, games in parallel worker processes, a results CSV that a
kill never corrupts, and the games saved (SGF for Go, move strings otherwise).

The results CSV has one row per finished game, with the columns of ``RESULT_COLUMNS``:
``time`` (UTC, ISO 8601), ``game`` (a label such as ``connect4`` or ``go-9x9-komi7``),
``first`` and ``second`` (the players' names, their specs unless the caller names them),
``result`` for the first player (1, 0.5 or 0), ``moves`` and ``record`` (the saved game's path,
empty when games are not saved). Each row goes to the file in a single ``write`` on a file
opened for appending, so a killed arena leaves whole rows; a reader skips a last line without
its newline, and the next writer cuts it off before appending.

Games in flight: each process plays up to ``batch`` games at once in lock-step, so that a
searching player (mcts, net) searches all its games together and a network evaluates their
leaves in one forward pass; ``parallel`` worker processes split the schedule between them.

Determinism: players are seeded from (seed, worker, player[, slot]) by adding ``seed=N`` to
specs that accept it, and every process plays its share of the schedule in order; the results
are a function of the seed, ``parallel`` and ``batch``.
"""

from __future__ import annotations

import csv
import io
import math
import multiprocessing as mp
import os
import queue as queue_module
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Callable, Iterable, Sequence

import numpy as np

from games import Game, GameError, IllegalMoveError
from selfplay.errors import UserError
from selfplay.players import Player, PlayerSpecError, make_player, parse_spec

RESULT_COLUMNS = ["time", "game", "first", "second", "result", "moves", "record"]


class ArenaError(UserError):
    """An arena cannot start or go on: bad players, counts, results file or a failing player."""


@dataclass(frozen=True)
class Contestant:
    """A player in an arena: ``name`` is what the results record, ``spec`` what is built."""

    name: str
    spec: str

    @classmethod
    def of(cls, spec: str) -> Contestant:
        return cls(spec.strip(), spec.strip())


@dataclass(frozen=True)
class ScheduledGame:
    index: int
    first: int   # contestant indices; ``first`` moves first (owns the first mover's colour)
    second: int
    round: int = 0                   # the pair's n-th game; rounds 2k and 2k+1 swap colours
    opening: tuple[int, ...] = ()    # moves played before the players take over (with_openings)


@dataclass
class GameResult:
    """One row of a results CSV."""

    time: str
    game: str
    first: str
    second: str
    result: float  # for the first player: 1 win, 0.5 draw, 0 loss
    moves: int
    record: str = ""

    def row(self) -> list[str]:
        return [self.time, self.game, self.first, self.second, f"{self.result:g}", str(self.moves), self.record]


# ---- schedules ---------------------------------------------------------------------------------
def pairings(count: int, gauntlet: bool = False) -> list[tuple[int, int]]:
    """Pairs of contestant indices: all pairs (round-robin) or the first against each other."""
    if gauntlet:
        return [(0, j) for j in range(1, count)]
    return [(i, j) for i in range(count) for j in range(i + 1, count)]


def schedule(count: int, games_per_pair: int, gauntlet: bool = False,
             played: dict[tuple[int, int], int] | None = None) -> list[ScheduledGame]:
    """``games_per_pair`` games for every pair, colours alternating within a pair (its first
    named player starts its even games), interleaved round by round so that an arena stopped
    early has played every pair about equally. ``played`` counts games a pair already has:
    only the missing ones are scheduled, their colours continuing the alternation."""
    played = played or {}
    games: list[ScheduledGame] = []
    for n in range(games_per_pair):
        for a, b in pairings(count, gauntlet):
            if n >= played.get((a, b), 0):
                games.append(ScheduledGame(len(games), *((a, b) if n % 2 == 0 else (b, a)), round=n))
    return games


def with_openings(game: Game, games: Sequence[ScheduledGame], plies: int, seed: int) -> list[ScheduledGame]:
    """Start every game from ``plies`` uniformly random moves (never a pass, never a finished
    position), the same opening for both colours of a round pair (rounds 2k, 2k+1 of a pair).

    Without them two deterministic players (a network at temperature 0, the Connect Four expert)
    play the same game again and again, and a rating counts one game as many. A random opening
    gives one side an edge, so each opening is played with both colours."""
    if plies < 0:
        raise ArenaError(f"opening plies must be 0 or more, got {plies}")
    if plies == 0:
        return list(games)
    out = []
    for g in games:
        a, b = sorted((g.first, g.second))
        rng = np.random.default_rng(np.random.SeedSequence([seed, a, b, g.round // 2]))
        out.append(ScheduledGame(g.index, g.first, g.second, g.round, random_opening(game, plies, rng)))
    return out


def random_opening(game: Game, plies: int, rng: np.random.Generator, tries: int = 100) -> tuple[int, ...]:
    """``plies`` random moves from the initial position that leave the game going."""
    for _ in range(tries):
        state, moves = game.initial_state(), []
        while len(moves) < plies and not game.is_terminal(state):
            legal = [int(a) for a in game.legal_actions(state) if a != getattr(game, "pass_action", -1)]
            if not legal:
                break
            moves.append(int(rng.choice(legal)))
            state = game.step(state, moves[-1])
        if len(moves) == plies and not game.is_terminal(state):
            return tuple(moves)
    raise ArenaError(f"no opening of {plies} random moves leaves a {game.name} game going: use fewer")


# ---- scores --------------------------------------------------------------------------------------
@dataclass
class Tally:
    """Wins, draws and losses of one side; intervals are Wilson score intervals on the score with
    a draw counted as half a win (conservative with draws, whose variance is below a coin's)."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    def add(self, result: float) -> None:
        if result > 0.5:
            self.wins += 1
        elif result < 0.5:
            self.losses += 1
        else:
            self.draws += 1

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def points(self) -> float:
        return self.wins + 0.5 * self.draws

    @property
    def rate(self) -> float:
        return self.points / self.games if self.games else float("nan")

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        return wilson_interval(self.points, self.games, confidence)


def wilson_interval(points: float, games: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a success rate: inside [0, 1] and sensible at 0 or all wins."""
    if games <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = points / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z / (1 + z * z / games) * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games))
    return max(0.0, centre - half), min(1.0, centre + half)


def elo_difference(rate: float) -> float:
    """Elo difference implied by an expected score (infinite at 0 and 1)."""
    if rate <= 0:
        return -math.inf
    if rate >= 1:
        return math.inf
    return 400 * math.log10(rate / (1 - rate))


def tallies(results: Iterable[GameResult]) -> dict[tuple[str, str], Tally]:
    """Tally of every pair (a, b) with a < b by name, from a's side."""
    out: dict[tuple[str, str], Tally] = {}
    for r in results:
        a, b, score = (r.first, r.second, r.result) if r.first <= r.second else (r.second, r.first, 1 - r.result)
        out.setdefault((a, b), Tally()).add(score)
    return out


# ---- the results file ----------------------------------------------------------------------------
def game_label(game: Game) -> str:
    """The ``game`` column: results are only comparable within one label."""
    if game.name == "go":
        return f"go-{game.size}x{game.size}-komi{game.komi:g}"
    return game.name


def _csv_line(fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


class ResultsWriter:
    """Appends rows to a results CSV, one ``write`` per row (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise ArenaError(f"cannot open the results file {self.path}: {e.strerror}") from None
        size = os.fstat(self.fd).st_size
        if size == 0:
            os.write(self.fd, _csv_line(RESULT_COLUMNS).encode())
            return
        with open(self.path, "rb") as f:
            data = f.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):  # a torn last row (a writer killed mid-write, or an editor)
            os.ftruncate(self.fd, keep)
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if header != ",".join(RESULT_COLUMNS):
            os.close(self.fd)
            raise ArenaError(f"{self.path} is not a results file: its header is {header!r}, "
                             f"expected {','.join(RESULT_COLUMNS)!r}")

    def append(self, result: GameResult) -> None:
        os.write(self.fd, _csv_line(result.row()).encode())

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_results(path: str | Path) -> list[GameResult]:
    """Rows of a results CSV; a last line without its newline (a torn write) is skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArenaError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ArenaError(f"cannot read results file {path}: {e}") from None
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    if rows[0] != RESULT_COLUMNS:
        raise ArenaError(f"{path} is not a results file: expected the header {','.join(RESULT_COLUMNS)}")
    results = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            if len(row) != len(RESULT_COLUMNS):
                raise ValueError(f"{len(row)} fields instead of {len(RESULT_COLUMNS)}")
            result = float(row[4])
            if result not in (0.0, 0.5, 1.0):
                raise ValueError(f"result {row[4]!r} is not 1, 0.5 or 0")
            results.append(GameResult(row[0], row[1], row[2], row[3], result, int(row[5]), row[6]))
        except ValueError as e:
            raise ArenaError(f"{path}, line {line}: {e}") from None
    return results


# ---- saved games ---------------------------------------------------------------------------------
def _sgf_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("]", "\\]")


def go_sgf(game: Game, actions: Sequence[int], black: str, white: str, result: str, date: str) -> str:
    """A Go game as SGF FF[4] (passes as empty moves), readable by Sabaki, GoGui and gnugo."""
    header = (f"(;FF[4]GM[1]CA[UTF-8]AP[selfplay]SZ[{game.size}]KM[{game.komi:g}]RU[Chinese]"
              f"PB[{_sgf_text(black)}]PW[{_sgf_text(white)}]RE[{_sgf_text(result)}]DT[{date}]")
    moves = "".join(f";{'BW'[i % 2]}[{game.action_to_sgf(a)}]" for i, a in enumerate(actions))
    return header + "\n" + moves + ")\n"


def move_string(game: Game, actions: Sequence[int]) -> str:
    """Connect Four as a digit string (``4453``); other games as space-separated moves."""
    sep = "" if game.name == "connect4" else " "
    return sep.join(game.format_move(a) for a in actions)


class GameSaver:
    """Writes each finished game into a folder under names that never overwrite earlier ones."""

    def __init__(self, folder: str | Path, game: Game):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.game = game
        self.prefix = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.count = 0

    def save(self, actions: Sequence[int], first: str, second: str, final_state: np.ndarray) -> Path:
        from selfplay.atomic import atomic_write_text
        self.count += 1
        suffix = ".sgf" if self.game.name == "go" else ".txt"
        path = self.folder / f"arena-{self.prefix}-{self.count:05d}{suffix}"
        if self.game.name == "go":
            text = go_sgf(self.game, actions, first, second, self.game.result_string(final_state),
                          time.strftime("%Y-%m-%d"))
        else:
            text = move_string(self.game, actions) + "\n"
        atomic_write_text(path, text)
        return path


# ---- playing -------------------------------------------------------------------------------------
def seeded_spec(spec: str, seed: int) -> str:
    """``spec`` with ``seed=N`` added unless it names a seed already."""
    kind, options = parse_spec(spec)
    if "seed" in options:
        return spec
    return f"{spec},seed={seed}" if options else f"{spec.split(':')[0]}:seed={seed}"


def build_player(spec: str, game: Game, seed: int | None, context: dict | None = None) -> Player:
    """The player of ``spec``, seeded when its kind takes a seed option."""
    context = context or {}
    if seed is not None:
        try:
            return make_player(seeded_spec(spec, seed), game, **context)
        except PlayerSpecError as e:
            if "'seed'" not in str(e):
                raise
    return make_player(spec, game, **context)


def player_seed(*keys: int) -> int:
    return int(np.random.SeedSequence(list(keys)).generate_state(1)[0] % 2**31)


@dataclass
class Outcome:
    """A finished game as a worker reports it."""

    index: int
    actions: list[int]
    result: float  # for the first player
    final_state: np.ndarray


class _BatchedSearch:
    """One contestant that searches (MCTS or net) in every game in flight: one tree per slot,
    searched together, so a network evaluates the leaves of all those games in one forward."""

    def __init__(self, player, game: Game, slots: int):
        from selfplay.mcts import MCTS
        self.name = player.name
        self.temperature = player.temperature
        self.mcts = MCTS(game, player.evaluator, player.config, batch_size=slots)

    def start(self, slot: int, state: np.ndarray) -> None:
        self.mcts.set_root(slot, state)

    def moves(self, slots: list[int]) -> list[int]:
        from selfplay.mcts.policy import select_actions
        active = np.zeros(self.mcts.batch_size, dtype=np.bool_)
        active[slots] = True
        result = self.mcts.search(active=active)
        if result.gumbel_action is not None:
            return [int(a) for a in result.gumbel_action[active]]
        chosen = select_actions(result.visit_counts[active], self.temperature, self.mcts.rng,
                                fallback=result.priors[active])
        return [int(a) for a in chosen]

    def observe(self, slot: int, action: int) -> None:
        actions = np.full(self.mcts.batch_size, -1, dtype=np.int64)
        actions[slot] = action
        self.mcts.advance(actions)


def _close(player) -> None:
    close = getattr(player, "close", None)
    if callable(close):
        close()


def _play_share(game: Game, contestants: Sequence[Contestant], games: Sequence[ScheduledGame], seed: int,
                worker: int, report: Callable[[Outcome], bool], batch: int = 1, context: dict | None = None,
                wrap: Callable[[Player], Player] | None = None) -> None:
    """Play ``games``, up to ``batch`` at once in lock-step: at every tick each game in flight
    gets one move; a searching contestant (an MCTSPlayer: mcts, net) moves in all its games
    with one batched search, any other player has an instance per slot. Games start in
    schedule order; ``report`` returns False to stop early."""
    from selfplay.mcts import MCTSPlayer
    slots = max(1, min(batch, len(games)))
    prototypes = {i: build_player(contestants[i].spec, game, player_seed(seed, worker, i), context)
                  for i in sorted({g.first for g in games} | {g.second for g in games})}
    batched = {i: _BatchedSearch(p, game, slots) for i, p in prototypes.items()
               if isinstance(p, MCTSPlayer) and slots > 1}
    per_slot: dict[tuple[int, int], Player] = {}

    def player(i: int, slot: int) -> Player:
        if (i, slot) not in per_slot:
            p = prototypes[i] if slot == 0 else build_player(contestants[i].spec, game,
                                                             player_seed(seed, worker, i, slot), context)
            per_slot[i, slot] = wrap(p) if wrap is not None else p
        return per_slot[i, slot]

    pending = list(reversed(games))
    flight: dict[int, tuple[ScheduledGame, list]] = {}  # slot -> (game, [state, actions])

    def start(slot: int) -> None:
        g = pending.pop()
        state = game.initial_state()
        own = [player(i, slot) for i in (g.first, g.second) if i not in batched]
        for p in own:
            p.reset(game)
        for action in g.opening:  # players with their own state see the opening move by move
            for p in own:
                p.observe(game, state, action)
            state = game.step(state, action)
        for i in (g.first, g.second):
            if i in batched:  # a batched search starts from the position after the opening
                batched[i].start(slot, state)
        flight[slot] = (g, [state, list(g.opening)])

    try:
        for slot in range(slots):
            if pending:
                start(slot)
        while flight:
            mover = {slot: (g.first, g.second)[game.to_play(st[0])] for slot, (g, st) in flight.items()}
            moves: dict[int, int] = {}
            for i, search in batched.items():
                mine = sorted(slot for slot, m in mover.items() if m == i)  # the search's row order
                if mine:
                    moves.update(zip(mine, search.moves(mine)))
            for slot, i in mover.items():
                if i not in batched:
                    moves[slot] = int(player(i, slot).select_move(game, flight[slot][1][0]))
            for slot in sorted(moves):
                g, st = flight[slot]
                state, action = st[0], moves[slot]
                try:
                    next_state = game.step(state, action)
                except IllegalMoveError as e:
                    raise IllegalMoveError(f"player {contestants[mover[slot]].name!r} chose an illegal move: "
                                           f"{e}") from None
                for i in (g.first, g.second):
                    if i in batched:
                        batched[i].observe(slot, action)
                    else:
                        player(i, slot).observe(game, state, action)
                st[0] = next_state
                st[1].append(action)
                if game.is_terminal(next_state):
                    del flight[slot]
                    result = (game.returns(next_state)[0] + 1) / 2
                    if not report(Outcome(g.index, st[1], result, next_state)):
                        return
                    if pending:
                        start(slot)
    finally:
        for p in {id(p): p for p in [*prototypes.values(), *per_slot.values()]}.values():
            _close(p)


def _worker_main(game, contestants, games, seed, worker, batch, parent_pid, results) -> None:
    """A worker process: plays its share and puts ("result", Outcome) / ("error", text) /
    ("done", worker) on the queue; stops when the arena that started it is gone."""
    def report(outcome):
        if os.getppid() != parent_pid:
            return False
        results.put(("result", outcome))
        return True

    try:
        import sys
        if "torch" in sys.modules or any(c.spec.startswith("net") for c in contestants):
            import torch
            torch.set_num_threads(1)  # K workers share the cores
        _play_share(game, contestants, games, seed, worker, report, batch)
    except (UserError, GameError) as e:
        results.put(("error", str(e)))
    except Exception as e:  # reported to the arena, which stops with one line naming it
        results.put(("error", f"worker {worker} failed: {type(e).__name__}: {e}"))
    results.put(("done", worker))


def check_contestants(contestants: Sequence[Contestant], game: Game) -> None:
    """Clear errors before any game: too few players, repeated names, specs that do not build."""
    if len(contestants) < 2:
        raise ArenaError(f"an arena needs at least two players, got {len(contestants)}")
    names = [c.name for c in contestants]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ArenaError(f"player {repeated[0]!r} is named twice; give each player once "
                         "(add an option such as seed=2 to tell two copies apart)")
    for c in contestants:
        if parse_spec(c.spec)[0] == "human":
            continue
        p = build_player(c.spec, game, seed=0)  # raises a PlayerSpecError naming what is wrong
        close = getattr(p, "close", None)
        if callable(close):
            close()


def run_arena(game: Game, contestants: Sequence[Contestant], games: Sequence[ScheduledGame], *,
              parallel: int = 1, batch: int = 16, seed: int | None = None,
              results_path: str | Path | None = None,
              save_dir: str | Path | None = None, on_result: Callable[[GameResult], None] | None = None,
              context: dict | None = None, wrap_human: Callable[[Player], Player] | None = None,
              check: bool = True, backend: str = "local", ray_address: str = "auto",
              opening_plies: int = 0) -> list[GameResult]:
    """Play the scheduled games and return their results in the order they finished.

    Each finished game is saved (``save_dir``), appended to ``results_path`` and passed to
    ``on_result`` before the next is reported, so an interrupted arena keeps every finished
    game. Each of ``parallel`` processes plays up to ``batch`` games at once (see _play_share).
    A human among the contestants forces one process and one game at a time (``context`` then
    carries its read_line/write functions and ``wrap_human`` may adapt it). ``backend="ray"``
    plays slices of ``batch`` games on ``parallel`` Ray actors instead (selfplay/ray_backend.py).
    ``opening_plies`` random moves open every game, each opening played with both colours.
    """
    if parallel < 1:
        raise ArenaError(f"--parallel must be at least 1, got {parallel}")
    if batch < 1:
        raise ArenaError(f"--batch must be at least 1, got {batch}")
    if check:
        check_contestants(contestants, game)
    human = any(parse_spec(c.spec)[0] == "human" for c in contestants)
    if backend == "ray" and human:
        raise ArenaError("a human plays at this terminal: --backend ray is for matches between programs")
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    games = with_openings(game, games, opening_plies, seed)
    parallel = 1 if human else min(parallel, max(len(games), 1))
    label = game_label(game)
    writer = ResultsWriter(results_path) if results_path else None
    saver = GameSaver(save_dir, game) if save_dir else None
    done: list[GameResult] = []

    def record(outcome: Outcome) -> bool:
        g = games_by_index[outcome.index]
        first, second = contestants[g.first].name, contestants[g.second].name
        path = saver.save(outcome.actions, first, second, outcome.final_state) if saver else ""
        result = GameResult(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), label, first, second,
                            outcome.result, len(outcome.actions), str(path))
        if writer:
            writer.append(result)
        done.append(result)
        if on_result:
            on_result(result)
        return True

    games_by_index = {g.index: g for g in games}
    try:
        if backend == "ray":
            from selfplay.distributed.ray_arena import play_arena_on_ray
            from selfplay.distributed.ray_cluster import RayConfig
            play_arena_on_ray(game, contestants, games, seed, parallel, batch, record, RayConfig(address=ray_address))
        elif parallel == 1:
            def wrap(p):
                return wrap_human(p) if wrap_human and p.name == "human" else p
            _play_share(game, contestants, games, seed, 0, record, 1 if human else batch, context, wrap)
        else:
            _run_workers(game, contestants, games, seed, parallel, batch, record)
    finally:
        if writer:
            writer.close()
    return done


def _run_workers(game, contestants, games, seed, parallel, batch, record) -> None:
    context = mp.get_context("spawn")  # no forked torch/OpenMP/Numba state
    results = context.Queue()
    workers = [context.Process(target=_worker_main, daemon=True, name=f"arena-worker-{w}",
                               args=(game, list(contestants), list(games[w::parallel]), seed, w, batch,
                                     os.getpid(), results))
               for w in range(parallel)]
    for p in workers:
        p.start()
    running = len(workers)
    try:
        while running:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue_module.Empty:
                dead = [p for p in workers if p.exitcode not in (None, 0)]
                if dead:
                    raise ArenaError(f"arena worker {dead[0].name} died with exit code {dead[0].exitcode}")
                continue
            if kind == "result":
                record(payload)
            elif kind == "error":
                raise ArenaError(payload)
            else:
                running -= 1
    finally:
        for p in workers:
            if p.is_alive():
                p.terminate()
            p.join(5)
