"""``selfplay solve MOVES``: the exact score of a Connect Four position and of each of its moves."""

from __future__ import annotations

import json

from games.connect4 import MOVES, ConnectFour
from games.connect4_solver import ILLEGAL, Solver, describe_score


def add_parser(sub):
    p = sub.add_parser("solve", help="perfect Connect Four analysis of a position",
                       description="Score a Connect Four position given as played columns (1-7, first "
                                   "move first; \"\" for the empty board): positive when the side to move "
                                   "can force a win (22 minus its stones when it connects four), 0 for a "
                                   "draw, negative when it loses.")
    p.add_argument("moves", help='played columns, e.g. "4453"')
    p.add_argument("--no-book", action="store_true", help="search everything, even the opening plies")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args):
    game = ConnectFour()
    state = game.state_from_moves(args.moves)
    moves = int(state[MOVES])
    solver = Solver(book=not args.no_book)
    scores = solver.move_scores(state)  # raises GameOverError on a finished game
    score = int(max(scores))
    if args.json:
        print(json.dumps({
            "moves": args.moves.strip(), "score": score, "meaning": describe_score(score, moves),
            "move_scores": {game.format_move(c): (None if s == ILLEGAL else int(s)) for c, s in enumerate(scores)},
        }))
        return 0
    print(game.render(state))
    mover = game.player_name(game.to_play(state))
    print(f"{moves} stones, {mover} to move")
    print(f"score {score:+d}: {describe_score(score, moves)}")
    print("column " + " ".join(f"{c + 1:>3}" for c in range(game.num_actions)))
    print("score  " + " ".join("  -" if s == ILLEGAL else f"{int(s):+3d}" for s in scores))
    best = [game.format_move(c) for c, s in enumerate(scores) if s == score]
    print(f"best: {', '.join(best)}")
    return 0
