"""``selfplay solver-labels --positions N --out DIR``: Connect Four positions with the solver's
exact-best moves and score, the data of SFT against a perfect teacher (selfplay/experts/connect4_labels.py)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from selfplay.errors import UserError
from selfplay.experts.connect4_labels import MAX_PLY, MIN_PLY, generate_labels, opening_labels
from selfplay.experts.games import Stopped


def add_parser(sub):
    p = sub.add_parser("solver-labels", help="Connect Four positions labelled by the perfect solver (SFT data)",
                       description="Play games from random to perfect play and write, for each position, the "
                                   "solver's exact score of its best moves ('<' for the others; "
                                   "OUT/positions.txt, lines 'MOVES S1 .. S7') "
                                   "until OUT holds --positions of them; the benchmark files' positions are "
                                   "never labelled. Rerun to continue after a stop. Train on them with "
                                   "`selfplay sft CONFIG --positions OUT`.")
    p.add_argument("--positions", type=int, default=None, help="how many labelled positions OUT should hold")
    p.add_argument("--opening", type=int, default=None, metavar="STONES",
                   help="instead of games: label every distinct position with 1 to STONES stones into a new "
                        "folder (up to 7, each move's score is a lookup in the opening book: seconds; 8 takes hours)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--seed", type=int, default=None, help="seed of the random choices (default: fresh)")
    p.add_argument("--random-plies", type=int, default=0,
                   help="uniformly random opening moves of every game; after them each game plays the solver's best "
                        "moves, a random one with the game's own probability (drawn uniformly from [0, 1])")
    p.add_argument("--min-ply", type=int, default=MIN_PLY,
                   help=f"label positions with at least this many stones; the moves before are played the same way, "
                        f"unlabelled (default {MIN_PLY}: the opening book answers the first plies at once)")
    p.add_argument("--max-ply", type=int, default=MAX_PLY,
                   help=f"label positions with at most this many stones; each game stops there (default {MAX_PLY}: "
                        "to the end)")
    p.add_argument("--held-out", nargs="*", default=None, metavar="FILE",
                   help="benchmark files whose positions are never labelled (default: the Test_* files of "
                        "../shared/data/connect4 beside the repository, when there)")
    p.set_defaults(func=run)


@contextmanager
def progress_bar(total: int | None):
    """A progress callback ``(done, total)`` drawing a bar on a terminal (nothing elsewhere)."""
    columns = [TextColumn("labelled positions"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn()]
    with Progress(*columns, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("positions", total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def run(args):
    held_out = None if args.held_out is None else [Path(p) for p in args.held_out]
    if (args.positions is None) == (args.opening is None):
        raise UserError("solver-labels needs exactly one of --positions N (positions of games) and --opening STONES")
    if args.opening is not None:
        with progress_bar(None) as progress:
            written = opening_labels(args.out, args.opening, held_out=held_out, progress=progress)
        print(f"{args.out}: every position with at most {args.opening} stones, {written} labelled")
        return 0
    try:
        with progress_bar(args.positions) as progress:
            added = generate_labels(args.out, args.positions, workers=args.workers, seed=args.seed,
                                    random_plies=args.random_plies, min_ply=args.min_ply, max_ply=args.max_ply,
                                    held_out=held_out, progress=progress)
    except Stopped as stop:
        print(f"{args.out}: {stop}", file=sys.stderr)
        return 130
    print(f"{args.out}: {added} positions added, {args.positions} in all")
    return 0
