#!/usr/bin/env python
"""Does cheaper inference change what self-play learns from? The same network searches the
same positions at each precision (fp32, bf16, int8) with self-play's search, no noise, and the
visit distributions those searches record as policy targets are compared with a deeper search
of the same positions (the reference, fp32 unless ``--reference-precision``) and with each other.

    python scripts/search_precision_agreement.py runs/base-s4 --network go7 --positions 1000

The positions come from a Go arena's saved games (its --save-games folder: every position with
a move still to play, after ``--opening-plies``), sampled with ``--seed``. Without noise a
search is a deterministic function of the network's numbers, so every difference between two
precisions' targets is the rounding's: bf16 against fp32 is the control (the learner's bf16
numerics, "the same network up to rounding"), and int8, self-play's default on a CPU with VNNI,
is judged against it; ``--ladder`` adds fp32 searches of fewer simulations, so that a
precision's loss reads as simulations. Top-move agreement comes with a Wilson 95% interval over the positions
and McNemar's exact test on the positions where only one of the two precisions agrees with the
reference; the distance between two targets is their total variation (half the L1 distance).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.base import GameError  # noqa: E402
from games.go.game import GoGame  # noqa: E402
from selfplay.arena.saving import saved_go_games  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.rating.stats import mcnemar_p, wilson_interval  # noqa: E402
from selfplay.mcts import MCTS, MCTSConfig  # noqa: E402
from selfplay.network import NetworkEvaluator  # noqa: E402
from selfplay.players.net import load_network  # noqa: E402
from selfplay.run.checkpoint import CheckpointError  # noqa: E402

PRECISIONS = ("fp32", "bf16", "int8")


def arena_positions(folder: Path, opening_plies: int, count: int, seed: int) -> tuple[GoGame, np.ndarray]:
    """``count`` positions (or all, if fewer) of the games saved in ``folder``, sampled without
    replacement: every position after the opening where the game goes on."""
    records = [record for record, _ in saved_go_games(folder, "")]
    if not records:
        raise UserError(f"{folder}: no finished Go games to take positions from")
    game = GoGame.for_record(records[0])
    states = []
    for record in records:
        if (record.size, record.komi) != (game.size, game.komi):
            raise UserError(f"{folder}: games of different boards or komi ({record.size}, {record.komi} "
                            f"against {game.size}, {game.komi}); give a folder of one kind")
        state = record.initial_state(game)
        for ply, action in enumerate(record.actions(game)):
            if ply >= opening_plies:
                states.append(state)
            state = game.step(state, action)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(states), size=min(count, len(states)), replace=False)
    return game, np.stack([states[i] for i in sorted(chosen)])


def search_targets(game, model, precision: str, states: np.ndarray, simulations: int, c_puct: float,
                   batch: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The normalised visit distributions [N, A] and root values [N] of a noiseless search of
    every state, ``batch`` trees at a time, and the seconds it took."""
    evaluator = NetworkEvaluator(model, "cpu", precision=precision, game=game)
    config = MCTSConfig(num_simulations=simulations, c_puct=c_puct, tree_reuse=False)
    policies = np.zeros((len(states), game.num_actions), dtype=np.float64)
    values = np.zeros(len(states), dtype=np.float64)
    start = time.perf_counter()
    for lo in range(0, len(states), batch):
        chunk = states[lo:lo + batch]
        mcts = MCTS(game, evaluator, config, batch_size=len(chunk))
        mcts.set_roots(chunk)
        result = mcts.search()
        visits = result.visit_counts.astype(np.float64)
        policies[lo:lo + len(chunk)] = visits / visits.sum(axis=1, keepdims=True)
        values[lo:lo + len(chunk)] = result.root_value
    return policies, values, time.perf_counter() - start


def compare(reference: np.ndarray, policy: np.ndarray) -> dict:
    """Top-move agreement (per position, bool) and total variation between two sets of targets."""
    return {"agree": policy.argmax(axis=1) == reference.argmax(axis=1),
            "tv": 0.5 * np.abs(policy - reference).sum(axis=1)}


def interval(hits: np.ndarray) -> str:
    lo, hi = wilson_interval(int(hits.sum()), len(hits))
    return f"{100 * hits.mean():.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"


def mean_ci(x: np.ndarray) -> str:
    half = 1.96 * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():.4f} +- {half:.4f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("games", type=Path, help="a folder of a Go arena's SGF games (its --save-games)")
    parser.add_argument("--network", default="go7", help="a shipped network's name, run directory or checkpoint")
    parser.add_argument("--positions", type=int, default=1000, help="positions sampled from the games")
    parser.add_argument("--opening-plies", type=int, default=2, help="the arena's --opening-plies (skipped)")
    parser.add_argument("--simulations", type=int, default=200, help="the self-play search's (full) simulations")
    parser.add_argument("--reference-simulations", type=int, default=1600, help="the deeper search's")
    parser.add_argument("--reference-precision", choices=PRECISIONS, default="fp32",
                        help="the deeper search's precision (its own precision's 200-simulation search shares "
                             "its rounding at the root, so a second reference checks that kinship)")
    parser.add_argument("--ladder", type=int, nargs="*", default=[],
                        help="fp32 searches of these simulations too, to read a precision's loss as simulations")
    parser.add_argument("--c-puct", type=float, default=1.25)
    parser.add_argument("--batch", type=int, default=64, help="trees searched together")
    parser.add_argument("--seed", type=int, default=0, help="which positions are sampled")
    parser.add_argument("--json", type=Path, help="write the numbers here as well")
    args = parser.parse_args(argv)
    try:
        if min(args.positions, args.simulations, args.reference_simulations, args.batch, *args.ladder) < 1:
            raise UserError("--positions, --simulations, --reference-simulations, --ladder and --batch must be at "
                            "least 1")
        game, states = arena_positions(args.games, args.opening_plies, args.positions, args.seed)
        net_game, model, _ = load_network(args.network, "cpu")
        if (net_game.name, net_game.num_actions) != (game.name, game.num_actions):
            raise UserError(f"{args.network} plays {net_game.name} with {net_game.num_actions} moves, "
                            f"not these games' {game.name} with {game.num_actions}")
    except (UserError, CheckpointError, GameError) as e:
        print(f"search_precision_agreement: error: {e}", file=sys.stderr)
        return 2

    print(f"{len(states)} positions of {args.games}; {args.network} searching {args.simulations} simulations at "
          f"each precision, the reference {args.reference_precision} at {args.reference_simulations}", flush=True)
    reference, ref_values, seconds = search_targets(game, model, args.reference_precision, states,
                                                    args.reference_simulations,
                                                    args.c_puct, args.batch)
    print(f"reference: {seconds:.0f} s", flush=True)
    targets = {}  # row label -> (policies, root values)
    for precision in PRECISIONS:
        policy, values, seconds = search_targets(game, model, precision, states, args.simulations,
                                                 args.c_puct, args.batch)
        targets[precision] = (policy, values)
        print(f"{precision}: {seconds:.0f} s", flush=True)
    for simulations in args.ladder:
        policy, values, seconds = search_targets(game, model, "fp32", states, simulations, args.c_puct, args.batch)
        targets[f"fp32, {simulations} sims"] = (policy, values)
        print(f"fp32 at {simulations} simulations: {seconds:.0f} s", flush=True)

    report = {"positions": len(states), "simulations": args.simulations, "reference_simulations":
              args.reference_simulations, "reference_precision": args.reference_precision, "rows": {}}
    print(f"\n| search ({args.simulations} sims unless named) | top move = reference's ({args.reference_simulations} "
          f"sims, {args.reference_precision}) | total variation to it | root value - reference's, mean abs | "
          f"top move = fp32's ({args.simulations} sims) | total variation to fp32's |")
    print("|---|---|---|---|---|---|")
    agree = {}
    for label, (policy, values) in targets.items():
        to_ref, to_fp32 = compare(reference, policy), compare(targets["fp32"][0], policy)
        agree[label] = to_ref["agree"]
        value_error = np.abs(values - ref_values)
        print(f"| {label} | {interval(to_ref['agree'])} | {mean_ci(to_ref['tv'])} | {mean_ci(value_error)} | "
              f"{interval(to_fp32['agree'])} | {mean_ci(to_fp32['tv'])} |")
        report["rows"][label] = {
            "agree_reference": int(to_ref["agree"].sum()), "tv_reference": float(to_ref["tv"].mean()),
            "value_abs_error": float(value_error.mean()), "agree_fp32": int(to_fp32["agree"].sum()),
            "tv_fp32": float(to_fp32["tv"].mean())}
    report["pairs"] = {}
    for a, b in (("int8", "fp32"), ("int8", "bf16"), ("bf16", "fp32"),
                 *(("int8", f"fp32, {n} sims") for n in args.ladder)):
        only_a, only_b = int((agree[a] & ~agree[b]).sum()), int((agree[b] & ~agree[a]).sum())
        p = mcnemar_p(only_a, only_b)
        print(f"{a} against {b}: the reference's top move found by {a} only at {only_a} positions, by {b} only "
              f"at {only_b} (McNemar p = {p:.2g})")
        report["pairs"][f"{a} / {b}"] = {"only_first": only_a, "only_second": only_b, "p": p}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
