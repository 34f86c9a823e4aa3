"""How long the Connect Four solver takes to answer a position just past the opening book:
`selfplay solve`'s first lines (the position's score and every best column), its table (the
exact score of every column), and the `solver` player's move (the first column of a random
order that keeps the position's score).

Positions come from random play (none where the side to move wins at once), and each is
answered from an empty transposition table, timed in CPU seconds of this process, so a busy
machine inflates the figures less than wall time would. Positions with at most the book's
depth of stones are looked up in games/data's book when there is one; otherwise the script
solves them first and hands the solver a book of just those positions, which answers them
the same way (a sorted array searched by bisection).

    python scripts/solver_latency.py --stones 8 9 10 12 --positions 20

Each cell: mean / median / max CPU seconds, and the share of positions answered within 1 s.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from games import connect4_solver as cs
from games.connect4 import MASK, MOVES, POSITION, ConnectFour

GAME = ConnectFour()
BOOK_DEPTH = 8


def random_positions(stones: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    found = []
    while len(found) < count:
        state = GAME.initial_state()
        for _ in range(stones):
            state = GAME.step(state, int(rng.choice(GAME.legal_actions(state))))
            if GAME.is_terminal(state):
                break
        if not GAME.is_terminal(state) and not cs.can_win_now(state[POSITION], state[MASK]):
            found.append(state)
    return found


def book_for(states: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """The real book, or one holding exactly these positions' scores."""
    entries, depth = cs.load_book()
    if depth >= BOOK_DEPTH:
        return entries, depth
    solver = cs.Solver(book=False)
    scores = {int(cs.book_key(s[POSITION], s[MASK])): solver.solve(s) for s in states
              if s[MOVES] <= BOOK_DEPTH}
    keys = sorted(scores)
    return np.array([(k << 8) | (scores[k] + 128) for k in keys], dtype=np.int64), BOOK_DEPTH


def timed(states, book, answer) -> np.ndarray:
    seconds = []
    for state in states:
        solver = cs.Solver(book=False)
        solver.book, solver.info[cs.BOOK_DEPTH] = book
        start = time.process_time()
        answer(solver, state)
        seconds.append(time.process_time() - start)
    return np.array(seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stones", type=int, nargs="+", default=[8, 9, 10, 12])
    parser.add_argument("--positions", type=int, default=20, help="random positions per stone count")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    warm = random_positions(30, 1, rng)[0]
    cs.Solver(log_size=18, book=False).move_scores(warm)  # compiles the kernels before any timing
    print("| stones | positions | score and best columns | every column's exact score | the solver player's move |")
    print("|---|---|---|---|---|")
    for stones in args.stones:
        states = random_positions(stones, args.positions, rng)
        book = book_for(states)
        answer = timed(states, book, lambda solver, state: (solver.solve(state), solver.best_moves(state)))
        every = timed(states, book, lambda solver, state: solver.move_scores(state))
        player = timed(states, book, lambda solver, state: solver.first_best_move(state, rng.permutation(7)))
        cells = [f"{t.mean():.2f} / {np.median(t):.2f} / {t.max():.2f} s, {(t < 1).mean():.0%}"
                 for t in (answer, every, player)]
        print(f"| {stones} | {len(states)} | {' | '.join(cells)} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
