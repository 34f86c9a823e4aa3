"""GNU Go, the expert of Go: its command line as a GTP engine under our rules, and the
``expert`` player that plays through it (``expert:level=10,seed=1``)."""

from __future__ import annotations

from selfplay.gtp.client import GTPPlayer
from selfplay.players import PlayerSpecError, read_options

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


def make_gnugo_player(options: dict[str, str], check_only: bool = False) -> GTPPlayer | None:
    o = read_options("expert", options, level=GNUGO_DEFAULT_LEVEL, seed=-1, timeout=60.0)
    if not 0 <= o["level"] <= 10:
        raise PlayerSpecError(f"expert: GNU Go's level={o['level']} must be from 0 to 10")
    if o["timeout"] <= 0:
        raise PlayerSpecError(f"expert: timeout={o['timeout']:g} must be a positive number of seconds")
    if check_only:  # GNU Go need not be installed until the player plays
        return None
    seed = None if o["seed"] < 0 else o["seed"]
    return GTPPlayer(gnugo_command(o["level"], seed), timeout=o["timeout"], name=f"gnugo(level={o['level']})")
