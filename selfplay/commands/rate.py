"""``selfplay rate RUN_DIR``: rate a run's checkpoints after training, oldest first, exactly as
training rates them as it goes: to rate an old run with more games, another pool or openings."""

from __future__ import annotations

import time
from pathlib import Path

from selfplay.errors import UserError


def add_parser(sub):
    p = sub.add_parser("rate", help="rate a run's checkpoints against its reference pool, after training",
                       description="Rate the checkpoints of RUN_DIR, oldest first, against the rating pool of "
                                   "its config.yaml (KEY=VALUE changes the rating section: games=20, "
                                   "pool='random;mcts:sims=200', opening_plies=4), the expert and earlier "
                                   "checkpoints; the games go to RUN_DIR/ratings.csv. Pairs already there "
                                   "are not replayed, so a rerun resumes.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="settings of the rating section")
    p.add_argument("--every", type=int, default=None, metavar="N",
                   help="rate the checkpoints whose step is a multiple of N, and the last "
                        "(default: the run's eval.every_steps)")
    p.add_argument("--restart", action="store_true",
                   help="move ratings.csv aside (to ratings-TIMESTAMP.csv) and rate from scratch")
    p.set_defaults(func=run, trailing_items="overrides")


def checkpoints_to_rate(run_dir: str | Path, every: int) -> list[tuple[int, Path]]:
    from selfplay.run.checkpoint import list_checkpoints
    from selfplay.run.directory import RunDir
    found = list_checkpoints(RunDir(run_dir).checkpoints)
    if not found:
        raise UserError(f"{run_dir} has no checkpoints to rate")
    # step 0 is the initial network (random, or the network an init_from run starts from)
    chosen = [(step, path) for step, path in found if every and step and step % every == 0]
    if not chosen or chosen[-1] != found[-1]:
        chosen.append(found[-1])
    return chosen


def run(args, write=print):
    from selfplay.rating.rate import rate_checkpoint
    from selfplay.run.directory import RunDir, load_run_config
    from selfplay.training.config import RunConfig

    run_dir = RunDir(args.run_dir)
    config = load_run_config(RunConfig, run_dir.root, [f"rating.{item}" for item in args.overrides])
    every = config.eval.every_steps if args.every is None else args.every
    if every < 0:
        raise UserError(f"--every must be 0 (the last checkpoint only) or positive, got {every}")
    todo = checkpoints_to_rate(run_dir.root, every)
    if config.torch_threads:  # as in training: more threads than free cores make torch crawl
        import torch
        torch.set_num_threads(config.torch_threads)
    ratings = run_dir.ratings
    if args.restart and ratings.exists():
        aside = ratings.with_name(f"ratings-{time.strftime('%Y%m%d-%H%M%S')}.csv")
        ratings.rename(aside)
        write(f"earlier ratings moved to {aside}")
    for step, path in todo:
        r = rate_checkpoint(run_dir.root, path, config=config.rating, seed=config.seed + step)
        for note in r.notes:
            write(f"note: {note}")
        write(f"step {step}: Elo {r.elo:.0f} [{r.lower:.0f}, {r.upper:.0f}] over {r.games} games")
    write(f"{len(todo)} checkpoints rated in {ratings}; the curve: selfplay plot-elo {args.run_dir}")
    return 0
