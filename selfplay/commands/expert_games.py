"""``selfplay expert-games connect4|go``: files of expert games for SFT, resumable, in parallel
(see selfplay/experts/games.py for the output layout)."""

from __future__ import annotations

import sys

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from games.go import fair_komi
from selfplay.commands.argtypes import finite_float
from selfplay.experts.connect4_expert import DEFAULT_DEPTH
from selfplay.experts.games import Stopped, expert_for, expert_settings, generate
from selfplay.experts.gnugo import GNUGO_DEFAULT_LEVEL, gnugo_command
from selfplay.experts.registry import EXPERTS
from selfplay.experts.settings import ExpertGamesError, Settings
from selfplay.gtp.client import DEFAULT_TIMEOUT, EngineTimeoutError


def add_parser(sub):
    p = sub.add_parser("expert-games", help="generate expert games for SFT (Connect Four expert, GNU Go)",
                       description="Play expert games until OUT holds --games distinct ones: the alpha-beta "
                                   "expert against itself (Connect Four, one games.txt) or GNU Go against "
                                   "itself (Go, one SGF file per game). Rerun to continue after a stop.")
    p.add_argument("game", choices=list(EXPERTS))
    p.add_argument("--games", type=int, required=True, help="how many distinct games OUT should hold")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--random-plies", type=int, default=None,
                   help="uniformly random opening moves of every game (default: "
                        + ", ".join(f"{game} {expert.random_plies}" for game, expert in EXPERTS.items()) + ")")
    p.add_argument("--seed", type=int, default=None, help="seed of the random choices (default: fresh)")
    p.add_argument("--depth", type=int, default=DEFAULT_DEPTH, help="connect4: the expert's search depth")
    p.add_argument("--size", type=int, default=7, help="go: board size")
    p.add_argument("--komi", type=finite_float, default=None, help="go: komi (default: by board size, as in selfplay play)")
    p.add_argument("--level", type=int, default=GNUGO_DEFAULT_LEVEL, help="go: GNU Go's level (0-10)")
    p.add_argument("--timeout", type=finite_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"go: seconds the engine may take for one move (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--engine", default=None, metavar="COMMAND",
                   help="go: another GTP engine's command line instead of GNU Go")
    p.set_defaults(func=run)


def settings_from_args(args) -> Settings:
    """The settings of the game's expert from the options it reads (its entry's ``options``);
    the options of other experts are ignored, as their help says."""
    given = {"depth": args.depth, "size": args.size,
             "komi": fair_komi(args.size) if args.komi is None else args.komi,
             "engine": args.engine or gnugo_command(args.level)}
    options = {name: given[name] for name in expert_for(args.game).options}
    return expert_settings(args.game, args.random_plies, **options)


def run(args):
    settings = settings_from_args(args)
    columns = [TextColumn(f"{args.game} expert games"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    try:
        with Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("games", total=args.games)

            def progress(done, total):
                bar.update(task, completed=done, total=total)

            try:
                added = generate(settings, args.out, args.games, workers=args.workers, seed=args.seed,
                                 progress=progress, timeout=args.timeout)
            except EngineTimeoutError as e:
                raise ExpertGamesError(f"{e}; a busy machine slows the engine: rerun with a larger --timeout "
                                       "(the games finished so far are kept)") from None
    except Stopped as stop:
        print(f"{args.out}: {stop}", file=sys.stderr)
        return 130
    print(f"{args.out}: {added} games added, {args.games} in all")
    return 0
