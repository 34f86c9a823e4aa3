"""``selfplay solve MOVES``: the exact score of a Connect Four position and of each of its moves;
``selfplay solve --build-book``: the opening book that makes the first plies instant."""

from __future__ import annotations

import json
import sys
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from games.connect4 import MOVES, ConnectFour
from games.connect4_solver import ILLEGAL, NO_BOOK_NOTE, SLOW_BELOW, Solver, describe_score, load_book
from selfplay.connect4_book import DEFAULT_DEPTH, build_book
from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("solve", help="perfect Connect Four analysis of a position",
                       description="Score a Connect Four position given as played columns (1-7, first "
                                   "move first; \"\" for the empty board): positive when the side to move "
                                   "can force a win (22 minus its stones when it connects four), 0 for a "
                                   "draw, negative when it loses.")
    p.add_argument("moves", nargs="?", help='played columns, e.g. "4453"')
    p.add_argument("--no-book", action="store_true", help="search everything, even the opening plies")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    book = p.add_argument_group("opening book")
    book.add_argument("--build-book", action="store_true",
                      help="build (or finish building: resumable) the opening book, with a progress bar; "
                           f"depth {DEFAULT_DEPTH} takes hours on 2 cores")
    book.add_argument("--depth", type=int, default=DEFAULT_DEPTH,
                      help=f"stones of the book's deepest positions (default {DEFAULT_DEPTH})")
    book.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    book.add_argument("--root", default="", help="only the positions after these moves (studies, tests)")
    book.add_argument("--book-out", default=None, help="where to write the book (default: games/data in a "
                                                       "checkout, else ~/.cache/selfplay/connect4)")
    book.add_argument("--work", default=None, help="the resumable work file (default: beside the book, e.g. "
                                                   "games/data/connect4_book-work-d8.npz); removed once the book "
                                                   "is written")
    p.set_defaults(func=run)


def run(args):
    if args.build_book:
        return build(args)
    if args.moves is None:
        raise UserError('name a position as played columns (e.g. "4453", "" for the empty board), '
                        "or --build-book")
    game = ConnectFour()
    state = game.state_from_moves(args.moves)
    moves = int(state[MOVES])
    solver = Solver(book=not args.no_book)
    if moves < SLOW_BELOW and solver.book_depth < min(moves + 1, SLOW_BELOW - 2) and not game.is_terminal(state):
        print(f"note: {NO_BOOK_NOTE}", file=sys.stderr)
    if args.json:
        scores = solver.move_scores(state)  # raises GameOverError on a finished game
        score = int(max(scores))
        print(json.dumps({
            "moves": args.moves.strip(), "score": score, "meaning": describe_score(score, moves),
            "move_scores": {game.format_move(c): (None if s == ILLEGAL else int(s)) for c, s in enumerate(scores)},
        }))
        return 0
    # The answer first: the score and the best moves take one search and a probe a column (the
    # book knows the score of an early position); every column's exact score can take seconds more.
    best = solver.best_moves(state)  # raises GameOverError on a finished game
    score = solver.solve(state)
    print(game.render(state))
    mover = game.player_name(game.to_play(state))
    print(f"{moves} stones, {mover} to move")
    print(f"score {score:+d}: {describe_score(score, moves)}")
    print(f"best: {', '.join(game.format_move(int(c)) for c in best)}", flush=True)
    scores = solver.move_scores(state)
    print("column " + " ".join(f"{c + 1:>3}" for c in range(game.num_actions)))
    print("score  " + " ".join("  -" if s == ILLEGAL else f"{int(s):+3d}" for s in scores))
    return 0


def build(args):
    if args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    columns = [TextColumn(f"positions with {args.depth} stones solved"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task("book", total=None)
        logged = _ProgressLines(args.depth) if not sys.stderr.isatty() else None

        def progress(done, total):
            bar.update(task, completed=done, total=total)
            if logged:
                logged(done, total)
        path = build_book(args.depth, args.root, args.book_out, work=args.work, workers=args.workers,
                          progress=progress, log=bar.console.print)
    entries, depth = load_book(path)
    print(f"{path}: {entries.size} positions with up to {depth} stones "
          f"({path.stat().st_size / 1024:.0f} KiB)")
    return 0


class _ProgressLines:
    """The progress of a build whose stderr is a log file, not a terminal: a line a minute."""

    def __init__(self, depth: int, every_s: float = 60.0):
        self.depth, self.every_s = depth, every_s
        self.start = self.last = time.monotonic()
        self.first_done = None

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.first_done is None:
            self.first_done = done  # what a resumed build already had
        if now - self.last < self.every_s and done < total:
            return
        self.last = now
        rate = (done - self.first_done) / max(now - self.start, 1e-9)
        eta = f", about {(total - done) / rate / 3600:.1f} h left" if rate > 0 else ""
        print(f"{done}/{total} positions with {self.depth} stones solved{eta}", file=sys.stderr, flush=True)
