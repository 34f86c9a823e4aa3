"""``selfplay bench NAME``: run a benchmark, print a table or (``--json``) one JSON document."""

from __future__ import annotations

import importlib
import json

from selfplay.commands.argtypes import finite_float

# name -> "module:function"; the function takes the parsed args and returns
# {"title": str, "rows": [dict, ...], **anything else worth recording}.
BENCHMARKS = {
    "games": "selfplay.benchmarks.games:run",
    "selfplay": "selfplay.benchmarks.selfplay:run",
    "solver": "selfplay.benchmarks.solver:run",
    "mcts": "selfplay.benchmarks.mcts:run",
    "ray": "selfplay.benchmarks.scaleout:run",
}


def add_parser(sub):
    p = sub.add_parser("bench", help="benchmarks: " + ", ".join(BENCHMARKS))
    p.add_argument("name", choices=sorted(BENCHMARKS), help="what to measure")
    p.add_argument("--seconds", type=finite_float, default=3.0, help="time budget of each measurement")
    p.add_argument("--no-reference", action="store_true", help="skip the OpenSpiel reference measurements")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    p.set_defaults(func=run)


def run(args):
    module_name, _, attr = BENCHMARKS[args.name].partition(":")
    result = getattr(importlib.import_module(module_name), attr)(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result["title"], result["rows"]))
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
