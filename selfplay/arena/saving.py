"""Saved games: each finished game in a file of its own, in the game's own record format
(``Game.record_text``: SGF for Go, written by games.go.sgf; move strings otherwise)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from games import Game
from games.go.game import GoGame
from games.go.sgf import GoRecord, read_sgf_dir
from selfplay.atomic import atomic_write_text
from selfplay.errors import UserError


class GameSaver:
    """Writes each finished game into a folder under names that never overwrite earlier ones."""

    def __init__(self, folder: str | Path, game: Game):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / f".write-test-{os.getpid()}"
            probe.write_bytes(b"")  # a folder we cannot write into fails here, before any game is played
            probe.unlink()
        except OSError as e:
            raise UserError(f"--save-games {folder}: cannot write games there ({e.strerror})") from None
        self.game = game
        self.prefix = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
        self.count = 0

    def save(self, actions: Sequence[int], first: str, second: str, final_state: np.ndarray,
             resigned: bool = False) -> Path:
        """``resigned``: the player to move in ``final_state`` resigned (SGF: RE[W+R])."""
        self.count += 1
        path = self.folder / f"arena-{self.prefix}-{self.count:05d}{self.game.record_suffix}"
        result = self.game.resignation_string(final_state) if resigned else self.game.result_string(final_state)
        text = self.game.record_text(actions, first, second, result, time.strftime("%Y-%m-%d"))
        atomic_write_text(path, text)
        return path


def saved_go_games(folder: str | Path, player: str) -> list[tuple[GoRecord, int]]:
    """The finished games of a Go arena's saved folder (its --save-games) that ``player`` (the
    start of its name in PB/PW, such as ``net:``) played, each with its side (0 Black, 1 White),
    in name order; unreadable files are named on standard error and skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder of SGF games")
    errors: list[str] = []
    records, _ = read_sgf_dir(folder, GoGame.for_record, errors)
    for reason in errors:
        print(f"skipped: {reason}", file=sys.stderr)
    games = []
    for record in records:
        names = (record.black or "", record.white or "")
        side = next((s for s in (0, 1) if names[s].startswith(player)), None)
        if side is not None and record.returns is not None:
            games.append((record, side))
    return games
