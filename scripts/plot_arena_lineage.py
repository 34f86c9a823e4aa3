#!/usr/bin/env python
"""A lineage of networks, each trained from its parent, scored against one opponent in one arena
protocol, against the training time behind each: the curve of a run that was stopped, resumed
and branched over several sessions (a run from a parent starts where the parent's time ended).

The table is a CSV with the columns network, parent (empty for the first), minutes (this
network's own training time), wins, draws, losses (the score counts a draw as half a win); each
point gets its 95% Wilson interval, and a shipped network is drawn filled.

    python scripts/plot_arena_lineage.py docs/figures/go7-lineage.csv --out docs/figures --name go7-lineage \
        --title "net:go7's lineage against GNU Go level 10 (400 simulations a move, 200 games each)" \
        --target 95 --xlabel "RL training time (minutes, after 17 of SFT; each network continues its parent's)"
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from selfplay.errors import UserError  # noqa: E402
from selfplay.rating.plots import save_figure  # noqa: E402
from selfplay.rating.stats import wilson_interval  # noqa: E402

COLUMNS = ("network", "parent", "minutes", "wins", "draws", "losses", "shipped")


@dataclass
class Point:
    network: str
    parent: str
    start: float  # minutes of training behind the parent
    end: float    # ... and behind this network
    wins: int
    draws: int
    losses: int
    shipped: bool

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def score(self) -> float:
        return (self.wins + 0.5 * self.draws) / self.games

    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.wins + 0.5 * self.draws, self.games)


def read_lineage(path: Path) -> list[Point]:
    """The table's rows in order, each parent named before its children."""
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    if not rows or tuple(rows[0].keys()) != COLUMNS:
        raise UserError(f"{path}: expected the header {','.join(COLUMNS)}")
    points: dict[str, Point] = {}
    for line, row in enumerate(rows, start=2):
        try:
            minutes, wins, draws, losses = (float(row["minutes"]), int(row["wins"]), int(row["draws"]),
                                            int(row["losses"]))
        except (TypeError, ValueError):
            raise UserError(f"{path}:{line}: minutes, wins, draws and losses must be numbers") from None
        if minutes < 0 or min(wins, draws, losses) < 0 or wins + draws + losses == 0:
            raise UserError(f"{path}:{line}: minutes and counts must be 0 or more, with at least one game")
        parent = row["parent"].strip()
        if parent and parent not in points:
            raise UserError(f"{path}:{line}: parent {parent!r} is not a network of an earlier row")
        start = points[parent].end if parent else 0.0
        points[row["network"]] = Point(row["network"], parent, start, start + minutes, wins, draws, losses,
                                       row["shipped"].strip().lower() in ("1", "yes", "true"))
    return list(points.values())


XLABEL = "training time (minutes; each network continues its parent's)"


def lift_labels(boxes: list[tuple[float, float, float, float]], pad: float = 0.0) -> list[float]:
    """How far to move each label up so that no two overlap: boxes are (left, right, bottom,
    top) in one unit; from the lowest up, a label rises above every label already placed that
    it would overlap (plus ``pad``). Siblings branched from one parent end at nearly the same
    time and score; without this their labels print over each other."""
    placed: list[tuple[float, float, float, float]] = []
    lifts = [0.0] * len(boxes)
    for i in sorted(range(len(boxes)), key=lambda k: (boxes[k][2], boxes[k][0])):
        left, right, bottom, top = boxes[i]
        lift, moved = 0.0, True
        while moved:
            moved = False
            for l2, r2, b2, t2 in placed:
                if left < r2 and l2 < right and bottom + lift < t2 + pad and b2 < top + lift + pad:
                    lift, moved = t2 + pad - bottom, True
        placed.append((left, right, bottom + lift, top + lift))
        lifts[i] = lift
    return lifts


def plot(points: list[Point], out: Path, name: str, title: str, target: float | None, xlabel: str = XLABEL
         ) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    by_name = {p.network: p for p in points}
    for p in points:
        low, high = p.interval()
        if p.parent:
            parent = by_name[p.parent]
            ax.plot([parent.end, p.end], [100 * parent.score, 100 * p.score], color="tab:blue", linewidth=1)
        ax.errorbar([p.end], [100 * p.score], yerr=[[100 * (p.score - low)], [100 * (high - p.score)]],
                    fmt="o", color="tab:blue", markerfacecolor="tab:blue" if p.shipped else "white", capsize=3)
    if target is not None:
        ax.axhline(target, color="tab:red", linestyle="--", linewidth=1, label=f"target {target:g}%")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("score (%, draws half; 95% Wilson interval)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.set_xlim(0, max(p.end for p in points) * 1.4)
    _label(fig, ax, [f"{p.network}\n{100 * p.score:.1f}% ({p.games})" for p in points],
           [(p.end, 100 * p.score) for p in points])  # last: it lays the figure out
    return save_figure(fig, out, name)


def _label(fig, ax, texts: list[str], anchors: list[tuple[float, float]]) -> None:
    """Write each text beside its point, lifted (with a leader line) clear of the others."""
    leader = dict(arrowstyle="-", color="0.6", linewidth=0.6, relpos=(0, 0.5))  # from the label's left edge

    def annotate(text, anchor, lift=0.0):
        return ax.annotate(text, anchor, xytext=(6, lift * 72 / fig.dpi), textcoords="offset points",
                           fontsize=7, va="center", arrowprops=leader if lift else None)

    for _ in range(2):  # the lifts may raise the top of the axes, which rescales it: measure again
        fig.tight_layout()
        probes = [annotate(text, anchor) for text, anchor in zip(texts, anchors)]
        boxes = [probe.get_window_extent(fig.canvas.get_renderer()) for probe in probes]
        for probe in probes:
            probe.remove()
        lifts = lift_labels([(b.x0, b.x1, b.y0, b.y1) for b in boxes], pad=1.0)  # display pixels
        top = max(b.y1 + lift for b, lift in zip(boxes, lifts))
        low, high = ax.get_ylim()
        ax.set_ylim(low, max(high, ax.transData.inverted().transform((0, top + 4))[1]))
    for text, anchor, lift in zip(texts, anchors, lifts):
        annotate(text, anchor, lift)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", type=Path, help="the lineage CSV")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder of the figure")
    parser.add_argument("--name", default="lineage")
    parser.add_argument("--title", default="score against training time")
    parser.add_argument("--target", type=float, help="a score to draw as a line (percent)")
    parser.add_argument("--xlabel", default=XLABEL, help="the time axis's label")
    args = parser.parse_args(argv)
    try:
        for path in plot(read_lineage(args.table), args.out, args.name, args.title, args.target, args.xlabel):
            print(path)
    except UserError as e:
        print(f"plot_arena_lineage: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
