"""The ``selfplay`` console script: one subcommand per use, each in selfplay/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from games import GameError
from selfplay.errors import UserError

# Modules of selfplay/commands; each defines add_parser(subparsers), which sets ``func``.
COMMANDS = ["play", "bench", "train", "sft", "solve", "eval_c4", "arena", "elo", "rate", "plot_elo", "llm", "gtp", "expert_games", "curve", "scaling"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfplay", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"selfplay.commands.{name}").add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    trailing = getattr(args, "trailing_items", None)  # the command's CONFIG / KEY=VALUE list
    if extra and (trailing is None or any(e.startswith("-") for e in extra)):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # items after options (`sft CONFIG --games DIR key=value`) belong to that list
        setattr(args, trailing, getattr(args, trailing) + extra)
    try:
        return int(args.func(args) or 0)
    except (UserError, GameError) as e:
        print(f"selfplay {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
