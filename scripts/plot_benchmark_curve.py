#!/usr/bin/env python
"""A Connect Four run's benchmark shares against training time, from its evaluation rows
(RUN/eval.csv, written every eval.every_steps when eval.c4_positions names a positions file):
the share of positions where its search keeps the game-theoretic outcome and plays an
exact-best move, each with its 95% Wilson interval over the eval.c4_limit positions. A run
that started from another run's network (init_from) continues that network's training time.

    python scripts/plot_benchmark_curve.py runs/c4-strong --out docs/figures --name c4-strong-benchmark
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfplay.configio import load_config  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.evaluation.c4_positions import wilson_interval  # noqa: E402
from selfplay.rating.plots import run_initial, save_figure  # noqa: E402
from selfplay.run.directory import RunDir, read_rows  # noqa: E402
from selfplay.training.config import RunConfig  # noqa: E402

SHARES = {"c4/outcome_share": "keeps the outcome", "c4/best_share": "plays an exact-best move"}


def benchmark_rows(run: Path) -> tuple[list[dict], RunConfig]:
    """The evaluation rows that carry the shares, and the run's config (eval.c4_limit positions
    of eval.c4_positions behind each, searched with eval.simulations)."""
    directory = RunDir(run)
    rows = [r for r in read_rows(directory.eval_csv) if r.get("c4/outcome_share")]
    if not rows:
        raise UserError(f"{run}/eval.csv has no benchmark rows (c4/outcome_share): was eval.c4_positions set?")
    return rows, load_config(RunConfig, directory.config)


def plot(run: Path, out: Path, name: str) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows, config = benchmark_rows(run)
    n = config.eval.c4_limit
    start = float(run_initial(run).get("elapsed_seconds", 0.0)) / 60  # the source network's training
    minutes = [start + float(r["minutes"]) for r in rows]
    fig = Figure(figsize=(8, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for column, label in SHARES.items():
        share = [float(r[column]) for r in rows]
        bounds = [wilson_interval(round(s * n), n) for s in share]
        line, = ax.plot(minutes, [100 * s for s in share], marker="o", markersize=3, label=label)
        ax.fill_between(minutes, [100 * lo for lo, _ in bounds], [100 * hi for _, hi in bounds],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if start:
        ax.axvline(start, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel(f"training time (minutes; the first {start:.0f} those of the network it started from)")
    else:
        ax.set_xlabel("training time (minutes)")
    ax.set_ylabel(f"% of {n} positions ({Path(config.eval.c4_positions).name})")
    ax.set_title(f"{run.name}: benchmark positions at {config.eval.simulations} simulations a move "
                 "against training time (95% bands)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder of the figure (default: the run's)")
    parser.add_argument("--name", default="benchmark")
    args = parser.parse_args(argv)
    try:
        for path in plot(args.run, args.out or args.run, args.name):
            print(path)
    except UserError as e:
        print(f"plot_benchmark_curve: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
