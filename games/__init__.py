"""Rules of the games as Numba kernels and a Python Game class over each, found by name in
games.registry."""

# ruff: noqa: E402  (the Numba cache must be configured before any kernel module is imported)

from games import numba_cache

numba_cache.configure()

from games.base import Game, GameError, GameRecord, IllegalMoveError, MoveParseError
from games.registry import GAME_NAMES, make_game

__all__ = ["GAME_NAMES", "Game", "GameError", "GameRecord", "IllegalMoveError", "MoveParseError", "make_game"]
