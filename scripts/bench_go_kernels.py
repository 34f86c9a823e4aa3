#!/usr/bin/env python
"""Go kernel speed, single-threaded: uniform random full games per second (``go.random_game``,
the figure `selfplay bench games` reports), UCT playouts per second (``go.rollout``, the light
playout rollout MCTS runs) and the same playouts under the full rules (``full_rollout``:
positional superko, hashes and history kept, as go.rollout was before the light moves) on
each board size. Timed in CPU time of this thread (time.thread_time), best of several
repeats, so that other work on a shared machine disturbs the figures as little as possible.

    python scripts/bench_go_kernels.py [--sizes 5 7 9 19] [--repeats 5] [--seconds 1]
"""

from __future__ import annotations

import argparse
import time

from numba import njit

from games import go
from games.go import GoGame
from games.go.playouts import full_rollout


@njit(cache=True)
def _random_games(template, n):
    moves = 0
    for _ in range(n):
        moves += go.random_game(template.copy())
    return moves


@njit(cache=True)
def _rollouts(template, n):
    moves = 0
    for _ in range(n):
        state = template.copy()
        go.rollout(state)
        moves += state[go.MOVE_NUMBER]
    return moves


@njit(cache=True)
def _full_rollouts(template, n):
    moves = 0
    for _ in range(n):
        state = template.copy()
        full_rollout(state)
        moves += state[go.MOVE_NUMBER]
    return moves


def best_rate(kernel, template, seconds, repeats):
    """(games per second, moves per game): the best of ``repeats`` runs of about ``seconds``."""
    kernel(template, 1)
    n = 1
    while True:  # size a batch to last about ``seconds``
        t0 = time.thread_time()
        kernel(template, n)
        if time.thread_time() - t0 > seconds / 4:
            break
        n *= 2
    n = max(1, int(n * seconds / 4 / (time.thread_time() - t0)) * 4)
    best, length = 0.0, 0.0
    for _ in range(repeats):
        t0 = time.thread_time()
        moves = kernel(template, n)
        rate = n / (time.thread_time() - t0)
        best, length = max(best, rate), moves / n
    return best, length


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 7, 9, 19])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    go.seed(0)
    print(f"{'board':>6} {'random games/s':>15} {'moves/game':>11} {'playouts/s':>11} {'moves/playout':>14}"
          f" {'full playouts/s':>16} {'moves/playout':>14}")
    for size in args.sizes:
        template = GoGame(size, komi=7.5).initial_state()
        games, moves = best_rate(_random_games, template, args.seconds, args.repeats)
        playouts, playout_moves = best_rate(_rollouts, template, args.seconds, args.repeats)
        full, full_moves = best_rate(_full_rollouts, template, args.seconds, args.repeats)
        print(f"{size:>4}x{size:<1} {games:>15,.0f} {moves:>11.1f} {playouts:>11,.0f} {playout_moves:>14.1f}"
              f" {full:>16,.0f} {full_moves:>14.1f}")


if __name__ == "__main__":
    main()
