"""``selfplay bench NAME``: run a benchmark, print a table or (``--json``) one JSON document."""

from __future__ import annotations

import importlib
import json

from selfplay.commands.argtypes import finite_float, positive_int_list
from selfplay.errors import UserError

# name -> "module:function"; the function takes the parsed args and returns
# {"title": str, "rows": [dict, ...], **anything else worth recording}.
BENCHMARKS = {
    "games": "selfplay.benchmarks.games:run",
    "selfplay": "selfplay.benchmarks.selfplay:run",
    "solver": "selfplay.benchmarks.solver:run",
    "mcts": "selfplay.benchmarks.mcts:run",
    "ray": "selfplay.benchmarks.scaleout:run",
    "train": "selfplay.benchmarks.train:run",
    "learner": "selfplay.benchmarks.learner:run",
}
DEFAULT_SECONDS = {"train": 300.0}  # a benchmark's budget when --seconds is not given (else 3)


def add_parser(sub):
    p = sub.add_parser("bench", help="benchmarks: " + ", ".join(BENCHMARKS))
    p.add_argument("name", choices=sorted(BENCHMARKS), help="what to measure")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                   help="train, selfplay: run config overrides, after the defaults (e.g. selfplay.workers=2)")
    p.add_argument("--seconds", type=finite_float, default=None,
                   help="time budget of each measurement (default 3; train: the training run's, 300)")
    p.add_argument("--no-reference", action="store_true", help="skip the OpenSpiel reference measurements")
    p.add_argument("--no-baseline", action="store_true",
                   help="selfplay, train, learner: skip the baseline (fp32; no evaluation cache) measured beside "
                        "the settings for the 'x baseline' ratio")
    p.add_argument("--config", metavar="PATH",
                   help="train: the run config to train with (default: the quick curve's RL settings); selfplay: "
                        "the run config whose game, network and self-play search to measure (default: Connect "
                        "Four's small network)")
    p.add_argument("--device", default=None,
                   help="selfplay: where the network runs, cpu (default), cuda or auto")
    p.add_argument("--parallel-games", type=positive_int_list, default=None, metavar="N,N,...",
                   help="selfplay: the games played at once (one network batch), one setting each")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    p.set_defaults(func=run, trailing_items="overrides")


def run(args):
    if args.name not in ("train", "selfplay") and (args.config is not None or args.overrides):
        raise UserError(f"--config and KEY=VALUE overrides are options of bench train and bench selfplay, "
                        f"not of bench {args.name}")
    if args.name == "selfplay" and args.overrides and args.config is None:
        raise UserError("bench selfplay: KEY=VALUE overrides change a run config: give one with --config")
    if args.name != "selfplay" and (args.device is not None or args.parallel_games is not None):
        raise UserError(f"--device and --parallel-games are options of bench selfplay, not of bench {args.name}")
    if args.seconds is None:
        args.seconds = DEFAULT_SECONDS.get(args.name, 3.0)
    module_name, _, attr = BENCHMARKS[args.name].partition(":")
    result = getattr(importlib.import_module(module_name), attr)(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result["title"], result["rows"]))
        for note in result.get("notes", []):
            print(note)
    return 0


def format_table(title: str, rows: list[dict]) -> str:
    """Rows of dicts as an aligned text table; floats get thousands separators."""
    if not rows:
        return f"{title}\n(no rows)"
    columns = list(dict.fromkeys(k for row in rows for k in row))

    def fmt(v):
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"
        if isinstance(v, int):
            return f"{v:,}"
        return "" if v is None else str(v)

    cells = [[fmt(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = "  ".join(c.ljust(w) for c, w in zip(columns, widths))
    out = [title, line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))) for r in cells]
    return "\n".join(out)
