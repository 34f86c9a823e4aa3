"""The ``expert`` player kind: the heuristic alpha-beta expert in Connect Four
(``expert:depth=4,seed=1``), GNU Go over GTP in Go (``expert:level=10,seed=1``)."""

from __future__ import annotations

from games import Game
from selfplay.players import Player, PlayerSpecError, read_options

GNUGO_DEFAULT_LEVEL = 10


def gnugo_command(level: int = GNUGO_DEFAULT_LEVEL, seed: int | None = None, our_rules: bool = True) -> str:
    """The command line of GNU Go as a GTP engine under our rules: Chinese (area) scoring,
    positional superko, and capturing every dead stone before passing, so that a finished game
    scores the same by our Tromp-Taylor count. It never resigns, since a Player cannot (and a
    resigned game teaches SFT little)."""
    command = f"gnugo --mode gtp --level {int(level)} --never-resign"
    if our_rules:
        command += " --chinese-rules --positional-superko --capture-all-dead"
    if seed is not None:
        command += f" --seed {int(seed)}"
    return command


def make_expert(game: Game, options: dict[str, str], context: dict) -> Player:
    """Factory for PLAYER_FACTORIES["expert"]."""
    if game.name == "connect4":
        from selfplay.experts.connect4_expert import make_connect4_expert
        return make_connect4_expert(options)
    if game.name == "go":
        from selfplay.gtp.client import GTPPlayer
        o = read_options("expert", options, level=GNUGO_DEFAULT_LEVEL, seed=-1, timeout=60.0)
        if not 0 <= o["level"] <= 10:
            raise PlayerSpecError(f"expert: GNU Go's level={o['level']} must be from 0 to 10")
        seed = None if o["seed"] < 0 else o["seed"]
        return GTPPlayer(gnugo_command(o["level"], seed), timeout=o["timeout"], name=f"gnugo(level={o['level']})")
    raise PlayerSpecError(f"expert: there is an expert for connect4 and go, not for {game.name}")
