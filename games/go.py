"""Placeholder so games.kernels imports while the Go rules are written; replaced wholesale."""
import numpy as np
from numba import njit


@njit(cache=True)
def legal_mask(state, out):
    out[:] = False


@njit(cache=True)
def step(state, action):
    state[0] += 0


@njit(cache=True)
def is_terminal(state):
    return True


@njit(cache=True)
def terminal_value(state):
    return 0.0


@njit(cache=True)
def to_play(state):
    return state[0] & 1


@njit(cache=True)
def encode(state, out):
    out[:] = 0.0


@njit(cache=True)
def rollout(state):
    return 0.0
