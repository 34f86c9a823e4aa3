"""Every game by name: the one table from which ``make_game``, the command line's game
choices and the run config's check of ``game.name`` are derived.

An entry names the game, its aliases, its Game class and the keyword parameters the class
takes. The class checks their values (GameError naming the problem), so nothing outside it
repeats a game's rules about its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from games.base import Game, GameError
from games.connect4 import ConnectFour
from games.go import GoGame
from games.tictactoe import TicTacToe
from games.tokens import TokenGame


@dataclass(frozen=True)
class GameEntry:
    name: str
    game: type[Game]
    aliases: tuple[str, ...] = ()
    #: Keyword parameters of ``game``; ``make_game(name, **game.params())`` rebuilds a game.
    params: tuple[str, ...] = ()


GAMES = (
    GameEntry("connect4", ConnectFour, aliases=("connect-four", "c4")),
    GameEntry("go", GoGame, params=("size", "komi", "max_moves")),
    GameEntry("tictactoe", TicTacToe),
    GameEntry("tokens", TokenGame, params=("task", "digits", "scratchpad")),
)
#: The two-player games' names (not their aliases), as choices on the command line and in a
#: run config; the single-agent token game is searched by the token mode (selfplay/llm).
GAME_NAMES = tuple(entry.name for entry in GAMES if entry.game.players == 2)
ALL_GAME_NAMES = tuple(entry.name for entry in GAMES)
_BY_NAME = {name: entry for entry in GAMES for name in (entry.name, *entry.aliases)}


def game_entry(name: str) -> GameEntry:
    """The entry of a game by its name or an alias; GameError names the known games."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise GameError(f"unknown game {name!r}; choose {', '.join(ALL_GAME_NAMES[:-1])} or {ALL_GAME_NAMES[-1]}") \
            from None


def make_game(name: str, **params) -> Game:
    """A game by name or alias with its parameters (Go: size, komi, max_moves; tokens: task,
    digits, scratchpad)."""
    entry = game_entry(name)
    unknown = [p for p in params if p not in entry.params]
    if unknown:
        takes = f"takes only {', '.join(entry.params)}" if entry.params else "takes no parameters"
        raise GameError(f"{entry.name} {takes}, got {', '.join(unknown)}")
    return entry.game(**params)
