#!/usr/bin/env python
"""Each Connect Four game a player lost or drew in an arena, judged by the solver: was the
result already decided when the random opening handed the position over (each opening is played
with both colours, so one side of a lost opening cannot be blamed), or which of its own moves
turned a won or drawn position into a lost one, or a won one into a draw (the ply and the
position's outcome before and after)?

    selfplay arena net:c4,sims=800 mcts:sims=2000 --opening-plies 2 --games 200 \
        --save-games runs/c4-arena-games --results runs/c4-arena.csv
    python scripts/c4_arena_losses.py runs/c4-arena.csv --player net:c4 --opening-plies 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from games.connect4 import ConnectFour  # noqa: E402
from games.connect4_solver import Solver  # noqa: E402
from selfplay.arena.results import read_results  # noqa: E402
from selfplay.errors import UserError  # noqa: E402

OUTCOME = {1: "won", 0: "drawn", -1: "lost"}


def outcome(solver: Solver, game: ConnectFour, state, side: int) -> int:
    """The game-theoretic outcome for ``side`` (0 first, 1 second): +1, 0 or -1."""
    if game.is_terminal(state):
        winner = game.winner(state)
        return 0 if winner is None else (1 if winner == side else -1)
    score = solver.solve(state, weak=True)  # for the side to move
    sign = (score > 0) - (score < 0)
    return sign if game.to_play(state) == side else -sign


def judge(moves: str, side: int, opening: int, solver: Solver, result: int = -1) -> tuple[str, str]:
    """Why ``side`` got ``result`` (-1 a loss, 0 a draw) in the game of ``moves``: ("opening" or
    "move" or "none", in words); the move is the first of its own that brought the outcome
    down to the result."""
    game = ConnectFour()
    state = game.state_from_moves(moves[:opening])
    if outcome(solver, game, state, side) <= result:
        return "opening", f"{OUTCOME[result]} after the opening {moves[:opening]}"
    for ply in range(opening, len(moves)):
        before = outcome(solver, game, state, side) if game.to_play(state) == side else None
        state = game.step(state, int(moves[ply]) - 1)
        if before is not None and outcome(solver, game, state, side) <= result < before:
            return "move", (f"ply {ply + 1} (column {moves[ply]}) turned a {OUTCOME[before]} position "
                            f"{OUTCOME[result]} ({moves[:ply]} | {moves[ply]})")
    return "none", f"no such move found (the record does not end {OUTCOME[result]})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="an arena results CSV whose games were saved (--save-games)")
    parser.add_argument("--player", required=True, help="the player's spec, or its start (e.g. net:c4)")
    parser.add_argument("--opening-plies", type=int, default=0, help="the arena's --opening-plies")
    args = parser.parse_args(argv)
    try:
        rows = [r for r in read_results(args.results) if r.game == "connect4"]
        solver, games = Solver(), 0
        counts = {(r, kind): 0 for r in (-1, 0) for kind in ("opening", "move", "none")}
        for row in rows:
            if row.first.startswith(args.player):
                side, score = 0, row.result
            elif row.second.startswith(args.player):
                side, score = 1, 1 - row.result
            else:
                continue
            games += 1
            if score == 1:
                continue
            result = -1 if score == 0 else 0
            try:
                moves = Path(row.record).read_text(encoding="utf-8").split()[0]
            except (OSError, IndexError, UnicodeDecodeError):
                raise UserError(f"{row.record}: the game's record is missing or unreadable") from None
            kind, verdict = judge(moves, side, args.opening_plies, solver, result)
            counts[result, kind] += 1
            opponent = row.second if side == 0 else row.first
            print(f"{'lost' if result < 0 else 'drew'} {'to' if result < 0 else 'with'} {opponent} as "
                  f"{'first' if side == 0 else 'second'} player: {verdict}")
        for result, word in ((-1, "lost"), (0, "drawn")):
            total = sum(counts[result, kind] for kind in ("opening", "move", "none"))
            print(f"{games} games of {args.player}: {total} {word}, {counts[result, 'opening']} of them {word} by "
                  f"the opening, {counts[result, 'move']} by a move of its own")
    except UserError as e:
        print(f"c4_arena_losses: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
