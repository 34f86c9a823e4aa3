#!/usr/bin/env python
"""A development set of Connect Four positions shaped like one of Pascal Pons's benchmark files,
made from solver labels that training never saw: the positions of LABELS (a `selfplay
solver-labels` folder or positions.txt) with the stone counts and plies-to-the-end of perfect
play that the benchmark file spans (Test_L2_R2: 15-27 stones, 15-27 plies left), minus every
position of the --exclude files (the training labels; the mirror image counts as the same),
shuffled, written as benchmark lines "MOVES SCORE" that `selfplay eval-c4` and
scripts/raw_network_c4.py read.

    selfplay solver-labels --positions 30000 --out runs/c4-labels-dev --seed 99 --random-plies 28 \\
        --min-ply 15 --max-ply 28
    python scripts/c4_dev_positions.py runs/c4-labels-dev --like ../shared/data/connect4/Test_L2_R2 \\
        --exclude runs/c4-labels7 --out runs/c4-dev-L2R2like.txt

Why it exists: the benchmark files are the test; choices made by looking at them (which
network, which search setting) would flatter the result. This set is drawn the way the benchmark
positions were (uniformly random moves) and rated the way Pons rated them, so it can be looked
at as often as needed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from games.connect4 import ConnectFour  # noqa: E402
from selfplay.atomic import atomic_write_text  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.evaluation.c4_positions import read_positions  # noqa: E402
from selfplay.experts.connect4_labels import (  # noqa: E402
    held_out_keys,
    masked_scores,
    plies_to_end,
    position_key,
    read_labelled_positions,
)


def span(path: Path) -> tuple[tuple[int, int], tuple[int, int]]:
    """(stones, plies to the end) ranges, inclusive, of the positions of a benchmark file."""
    positions = read_positions(path)
    stones = [len(m) for m in positions.moves]
    left = [plies_to_end(n, int(s)) for n, s in zip(stones, positions.scores)]
    return (min(stones), max(stones)), (min(left), max(left))


def dev_lines(labels: Path, like: Path, exclude: list[Path], seed: int = 0) -> list[str]:
    (low, high), (left_low, left_high) = span(like)
    moves, scores = read_labelled_positions(labels)
    best = masked_scores(scores).max(axis=1)
    game = ConnectFour()
    excluded = {position_key(game, m) for path in exclude for m in read_labelled_positions(path)[0]}
    excluded |= set(held_out_keys([like]).tolist())  # never the test positions themselves
    lines, seen = [], set()
    for m, b in zip(moves, best):
        if not (low <= len(m) <= high and left_low <= plies_to_end(len(m), int(b)) <= left_high):
            continue
        key = position_key(game, m)
        if key in excluded or key in seen:
            continue
        seen.add(key)
        lines.append(f"{m} {int(b)}")
    order = np.random.default_rng(seed).permutation(len(lines))
    return [lines[i] for i in order]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path, help="solver-labels folder or positions.txt to draw from")
    parser.add_argument("--like", type=Path, required=True, help="the benchmark file whose ranges to match")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[],
                        help="labels folders or files whose positions (and mirror images) are left out")
    parser.add_argument("--out", type=Path, required=True, help="where to write the lines 'MOVES SCORE'")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffle (default 0)")
    args = parser.parse_args(argv)
    try:
        lines = dev_lines(args.labels, args.like, args.exclude, args.seed)
    except UserError as e:
        print(f"c4_dev_positions: error: {e}", file=sys.stderr)
        return 2
    if not lines:
        print(f"c4_dev_positions: error: no position of {args.labels} falls in {args.like.name}'s ranges "
              "outside the excluded ones", file=sys.stderr)
        return 2
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    draws = sum(line.endswith(" 0") for line in lines) / len(lines)
    print(f"{args.out}: {len(lines)} positions like {args.like.name} ({100 * draws:.1f}% draws)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
