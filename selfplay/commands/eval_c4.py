"""``selfplay eval-c4 PLAYER --positions FILE``: share of a player's Connect Four moves that keep
the game-theoretic outcome and share that are exactly best (see selfplay/evaluation/c4_positions.py)."""

from __future__ import annotations

import json
import sys

from games.connect4 import ConnectFour
from selfplay.errors import UserError
from selfplay.evaluation import c4_positions
from selfplay.players import make_player


def add_parser(sub):
    p = sub.add_parser("eval-c4", help="judge a player's Connect Four moves against the perfect solver",
                       description="Ask PLAYER for a move in every position of FILE and report the share "
                                   "of moves that keep the game-theoretic outcome and the share with the "
                                   "exact best score, with 95% confidence intervals. The solver's scores "
                                   "of every move are cached on disk, once per file.")
    p.add_argument("player", help='player spec, e.g. "random", "solver:seed=1", "mcts:sims=200"')
    p.add_argument("--positions", required=True, metavar="FILE",
                   help='positions file: one "MOVES [SCORE]" per line (e.g. shared/data/connect4/Test_L2_R1)')
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use the first N positions")
    p.add_argument("--cache-dir", default=None,
                   help=f"where move scores are cached (default {c4_positions.default_cache_dir()})")
    p.add_argument("--answers", default=None, metavar="OUT.npz",
                   help="save which positions the player got right, for --against in a later run")
    p.add_argument("--against", default=None, metavar="ANSWERS.npz",
                   help="another player's --answers on the same positions: count the positions only one of "
                        "the two got right, with McNemar's exact p")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args):
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    positions = c4_positions.read_positions(args.positions, limit=args.limit)
    player = make_player(args.player, ConnectFour())

    def progress(done, total):
        if sys.stderr.isatty():
            print(f"\rsolving moves of position {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    scores = c4_positions.move_scores(positions, args.cache_dir, progress=progress)
    result = c4_positions.evaluate(player, positions, scores)
    paired = None if args.against is None else c4_positions.compare_answers(args.against, positions, result)
    if args.answers is not None:
        c4_positions.save_answers(args.answers, args.player, positions, result)
    if args.json:
        extra = {} if paired is None else {"against": paired}
        print(json.dumps({"player": args.player, "file": str(positions.path), **result.as_dict(), **extra}, indent=2))
        return 0
    print(f"{args.player} on {len(positions)} positions of {positions.path}")
    for label, share in (("keeps the outcome", result.outcome), ("best score", result.best)):
        print(f"  {label:<18} {100 * share.value:5.1f}%  ({share.count}/{share.total}, "
              f"95% CI {100 * share.low:.1f}-{100 * share.high:.1f}%)")
    if paired is not None:
        print(f"  against {paired['other']} on the same positions (only this / only it, McNemar's exact p):")
        for label, key in (("keeps the outcome", "outcome_kept"), ("best score", "best_move")):
            pair = paired[key]
            print(f"  {label:<18} {pair['only_this']} / {pair['only_other']}, p = {pair['p']:.2g}")
    if result.score_mismatches:
        print(f"  warning: {result.score_mismatches} positions have a score in the file that differs from the solver's")
    return 0
