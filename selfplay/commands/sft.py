"""``selfplay sft --games PATH CONFIG [key=value ...]``: imitation learning on expert games."""

from __future__ import annotations

import sys
from pathlib import Path

from selfplay.commands.train import split_items
from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("sft", help="imitation learning (SFT) of the policy-value network on expert games")
    p.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE", help="a run config and overrides")
    p.add_argument("--games", required=True, help="Connect Four move-string file(s) or a folder of SGF files")
    p.add_argument("--name", help="run name: the run lives in runs/NAME (default: <config>-sft)")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the SFT run in RUN_DIR")
    p.set_defaults(func=run, trailing_items="items")


def run(args):
    from selfplay.training.imitation import run_imitation

    config_path, overrides = split_items(args.items)
    if not Path(args.games).exists():
        raise UserError(f"--games {args.games}: no such file or folder")
    if args.resume:
        run_dir = Path(args.resume)
    elif config_path is None:
        raise UserError("name a config file (for example configs/connect4.yaml) or --resume RUN_DIR")
    else:
        run_dir = Path(args.runs) / (args.name or f"{Path(config_path).stem}-sft")
    print(f"run directory: {run_dir}")
    trainer = run_imitation(run_dir, args.games, config_path, overrides, resume=bool(args.resume),
                            show_progress=sys.stdout.isatty())
    print(f"done: step {trainer.step}; RL from it: selfplay train CONFIG --init {run_dir}")
    return 0
