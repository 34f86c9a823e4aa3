"""``selfplay plot-elo RUN_DIR [RUN_DIR ...]``: the Elo curve of every rated checkpoint of one or
more runs (elo.png, elo.svg in the first run directory, TensorBoard scalars, a terminal chart)."""

from __future__ import annotations

from pathlib import Path



def add_parser(sub):
    p = sub.add_parser("plot-elo", help="Elo against training time of the rated checkpoints of runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories with a ratings.csv")
    p.add_argument("--x", choices=["hours", "steps"], default="hours",
                   help="x axis: training time (falls back to steps when a time is unknown) or steps")
    p.add_argument("--anchor", default="random", help="the player rated 0")
    p.add_argument("--expert", default="expert", help="the player (or kind) drawn as a dotted line")
    p.add_argument("--no-files", action="store_true", help="only draw the terminal chart")
    p.add_argument("--width", type=int, default=64, help="width of the terminal chart")
    p.set_defaults(func=run)


def run(args, write=print):
    from selfplay.rating.plots import load_curves, plot_elo, terminal_chart, write_tensorboard
    data = load_curves(args.runs, anchor=args.anchor, expert=args.expert)
    x = args.x
    if x == "hours" and not data.has_times():
        write("note: some checkpoints have no training time (no eval.csv row near their step): x is steps")
        x = "steps"
    write(terminal_chart(data, x=x, width=max(args.width, 16)))
    if not args.no_files:
        for path in plot_elo(data, Path(args.runs[0]), x=x):
            write(f"wrote {path}")
        for curve in data.curves:
            if curve.points:
                write(f"wrote TensorBoard scalars elo/{curve.run} to {write_tensorboard(curve)}")
    return 0
