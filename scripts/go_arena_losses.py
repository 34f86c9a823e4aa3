#!/usr/bin/env python
"""Where a Go player's lost and drawn arena games went wrong, read from its own search: Go has
no solver, so each game is replayed and the player's search (its spec from the SGF, or
``--judge``) is run at every one of its own moves; the root value there (its expected result,
+1 a win, -1 a loss) says whether it was behind from the random opening, let a position it
judged won go (and at which move the value fell most), or was never ahead.

    selfplay arena net:go7,sims=400,precision=bf16,cache=65536 expert:level=10 --game go --size 7 \
        --games 200 --parallel 2 --batch 8 --opening-plies 2 --seed 1 --save-games runs/arena-go7
    python scripts/go_arena_losses.py runs/arena-go7 --player net:go7 --opening-plies 2

The values are the player's own view, not the truth: a fall says where it found out it was
losing, which is at or after the move that lost.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.base import GameError  # noqa: E402
from games.go.game import GoGame  # noqa: E402
from games.go.sgf import GoRecord  # noqa: E402
from selfplay.arena.saving import saved_go_games  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.players import PlayerSpecError, make_player  # noqa: E402

AHEAD = 0.5  # a root value at least this high: the player judged the game won
BEHIND = -0.5


class Verdict(NamedTuple):
    kind: str  # "opening" (behind from it), "let-go" (was ahead), "never-ahead"
    words: str


def judge(values: list[tuple[int, float]]) -> Verdict:
    """The verdict on a non-won game from (ply, root value) at each of the player's own moves."""
    if not values:
        return Verdict("never-ahead", "it made no move of its own")
    best_ply, best = max(values, key=lambda pv: pv[1])
    if best >= AHEAD:
        after = [pv for pv in values if pv[0] >= best_ply]
        falls = [(after[i][1] - after[i + 1][1], after[i][0], after[i + 1][0]) for i in range(len(after) - 1)]
        _, before, at = max(falls, default=(0.0, best_ply, best_ply))
        value_at = dict(values)
        return Verdict("let-go", f"ahead ({best:+.2f} at ply {best_ply + 1}); its largest fall after that: "
                                 f"{value_at[before]:+.2f} at ply {before + 1} to {value_at[at]:+.2f} at ply {at + 1}")
    first_ply, first = values[0]
    if first <= BEHIND:
        return Verdict("opening", f"behind from the opening ({first:+.2f} at ply {first_ply + 1}, "
                                  f"never above {best:+.2f})")
    return Verdict("never-ahead", f"never ahead (at most {best:+.2f}, at ply {best_ply + 1})")


def own_values(record: GoRecord, side: int, spec: str, opening: int) -> list[tuple[int, float]]:
    """(ply, the search's root value for ``side``) at each of ``side``'s moves after the opening."""
    game = GoGame.for_record(record)
    player = make_player(spec, game)
    state, values = record.initial_state(game), []
    for ply, action in enumerate(record.actions(game)):
        if ply >= opening and game.to_play(state) == side:
            player.select_move(game, state)
            values.append((ply, player.analysis().value))
        player.observe(game, state, action)
        state = game.step(state, action)
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("games", type=Path, help="a folder of the arena's SGF games (its --save-games)")
    parser.add_argument("--player", required=True, help="the player's name in PB/PW, or its start (net:go7)")
    parser.add_argument("--judge", help="the spec whose search judges the positions (default: the player's own, "
                                        "as PB/PW name it)")
    parser.add_argument("--opening-plies", type=int, default=0, help="the arena's --opening-plies")
    args = parser.parse_args(argv)
    try:
        counts = {"opening": 0, "let-go": 0, "never-ahead": 0}
        games = lost = drawn = 0
        for record, side in saved_go_games(args.games, args.player):
            names = (record.black or "", record.white or "")
            games += 1
            mine = record.returns[side]
            if mine > 0:
                continue
            lost += mine < 0
            drawn += mine == 0
            values = own_values(record, side, args.judge or names[side], args.opening_plies)
            verdict = judge(values)
            counts[verdict.kind] += 1
            trace = " ".join(f"{v:+.1f}" for _, v in values)
            print(f"{'lost' if mine < 0 else 'drew'} as {'BW'[side]} ({record.result}, {len(record.moves)} plies): "
                  f"{verdict.words}\n    root values at its moves: {trace}")
        print(f"{games} games of {args.player}: {lost} lost and {drawn} drawn; of those, {counts['opening']} behind "
              f"from the opening, {counts['let-go']} let a position it judged won (root value >= {AHEAD}) go, "
              f"{counts['never-ahead']} never ahead")
    except (UserError, PlayerSpecError, GameError) as e:
        print(f"go_arena_losses: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
