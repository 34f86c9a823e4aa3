"""Self-play throughput: simulations and moves per second, and the share of wall time
spent inside the network forward (the floor: everything else is overhead).

By default on Connect Four with a network the size of alpha-zero-general's (about 115k
parameters), so the figures compare with its self-play: one network call per leaf, about 940
simulations/s. ``--config`` measures a run config's game, network and self-play search instead
(configs/go9.yaml: 9x9 Go, 8x96), ``--device`` on a GPU, ``--parallel-games`` at the batch
sizes given: ``selfplay bench selfplay --config configs/go9.yaml --device cuda``.

Each setting is measured twice in one run: the baseline (fp32, no evaluation cache: the path
before issue 20) and the optimised path (the self-play defaults: ``auto`` precision and the
evaluation cache), whose row carries ``x baseline``, its simulations/s over the baseline's at
the same games and threads. At 256 games, one thread, each reduced precision alone (bf16, and
int8 where it is the default) and the cache alone show what each contributes, and the forward
alone is timed in each. ``precision_error`` compares a network's reduced-precision answers with
its fp32 ones."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch

from games import Game, make_game
from selfplay.configio import load_config
from selfplay.network import (
    NetworkConfig,
    NetworkEvaluator,
    PolicyValueNet,
    cpu_has_bf16,
    resolve_device,
    resolve_precision,
)
from selfplay.training.config import RunConfig
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig

NETWORK = NetworkConfig(channels=56, blocks=2, value_hidden=32)
SETTINGS = ((1, 1), (64, 1), (256, 1), (256, 2))  # (parallel games, torch threads)
PARTS_AT = (256, 1)  # the setting where each optimisation is also measured alone
CONFIG_GAMES = (64, 256, 1024)  # parallel games measured for a run config (--parallel-games: others)


class Workload(NamedTuple):
    """What self-play is measured on: a game, a network for it, the self-play search, a device."""

    game: Game
    network: NetworkConfig
    search: SelfPlayConfig  # its parallel_games is replaced by each setting's
    device: torch.device
    label: str


def connect4_workload(device: torch.device) -> Workload:
    search = SelfPlayConfig(simulations=100, cheap_simulations=100, full_search_prob=1.0, resign_threshold=-1.0)
    return Workload(make_game("connect4"), NETWORK, search, device, "Connect Four, 100 simulations per move")


def config_workload(path: str, overrides: list[str], device: torch.device) -> Workload:
    """A run config's game, network and self-play search (its precision and cache are the
    optimised path's; the baseline is fp32 without a cache, as on Connect Four)."""
    config = load_config(RunConfig, path, overrides)
    s = config.selfplay
    searches = f"{s.simulations} simulations" + (f", {s.cheap_simulations} on {1 - s.full_search_prob:.0%} of moves"
                                                 if s.cheap_simulations != s.simulations else "")
    game, net = config.game.make(), config.network
    return Workload(game, net, s, device, f"{game.label()} ({path}), {net.blocks}x{net.channels} network, {searches}")


def measure(work: Workload, parallel_games: int, seconds: float, threads: int, precision: str = "fp32",
            cache: int = 0) -> dict:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = PolicyValueNet(work.game.obs_shape, work.game.num_actions, work.network)
    # One forward per round of the batch, however large it is.
    evaluator = NetworkEvaluator(model, work.device, max_batch=max(parallel_games, 1024), precision=precision,
                                 cache_entries=cache)
    selfplay = SelfPlay(work.game, evaluator, replace(work.search, parallel_games=parallel_games), seed=0,
                        value_discount=work.network.value_discount)
    selfplay.play(1, max_rounds=3)  # compile and warm up
    gpu = work.device.type == "cuda"
    if gpu:
        torch.cuda.reset_peak_memory_stats(work.device)
    evaluator.forward_seconds, simulations, moves, lookups, hits = 0.0, 0, 0, 0, 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        _, stats = selfplay.play(1, max_rounds=1)  # one move in every game, or a game's end
        simulations += stats.simulations
        moves += stats.moves
        lookups += stats.cache_lookups
        hits += stats.cache_hits
    elapsed = time.perf_counter() - t0
    row = {"device": str(work.device), "parallel games": parallel_games, "torch threads": threads,
           "precision": evaluator.precision, "cache": cache, "sims/s": simulations / elapsed, "moves/s": moves / elapsed,
           "network share": evaluator.forward_seconds / elapsed,
           "cache hit rate": hits / lookups if lookups else None, "params": model.num_parameters()}
    if gpu:
        row["GPU MiB"] = torch.cuda.max_memory_allocated(work.device) / 2 ** 20
    return row


def forward_speed(work: Workload, seconds: float, threads: int, precision: str, batch: int = 256) -> dict:
    """The network alone: positions/s of one forward of ``batch`` real-looking positions."""
    torch.set_num_threads(threads)
    game = work.game
    torch.manual_seed(0)
    evaluator = NetworkEvaluator(PolicyValueNet(game.obs_shape, game.num_actions, work.network), work.device,
                                 max_batch=max(batch, 1024), precision=precision)
    planes = (np.random.default_rng(0).random((batch, *game.obs_shape)) < 0.3).astype(np.float32)
    legal = np.ones((batch, game.num_actions), dtype=np.bool_)
    evaluator.forward(planes, legal)  # warm up
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        evaluator.forward(planes, legal)
        count += batch
    return {"device": str(work.device), "forward batch": batch, "torch threads": threads,
            "precision": evaluator.precision, "positions/s": count / (time.perf_counter() - t0)}


def settings(parallel_games: list[int] | None, default_path: bool) -> list[tuple[int, int]]:
    """(parallel games, torch threads) to measure: --parallel-games at one thread, else the
    Connect Four settings on the default path, else CONFIG_GAMES."""
    if parallel_games:
        return [(games, 1) for games in parallel_games]
    return list(SETTINGS) if default_path else [(games, 1) for games in CONFIG_GAMES]


def run(args) -> dict:
    device = resolve_device(getattr(args, "device", None) or "cpu")
    config_path = getattr(args, "config", None)
    work = config_workload(config_path, list(getattr(args, "overrides", [])), device) if config_path \
        else connect4_workload(device)
    parallel_games = getattr(args, "parallel_games", None)
    default_path = config_path is None and device.type == "cpu" and not parallel_games
    optimised = {"precision": work.search.inference_precision, "cache": work.search.eval_cache}
    precision = resolve_precision(optimised["precision"], device)
    if device.type == "cpu":
        reduced = [p for p in ("bf16", "int8") if p == precision or (p == "bf16" and cpu_has_bf16())]
    else:
        reduced = [precision] if precision != "fp32" else []
    no_baseline = getattr(args, "no_baseline", False)
    rows = []
    for games, threads in settings(parallel_games, default_path):
        baseline = None if no_baseline else measure(work, games, args.seconds, threads)
        row = measure(work, games, args.seconds, threads, **optimised)
        if baseline is not None:
            row["x baseline"] = row["sims/s"] / baseline["sims/s"]
            rows.append(baseline)
        rows.append(row)
        if default_path and (games, threads) == PARTS_AT and baseline is not None:  # what each part contributes
            parts = [{"precision": p} for p in reduced] + ([{"cache": optimised["cache"]}] if optimised["cache"] else [])
            for alone in parts:
                part = measure(work, games, args.seconds, threads, **alone)
                part["x baseline"] = part["sims/s"] / baseline["sims/s"]
                rows.append(part)
    for threads in ((1, 2) if device.type == "cpu" else (1,)) if reduced else ():  # the forward alone
        baseline = None if no_baseline else forward_speed(work, args.seconds / 2, threads, "fp32")
        if baseline is not None:
            rows.append(baseline)
        for p in reduced:
            row = forward_speed(work, args.seconds / 2, threads, p)
            if baseline is not None:
                row["x baseline"] = row["positions/s"] / baseline["positions/s"]
            rows.append(row)
    result = {"title": f"Self-play on {work.label} (selfplay bench selfplay)", "rows": rows}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    return result


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
