"""Random full-game playouts per second of the rule kernels, single-threaded, against
OpenSpiel's implementation of the same games driven from Python (the reference)."""

from __future__ import annotations

import random
import time

from numba import njit

from games import connect4, go, make_game

GO_KOMI = 7.5  # as in OpenSpiel's reference figures


@njit(cache=True)
def _connect4_games(n):
    moves = 0
    for _ in range(n):
        state = connect4.initial_state()
        connect4.rollout(state)
        moves += state[connect4.MOVES]
    return moves


@njit(cache=True)
def _go_games(template, n):
    moves = 0
    for _ in range(n):
        state = template.copy()
        moves += go.random_game(state)
    return moves


def _timed(play_batch, seconds: float) -> tuple[float, float]:
    """Run ``play_batch(n) -> moves`` with growing n until ``seconds`` pass: (games/s, moves/game)."""
    play_batch(1)  # compile / warm up
    n, games, moves, elapsed = 1, 0, 0, 0.0
    while elapsed < seconds:
        t0 = time.perf_counter()
        moves += play_batch(n)
        elapsed += time.perf_counter() - t0
        games += n
        n *= 2
    return games / elapsed, moves / games


def _openspiel_rate(name: str, params: dict, seconds: float) -> float:
    import pyspiel
    game = pyspiel.load_game(name, params)
    rng = random.Random(0)
    games, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        state = game.new_initial_state()
        while not state.is_terminal():
            state.apply_action(rng.choice(state.legal_actions()))
        games += 1
    return games / (time.perf_counter() - t0)


def cases():
    """(label, our batch player, OpenSpiel game name and parameters) for each benchmarked game."""
    connect4.seed(0)
    yield "connect4", _connect4_games, ("connect_four", {})
    for size in (5, 7, 9, 19):
        state = make_game("go", size=size, komi=GO_KOMI).initial_state()
        yield f"go {size}x{size}", (lambda n, s=state: _go_games(s, n)), \
            ("go", {"board_size": size, "komi": GO_KOMI})


def run(args) -> dict:
    rows = []
    for label, play_batch, (os_name, os_params) in cases():
        rate, length = _timed(play_batch, args.seconds)
        row = {"game": label, "games/s": rate, "moves/game": length}
        if not args.no_reference:
            reference = _openspiel_rate(os_name, os_params, args.seconds)
            row["openspiel games/s"] = reference
            row["speedup"] = rate / reference
        rows.append(row)
    return {"title": "Uniformly random full games per second, one thread (selfplay bench games)",
            "rows": rows}
