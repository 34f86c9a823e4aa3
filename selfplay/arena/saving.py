"""Saved games: each finished game in a file of its own, in the game's own record format
(``Game.record_text``: SGF for Go, written by games.go.sgf; move strings otherwise)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from games import Game
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
