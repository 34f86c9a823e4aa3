#!/usr/bin/env python
"""A Go player's arena score by colour and by the random opening it was dealt: the arena's two
random moves (``--opening-plies 2``) can put Black's first stone on the edge, a handicap that komi
does not return, so where the points go is read by the line (distance from the edge, 1 = the
edge) of Black's first move and of White's. Any number of arenas' SGF folders pool into one table.

    python scripts/go_arena_openings.py runs/base-s1 runs/base-s2 runs/base-s3 --player net:
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.base import GameError  # noqa: E402
from selfplay.arena.saving import saved_go_games  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.rating.stats import Tally  # noqa: E402

COLOURS = ("Black", "White")


def line(action: int, size: int) -> int:
    """The line a move is on, 1 at the edge and (size + 1) // 2 at the centre; 0 for a pass."""
    if action >= size * size:
        return 0
    row, col = divmod(action, size)
    return 1 + min(row, col, size - 1 - row, size - 1 - col)


def tallies(folders: list[Path], player: str) -> tuple[dict[int, Tally], dict[tuple[int, int, int], Tally]]:
    """The player's tally by colour, and by (colour, line of the first move, line of the second)
    over every finished game of ``folders``; games shorter than two moves count by colour only."""
    by_colour: dict[int, Tally] = defaultdict(Tally)
    by_opening: dict[tuple[int, int, int], Tally] = defaultdict(Tally)
    for folder in folders:
        for record, side in saved_go_games(folder, player):
            points = (record.returns[side] + 1) / 2
            by_colour[side].add(points)
            if len(record.moves) >= 2:
                first, second = (line(a, record.size) for a in record.moves[:2])
                by_opening[(side, first, second)].add(points)
    return dict(by_colour), dict(by_opening)


def row(label: str, tally: Tally) -> str:
    low, high = tally.interval()
    return (f"{label}  {tally.games:5d}  {100 * tally.rate:5.1f}%  [{100 * low:5.1f}, {100 * high:5.1f}]  "
            f"{tally.wins} / {tally.draws} / {tally.losses}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="arenas' SGF folders (their --save-games)")
    parser.add_argument("--player", required=True, help="the player's name in PB/PW, or its start (net:)")
    args = parser.parse_args(argv)
    try:
        by_colour, by_opening = tallies(args.folders, args.player)
    except (UserError, GameError) as e:
        print(f"go_arena_openings: error: {e}", file=sys.stderr)
        return 2
    if not by_colour:
        print(f"go_arena_openings: error: no finished game of a player named {args.player}... in "
              f"{', '.join(map(str, args.folders))}", file=sys.stderr)
        return 2
    colours = by_colour.values()
    total = Tally(sum(t.wins for t in colours), sum(t.draws for t in colours), sum(t.losses for t in colours))
    print(f"{args.player} in {len(args.folders)} arena(s); score with its 95% Wilson interval, wins / draws / losses")
    print(f"{'':26s}  games   score  95% CI          W / D / L")
    print(row(f"{'all':26s}", total))
    for side in sorted(by_colour):
        print(row(f"{'as ' + COLOURS[side]:26s}", by_colour[side]))
    print("by the line of Black's first move and of White's (1 = the edge, 0 = a pass):")
    for (side, first, second), tally in sorted(by_opening.items()):
        print(row(f"  as {COLOURS[side]:5s}  B on {first}, W on {second}", tally))
    return 0


if __name__ == "__main__":
    sys.exit(main())
