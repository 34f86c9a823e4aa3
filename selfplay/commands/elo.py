"""``selfplay elo RESULTS.csv [...]``: maximum-likelihood Elo of every player in results files."""

from __future__ import annotations

from selfplay.arena.results import read_results
from selfplay.commands.argtypes import finite_float
from selfplay.commands.bench import format_table
from selfplay.rating.elo import EloError, EloFit, fit_elo


def add_parser(sub):
    p = sub.add_parser("elo", help="Elo ratings with confidence intervals from arena or rating results")
    p.add_argument("results", nargs="+", metavar="CSV", help="results files (selfplay arena --results, ratings.csv)")
    p.add_argument("--anchor", default="random", help="the player rated 0 (default: random)")
    p.add_argument("--game", default=None, help="rate only games of this label (the CSV's game column)")
    p.add_argument("--prior-draws", type=finite_float, default=1.0,
                   help="virtual draws added to every pair that met, so that unbeaten players get a finite rating")
    p.set_defaults(func=run)


def run(args, write=print):
    results = [r for path in args.results for r in read_results(path)]
    labels = sorted({r.game for r in results})
    if args.game is not None:
        if args.game not in labels:
            raise EloError(f"no games of {args.game!r} in {', '.join(args.results)}; "
                           f"found: {', '.join(labels) or 'none'}")
        results = [r for r in results if r.game == args.game]
    elif len(labels) > 1:
        raise EloError(f"the results mix games ({', '.join(labels)}): choose one with --game")
    fit = fit_elo([(r.first, r.second, r.result) for r in results], anchor=args.anchor, prior_draws=args.prior_draws)
    title = (f"Elo from {len(results)} games of {labels[0] if args.game is None else args.game} "
             f"(anchor {fit.anchor} = 0; {fit.confidence:.0%} intervals from the Fisher information)")
    write(elo_table(fit, title))
    return 0


def elo_table(fit: EloFit, title: str) -> str:
    rows = [{"player": r.player, "games": r.games, "score": f"{r.score:.1%}", "Elo": f"{r.elo:.0f}",
             "-": f"{r.elo - r.lower:.0f}", "+": f"{r.upper - r.elo:.0f}"} for r in fit.ratings]
    return format_table(title, rows)
