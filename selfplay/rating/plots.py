"""The figure of the AlphaGo papers: Elo of every rated checkpoint against training time (or
steps), one curve per run, the expert's level as a dotted line, 95% bands; written as PNG and
SVG (matplotlib, Agg, no display needed), as TensorBoard scalars and as a terminal chart.

Where the numbers come from. Each run directory's ``ratings.csv`` holds rating games in the
arena's columns (selfplay.arena); a checkpoint plays under the name
``net:RUN_DIR/checkpoints/step-00001000.pt,sims=N`` (selfplay.rating.rate). The results of every run
given are fitted together (selfplay.rating.elo, anchored on random), so curves of several runs that
share reference players lie on one scale. A checkpoint belongs to the curve of the run whose
ratings.csv holds it and whose directory name matches the one in its path (so a run directory
may be moved). Its step is the checkpoint payload's ``step`` (its file name's when the file is
gone); its training time in minutes is the payload's ``elapsed_seconds`` (stored by the trainer) / 60,
else interpolated by step from the run's eval.csv (``step,minutes`` rows, and step 0 at minute
0; the minutes restart at 0 when a run resumes, so each restart continues from the last time
seen before it). A run started from another run's network (RL from SFT, ``init_from``) counts
the steps and time behind that network too (the checkpoint's ``initial``, the same in all of a
run's checkpoints, so a deleted one takes it from any other), so its curve continues where the
other one's ended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from selfplay.arena.results import GameResult, read_results
from selfplay.atomic import atomic_path
from selfplay.errors import UserError
from selfplay.rating.elo import EloFit, Rating, fit_elo
from selfplay.rating.rate import checkpoint_of
from selfplay.run.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    list_checkpoints,
    load_checkpoint,
)
from selfplay.run.directory import RunDir, read_rows

MARKERS = "●▲■◆✚"
SPARKS = "▁▂▃▄▅▆▇█"


class PlotError(UserError):
    """Nothing to plot, or a run directory without ratings."""


@dataclass
class CurvePoint:
    player: str
    step: int
    minutes: float  # NaN when unknown
    elo: float
    lower: float
    upper: float


@dataclass
class RunCurve:
    run: str
    run_dir: Path
    points: list[CurvePoint] = field(default_factory=list)

    def x(self, axis: str) -> np.ndarray:
        if axis == "steps":
            return np.array([p.step for p in self.points], dtype=float)
        return np.array([p.minutes / 60 for p in self.points])


@dataclass
class EloCurves:
    curves: list[RunCurve]
    experts: list[Rating]     # the expert's level(s): dotted lines
    references: list[Rating]  # other fixed players (random, rollout MCTS levels)
    fit: EloFit
    game: str = ""            # the rated games' label (connect4, go-7x7-komi9)

    def has_times(self) -> bool:
        return all(math.isfinite(p.minutes) for c in self.curves for p in c.points)


def run_minutes(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """(steps, cumulative minutes) from a run's eval.csv, sorted by step; empty without one."""
    steps, minutes = [], []
    rows = read_rows(RunDir(run_dir).eval_csv)
    offset, last = 0.0, 0.0
    by_step: dict[int, float] = {}
    for row in rows:
        try:
            step, m = int(row["step"]), float(row["minutes"])
        except (KeyError, TypeError, ValueError):
            continue
        if m < last:  # the trainer's clock restarted: a resumed run
            offset += last
        last = m
        by_step[step] = m + offset
    if by_step:
        by_step.setdefault(0, 0.0)  # training starts at step 0, minute 0
    for step in sorted(by_step):
        steps.append(step)
        minutes.append(by_step[step])
    return np.array(steps, dtype=float), np.maximum.accumulate(np.array(minutes)) if minutes else np.zeros(0)


def run_initial(run_dir: Path) -> dict:
    """The training behind the network a run started from, as its newest readable checkpoint says."""
    for _, path in reversed(list_checkpoints(RunDir(run_dir).checkpoints)):
        try:
            return dict(load_checkpoint(path).get("initial") or {})
        except CheckpointError:
            continue
    return {}


def checkpoint_time(run_dir: Path, file_name: str, eval_times: tuple[np.ndarray, np.ndarray],
                    run_start: dict | None = None) -> tuple[int, float]:
    """(step, training minutes) of a checkpoint of ``run_dir``, as the module docstring says;
    ``run_start`` is ``run_initial(run_dir)``, for a checkpoint that is gone."""
    step = int(CHECKPOINT_NAME.match(file_name).group(1))
    minutes = math.nan
    try:
        payload = load_checkpoint(RunDir(run_dir).checkpoints / file_name)
        step = int(payload.get("step", step))
        if "elapsed_seconds" in payload:  # the trainer's cumulative training time
            minutes = float(payload["elapsed_seconds"]) / 60
    except CheckpointError:
        payload = {}
    steps, times = eval_times
    if math.isnan(minutes) and len(steps) and steps[0] <= step <= steps[-1]:
        minutes = float(np.interp(step, steps, times))
    initial = payload.get("initial") or run_start or {}  # a run started from another's network continues its curve
    return step + int(initial.get("step", 0)), minutes + float(initial.get("elapsed_seconds", 0.0)) / 60


def load_curves(run_dirs: list[str | Path], anchor: str = "random", expert: str = "expert",
                extra_results: list[GameResult] = ()) -> EloCurves:
    """Fit the ratings of every run's ratings.csv together (with ``extra_results``, games of
    other players against the same references) and gather each run's checkpoints."""
    runs = [Path(d) for d in run_dirs]
    results = []
    own: dict[Path, set[str]] = {}
    for run in runs:
        path = RunDir(run).ratings
        if not path.is_file():
            raise PlotError(f"{run} has no ratings.csv: rate its checkpoints first (selfplay.rating.rate)")
        rows = read_results(path)
        results += rows
        own[run] = {n for r in rows for n in (r.first, r.second)}
    labels = sorted({r.game for r in results})
    if len(labels) > 1:
        raise PlotError(f"the runs rate different games ({', '.join(labels)}): plot them separately")
    if not results:
        raise PlotError("the ratings files hold no games yet")
    fit = fit_elo([(r.first, r.second, r.result) for r in [*results, *extra_results]], anchor=anchor)
    curves = []
    for run in runs:
        curve = RunCurve(run.resolve().name, run)
        times, start = run_minutes(run), run_initial(run)
        for name in sorted(own[run]):
            found = checkpoint_of(name)
            if found is None or found[0] != curve.run:
                continue
            step, minutes = checkpoint_time(run, found[1], times, start)
            r = fit[name]
            curve.points.append(CurvePoint(name, step, minutes, r.elo, r.lower, r.upper))
        curve.points.sort(key=lambda p: p.step)
        curves.append(curve)
    _join_initial_points(curves)
    if not any(c.points for c in curves):
        raise PlotError("no rated checkpoint (net:RUN/checkpoints/step-N.pt players) in these ratings files")
    fixed = [r for r in fit.ratings if checkpoint_of(r.player) is None]
    experts = [r for r in fixed if r.player == expert or r.player.split(":", 1)[0] == expert]
    references = [r for r in fixed if r not in experts]
    return EloCurves(curves, experts, references, fit, labels[0])


def _join_initial_points(curves: list[RunCurve]) -> None:
    """A run started from another plotted run's network (``init_from``) begins at that run's
    last point, so the figure shows one line going on from imitation into RL."""
    import yaml
    by_dir = {c.run_dir.resolve(): c for c in curves}
    for curve in curves:
        try:
            source = (yaml.safe_load(RunDir(curve.run_dir).config.read_text()) or {}).get("init_from")
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        if not source or not curve.points:
            continue
        source = Path(source).resolve()
        origin = by_dir.get(source) or by_dir.get(source.parent.parent)  # a run, or one of its checkpoints
        if origin is not None and origin is not curve and origin.points:
            curve.points.insert(0, origin.points[-1])


# ---- figures -------------------------------------------------------------------------------------
def plot_elo(data: EloCurves, out_dir: str | Path, x: str = "hours", name: str = "elo") -> list[Path]:
    """Write ``elo.png`` and ``elo.svg`` into ``out_dir``; returns their paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    draw_elo(ax, data, x)
    runs = ", ".join(c.run_dir.resolve().parent.name + "/" + c.run for c in data.curves)
    ax.set_title(f"{data.game}: Elo of the checkpoints of {runs} (95% bands)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, out_dir, name)


def draw_elo(ax, data: EloCurves, x: str = "hours") -> None:
    """The curves, the expert's and the reference players' levels, on a matplotlib axis."""
    for curve in data.curves:
        if not curve.points:
            continue
        xs = curve.x(x)
        elo = np.array([p.elo for p in curve.points])
        line, = ax.plot(xs, elo, marker="o", markersize=3, label=curve.run)
        ax.fill_between(xs, [p.lower for p in curve.points], [p.upper for p in curve.points],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    for r in data.experts:
        ax.axhline(r.elo, color="black", linestyle=":", linewidth=1.5,
                   label=f"{r.player} ({r.elo:.0f}, band: its 95% interval)")
        ax.axhspan(r.lower, r.upper, color="black", alpha=0.06, linewidth=0)
    for r in data.references:
        ax.axhline(r.elo, color="grey", linestyle="-.", linewidth=0.6, alpha=0.6)
        ax.annotate(r.player, xy=(1, r.elo), xycoords=("axes fraction", "data"), xytext=(-2, 2),
                    textcoords="offset points", ha="right", fontsize=7, color="grey")
    ax.set_xlabel("training steps" if x == "steps" else "training time (hours)")
    ax.set_ylabel(f"Elo ({data.fit.anchor} = 0)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)  # clear of the curves and of the reference labels at the right edge


def save_figure(fig, out_dir: str | Path, name: str) -> list[Path]:
    """``NAME.png`` and ``NAME.svg`` in ``out_dir``, each written atomically."""
    written = []
    for fmt in ("png", "svg"):
        path = Path(out_dir) / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt)
        written.append(path)
    return written


def write_tensorboard(curve: RunCurve) -> Path:
    """The curve as scalars ``elo/<run>`` by step in RUN/tb/elo/, replacing earlier ones there;
    the wall time of a point is the run's start plus its training time, so TensorBoard's
    relative axis shows training time."""
    from torch.utils.tensorboard import SummaryWriter
    folder = RunDir(curve.run_dir).tb / "elo"
    if folder.is_dir():
        for old in folder.glob("events.out.tfevents.*"):
            old.unlink()
    config = RunDir(curve.run_dir).config
    start = config.stat().st_mtime if config.is_file() else 0.0
    writer = SummaryWriter(str(folder))
    try:
        for p in curve.points:
            wall = start + p.minutes * 60 if math.isfinite(p.minutes) else None
            writer.add_scalar(f"elo/{curve.run}", p.elo, p.step, walltime=wall)
    finally:
        writer.close()
    return folder


def sparkline(values: list[float]) -> str:
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = hi - lo or 1.0
    return "".join(SPARKS[int(round((v - lo) / span * (len(SPARKS) - 1)))] for v in values)


def terminal_chart(data: EloCurves, x: str = "hours", width: int = 64, height: int = 16) -> str:
    """A character chart of the curves (a marker per run, ``·`` between points) with the
    expert's level as a dotted line ``┈``, axes labelled, and a sparkline per run."""
    series = [(c, c.x(x), np.array([p.elo for p in c.points])) for c in data.curves if c.points]
    levels = [r.elo for r in data.experts]
    all_y = np.concatenate([s[2] for s in series] + [np.array(levels)])
    all_x = np.concatenate([s[1] for s in series])
    y_lo, y_hi = float(all_y.min()), float(all_y.max())
    if y_hi - y_lo < 1:
        y_lo, y_hi = y_lo - 50, y_hi + 50
    x_lo, x_hi = float(all_x.min()), float(all_x.max())
    if x_hi - x_lo <= 0:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    grid = [[" "] * width for _ in range(height)]

    def col(v):
        return int(round((v - x_lo) / (x_hi - x_lo) * (width - 1)))

    def row(v):
        return height - 1 - int(round((v - y_lo) / (y_hi - y_lo) * (height - 1)))

    for level in levels:
        for c in range(width):
            grid[row(level)][c] = "┈"
    for k, (_, xs, ys) in enumerate(series):
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            for c in range(col(x0) + 1, col(x1)):
                grid[row(y0 + (y1 - y0) * (c - col(x0)) / (col(x1) - col(x0)))][c] = "·"
        for xv, yv in zip(xs, ys):
            grid[row(yv)][col(xv)] = MARKERS[k % len(MARKERS)]
    label_width = max(len(f"{y_hi:.0f}"), len(f"{y_lo:.0f}"))
    lines = []
    for r in range(height):
        value = y_hi - r * (y_hi - y_lo) / (height - 1)
        label = f"{value:.0f}" if r in (0, height // 2, height - 1) else ""
        lines.append(f"{label:>{label_width}} ┤" + "".join(grid[r]))
    lines.append(" " * label_width + " └" + "─" * width)
    unit = "steps" if x == "steps" else "hours"
    form = ".0f" if x == "steps" else ".2f"
    left, right = f"{x_lo:{form}}", f"{x_hi:{form}} {unit}"
    lines.append(" " * (label_width + 2) + left + right.rjust(width - len(left)))
    for k, (c, _, ys) in enumerate(series):
        lines.append(f"{MARKERS[k % len(MARKERS)]} {c.run}: {sparkline(list(ys))}  "
                     f"{ys[0]:.0f} -> {ys[-1]:.0f} Elo over {len(ys)} checkpoints")
    for r in data.experts:
        lines.append(f"┈ {r.player}: {r.elo:.0f} Elo")
    return "\n".join(lines)
