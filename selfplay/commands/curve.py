"""``selfplay curve --game connect4|go [--preset quick|full]``: expert games -> SFT -> RL from the
SFT network -> ratings -> the Elo figure, resumable (selfplay/training/curve.py)."""

from __future__ import annotations

from pathlib import Path

from selfplay.commands.argtypes import nonnegative_int
from selfplay.training.presets import PRESETS


def add_parser(sub):
    p = sub.add_parser("curve", help="the AlphaGo curve end to end: expert games, SFT, RL, ratings, figure",
                       description="Reproduce the AlphaGo curve: imitation plateaus near the expert, "
                                   "self-play RL from the imitation network rises above it. Rerun the same "
                                   "command to resume a stopped run.")
    p.add_argument("overrides", nargs="*", metavar="[sft:|rl:]KEY=VALUE",
                   help="config overrides for both runs, or for one with a sft: / rl: prefix")
    p.add_argument("--game", choices=sorted(PRESETS), default="connect4")
    p.add_argument("--preset", default="quick",
                   help="; ".join(f"{game} {name}: {p.note}" for game, presets in PRESETS.items()
                                  for name, p in presets.items()))
    p.add_argument("--out", help="output directory (default: runs/curve-GAME-PRESET)")
    p.add_argument("--config", help="the run config both runs start from (default: the preset's)")
    p.add_argument("--expert-games", type=int, help="how many expert games (default: the preset's)")
    p.add_argument("--final-games", type=nonnegative_int,
                   help="rating games per opponent the last SFT and RL checkpoints are topped up to "
                        "(default: the preset's; 0: none)")
    p.set_defaults(func=run, trailing_items="overrides")


def run(args, write=print):
    from selfplay.training.curve import reproduce_curve

    out = Path(args.out or f"runs/curve-{args.game}-{args.preset}")
    summary = reproduce_curve(args.game, args.preset, out, config=args.config, expert_games=args.expert_games,
                              final_games=args.final_games, overrides=args.overrides, log=write)
    write(f"the figure: {', '.join(summary.figure)}; the numbers: {out / 'summary.json'}")
    return 0
