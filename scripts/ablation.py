#!/usr/bin/env python
"""The training levers of Connect Four, each against plain AlphaZero at the same budget (issue 21's
ablation table).

A lever is a set of overrides of configs/connect4.yaml. Each (lever, seed) is one `selfplay train`
run with ``max_hours`` = the budget of training time, in OUT/LEVER-sSEED; a rerun continues an
unfinished run (SIGTERM checkpoints it) and skips a finished one. Its last network then answers
the first --positions positions of Test_L2_R2 at --sims simulations (`selfplay eval-c4`'s
measure: the share of moves that keep the game-theoretic outcome, and of exact-best moves).
Rows go to OUT/ablation.csv (kept across reruns) and the table, pooled over seeds with 95%
Wilson intervals, to stdout.

    python scripts/ablation.py --minutes 20 --seeds 0 1 --out runs/ablation
    python scripts/ablation.py --minutes 20 --seeds 0 1 --out runs/ablation --levers plain cosine-lr
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from games.connect4 import ConnectFour
from selfplay.atomic import atomic_write_text
from selfplay.cli import main as selfplay
from selfplay.evaluation import c4_positions
from selfplay.players import make_player
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import RunDir

CONFIG = "configs/connect4.yaml"
LEVERS = {
    "plain": [],
    "cosine-lr": ["optim.lr_schedule=cosine"],
    "wdl-value": ["network.value_head=wdl"],
    "gumbel-32": ["selfplay.gumbel=true", "selfplay.simulations=32", "selfplay.cheap_simulations=32"],
    "bigger-net": ["network.channels=96", "network.blocks=6", "network.value_hidden=96"],
}
FIELDS = ["lever", "seed", "step", "minutes", "positions", "outcome", "best"]


def train(run: Path, lever: str, seed: int, minutes: float, config: str) -> None:
    if list_checkpoints(RunDir(run).checkpoints):
        code = selfplay(["train", "--resume", str(run)])
    else:
        code = selfplay(["train", config, "--name", run.name, "--runs", str(run.parent), f"seed={seed}",
                         f"max_hours={minutes / 60:.6f}", "total_steps=1000000", "eval.every_steps=0",
                         *LEVERS[lever]])
    if code != 0:
        raise SystemExit(f"training {run} failed (exit code {code})")


def evaluate(run: Path, positions_file: str, limit: int, sims: int) -> dict:
    positions = c4_positions.read_positions(positions_file, limit=limit)
    scores = c4_positions.move_scores(positions)
    player = make_player(f"net:{run},sims={sims},seed=0,precision=bf16,cache=65536", ConnectFour())
    result = c4_positions.evaluate(player, positions, scores)
    return {"positions": len(positions), "outcome": result.outcome.count, "best": result.best.count}


def table(rows: list[dict]) -> str:
    lines = ["| lever | seeds | keeps the outcome (per seed) | pooled, 95% interval | exact-best, pooled |",
             "|---|---|---|---|---|"]
    for lever in LEVERS:
        mine = [r for r in rows if r["lever"] == lever]
        if not mine:
            continue
        n = sum(int(r["positions"]) for r in mine)
        outcome, best = sum(int(r["outcome"]) for r in mine), sum(int(r["best"]) for r in mine)
        low, high = c4_positions.wilson_interval(outcome, n)
        b_low, b_high = c4_positions.wilson_interval(best, n)
        each = ", ".join(f"{100 * int(r['outcome']) / int(r['positions']):.1f}%" for r in mine)
        lines.append(f"| {lever} | {len(mine)} | {each} | {100 * outcome / n:.1f}% [{100 * low:.1f}, "
                     f"{100 * high:.1f}] | {100 * best / n:.1f}% [{100 * b_low:.1f}, {100 * b_high:.1f}] |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, required=True, help="training time of every run")
    parser.add_argument("--config", default=CONFIG, help=f"the plain run's config (default {CONFIG})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=list(LEVERS))
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--positions-file", default="../shared/data/connect4/Test_L2_R2")
    parser.add_argument("--positions", type=int, default=1000, help="how many of the file's positions")
    parser.add_argument("--sims", type=int, default=200, help="simulations per move in the evaluation")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "ablation.csv"
    rows = list(csv.DictReader(results.open())) if results.exists() else []
    for seed in args.seeds:  # seed-major: a stopped study has every lever at the first seeds
        for lever in args.levers:
            run = args.out / f"{lever}-s{seed}"
            train(run, lever, seed, args.minutes, args.config)
            step = max(s for s, _ in list_checkpoints(RunDir(run).checkpoints))
            if any(r["lever"] == lever and int(r["seed"]) == seed and int(r["step"]) == step for r in rows):
                continue
            row = {"lever": lever, "seed": seed, "step": step, "minutes": args.minutes,
                   **evaluate(run, args.positions_file, args.positions, args.sims)}
            rows.append({k: str(v) for k, v in row.items()})
            text = io.StringIO()
            writer = csv.DictWriter(text, FIELDS)
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_text(results, text.getvalue())
            print(table(rows), flush=True)
    print(table([r for r in rows if float(r["minutes"]) == args.minutes]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
