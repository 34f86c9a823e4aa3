"""``selfplay sft --games PATH CONFIG [key=value ...]``: imitation learning on expert games (or, in
Connect Four, on solver-labelled positions: ``--positions DIR``; or on the self-play of RL runs:
``--replay RUN_DIR``, the way to start a larger network from a smaller one's games)."""

from __future__ import annotations

import sys
from pathlib import Path

from selfplay.commands.train import split_items
from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("sft", help="imitation learning (SFT) of the policy-value network on expert games")
    p.add_argument("items", nargs="*", metavar="CONFIG|KEY=VALUE", help="a run config and overrides")
    data = p.add_mutually_exclusive_group()
    data.add_argument("--games", help="Connect Four move-string file(s) or a folder of SGF files")
    data.add_argument("--positions", help="Connect Four positions labelled by the solver (a `selfplay "
                                          "solver-labels` folder or its positions.txt): imitate a perfect teacher")
    data.add_argument("--replay", action="append", metavar="RUN_DIR",
                      help="the replay chunks of a self-play run (repeat for several runs): imitate its searches "
                           "(visit distributions, results, ownership), e.g. to start a larger network")
    p.add_argument("--name", help="run name: the run lives in runs/NAME (default: <config>-sft)")
    p.add_argument("--runs", default="runs", help="folder of runs (default: runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the SFT run in RUN_DIR, on the data it recorded")
    p.set_defaults(func=run, trailing_items="items")


def run(args):
    from selfplay.training.imitation import run_imitation

    config_path, overrides = split_items(args.items)
    for option, value in (("--games", args.games), ("--positions", args.positions),
                          *(("--replay", r) for r in args.replay or ())):
        if value is not None and not Path(value).exists():
            raise UserError(f"{option} {value}: no such file or folder")
    if not (args.resume or args.games or args.positions or args.replay):
        raise UserError("name the data to imitate: --games, --positions or --replay (or --resume RUN_DIR)")
    if args.resume:
        run_dir = Path(args.resume)
    elif config_path is None:
        raise UserError("name a config file (for example configs/connect4.yaml) or --resume RUN_DIR")
    else:
        run_dir = Path(args.runs) / (args.name or f"{Path(config_path).stem}-sft")
    print(f"run directory: {run_dir}")
    trainer = run_imitation(run_dir, args.games, config_path, overrides, resume=bool(args.resume),
                            show_progress=sys.stdout.isatty(), positions_path=args.positions,
                            replay_paths=args.replay or ())
    print(f"done: step {trainer.step}; RL from it: selfplay train CONFIG --init {run_dir}")
    return 0
