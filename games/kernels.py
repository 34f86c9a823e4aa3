"""One switch over every game's kernels, so that game-generic Numba code (MCTS, batched
self-play) can call the rules of any game and still be cached on disk.

Numba compiles a function that receives another jitted function as an argument anew in every
process (its cache key includes the callee's identity), so instead each game gets a fixed
integer id (``Game.kernel_id``) and these kernels branch on it. Adding a game means adding
one branch to each function below; every game module provides kernels of the same names:

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

from games import connect4, go, tictactoe

CONNECT4, GO, TICTACTOE = 0, 1, 2


@njit(cache=True)
def legal_mask(game, state, out):
    if game == CONNECT4:
        connect4.legal_mask(state, out)
    elif game == GO:
        go.legal_mask(state, out)
    else:
        tictactoe.legal_mask(state, out)


@njit(cache=True)
def step(game, state, action):
    if game == CONNECT4:
        connect4.step(state, action)
    elif game == GO:
        go.step(state, action)
    else:
        tictactoe.step(state, action)


@njit(cache=True)
def is_terminal(game, state):
    if game == CONNECT4:
        return connect4.is_terminal(state)
    elif game == GO:
        return go.is_terminal(state)
    return tictactoe.is_terminal(state)


@njit(cache=True)
def terminal_value(game, state):
    if game == CONNECT4:
        return connect4.terminal_value(state)
    elif game == GO:
        return go.terminal_value(state)
    return tictactoe.terminal_value(state)


@njit(cache=True)
def to_play(game, state):
    if game == CONNECT4:
        return connect4.to_play(state)
    elif game == GO:
        return go.to_play(state)
    return tictactoe.to_play(state)


@njit(cache=True)
def encode(game, state, out):
    if game == CONNECT4:
        connect4.encode(state, out)
    elif game == GO:
        go.encode(state, out)
    else:
        tictactoe.encode(state, out)


@njit(cache=True)
def rollout(game, state):
    if game == CONNECT4:
        return connect4.rollout(state)
    elif game == GO:
        return go.rollout(state)
    return tictactoe.rollout(state)
