"""``selfplay arena A B [C ...]``: matches between any players, a live score with its 95%
confidence interval, results appended to a CSV, games saved; round-robin or gauntlet."""

from __future__ import annotations

import math

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from games import GAME_NAMES
from selfplay.arena.errors import ArenaError
from selfplay.arena.results import GameResult
from selfplay.arena.runner import check_contestants, run_arena
from selfplay.arena.schedule import Contestant, schedule
from selfplay.commands.argtypes import finite_float
from selfplay.commands.bench import format_table
from selfplay.commands.elo import elo_table
from selfplay.commands.play import game_from_args
from selfplay.distributed.ray_arena import RayActors
from selfplay.distributed.ray_cluster import RayConfig
from selfplay.players import Player, parse_spec
from selfplay.players.human import HintRequest, QuitRequest, UndoRequest, read_terminal_line
from selfplay.rating.elo import EloError, fit_elo
from selfplay.rating.stats import Tally, elo_difference, tallies


def add_parser(sub):
    p = sub.add_parser("arena", help="matches between players, with scores, confidence intervals and a results CSV")
    p.add_argument("players", nargs="+", metavar="SPEC",
                   help="player specs: random, mcts:sims=200, net:runs/c4,sims=100, solver, expert, human ...")
    p.add_argument("--game", choices=GAME_NAMES, default="connect4")
    p.add_argument("--size", type=int, default=9, help="Go board size (5-19)")
    p.add_argument("--komi", type=finite_float, default=None, help="Go komi (default: by board size)")
    p.add_argument("--games", type=int, default=10, help="games per pair of players, colours alternating")
    p.add_argument("--gauntlet", action="store_true", help="the first player against each of the others "
                   "(default with more than two players: round-robin, every pair)")
    p.add_argument("--parallel", type=int, default=1, metavar="K",
                   help="worker processes playing games at once (1 when a human plays)")
    p.add_argument("--batch", type=int, default=16, metavar="B",
                   help="games each process plays at once, searching players searching them together")
    p.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="ray: play on --parallel Ray actors, in slices of --batch games (docs/ray.md)")
    p.add_argument("--ray-address", default="auto", metavar="ADDRESS",
                   help="with --backend ray: auto, ray://host:port, host:port or local (default: auto)")
    p.add_argument("--results", metavar="CSV", help="append one row per game to this CSV (see selfplay elo)")
    p.add_argument("--save-games", metavar="DIR", help="save every game here (Go as SGF, others as move strings)")
    p.add_argument("--opening-plies", type=int, default=0, metavar="K",
                   help="open every game with K random moves, each opening played with both colours: "
                        "varied games between deterministic players (default 0)")
    p.add_argument("--seed", type=int, default=None, help="seed of every player that takes one (and of the openings)")
    p.set_defaults(func=run)


def run(args, read_line=read_terminal_line, write=print):
    if args.games < 1:
        raise ArenaError(f"--games must be at least 1, got {args.games}")
    if args.parallel < 1:
        raise ArenaError(f"--parallel must be at least 1, got {args.parallel}")
    if args.batch < 1:
        raise ArenaError(f"--batch must be at least 1, got {args.batch}")
    if args.opening_plies < 0:
        raise ArenaError(f"--opening-plies must be 0 or more, got {args.opening_plies}")
    executor = None
    if args.backend == "ray":
        config = RayConfig(address=args.ray_address)
        config.validate()
        executor = RayActors(args.parallel, args.batch, config)
    game = game_from_args(args)
    contestants = [Contestant.of(spec) for spec in args.players]
    check_contestants(contestants, game)
    games = schedule(len(contestants), args.games, args.gauntlet)
    human = any(parse_spec(c.spec)[0] == "human" for c in contestants)
    if human and executor is not None:
        raise ArenaError("a human plays at this terminal: --backend ray is for matches between programs")
    where = f" -> {args.results}" if args.results else ""
    write(f"arena: {game.name}, {len(games)} games ({args.games} per pair, "
          f"{'gauntlet' if args.gauntlet else 'round-robin'}){where}")
    names = [c.name for c in contestants]
    results: list[GameResult] = []
    progress = None
    if not human:
        progress = Progress(TextColumn("[bold]arena"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[figures]}"))
        task = progress.add_task("arena", total=len(games), figures="")
        progress.start()

    def on_result(result: GameResult) -> None:
        results.append(result)
        if progress is not None:
            progress.update(task, advance=1, figures=score_line(names, results))
        else:
            write(f"game {len(results)}: {result.first} vs {result.second}: {result.result:g}-{1 - result.result:g}"
                  f"  ({score_line(names, results)})")

    try:
        run_arena(game, contestants, games, parallel=args.parallel, batch=args.batch, seed=args.seed,
                  results_path=args.results, save_dir=args.save_games, on_result=on_result,
                  context={"read_line": read_line, "write": write}, wrap_human=lambda p: _ArenaHuman(p, write),
                  opening_plies=args.opening_plies, check=False, executor=executor)
    except QuitRequest:
        write("arena stopped: the games finished so far are kept")
    finally:
        if progress is not None:
            progress.stop()
        if results:
            write(summary(names, results))
    return 0


def score_line(names: list[str], results: list[GameResult]) -> str:
    """The live figures: the first player's score against the second with its 95% interval, or
    every player's score when more than two play."""
    if len(names) == 2:
        t = tallies(results).get(tuple(sorted(names)), Tally())
        if names[0] > names[1]:
            t = Tally(t.losses, t.draws, t.wins)
        lo, hi = t.interval()
        return (f"{names[0]} +{t.wins} ={t.draws} -{t.losses}  score {t.rate:.1%}  "
                f"95% CI {lo:.1%}-{hi:.1%}  Elo {_elo(t.rate)} [{_elo(lo)}, {_elo(hi)}]")
    per_player = {n: Tally() for n in names}
    for r in results:
        per_player[r.first].add(r.result)
        per_player[r.second].add(1 - r.result)
    return "  ".join(f"{n} {t.points:g}/{t.games}" for n, t in per_player.items())


def summary(names: list[str], results: list[GameResult]) -> str:
    rows = []
    for (a, b), t in sorted(tallies(results).items(), key=lambda kv: (names.index(kv[0][0]), names.index(kv[0][1]))):
        if names.index(a) > names.index(b):  # show each pair from the side named first
            a, b, t = b, a, Tally(t.losses, t.draws, t.wins)
        lo, hi = t.interval()
        rows.append({"player": a, "opponent": b, "games": t.games, "+": t.wins, "=": t.draws, "-": t.losses,
                     "score": f"{t.rate:.1%}", "95% CI": f"{lo:.1%}-{hi:.1%}",
                     "Elo diff": f"{_elo(t.rate)} [{_elo(lo)}, {_elo(hi)}]"})
    text = format_table(f"{len(results)} games (95% CI: Wilson interval of the score, draws as half a win)", rows)
    if len(names) > 2:
        anchor = "random" if "random" in names else names[0]
        try:
            fit = fit_elo([(r.first, r.second, r.result) for r in results], anchor=anchor)
            text += "\n\n" + elo_table(fit, f"Elo from these games (anchor {fit.anchor} = 0)")
        except EloError as e:
            text += f"\n\nno Elo table: {e}"
    return text


def _elo(rate: float) -> str:
    d = elo_difference(rate)
    return f"{d:+.0f}" if math.isfinite(d) else ("+inf" if d > 0 else "-inf")


class _ArenaHuman(Player):
    """A human in the arena: undo and hints belong to ``selfplay play``, so they are refused."""

    def __init__(self, human: Player, write):
        self.human = human
        self.write = write
        self.name = human.name

    def reset(self, game):
        self.human.reset(game)

    def observe(self, game, state, action):
        self.human.observe(game, state, action)

    def select_move(self, game, state):
        while True:
            try:
                return self.human.select_move(game, state)
            except (UndoRequest, HintRequest):
                self.write("  undo and hint are not available in arena games (use selfplay play)")
