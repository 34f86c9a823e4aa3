#!/usr/bin/env python
"""Two Go arenas of the same schedule, compared game by game (selfplay/arena/pairing.py): games
are paired by the player's colour and the opening moves (the first --opening-plies of the SGF);
the pairs where one arena scored more are a sign test (McNemar's). Each arena's openings are
also tallied by the player's result with each colour: an opening lost with one colour and won
with the other is one the random moves decided for the opponent to keep.

    selfplay arena net:go7,sims=400,precision=bf16,cache=65536 expert:level=10 --game go --size 7 \
        --games 200 --parallel 2 --batch 8 --opening-plies 2 --seed 1 --save-games runs/arena-a
    (the same with the changed player and --save-games runs/arena-b)
    python scripts/paired_arenas.py runs/arena-a runs/arena-b --player net: --opening-plies 2
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.base import GameError  # noqa: E402
from selfplay.arena.pairing import Key, compare, player_points  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.rating.stats import Tally, mcnemar_p  # noqa: E402


def by_opening(points: dict[Key, list[float]]) -> dict[tuple[float, float], int]:
    """How many openings ended (the player's points as Black, as White): both colours of one
    opening are the arena's two games of it (the n-th as Black with the n-th as White)."""
    counts: dict[tuple[float, float], int] = defaultdict(int)
    for (side, opening), black in points.items():
        if side == 0:
            for pair in zip(black, points.get((1, opening), [])):
                counts[pair] += 1
    return dict(counts)


def describe_openings(counts: dict[tuple[float, float], int]) -> str:
    words = {1.0: "won", 0.5: "drawn", 0.0: "lost"}
    parts = [f"{n} {words[b]} as B and {words[w]} as W" for (b, w), n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return f"openings ({sum(counts.values())} played with both colours): " + "; ".join(parts)


def describe(name: str, tally: Tally) -> str:
    low, high = tally.interval()
    return (f"{name}: {100 * tally.rate:.1f}% [{100 * low:.1f}, {100 * high:.1f}] "
            f"({tally.wins} / {tally.draws} / {tally.losses})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="the first arena's SGF folder (its --save-games)")
    parser.add_argument("b", type=Path, help="the second arena's SGF folder")
    parser.add_argument("--player", required=True, help="the compared player's name in PB/PW, or its start (net:)")
    parser.add_argument("--opening-plies", type=int, default=0, help="the arenas' --opening-plies")
    args = parser.parse_args(argv)
    try:
        if args.opening_plies < 0:
            raise UserError(f"--opening-plies must be 0 or more, got {args.opening_plies}")
        a = player_points(args.a, args.player, args.opening_plies)
        b = player_points(args.b, args.player, args.opening_plies)
        result = compare(a, b)
    except (UserError, GameError) as e:
        print(f"paired_arenas: error: {e}", file=sys.stderr)
        return 2
    games = result["a"].games
    if not games:
        print(f"paired_arenas: error: no game of {args.a} has a partner in {args.b} (same --seed, --games and "
              f"--opening-plies?)", file=sys.stderr)
        return 2
    print(f"{games} paired games (same colour and opening); {result['unpaired']} without a partner left out")
    print(describe(f"A {args.a}", result["a"]))
    print(describe(f"B {args.b}", result["b"]))
    p = mcnemar_p(result["a_better"], result["b_better"])
    print(f"A scored more in {result['a_better']} pairs, B in {result['b_better']}; sign test p = {p:.3g}")
    for name, points in (("A", a), ("B", b)):
        print(f"{name} {describe_openings(by_opening(points))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
