"""Self-play throughput on Connect Four: simulations and positions per second, and the share
of wall time spent inside the network forward (the floor: everything else is overhead).

The network is the size of alpha-zero-general's Connect Four net (about 115k parameters), so
the figures compare with its self-play: one network call per leaf, about 940 simulations/s.

Each setting is measured twice in one run: the baseline (fp32, no evaluation cache: the path
before issue 20) and the optimised path (the self-play defaults: ``auto`` precision and the
evaluation cache), whose row carries ``x baseline``, its simulations/s over the baseline's at
the same games and threads. At 256 games, one thread, each reduced precision alone (bf16, and
int8 where it is the default) and the cache alone show what each contributes, and the forward
alone is timed in each. ``precision_error`` compares a network's reduced-precision answers with
its fp32 ones."""

from __future__ import annotations

import time

import numpy as np
import torch

from games import make_game
from selfplay.network import (
    NetworkConfig,
    NetworkEvaluator,
    PolicyValueNet,
    cpu_has_bf16,
    resolve_precision,
)
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig

NETWORK = NetworkConfig(channels=56, blocks=2, value_hidden=32)
SETTINGS = ((1, 1), (64, 1), (256, 1), (256, 2))  # (parallel games, torch threads)
PARTS_AT = (256, 1)  # the setting where each optimisation is also measured alone


def measure(parallel_games: int, seconds: float, threads: int, precision: str = "fp32", cache: int = 0) -> dict:
    torch.set_num_threads(threads)
    game = make_game("connect4")
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, NETWORK)
    evaluator = NetworkEvaluator(model, "cpu", precision=precision, cache_entries=cache)
    config = SelfPlayConfig(parallel_games=parallel_games, simulations=100, cheap_simulations=100,
                            full_search_prob=1.0, resign_threshold=-1.0)
    selfplay = SelfPlay(game, evaluator, config, seed=0)
    selfplay.play(1)  # compile and warm up
    evaluator.forward_seconds, simulations, positions, moves, lookups, hits = 0.0, 0, 0, 0, 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        chunk, stats = selfplay.play(1)
        simulations += stats.simulations
        positions += len(chunk)
        moves += stats.moves
        lookups += stats.cache_lookups
        hits += stats.cache_hits
    elapsed = time.perf_counter() - t0
    return {"parallel games": parallel_games, "torch threads": threads, "precision": evaluator.precision,
            "cache": cache, "sims/s": simulations / elapsed, "moves/s": moves / elapsed,
            "network share": evaluator.forward_seconds / elapsed,
            "cache hit rate": hits / lookups if lookups else None, "params": model.num_parameters()}


def forward_speed(seconds: float, threads: int, precision: str, batch: int = 256) -> dict:
    """The network alone: positions/s of one forward of ``batch`` real-looking positions."""
    torch.set_num_threads(threads)
    game = make_game("connect4")
    torch.manual_seed(0)
    evaluator = NetworkEvaluator(PolicyValueNet(game.obs_shape, game.num_actions, NETWORK), "cpu",
                                 precision=precision)
    planes = (np.random.default_rng(0).random((batch, *game.obs_shape)) < 0.3).astype(np.float32)
    legal = np.ones((batch, game.num_actions), dtype=np.bool_)
    evaluator.forward(planes, legal)  # warm up
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        evaluator.forward(planes, legal)
        count += batch
    return {"forward batch": batch, "torch threads": threads, "precision": evaluator.precision,
            "positions/s": count / (time.perf_counter() - t0)}


def run(args) -> dict:
    defaults = SelfPlayConfig()
    optimised = {"precision": defaults.inference_precision, "cache": defaults.eval_cache}
    precision = resolve_precision(optimised["precision"], torch.device("cpu"))
    reduced = [p for p in ("bf16", "int8") if p == precision or (p == "bf16" and cpu_has_bf16())]
    rows = []
    for games, threads in SETTINGS:
        baseline = None if getattr(args, "no_baseline", False) else measure(games, args.seconds, threads)
        row = measure(games, args.seconds, threads, **optimised)
        if baseline is not None:
            row["x baseline"] = row["sims/s"] / baseline["sims/s"]
            rows.append(baseline)
        rows.append(row)
        if (games, threads) == PARTS_AT and baseline is not None:  # what each part contributes
            parts = [{"precision": p} for p in reduced] + ([{"cache": optimised["cache"]}] if optimised["cache"] else [])
            for alone in parts:
                part = measure(games, args.seconds, threads, **alone)
                part["x baseline"] = part["sims/s"] / baseline["sims/s"]
                rows.append(part)
    for threads in (1, 2) if reduced else ():  # the forward alone
        baseline = None if getattr(args, "no_baseline", False) else forward_speed(args.seconds / 2, threads, "fp32")
        if baseline is not None:
            rows.append(baseline)
        for p in reduced:
            row = forward_speed(args.seconds / 2, threads, p)
            if baseline is not None:
                row["x baseline"] = row["positions/s"] / baseline["positions/s"]
            rows.append(row)
    return {"title": "Self-play on Connect Four, 100 simulations per move (selfplay bench selfplay)", "rows": rows}


def precision_error(model: PolicyValueNet, planes: np.ndarray, legal: np.ndarray, precision: str = "bf16",
                    batch: int = 256) -> dict:
    """How far ``precision`` answers are from fp32 on these positions: max |value difference|,
    mean KL(fp32 || other) of the priors, and the share whose most likely move changes."""
    reference = NetworkEvaluator(model, "cpu", max_batch=batch, precision="fp32")
    other = NetworkEvaluator(model, "cpu", max_batch=batch, precision=precision)
    p, v = reference.priors(planes, legal)
    q, w = other.priors(planes, legal)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(np.maximum(q, 1e-30))), 0.0).sum(axis=1)
    return {"positions": len(planes), "precision": other.precision, "max |dvalue|": float(np.abs(v - w).max()),
            "mean |dvalue|": float(np.abs(v - w).mean()), "mean KL": float(kl.mean()),
            "max KL": float(kl.max()), "argmax changed": float(np.mean(p.argmax(1) != q.argmax(1)))}


def precision_error_on_run(checkpoint: str, replay_dir: str, limit: int = 20000, precision: str = "bf16") -> dict:
    """precision_error on the positions of a run's replay chunks (real self-play positions)."""
    from pathlib import Path

    from selfplay.players.net import load_network
    _, model, _ = load_network(checkpoint, "cpu")
    planes = []
    for path in sorted(Path(replay_dir).glob("chunk-*.npz")):
        with np.load(path) as data:
            planes.append(data["planes"].astype(np.float32))
        if sum(len(x) for x in planes) >= limit:
            break
    planes = np.concatenate(planes)[:limit]
    legal = planes_legal_connect4(planes)
    return precision_error(model, planes, legal, precision)


def planes_legal_connect4(planes: np.ndarray) -> np.ndarray:
    """Connect Four's legal columns from its planes: a column is open while its top cell is empty."""
    return (planes[:, 0, 0, :] + planes[:, 1, 0, :]) == 0
