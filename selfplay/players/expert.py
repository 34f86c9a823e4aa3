"""The ``expert`` player kind: the expert of the game (selfplay.experts.registry), the heuristic
alpha-beta expert in Connect Four (``expert:depth=4,seed=1``), GNU Go over GTP in Go
(``expert:level=10,seed=1``)."""

from __future__ import annotations

from games import Game
from selfplay.experts.registry import EXPERTS
from selfplay.players import Player, PlayerSpecError


def make_expert(game: Game, options: dict[str, str], context: dict) -> Player:
    """Factory for PLAYER_FACTORIES["expert"]."""
    expert = EXPERTS.get(game.name)
    if expert is None:
        raise PlayerSpecError(f"expert: there is an expert for {' and '.join(EXPERTS)}, not for {game.name}")
    return expert.make_player(options, check_only=bool(context.get("check_only")))
