"""Which expert plays which game: the alpha-beta expert Connect Four, GNU Go Go. Opponents are
the application's knowledge, not the rules', so this table lives here rather than in games/;
the ``expert`` player kind, the curve's rated expert and the expert-games generator all read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from selfplay.experts.connect4_expert import make_connect4_expert
from selfplay.experts.gnugo import gnugo_command, make_gnugo_player
from selfplay.players import Player


@dataclass(frozen=True)
class Expert:
    #: The player-spec option that sets the expert's strength (``expert:depth=4``): the curve's level.
    strength: str
    #: The player from a spec's options.
    make_player: Callable[[dict[str, str]], Player]
    #: Uniformly random opening moves of the games it plays for SFT, unless told otherwise.
    random_plies: int
    #: The options of ``expert_settings`` that make its games at a strength.
    settings_at: Callable[[int], dict]


EXPERTS = {
    "connect4": Expert("depth", make_connect4_expert, random_plies=4, settings_at=lambda level: {"depth": level}),
    "go": Expert("level", make_gnugo_player, random_plies=2,
                 settings_at=lambda level: {"engine": gnugo_command(level)}),
}
