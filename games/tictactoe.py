"""Tic-tac-toe as Numba kernels: a game small enough to solve exactly, so search code can be
checked against minimax. State: int64[4] = [stones of X, stones of O (9-bit masks), moves,
last move (-1 at start)]."""

from __future__ import annotations

import numpy as np
from numba import njit

from games.base import Game, MoveParseError, Rules
from games.kernel_ids import TICTACTOE

NUM_ACTIONS = 9
X_BITS, O_BITS, MOVES, LAST = 0, 1, 2, 3
STATE_SIZE = 4
LINES = np.array([0b111, 0b111000, 0b111000000, 0b1001001, 0b10010010, 0b100100100, 0b100010001, 0b1010100],
                 dtype=np.int64)


@njit(cache=True)
def _has_line(bits):
    for line in LINES:
        if bits & line == line:
            return True
    return False


@njit(cache=True)
def initial_state():
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[LAST] = -1
    return state


@njit(cache=True)
def to_play(state):
    return state[MOVES] & 1


@njit(cache=True)
def _just_moved_won(state):
    return state[MOVES] > 0 and _has_line(state[X_BITS + ((state[MOVES] - 1) & 1)])


@njit(cache=True)
def is_terminal(state):
    return state[MOVES] == 9 or _just_moved_won(state)


@njit(cache=True)
def terminal_value(state):
    return -1.0 if _just_moved_won(state) else 0.0


@njit(cache=True)
def legal_mask(state, out):
    terminal = is_terminal(state)
    occupied = state[X_BITS] | state[O_BITS]
    for a in range(NUM_ACTIONS):
        out[a] = (not terminal) and not (occupied >> a) & 1


@njit(cache=True)
def step(state, action):
    state[X_BITS + to_play(state)] |= np.int64(1) << action
    state[MOVES] += 1
    state[LAST] = action


@njit(cache=True)
def encode(state, out):
    """Planes (3, 3, 3): stones of the player to move, of the opponent, ones if X is to move."""
    me = to_play(state)
    for a in range(NUM_ACTIONS):
        r, c = a // 3, a % 3
        out[0, r, c] = (state[X_BITS + me] >> a) & 1
        out[1, r, c] = (state[X_BITS + 1 - me] >> a) & 1
        out[2, r, c] = 1.0 if me == 0 else 0.0


@njit(cache=True)
def rollout(state):
    start = to_play(state)
    empties = np.empty(NUM_ACTIONS, dtype=np.int64)
    while not is_terminal(state):
        occupied = state[X_BITS] | state[O_BITS]
        n = 0
        for a in range(NUM_ACTIONS):
            if not (occupied >> a) & 1:
                empties[n] = a
                n += 1
        step(state, empties[np.random.randint(n)])
    value = terminal_value(state)
    return value if to_play(state) == start else -value


class TicTacToe(Game):
    name = "tictactoe"
    kernel_id = TICTACTOE
    rules = Rules(legal_mask, step, is_terminal, terminal_value, to_play, encode, rollout)
    num_actions = NUM_ACTIONS
    obs_shape = (3, 3, 3)

    def initial_state(self):
        return initial_state()

    def player_name(self, player):
        return "XO"[player]

    def result_string(self, state):
        if not self.is_terminal(state):
            return "unfinished"
        if terminal_value(state) == 0:
            return "draw"
        return f"{self.player_name(1 - self.to_play(state))} wins"

    def render(self, state):
        rows = ["  1 2 3"]
        for r in range(3):
            marks = []
            for c in range(3):
                a = 3 * r + c
                marks.append("X" if state[X_BITS] >> a & 1 else "O" if state[O_BITS] >> a & 1 else ".")
            rows.append(f"{'abc'[r]} " + " ".join(marks))
        return "\n".join(rows)

    def parse_move(self, text):
        t = text.strip().lower()
        if len(t) != 2 or t[0] not in "abc" or t[1] not in "123":
            raise MoveParseError(f"tictactoe: {text!r} is not a cell; use a row a-c and a column 1-3, e.g. b2")
        return 3 * "abc".index(t[0]) + int(t[1]) - 1

    def format_move(self, action):
        return "abc"[action // 3] + str(action % 3 + 1)
