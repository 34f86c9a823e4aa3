#!/usr/bin/env python
"""eval-c4's two ways of asking a searching player for its moves, timed in the same run on the
same positions: one position after another (``select_move``, one network forward per
simulation) and all of them at once (``select_moves``, a batch of trees and one forward per
round for all of them). With a network (a deterministic evaluator) both give the same moves;
the ratio is the speed-up. Rollout MCTS is searched one position at a time either way.

    python scripts/bench_eval_c4.py net:c4,sims=800 --limit 100

Run it on an idle machine: torch uses the threads given (one by default, eval-c4's usual).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from games.connect4 import ConnectFour  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.evaluation.c4_positions import read_positions  # noqa: E402
from selfplay.mcts import MCTSPlayer  # noqa: E402
from selfplay.players import make_player  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("player", help='a searching player, e.g. "net:c4,sims=800"')
    parser.add_argument("--positions", default=str(ROOT.parent / "shared/data/connect4/Test_L2_R2"))
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        torch.set_num_threads(args.threads)
        game = ConnectFour()
        positions = read_positions(args.positions, limit=args.limit)
        states = [game.state_from_moves(m) for m in positions.moves]
        player = make_player(args.player, game)
        if not isinstance(player, MCTSPlayer):
            raise UserError(f"{args.player} does not search: nothing to batch")
        player.select_moves(game, states[:2])  # compiled kernels loaded, network warm: untimed
        player.select_move(game, states[0].copy())
        start = time.perf_counter()
        together = player.select_moves(game, states)
        batched = time.perf_counter() - start
        player = make_player(args.player, game)
        start = time.perf_counter()
        one_by_one = []
        for state in states:
            player.reset(game)
            one_by_one.append(player.select_move(game, state.copy()))
        sequential = time.perf_counter() - start
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    same = int(np.sum(together == np.array(one_by_one)))
    n = len(states)
    print(f"{args.player} on {n} positions of {args.positions}, {args.threads} torch thread(s)")
    print(f"  one by one: {sequential:7.1f} s  ({n / sequential:6.2f} positions/s)")
    print(f"  together:   {batched:7.1f} s  ({n / batched:6.2f} positions/s)  x{sequential / batched:.2f}")
    print(f"  same move in {same} of {n} positions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
