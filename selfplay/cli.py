"""The ``selfplay`` console script: one subcommand per use, each in selfplay/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys

from games import GameError
from selfplay.errors import UserError

DESCRIPTION = """AlphaGo-style self-play on a laptop: Connect Four and small-board Go, a batched MCTS,
networks trained by imitation then self-play RL, an arena with Elo ratings, a GTP engine, and
the same machinery on tokens. `selfplay COMMAND --help` describes a command with examples;
`selfplay players` lists the kinds of players and their options."""

# Modules of selfplay/commands; each defines add_parser(subparsers), which sets ``func``.
COMMANDS = ["play", "arena", "players", "solve", "eval_c4", "train", "sft", "expert_games", "solver_labels", "curve", "rate", "elo",
            "plot_elo", "scaling", "llm", "gtp", "bench"]


def build_parser() -> argparse.ArgumentParser:
    from selfplay.commands.examples import epilog
    parser = argparse.ArgumentParser(prog="selfplay", description=DESCRIPTION,
                                     epilog=epilog_of_all(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"selfplay.commands.{name}").add_parser(sub)
    for action in sub._choices_actions:  # every command: its one line as the description, then examples
        command = sub.choices[action.dest]
        command.description = command.description or action.help
        command.epilog = command.epilog or epilog(action.dest)
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def epilog_of_all() -> str:
    return ("first steps:\n  selfplay play connect4 --o net:c4        # play the shipped network\n"
            "  make curve                               # the AlphaGo curve, ~15 minutes\n"
            "  selfplay players                         # who can play")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed
    try:
        return installed("selfplay")
    except PackageNotFoundError:
        return "(not installed)"


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
