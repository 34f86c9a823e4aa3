"""One switch over every game's kernels, so that game-generic Numba code (MCTS, batched
self-play) can call the rules of any game and still be cached on disk.

Numba compiles a function that receives another jitted function as an argument anew in every
process (its cache key includes the callee's identity), so instead each game gets a fixed
integer id (``Game.kernel_id``, from games.kernel_ids) and these kernels branch on it. Every
game has its own branch in each function below, and an id no branch names is an error, never
another game's rules. Every game module provides kernels of the same names:

    legal_mask(state, out)     out[a] = is a legal (all False when terminal)
    step(state, action)        play a legal action in place
    is_terminal(state)         bool
    terminal_value(state)      outcome for the player to move in a terminal state, in [-1, 1]
    to_play(state)             0 or 1
    encode(state, out)         float32 planes (obs_shape) for the player to move
    rollout(state)             random playout in place; outcome for the player to move at start
"""

from __future__ import annotations

from numba import njit

from games import connect4, go, tictactoe, tokens
from games.kernel_ids import CONNECT4, GO, TICTACTOE, TOKENS

UNKNOWN_GAME = "games.kernels: no game has this kernel id (see games.kernel_ids)"


@njit(cache=True)
def legal_mask(game, state, out):
    if game == CONNECT4:
        connect4.legal_mask(state, out)
    elif game == GO:
        go.legal_mask(state, out)
    elif game == TICTACTOE:
        tictactoe.legal_mask(state, out)
    elif game == TOKENS:
        tokens.legal_mask(state, out)
    else:
        raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def step(game, state, action):
    if game == CONNECT4:
        connect4.step(state, action)
    elif game == GO:
        go.step(state, action)
    elif game == TICTACTOE:
        tictactoe.step(state, action)
    elif game == TOKENS:
        tokens.step(state, action)
    else:
        raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def is_terminal(game, state):
    if game == CONNECT4:
        return connect4.is_terminal(state)
    elif game == GO:
        return go.is_terminal(state)
    elif game == TICTACTOE:
        return tictactoe.is_terminal(state)
    elif game == TOKENS:
        return tokens.is_terminal(state)
    raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def terminal_value(game, state):
    if game == CONNECT4:
        return connect4.terminal_value(state)
    elif game == GO:
        return go.terminal_value(state)
    elif game == TICTACTOE:
        return tictactoe.terminal_value(state)
    elif game == TOKENS:
        return tokens.terminal_value(state)
    raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def to_play(game, state):
    if game == CONNECT4:
        return connect4.to_play(state)
    elif game == GO:
        return go.to_play(state)
    elif game == TICTACTOE:
        return tictactoe.to_play(state)
    elif game == TOKENS:
        return tokens.to_play(state)
    raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def encode(game, state, out):
    if game == CONNECT4:
        connect4.encode(state, out)
    elif game == GO:
        go.encode(state, out)
    elif game == TICTACTOE:
        tictactoe.encode(state, out)
    elif game == TOKENS:
        tokens.encode(state, out)
    else:
        raise ValueError(UNKNOWN_GAME)


@njit(cache=True)
def rollout(game, state):
    if game == CONNECT4:
        return connect4.rollout(state)
    elif game == GO:
        return go.rollout(state)
    elif game == TICTACTOE:
        return tictactoe.rollout(state)
    elif game == TOKENS:
        return tokens.rollout(state)
    raise ValueError(UNKNOWN_GAME)
