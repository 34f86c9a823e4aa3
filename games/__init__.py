"""Rules of the games as Numba kernels, a Python Game class over each, Gymnasium environments."""

# ruff: noqa: E402  (the Numba cache must be configured before any kernel module is imported)

from games import numba_cache

numba_cache.configure()

from games.base import Game, GameError, IllegalMoveError, MoveParseError


def make_game(name: str, **params) -> Game:
    """A game by name: ``connect4``, ``tictactoe`` or ``go`` (params: size, komi, max_moves)."""
    if name in ("connect4", "connect-four", "c4"):
        from games.connect4 import ConnectFour
        _no_params(name, params)
        return ConnectFour()
    if name == "tictactoe":
        from games.tictactoe import TicTacToe
        _no_params(name, params)
        return TicTacToe()
    if name == "go":
        from games.go import GoGame
        return GoGame(**params)
    raise GameError(f"unknown game {name!r}; choose connect4, go or tictactoe")


def _no_params(name, params):
    if params:
        raise GameError(f"{name} takes no parameters, got {', '.join(params)}")


__all__ = ["Game", "GameError", "IllegalMoveError", "MoveParseError", "make_game"]
