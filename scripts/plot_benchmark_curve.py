#!/usr/bin/env python
"""A Connect Four run's benchmark shares against training time, from its evaluation rows
(RUN/eval.csv, written every eval.every_steps when eval.c4_positions names a positions file):
the share of positions where its search keeps the game-theoretic outcome and plays an
exact-best move, each with its 95% Wilson interval over the eval.c4_limit positions. A run
that started from another run's network (init_from) continues that network's training time.

    python scripts/plot_benchmark_curve.py runs/c4-strong --out docs/figures --name c4-strong-benchmark
    python scripts/plot_benchmark_curve.py runs/c4-strong2 runs/c4-sft2 --out docs/figures --name c4-benchmark
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


def plot(runs: list[Path], out: Path, name: str) -> list[Path]:
    """One figure of every run's shares; a run started from another run's network (init_from)
    begins where that network's training time ended, so a chain of runs reads as one curve."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = dict(zip(SHARES, ("tab:blue", "tab:orange")))
    first_config, continued = None, False
    for run, marker in zip(runs, "osD^v<>"):
        rows, config = benchmark_rows(run)
        first_config = first_config or config
        n = config.eval.c4_limit
        start = float(run_initial(run).get("elapsed_seconds", 0.0)) / 60  # the source network's training
        minutes = [start + float(r["minutes"]) for r in rows]
        for column, label in SHARES.items():
            share = [float(r[column]) for r in rows]
            bounds = [wilson_interval(round(s * n), n) for s in share]
            ax.plot(minutes, [100 * s for s in share], marker=marker, markersize=3, color=colours[column],
                    label=f"{run.name}: {label}" if len(runs) > 1 else label)
            ax.fill_between(minutes, [100 * lo for lo, _ in bounds], [100 * hi for _, hi in bounds],
                            color=colours[column], alpha=0.15, linewidth=0)
        if start:
            ax.axvline(start, color="grey", linestyle=":", linewidth=1)
            continued = True
    ax.set_xlabel("training time (minutes; a run from another's network starts where that one's ended, dotted)"
                  if continued else "training time (minutes)", fontsize=9)
    ax.set_ylabel(f"% of {first_config.eval.c4_limit} positions ({Path(first_config.eval.c4_positions).name})")
    title = runs[0].name if len(runs) == 1 else " then ".join(r.name for r in runs)
    ax.set_title(f"{title}: benchmark shares at {first_config.eval.simulations} simulations a move (95% bands)",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out, name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="run directories, drawn on one figure")
    parser.add_argument("--out", type=Path, default=None, help="folder of the figure (default: the run's)")
    parser.add_argument("--name", default="benchmark")
    args = parser.parse_args(argv)
    try:
        for path in plot(args.runs, args.out or args.runs[-1], args.name):
            print(path)
    except UserError as e:
        print(f"plot_benchmark_curve: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
