"""Two Go arenas of the same schedule, compared game by game.

The arena's seed fixes the random openings and colours, so two arenas of one seed (a player
changed between them: a setting, a newer network) play the same openings against the same
opponent. Games pair up by the player's colour and the opening moves; the pairs where one
arena scored more are a sign test (McNemar's), much sharper than two overlapping intervals
when most pairs agree. Used by scripts/paired_arenas.py and the Go ablation.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from selfplay.arena.saving import saved_go_games
from selfplay.errors import UserError
from selfplay.rating.stats import Tally

Key = tuple[int, tuple[int, ...]]  # (the player's colour, the opening moves)


def player_points(folder: str | Path, player: str, opening: int) -> dict[Key, list[float]]:
    """The player's points (1, 0.5, 0) in each game of an arena's SGF folder, by colour and
    opening, in name order (the arena's game order) where an opening came up more than once."""
    points: dict[Key, list[float]] = defaultdict(list)
    for record, side in saved_go_games(folder, player):
        points[(side, tuple(record.moves[:opening]))].append((record.returns[side] + 1) / 2)
    if not points:
        raise UserError(f"{folder}: no finished game of a player named {player}...")
    return points


def compare(a: dict[Key, list[float]], b: dict[Key, list[float]]) -> dict:
    """Each arena's tally over the paired games, and the pairs where A or B scored more."""
    tallies, better = (Tally(), Tally()), [0, 0]
    for key in a.keys() & b.keys():
        for x, y in zip(a[key], b[key]):
            tallies[0].add(x)
            tallies[1].add(y)
            if x != y:
                better[x < y] += 1
    unpaired = sum(len(v) for v in a.values()) + sum(len(v) for v in b.values()) - 2 * tallies[0].games
    return {"a": tallies[0], "b": tallies[1], "a_better": better[0], "b_better": better[1], "unpaired": unpaired}
