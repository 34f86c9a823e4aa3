"""Self-play throughput on Connect Four: simulations and positions per second, and the share
of wall time spent inside the network forward (the floor: everything else is overhead).

The network is the size of alpha-zero-general's Connect Four net (about 115k parameters), so
the figures compare with its self-play: one network call per leaf, about 940 simulations/s."""

from __future__ import annotations

import time

import torch

from games import make_game
from selfplay.network import NetworkConfig, NetworkEvaluator, PolicyValueNet
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig

NETWORK = NetworkConfig(channels=56, blocks=2, value_hidden=32)


def measure(parallel_games: int, seconds: float, threads: int) -> dict:
    torch.set_num_threads(threads)
    game = make_game("connect4")
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, NETWORK)
    evaluator = NetworkEvaluator(model, "cpu")
    config = SelfPlayConfig(parallel_games=parallel_games, simulations=100, cheap_simulations=100,
                            full_search_prob=1.0, resign_threshold=-1.0)
    selfplay = SelfPlay(game, evaluator, config, seed=0)
    selfplay.play(1)  # compile and warm up
    evaluator.forward_seconds, simulations, positions, moves = 0.0, 0, 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        chunk, stats = selfplay.play(1)
        simulations += stats.simulations
        positions += len(chunk)
        moves += stats.moves
    elapsed = time.perf_counter() - t0
    return {"parallel games": parallel_games, "torch threads": threads, "sims/s": simulations / elapsed,
            "moves/s": moves / elapsed, "network share": evaluator.forward_seconds / elapsed,
            "params": model.num_parameters()}


def run(args) -> dict:
    rows = [measure(n, args.seconds, threads) for n, threads in ((1, 1), (64, 1), (256, 1), (256, 2))]
    return {"title": "Self-play on Connect Four, 100 simulations per move (selfplay bench selfplay)", "rows": rows}
