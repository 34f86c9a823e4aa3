#!/usr/bin/env python
"""Training levers, each against plain AlphaZero at the same budget (issue 21's ablation table).

A lever is a set of overrides of a study's config. Each (lever, seed) is one `selfplay train`
run with ``max_hours`` = the budget of training time, in OUT/LEVER-sSEED; a rerun continues an
unfinished run (SIGTERM checkpoints it) and skips a finished one. Its last network is then
measured, and rows go to OUT/ablation.csv (kept across reruns), the table, pooled over seeds
with 95% Wilson intervals, to stdout.

- ``--game connect4`` (configs/connect4.yaml, from scratch): the first --positions positions of
  Test_L2_R2 at --sims simulations (`selfplay eval-c4`'s measure: the share of moves that keep
  the game-theoretic outcome, and of exact-best moves), each run's answers per position kept in
  its OUT/LEVER-sSEED/ablation-positions.npz, so that every lever is also compared with plain
  AlphaZero on the same positions at the same seed (McNemar's exact test on the positions only
  one of the two got right: sharper than comparing two shares, since most positions are easy
  for both);
- ``--game go7`` (configs/go7.yaml; ``--init-from go7`` fine-tunes the shipped network):
  --games games against --opponent (GNU Go level 10 by default) at --sims simulations,
  colours alternating, 2-move random openings (the model card's arena command); the score
  counts a draw as half a win. Every run plays the same openings with the same colours (the
  arena's seed), its games kept in OUT/LEVER-sSEED/ablation-games, so each lever is also
  compared with plain game by game (the sign test on the pairs where one scored more).

    python scripts/ablation.py --minutes 20 --seeds 0 1 --out runs/ablation
    python scripts/ablation.py --game go7 --init-from go7 --minutes 20 --seeds 0 --out runs/ablation-go7
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import shutil
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from games.connect4 import ConnectFour
from selfplay.arena.pairing import compare, player_points
from selfplay.arena.results import read_results
from selfplay.atomic import atomic_path, atomic_write_text
from selfplay.cli import main as selfplay
from selfplay.errors import UserError
from selfplay.evaluation import c4_positions
from selfplay.evaluation.c4_positions import wilson_interval
from selfplay.players import make_player
from selfplay.rating.stats import mcnemar_p
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import RunDir


class Study(NamedTuple):
    config: str
    levers: dict[str, list[str]]
    fields: list[str]  # the measurement's columns in ablation.csv, after lever, seed, step, minutes


STUDIES = {
    "connect4": Study("configs/connect4.yaml", {
        "plain": [],
        "cosine-lr": ["optim.lr_schedule=cosine"],
        "wdl-value": ["network.value_head=wdl"],
        "gumbel-32": ["selfplay.gumbel=true", "selfplay.simulations=32", "selfplay.cheap_simulations=32"],
        "bigger-net": ["network.channels=96", "network.blocks=6", "network.value_hidden=96"],
        "forced-pruning": ["selfplay.forced_playouts=2"],
        "discount-0.98": ["network.value_discount=0.98"],
        "surprise": ["selfplay.policy_surprise_weight=0.5"],  # KataGo's policy surprise weighting
        # self-play's forward in bf16 instead of int8 (auto on a VNNI CPU): ~1.8x fewer games, closer targets
        "bf16-selfplay": ["selfplay.inference_precision=bf16"],
    }, ["positions", "outcome", "best"]),
    "go7": Study("configs/go7.yaml", {
        "plain": [],
        "ownership": ["network.ownership_head=true"],
        "score-utility": ["network.ownership_head=true", "selfplay.score_utility=0.25"],  # against ownership
        "forced-pruning": ["selfplay.forced_playouts=2"],
        "gumbel-32": ["selfplay.gumbel=true", "selfplay.simulations=32", "selfplay.cheap_simulations=32"],
        "random-openings": ["selfplay.random_opening_share=0.5", "selfplay.random_opening_plies=2"],
        # every game played out: self-play then learns the lost positions the arena never resigns
        "no-resign": ["selfplay.resign_disabled_share=1.0"],
        "surprise": ["selfplay.policy_surprise_weight=0.5"],
    }, ["games", "wins", "draws", "losses"]),
}
LEVERS = STUDIES["connect4"].levers
KEYS = ["lever", "seed", "step", "minutes"]


def train(run: Path, overrides: list[str], seed: int, minutes: float, config: str, init_from: str = "") -> None:
    if list_checkpoints(RunDir(run).checkpoints):
        code = selfplay(["train", "--resume", str(run)])
    else:
        code = selfplay(["train", config, "--name", run.name, "--runs", str(run.parent), f"seed={seed}",
                         f"max_hours={minutes / 60:.6f}", "total_steps=1000000", "eval.every_steps=0",
                         *([f"init_from={init_from}"] if init_from else []), *overrides])
    if code != 0:
        raise SystemExit(f"training {run} failed (exit code {code})")


PER_POSITION = "ablation-positions.npz"


def evaluate(run: Path, positions_file: str, limit: int, sims: int, step: int) -> dict:
    positions = c4_positions.read_positions(positions_file, limit=limit)
    scores = c4_positions.move_scores(positions)
    player = make_player(f"net:{run},sims={sims},seed=0,precision=bf16,cache=65536", ConnectFour())
    result = c4_positions.evaluate(player, positions, scores)
    with atomic_path(run / PER_POSITION) as tmp, open(tmp, "wb") as f:
        np.savez(f, kept=result.kept_each, best=result.best_each, step=np.int64(step), sims=np.int64(sims),
                 digest=np.array(positions.digest))
    return {"positions": len(positions), "outcome": result.outcome.count, "best": result.best.count}


def per_position(run: Path, step: int, sims: int, measure: str = "kept") -> np.ndarray | None:
    """Which positions the run's network (at ``step``) kept the outcome of (``measure`` "kept")
    or played an exact-best move in ("best"); None when not measured."""
    try:
        with np.load(run / PER_POSITION, allow_pickle=False) as data:
            if int(data["step"]) == step and int(data["sims"]) == sims:
                return data[measure].astype(bool)
    except (OSError, KeyError, ValueError):  # absent or damaged: measured again
        pass
    return None


def paired_counts(out: Path, rows: list[dict], lever: str, sims: int, measure: str = "kept") -> tuple[int, int] | None:
    """Positions only ``lever`` got right / only plain did (``measure``: see per_position),
    summed over the seeds both were measured at."""
    only_lever = only_plain = 0
    found = False
    for row in (r for r in rows if r["lever"] == lever):
        plain = next((r for r in rows if r["lever"] == "plain" and r["seed"] == row["seed"]
                      and r["minutes"] == row["minutes"] and r["positions"] == row["positions"]), None)
        if plain is None:
            continue
        mine = per_position(out / f"{lever}-s{row['seed']}", int(row["step"]), sims, measure)
        theirs = per_position(out / f"plain-s{row['seed']}", int(plain["step"]), sims, measure)
        if mine is None or theirs is None or len(mine) != len(theirs):
            continue
        found = True
        only_lever += int((mine & ~theirs).sum())
        only_plain += int((theirs & ~mine).sum())
    return (only_lever, only_plain) if found else None


GAMES_DIR = "ablation-games"


def play_go(run: Path, games: int, sims: int, opponent: str) -> dict:
    """The model card's arena measurement of the run's last network against ``opponent``; the
    games are kept as SGF in RUN/ablation-games, for the comparison with plain on the same openings."""
    results, folder = run / "ablation-games.csv", run / GAMES_DIR
    results.unlink(missing_ok=True)  # a measurement interrupted before its row: played again whole
    shutil.rmtree(folder, ignore_errors=True)
    code = selfplay(["arena", f"net:{run},sims={sims},precision=bf16,cache=65536", opponent, "--game", "go",
                     "--size", "7", "--games", str(games), "--parallel", "2", "--batch", "8",
                     "--opening-plies", "2", "--seed", "1", "--results", str(results), "--save-games", str(folder)])
    if code != 0:
        raise SystemExit(f"the games of {run} failed (exit code {code})")
    points = [r.result if r.first.startswith("net:") else 1 - r.result for r in read_results(results)]
    return {"games": len(points), "wins": points.count(1.0), "draws": points.count(0.5), "losses": points.count(0.0)}


def paired_games(out: Path, rows: list[dict], lever: str) -> tuple[int, int] | None:
    """Games (same seed of the study, same colour and opening) where ``lever``'s network scored
    more than plain's / less, summed over the seeds both were measured at with their games kept."""
    only_lever = only_plain = 0
    found = False
    for row in (r for r in rows if r["lever"] == lever):
        plain = next((r for r in rows if r["lever"] == "plain" and r["seed"] == row["seed"]
                      and r["minutes"] == row["minutes"] and r["games"] == row["games"]), None)
        folders = [out / f"{name}-s{row['seed']}" / GAMES_DIR for name in (lever, "plain")]
        if plain is None or not all(f.is_dir() for f in folders):
            continue
        try:
            pair = compare(*(player_points(f, "net:", 2) for f in folders))
        except UserError:
            continue
        found = True
        only_lever += pair["a_better"]
        only_plain += pair["b_better"]
    return (only_lever, only_plain) if found else None


def p_value(k1: float, n1: int, k2: float, n2: int) -> float:
    """Two-sided p-value of the two-proportion z-test (pooled variance): is k1/n1 != k2/n2?"""
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return 1.0 if se == 0 else math.erfc(abs(k1 / n1 - k2 / n2) / se / math.sqrt(2))


def _against_plain(pooled: dict, lever: str) -> str:
    if lever == "plain" or "plain" not in pooled:
        return ""
    return format_p(p_value(*pooled[lever], *pooled['plain']))


def _same_positions(pair: tuple[int, int] | None, lever: str) -> str:
    return "" if pair is None or lever == "plain" else f"{pair[0]} / {pair[1]}, {format_p(mcnemar_p(*pair))}"


def format_p(p: float) -> str:
    """Two decimals, or one significant digit below 0.01 (0.003, not 0.00)."""
    return f"{p:.2f}" if p >= 0.01 else f"{p:.1g}"


def table(rows: list[dict], game: str = "connect4", paired: dict | None = None) -> str:
    """The markdown table; ``paired`` maps (lever, measure) to its (only lever, only plain)
    position counts."""
    paired = paired or {}
    if game == "go7":
        return go_table(rows, paired)
    lines = ["| lever | seeds | keeps the outcome (per seed) | pooled, 95% interval | p vs plain | "
             "same positions: only it / only plain, p | exact-best, pooled | exact-best, same positions |",
             "|---|---|---|---|---|---|---|---|"]
    pooled = {lever: (sum(int(r["outcome"]) for r in rows if r["lever"] == lever),
                      sum(int(r["positions"]) for r in rows if r["lever"] == lever)) for lever in LEVERS}
    for lever in LEVERS:
        mine = [r for r in rows if r["lever"] == lever]
        if not mine:
            continue
        outcome, n = pooled[lever]
        best = sum(int(r["best"]) for r in mine)
        low, high = wilson_interval(outcome, n)
        b_low, b_high = wilson_interval(best, n)
        each = ", ".join(f"{100 * int(r['outcome']) / int(r['positions']):.1f}%" for r in mine)
        same = {measure: _same_positions(paired.get((lever, measure)), lever) for measure in ("kept", "best")}
        lines.append(f"| {lever} | {len(mine)} | {each} | {100 * outcome / n:.1f}% [{100 * low:.1f}, "
                     f"{100 * high:.1f}] | {_against_plain(pooled, lever)} | {same['kept']} | {100 * best / n:.1f}% "
                     f"[{100 * b_low:.1f}, {100 * b_high:.1f}] | {same['best']} |")
    return "\n".join(lines)


def go_table(rows: list[dict], paired: dict | None = None) -> str:
    """The Go table; ``paired`` maps (lever, "games") to its (lever scored more, plain did) pairs."""
    paired = paired or {}
    lines = ["| lever | seeds | score (per seed) | pooled, 95% interval | p vs plain | wins / draws / losses | "
             "same openings: it more / plain more, p |",
             "|---|---|---|---|---|---|---|"]
    levers = STUDIES["go7"].levers
    pooled = {lever: (sum(int(r["wins"]) + int(r["draws"]) / 2 for r in rows if r["lever"] == lever),
                      sum(int(r["games"]) for r in rows if r["lever"] == lever)) for lever in levers}
    for lever in levers:
        mine = [r for r in rows if r["lever"] == lever]
        if not mine:
            continue
        points, n = pooled[lever]
        wins, draws, losses = (sum(int(r[k]) for r in mine) for k in ("wins", "draws", "losses"))
        low, high = wilson_interval(points, n)
        each = ", ".join(f"{100 * (int(r['wins']) + int(r['draws']) / 2) / int(r['games']):.1f}%" for r in mine)
        lines.append(f"| {lever} | {len(mine)} | {each} | {100 * points / n:.1f}% [{100 * low:.1f}, "
                     f"{100 * high:.1f}] | {_against_plain(pooled, lever)} | {wins} / {draws} / {losses} | "
                     f"{_same_positions(paired.get((lever, 'games')), lever)} |")
    return "\n".join(lines)


def _paired(out: Path, rows: list[dict], sims: int, game: str) -> dict:
    """Each lever's (only lever, only plain) position counts (Connect Four), or its (scored more,
    scored less) game pairs against plain (Go), where measured."""
    if game == "go7":
        return {(lever, "games"): paired_games(out, rows, lever) for lever in {r["lever"] for r in rows}}
    return {(lever, measure): paired_counts(out, rows, lever, sims, measure)
            for lever in {r["lever"] for r in rows} for measure in ("kept", "best")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--game", choices=list(STUDIES), default="connect4")
    parser.add_argument("--minutes", type=float, required=True, help="training time of every run")
    parser.add_argument("--config", default=None, help="the plain run's config (default: the study's)")
    parser.add_argument("--init-from", default="", help="start every run from this network (e.g. go7)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--levers", nargs="+", default=None, help="default: every lever of the study")
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--positions-file", default="../shared/data/connect4/Test_L2_R2")
    parser.add_argument("--positions", type=int, default=1000, help="connect4: how many of the file's positions")
    parser.add_argument("--games", type=int, default=100, help="go7: games against --opponent")
    parser.add_argument("--opponent", default="expert:level=10", help="go7: the opponent's spec")
    parser.add_argument("--sims", type=int, default=None, help="simulations per move in the measurement "
                                                               "(default: connect4 200, go7 400)")
    args = parser.parse_args(argv)
    study = STUDIES[args.game]
    levers = args.levers or list(study.levers)
    unknown = [lever for lever in levers if lever not in study.levers]
    if unknown:
        parser.error(f"{args.game} has no lever {', '.join(unknown)} (it has {', '.join(study.levers)})")
    sims = args.sims or (400 if args.game == "go7" else 200)
    args.out.mkdir(parents=True, exist_ok=True)
    results = args.out / "ablation.csv"
    rows = list(csv.DictReader(results.open())) if results.exists() else []
    for seed in args.seeds:  # seed-major: a stopped study has every lever at the first seeds
        for lever in levers:
            run = args.out / f"{lever}-s{seed}"
            train(run, study.levers[lever], seed, args.minutes, args.config or study.config, args.init_from)
            step = max(s for s, _ in list_checkpoints(RunDir(run).checkpoints))
            done = [r for r in rows if r["lever"] == lever and int(r["seed"]) == seed and int(r["step"]) == step]
            if done and (args.game == "go7" or per_position(run, step, sims) is not None):
                continue
            measured = (play_go(run, args.games, sims, args.opponent) if args.game == "go7"
                        else evaluate(run, args.positions_file, args.positions, sims, step))
            row = {"lever": lever, "seed": seed, "step": step, "minutes": args.minutes, **measured}
            row = {k: str(v) for k, v in row.items()}
            if done:  # measured before without its answers per position: replaced in place
                rows[rows.index(done[0])] = row
            else:
                rows.append(row)
            text = io.StringIO()
            writer = csv.DictWriter(text, KEYS + study.fields)
            writer.writeheader()
            writer.writerows(rows)
            atomic_write_text(results, text.getvalue())
            print(table(rows, args.game, _paired(args.out, rows, sims, args.game)), flush=True)
    now = [r for r in rows if float(r["minutes"]) == args.minutes]
    print(table(now, args.game, _paired(args.out, now, sims, args.game)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
