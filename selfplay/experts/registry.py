"""Which expert plays which game: the alpha-beta expert Connect Four, GNU Go Go. Opponents are
the application's knowledge, not the rules', so this table lives here rather than in games/;
the ``expert`` player kind, the curve's rated expert and the expert-games generator all read it,
and an entry holds everything in which one expert's games differ from another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from games.go import GoGame
from selfplay.experts.connect4_expert import make_connect4_expert
from selfplay.experts.connect4_games import play_connect4_games
from selfplay.experts.gnugo import gnugo_command, make_gnugo_player
from selfplay.experts.gtp_games import play_gtp_games
from selfplay.experts.settings import Settings
from selfplay.experts.store import FilePerGame, LinesFile, Records
from selfplay.players import Player


@dataclass(frozen=True)
class Expert:
    #: The player-spec option that sets the expert's strength (``expert:depth=4``): the curve's level.
    strength: str
    #: The player from a spec's options; ``(options, check_only=True)`` checks them and returns None.
    make_player: Callable[..., Player | None]
    #: Uniformly random opening moves of the games it plays for SFT, unless told otherwise.
    random_plies: int
    #: The options of ``expert_settings`` that make its games at a strength.
    settings_at: Callable[[int], dict]
    #: The fields of Settings its games are made with (the others keep their defaults).
    options: tuple[str, ...]
    #: ``(settings, seed, count, timeout) -> [(key, record)]``: a batch of its games against
    #: itself, played in a worker process; ``timeout`` bounds each command to an engine.
    play_games: Callable[[Settings, int, int, float], list[tuple[str, object]]]
    #: The layout of its games in the output directory (selfplay.experts.store).
    records: Callable[[Path], Records]
    #: Games a worker plays per batch unless told otherwise.
    batch: int


EXPERTS = {
    "connect4": Expert("depth", make_connect4_expert, random_plies=4, settings_at=lambda level: {"depth": level},
                       options=("depth",), play_games=play_connect4_games,
                       records=partial(LinesFile, name="games.txt"), batch=100),
    "go": Expert("level", make_gnugo_player, random_plies=2,
                 settings_at=lambda level: {"engine": gnugo_command(level)}, options=("size", "komi", "engine"),
                 play_games=play_gtp_games, records=partial(FilePerGame, suffix=GoGame.record_suffix), batch=4),
}
