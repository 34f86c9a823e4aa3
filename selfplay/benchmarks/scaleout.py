"""Self-play throughput by backend (``selfplay bench ray``): local worker processes against Ray
actors, 1 and 2 of each, with the same network and settings, in one run.

Measured as the learner sees it: positions in finished-game chunks arriving in a replay folder,
through the real code paths (selfplay/distributed/workers.py writing chunks itself; Ray actors returning
chunks that the driver writes), so Ray's overhead (object transfers, the driver's round trip
before the next task, its daemons) is in the figure. Each worker's first chunk (process start,
Numba and torch warm-up) is left out; its rate is the positions of its later chunks over the
time between its first and last arrival, and a backend's rate is the sum over its workers.

On a machine that other jobs share, wall-clock rates move with their load; the CPU time of this
process and all its descendants (workers, Ray's daemons and actors) over the same window does
not, so positions per CPU-second is also reported: the overhead of a backend, load aside.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from selfplay.benchmarks.selfplay import NETWORK
from selfplay.configio import dump_config
from selfplay.distributed.ray_cluster import connect, import_ray
from selfplay.distributed.ray_selfplay import RaySelfPlayPool
from selfplay.distributed.workers import start_workers, stop_workers
from selfplay.network import PolicyValueNet
from selfplay.run.checkpoint import checkpoint_path, save_checkpoint
from selfplay.run.directory import CHUNK_NAME, RunDir, list_chunks
from selfplay.training.config import RunConfig
from selfplay.training.replay import read_chunk
from selfplay.training.selfplay import SelfPlayConfig

PARALLEL_GAMES = 16   # games in lock-step per worker; a chunk is this many finished games
SIMULATIONS = 50      # every move a full search (recorded), no resignation
ROUNDS = 3            # the backends take turns, so a change in the machine's load hits them alike


def bench_config(backend: str, workers: int) -> RunConfig:
    config = RunConfig(seed=0, device="cpu", backend=backend, torch_threads=1, network=NETWORK,
                       selfplay=SelfPlayConfig(parallel_games=PARALLEL_GAMES, simulations=SIMULATIONS,
                                               cheap_simulations=SIMULATIONS, full_search_prob=1.0,
                                               resign_threshold=-1.0, workers=workers))
    config.ray.address = "local"
    config.validate()
    return config


def _rate(arrivals: dict[int, list[tuple[float, int, int]]]) -> tuple[float, float, int]:
    """(positions/s, games/s, chunks counted) from each worker's (time, positions, games) arrivals."""
    positions_per_s = games_per_s = 0.0
    counted = 0
    for times in arrivals.values():
        first, rest = times[0], times[1:]
        span = rest[-1][0] - first[0]
        positions_per_s += sum(p for _, p, _ in rest) / span
        games_per_s += sum(g for _, _, g in rest) / span
        counted += len(rest)
    return positions_per_s, games_per_s, counted


def tree_cpu_seconds() -> float | None:
    """CPU time (user + system) of this process and every descendant, from /proc (Linux)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    children: dict[int, list[int]] = {}
    cpu: dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields after the name: state, ppid, ...
        cpu[pid] = int(fields[11]) + int(fields[12])         # utime, stime in clock ticks
    total, todo = 0, [os.getpid()]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def _watch(poll, workers: int, seconds: float, min_chunks: int = 3) -> tuple[float, float, int, float | None]:
    """Call ``poll()`` (new chunk paths) until every worker has delivered its warm-up chunk, then
    for ``seconds`` and until each has ``min_chunks`` more; returns _rate of the later ones and
    the CPU cores the whole process tree used meanwhile."""
    warmed: set[int] = set()
    while len(warmed) < workers:
        warmed |= {int(CHUNK_NAME.match(p.name).group(1)) for p in poll()}
    arrivals: dict[int, list] = {w: [] for w in warmed}
    start, cpu_start = time.perf_counter(), tree_cpu_seconds()
    while time.perf_counter() - start < seconds or min(len(a) for a in arrivals.values()) < min_chunks + 1:
        for path in poll():
            chunk = read_chunk(path)
            arrivals[int(CHUNK_NAME.match(path.name).group(1))].append((time.perf_counter(), len(chunk), chunk.games))
    cpu_end, end = tree_cpu_seconds(), time.perf_counter()
    cores = None if cpu_start is None else (cpu_end - cpu_start) / (end - start)
    return (*_rate(arrivals), cores)


def measure_local(workers: int, seconds: float, root: Path) -> tuple:
    config = bench_config("local", workers)
    run = RunDir(root / f"local-{workers}")
    run.make()
    dump_config(config, run.config)
    game = config.game.make()
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, config.network)
    save_checkpoint(checkpoint_path(run.checkpoints, 0), {"model": model.state_dict(), "step": 0})
    seen: set[Path] = set()

    def poll():
        time.sleep(0.05)
        new = [p for p in list_chunks(run.replay) if p not in seen]
        seen.update(new)
        return new

    processes = start_workers(run.root, workers)
    try:
        return _watch(poll, workers, seconds)
    finally:
        stop_workers(run.root, processes, timeout=1.0)


def measure_ray(workers: int, seconds: float, root: Path) -> tuple:
    config = bench_config("ray", workers)
    game = config.game.make()
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, config.network)
    pool = RaySelfPlayPool(config, root / f"ray-{workers}", log=lambda message: None)
    pool.replay_dir.mkdir(parents=True)
    pool.start(0, model)
    try:
        return _watch(lambda: pool.collect(wait_seconds=0.05), workers, seconds)
    finally:
        pool.stop()


def run(args) -> dict:
    """ROUNDS rounds of: local 1 and 2 processes, then a fresh local Ray cluster for Ray 1 and 2
    actors (so its daemons weigh on the Ray figures only); the median round of each is shown."""
    import_ray()
    seconds = max(args.seconds, 5.0)
    results: dict[tuple[str, int], list[tuple]] = {}
    with tempfile.TemporaryDirectory(prefix="selfplay-bench-ray-") as tmp:
        for round_index in range(ROUNDS):
            root = Path(tmp) / str(round_index)
            for workers in (1, 2):
                results.setdefault(("local processes", workers), []).append(measure_local(workers, seconds, root))
            ray, started = connect(bench_config("ray", 1).ray)
            try:
                for workers in (1, 2):
                    results.setdefault(("ray actors", workers), []).append(measure_ray(workers, seconds, root))
            finally:
                if started:
                    ray.shutdown()
    rows = []
    for (backend, workers), measured in results.items():
        positions = sorted(m[0] for m in measured)
        median = statistics.median(positions)
        local = statistics.median(m[0] for m in results["local processes", workers])
        row = {"backend": backend, "workers": workers, "positions/s (median)": median,
               "range over rounds": f"{positions[0]:,.0f}-{positions[-1]:,.0f}",
               "vs local": None if backend.startswith("local") else median / local,
               "games/s": statistics.median(m[1] for m in measured), "chunks timed": sum(m[2] for m in measured)}
        if all(m[3] for m in measured):
            per_cpu = statistics.median(m[0] / m[3] for m in measured)
            local_per_cpu = statistics.median(m[0] / m[3] for m in results["local processes", workers])
            row.update({"cores used": statistics.median(m[3] for m in measured), "positions/CPU-s": per_cpu,
                        "per CPU-s vs local": None if backend.startswith("local") else per_cpu / local_per_cpu})
        rows.append(row)
    return {"title": f"Self-play positions/s by backend: Connect Four, {SIMULATIONS} simulations per move, "
                     f"{PARALLEL_GAMES} games per worker, one torch thread each, {ROUNDS} rounds of "
                     f"{seconds:g} s (selfplay bench ray)",
            "rows": rows}
