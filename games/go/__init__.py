"""Go on square boards of size 5 to 19 as Numba kernels: area (Tromp-Taylor) scoring with komi,
positional superko, suicide forbidden, the game ending after two consecutive passes or at a
move cap (default 2 * size * size moves, passes included, as OpenSpiel's ``max_game_length``).

Coordinates. Action ``a = row * size + col`` for a point, ``size * size`` for pass. Row 0 is
the *bottom* row, GTP row 1, so action 0 is A1 (OpenSpiel numbers the points the same way).
Encoded planes use the same orientation: ``planes[:, row, col]`` is the point of action
``row * size + col``, so a policy over points reshaped to (size, size) lines up with them.

Modules, lowest first: ``state`` (the state array's layout, Zobrist keys, the position
table), ``board`` (stones, groups, captures, legality, playing a move), ``scoring``,
``encoding`` (the network's planes), ``playouts`` (random games and UCT rollouts), ``sgf``
(game records) and ``game`` (GoGame, the checked surface).
"""

from games.go.board import (
    hash_after,
    is_terminal,
    legal_mask,
    step,
    to_play,
)
from games.go.encoding import encode
from games.go.game import GoGame, fair_komi
from games.go.playouts import is_eyelike, random_game, rollout, seed
from games.go.scoring import area_difference, terminal_value
from games.go.state import (
    AREA,
    BLACK,
    EMPTIES,
    EMPTY,
    EMPTY_BOARD_HASH,
    EMPTY_INDEX,
    GHASH,
    HASH,
    HEAD,
    HEADER,
    LIBS,
    MAX_MOVES,
    MAX_SIZE,
    MIN_SIZE,
    MOVE_NUMBER,
    NEXT,
    NUM_EMPTY,
    PASS_POINT,
    PASSES,
    STONES,
    TO_PLAY,
    WHITE,
    WIDTH,
    ZOBRIST,
    action_of,
    point_of,
)

__all__ = [
    "AREA", "BLACK", "EMPTIES", "EMPTY", "EMPTY_BOARD_HASH", "EMPTY_INDEX", "GHASH",
    "HASH", "HEAD", "HEADER", "LIBS", "MAX_MOVES", "MAX_SIZE", "MIN_SIZE", "MOVE_NUMBER", "NEXT", "NUM_EMPTY",
    "PASS_POINT", "PASSES", "STONES", "TO_PLAY", "WHITE", "WIDTH", "ZOBRIST", "GoGame", "action_of",
    "area_difference", "encode", "fair_komi", "hash_after", "is_eyelike",
    "is_terminal", "legal_mask", "point_of", "random_game", "rollout", "seed",
    "step", "terminal_value", "to_play",
]
