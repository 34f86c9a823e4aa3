"""Simulations per second of the batched MCTS, one thread, from the initial position, with
random-rollout and uniform evaluators at batch sizes 1, 16 and 256 (a tree per root, counted
over all trees), against OpenSpiel's MCTSBot with one random rollout per leaf: the C++ bot
(``pyspiel.MCTSBot``) and the pure-Python one (``open_spiel.python.algorithms.mcts``).

Rollout and uniform run fused (the whole search in one kernel call); "uniform, rounds" runs
the path a network evaluator takes, one Python round trip per round of leaves, to show what
batching buys there.

Timed in CPU time of the calling thread (both engines run there), best of the repeats that
fit in ``--seconds``, so that other work on a shared machine disturbs the figures little.
"""

from __future__ import annotations

import time

import numpy as np

from games import make_game
from selfplay.mcts import MCTS, MCTSConfig, RolloutEvaluator, UniformEvaluator

SIMULATIONS = 800
BATCH_SIZES = (1, 16, 256)
UCT_C = 2.0  # OpenSpiel's usual UCT constant
# (label, our game, OpenSpiel game string); Go at batch 256 searches fewer simulations per tree
# because each expansion allocates ~80 children (800 simulations x 256 trees would be 600 MB).
GAMES = [
    ("connect4", ("connect4", {}), "connect_four", {}),
    ("go 9x9", ("go", {"size": 9, "komi": 7.5}), "go(board_size=9,komi=7.5)", {256: 200}),
    ("tictactoe", ("tictactoe", {}), "tic_tac_toe", {}),
]


def best_rate(step, work: float, seconds: float) -> float:
    """``work`` units per second of thread CPU time for ``step()``, the best of the repeats that
    fit in ``seconds`` of wall time (at least two, the first of which also warms up)."""
    best, start, repeats = 0.0, time.perf_counter(), 0
    while repeats < 2 or time.perf_counter() - start < seconds:
        t0 = time.thread_time()
        step()
        elapsed = time.thread_time() - t0
        if repeats > 0 and elapsed > 0:
            best = max(best, work / elapsed)
        repeats += 1
    return best


def ours(game, evaluator, batch_size: int, simulations: int, seconds: float, fused: bool = True) -> float:
    config = MCTSConfig(num_simulations=simulations, c_puct=3.0, seed=0, fused=fused)
    mcts = MCTS(game, evaluator, config, batch_size=batch_size)
    roots = [game.initial_state()] * batch_size

    def step():
        mcts.set_roots(roots)  # fresh trees: every search starts from the initial position
        mcts.search()

    return best_rate(step, simulations * batch_size, seconds)


def openspiel_cpp(name: str, simulations: int, seconds: float) -> float:
    import pyspiel
    game = pyspiel.load_game(name)
    bot = pyspiel.MCTSBot(game, pyspiel.RandomRolloutEvaluator(1, 0), UCT_C, simulations, 1000, False, 0, False)
    state = game.new_initial_state()
    return best_rate(lambda: bot.step(state), simulations, seconds)


def openspiel_python(name: str, simulations: int, seconds: float) -> float:
    import pyspiel
    from open_spiel.python.algorithms import mcts
    game = pyspiel.load_game(name)
    evaluator = mcts.RandomRolloutEvaluator(1, np.random.RandomState(0))
    bot = mcts.MCTSBot(game, UCT_C, simulations, evaluator, random_state=np.random.RandomState(0))
    state = game.new_initial_state()
    return best_rate(lambda: bot.step(state), simulations, seconds)


def run(args) -> dict:
    rows = []
    for label, (name, params), openspiel_name, fewer in GAMES:
        game = make_game(name, **params)
        references = {}
        if not args.no_reference:
            references["C++"] = openspiel_cpp(openspiel_name, SIMULATIONS, args.seconds)
            references["Python"] = openspiel_python(openspiel_name, SIMULATIONS, args.seconds)
            for engine, rate in references.items():
                rows.append({"game": label, "engine": f"OpenSpiel {engine} MCTSBot", "evaluator": "rollout",
                             "batch": 1, "sims/tree": SIMULATIONS, "sims/s": rate})
        evaluators = (("rollout", RolloutEvaluator(1), True), ("uniform", UniformEvaluator(), True),
                      ("uniform, rounds", UniformEvaluator(), False))
        for evaluator_name, evaluator, fused in evaluators:
            for batch_size in BATCH_SIZES:
                simulations = fewer.get(batch_size, SIMULATIONS)
                rate = ours(game, evaluator, batch_size, simulations, args.seconds, fused)
                row = {"game": label, "engine": "selfplay.mcts", "evaluator": evaluator_name, "batch": batch_size,
                       "sims/tree": simulations, "sims/s": rate}
                if evaluator_name == "rollout":
                    for engine, reference in references.items():
                        row[f"x OpenSpiel {engine}"] = rate / reference
                rows.append(row)
    return {"title": "MCTS simulations per second from the initial position, one thread, thread CPU time "
                     "(selfplay bench mcts)",
            "rows": rows, "simulations": SIMULATIONS, "uct_c": UCT_C}
