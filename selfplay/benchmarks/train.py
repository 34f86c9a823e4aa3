"""``selfplay bench train``: a real training run of a few minutes, and where its time went.

The run is the real loop (selfplay.training.trainer) in a temporary run directory: self-play
(in worker processes or in the learner's process, as the config says), the learner held to the
replay ratio, checkpoints, evaluation and rating games at the config's cadence, and the final
rating the trainer does when a run stops on its time budget (``max_hours`` = ``--seconds``).
It reports generated positions/s (recorded self-play positions, as the replay buffer counts
them), trained samples/s, and for each process the share of its wall time per stage
(selfplay.training.stages): the stages and ``other`` add up to the process's wall time, so a
speed-up claimed later shows up as a stage shrinking, not as a figure measured elsewhere.
Ray actors (``backend: ray``) keep no record: their time is seen only as the learner's waiting.
KEY=VALUE overrides apply after the defaults, so a baseline can be pinned
(``selfplay.inference_precision=fp32``) or a change tried (``selfplay.workers=2``).

The default is the quick curve's RL stage (selfplay.training.curve: configs/curve_connect4.yaml
with the preset's RL overrides and the expert in the rating pool), started from a fresh network
rather than the SFT checkpoint the curve starts from: early games are weaker (fewer
resignations) and the pool lacks the SFT checkpoint, so rating plays one opponent fewer.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from selfplay.configio import load_config
from selfplay.errors import UserError
from selfplay.network import NetworkConfig, PolicyValueNet
from selfplay.training.chunk_player import ChunkPlayer
from selfplay.training.config import RunConfig
from selfplay.training.curve import CONFIGS, expert_of, preset_for
from selfplay.training.stages import FORWARD, LABELS, LEARNER_PROCESS, OTHER, STAGES, read_stage_files
from selfplay.training.trainer import run_training

CURVE_GAME, CURVE_PRESET = "connect4", "quick"


def run_settings(config_path: str | None, seconds: float, extra: list[str] = ()) -> tuple[str, list[str], str]:
    """(config file, overrides, what it is): the named config, or the quick curve's RL stage,
    then the ``extra`` overrides, with the time budget as ``max_hours``."""
    budget = f"max_hours={seconds / 3600!r}"
    if config_path:
        return str(config_path), [*extra, budget], " ".join([str(config_path), *extra])
    preset = preset_for(CURVE_GAME, CURVE_PRESET)
    base = str(CONFIGS / preset.base)
    expert, _ = expert_of(load_config(RunConfig, base, list(extra)).game, preset.expert_level)
    described = f"the {CURVE_PRESET} curve's RL settings ({preset.base}), from a fresh network"
    return (base, [*preset.rl, f"rating.expert={expert}", *extra, budget],
            " ".join([described, *extra]))


#: The path the cache, bf16 and the second worker are measured against (issue 20's "today's
#: settings": one self-play worker, fp32, no evaluation cache).
BASELINE = ("selfplay.inference_precision=fp32", "selfplay.eval_cache=0", "selfplay.workers=1")


def warm_kernels(config: RunConfig) -> float:
    """Compile the self-play kernels (or load them from Numba's disk cache) before the clock
    starts, so that every process of the run loads them from disk as any run does after the
    first since the code changed; a cold cache would otherwise put minutes of compilation into
    "search and rules". Returns the seconds it took."""
    started = time.perf_counter()
    game = config.game.make()
    model = PolicyValueNet(game.obs_shape, game.num_actions, NetworkConfig(channels=4, blocks=0, value_hidden=4))
    ChunkPlayer(game, model, "cpu", replace(config.selfplay, parallel_games=2), seed=0).play(0)
    return time.perf_counter() - started


def measure(config_path: str, overrides: list[str], log=print) -> tuple[dict[str, dict], RunConfig, float]:
    """Train in a temporary run directory after warm_kernels; every process's stage record
    (stages/*.json), the run's resolved config and the warm-up's seconds."""
    warm_up = warm_kernels(load_config(RunConfig, config_path, overrides))
    with tempfile.TemporaryDirectory(prefix="selfplay-bench-train-") as tmp:
        run_dir = Path(tmp) / "run"
        trainer = run_training(run_dir, config_path, overrides, log=log)
        records = read_stage_files(run_dir)
    if LEARNER_PROCESS not in records:
        raise UserError("the training run left no record of its stages")
    return records, trainer.config, warm_up


def stage_rows(records: dict[str, dict]) -> list[dict]:
    """Per process: its wall and CPU time, then each stage's seconds and share of the wall time
    (``other`` last: what no stage claims)."""
    rows = []
    order = [LEARNER_PROCESS] + sorted((p for p in records if p != LEARNER_PROCESS), key=_process_order)
    for process in order:
        record = records[process]
        wall = record["wall_seconds"]
        rows.append({"process": process, "stage": "wall time", "seconds": wall, "% of wall": 100.0,
                     "CPU busy %": 100 * record["cpu_seconds"] / wall if wall > 0 else 0.0})
        stages = record["stages"]
        for name in [s for s in STAGES if s in stages and s != OTHER] + [OTHER]:
            seconds = stages.get(name, 0.0)
            rows.append({"process": process, "stage": LABELS.get(name, name), "seconds": seconds,
                         "% of wall": 100 * seconds / wall if wall > 0 else 0.0})
    return rows


def _process_order(name: str):
    number = name.rpartition("-")[2]
    return (0, int(number)) if number.isdigit() else (1, name)


def summarise(records: dict[str, dict]) -> dict:
    """Throughput over the learner's wall time (the run's): positions every process generated,
    samples the learner trained; and the self-play network's own rate (positions it evaluated
    per second of forward), the figure to hold against ``selfplay bench selfplay``."""
    learner = records[LEARNER_PROCESS]
    wall = learner["wall_seconds"]

    def total(name):
        return sum(r.get("counts", {}).get(name, 0) for r in records.values())

    def per_second(amount, seconds):
        return amount / seconds if seconds > 0 else 0.0

    positions, samples = total("positions"), learner["counts"].get("samples_trained", 0)
    forward_seconds = sum(r["stages"].get(FORWARD, 0.0) for r in records.values())
    cpu_seconds = sum(r["cpu_seconds"] for r in records.values())
    return {"wall_seconds": wall, "positions": positions, "positions/s": per_second(positions, wall),
            "samples_trained": samples, "samples/s": per_second(samples, wall),
            "positions/CPU-s": per_second(positions, cpu_seconds),
            "steps": learner["counts"].get("steps", 0), "games": total("games"),
            "positions_ingested": learner["counts"].get("positions_ingested", 0),
            "simulations/s": per_second(total("simulations"), wall),
            "network positions/s in forward": per_second(total("network_positions"), forward_seconds),
            "eval cache hit rate": per_second(total("cache_hits"), total("cache_lookups"))}


def run(args) -> dict:
    seconds = args.seconds
    if seconds <= 0:
        raise UserError(f"--seconds must be positive, got {seconds:g}")
    config_path, overrides, described = run_settings(getattr(args, "config", None), seconds,
                                                     list(getattr(args, "overrides", [])))
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    log = lambda message: print(f"  {message}", file=sys.stderr)  # noqa: E731
    baseline = None
    if not getattr(args, "no_baseline", False):  # today's path before the cache and bf16, same budget
        baseline = summarise(measure(config_path, [*overrides[:-1], *BASELINE, overrides[-1]], log=log)[0])
    records, config, warm_up = measure(config_path, overrides, log=log)
    summary = summarise(records)
    if baseline is not None:
        summary["x baseline"] = summary["positions/s"] / baseline["positions/s"] if baseline["positions/s"] else 0.0
        summary["baseline positions/s"] = baseline["positions/s"]
        summary["x baseline per CPU-second"] = (summary["positions/CPU-s"] / baseline["positions/CPU-s"]
                                                if baseline["positions/CPU-s"] else 0.0)
    throughput = (f"generated {summary['positions/s']:,.1f} positions/s ({summary['positions']:,} positions, "
                  f"{summary['games']:,} games), trained {summary['samples/s']:,.1f} samples/s "
                  f"({summary['steps']:,} steps) over {summary['wall_seconds']:,.0f} s of the learner's wall time; "
                  f"{summary['positions/CPU-s']:,.1f} positions per CPU-second of all its processes (less moved "
                  f"by other load on the machine)")
    network = (f"self-play: {summary['simulations/s']:,.0f} simulations/s over that time; its network evaluated "
               f"{summary['network positions/s in forward']:,.0f} positions per second of forward"
               + (f", evaluation cache hit rate {summary['eval cache hit rate']:.1%}"
                  if summary["eval cache hit rate"] else ""))
    machine = (f"machine: {os.cpu_count()} cores" + (f", load average {load_before:.2f} before the run"
                                                      if load_before is not None else "")
               + f"; self-play kernels warmed up first ({warm_up:.1f} s, not counted)")
    notes = [throughput, network, machine]
    if baseline is not None:
        notes.append(f"x baseline {summary['x baseline']:.2f} (baseline, fp32 and no evaluation cache, the same budget "
                     f"just before: {baseline['positions/s']:,.1f} positions/s; per CPU-second "
                     f"x {summary['x baseline per CPU-second']:.2f})")
    return {"title": f"Training throughput and where the time goes: {described}, {seconds:g} s budget "
                     f"(selfplay bench train)",
            "rows": stage_rows(records), "notes": notes, **summary,
            "config": config_path, "overrides": overrides, "cpu_cores": os.cpu_count(),
            "load_average_before": load_before, "warm_up_seconds": warm_up, "processes": records,
            "run_config": asdict(config)}
