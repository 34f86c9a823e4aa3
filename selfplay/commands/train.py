"""``selfplay train CONFIG [key.sub=value ...]`` and ``selfplay train --resume runs/NAME``."""

from __future__ import annotations

import sys
from pathlib import Path

from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("train", help="AlphaZero self-play training (resumable)")
    p.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE",
                   help="a config file (configs/connect4.yaml) and overrides such as selfplay.simulations=100")
    p.add_argument("--name", help="run name: the run lives in runs/NAME (default: the config's name)")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR where it stopped")
    p.add_argument("--init", metavar="RUN_DIR", help="start from the newest network of RUN_DIR (an SFT run)")
    p.set_defaults(func=run, trailing_items="items")


def split_items(items: list[str]) -> tuple[str | None, list[str]]:
    configs = [i for i in items if "=" not in i]
    if len(configs) > 1:
        raise UserError(f"one config file at most, got {', '.join(configs)}")
    return (configs[0] if configs else None), [i for i in items if "=" in i]


def run_dir_of(args, config_path: str | None, example: str) -> Path:
    """The run directory: --resume's (which reads its own config), or runs/NAME for a new run."""
    if args.resume:
        if config_path:
            raise UserError("--resume reads the run's own config.yaml; give only key=value overrides")
        return Path(args.resume)
    if config_path is None:
        raise UserError(f"name a config file (for example {example}) or --resume RUN_DIR")
    return Path(args.runs) / (args.name or Path(config_path).stem)


def run(args):
    from selfplay.training.trainer import run_training

    config_path, overrides = split_items(args.items)
    if args.init:
        if args.resume:
            raise UserError("--init starts a new run; a resumed run keeps its own weights")
        overrides.append(f"init_from={args.init}")
    run_dir = run_dir_of(args, config_path, "configs/connect4.yaml")
    print(f"run directory: {run_dir}")
    trainer = run_training(run_dir, config_path, overrides, resume=bool(args.resume),
                           show_progress=sys.stdout.isatty())
    print(f"done: step {trainer.step}; play it with: selfplay play {trainer.game.name} --o net:{run_dir}")
    return 0
