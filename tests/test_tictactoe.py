"""Tic-tac-toe rules against OpenSpiel, and the exact value of the game (a draw)."""

from functools import lru_cache

import numpy as np
import pytest

from games import MoveParseError
from games.tictactoe import TicTacToe

GAME = TicTacToe()


def test_random_games_match_openspiel():
    pyspiel = pytest.importorskip("pyspiel", reason="open_spiel is the reference implementation")
    reference = pyspiel.load_game("tic_tac_toe")
    rng = np.random.default_rng(0)
    for _ in range(500):
        ours, theirs = GAME.initial_state(), reference.new_initial_state()
        while not theirs.is_terminal():
            assert list(GAME.legal_actions(ours)) == theirs.legal_actions()
            a = int(rng.choice(theirs.legal_actions()))
            ours, _ = GAME.step(ours, a), theirs.apply_action(a)
        assert GAME.is_terminal(ours) and GAME.returns(ours) == tuple(theirs.returns())


def test_perfect_play_is_a_draw():
    @lru_cache(maxsize=None)
    def value(moves: tuple) -> float:
        state = GAME.initial_state()
        for a in moves:
            state = GAME.step(state, a)
        if GAME.is_terminal(state):
            return GAME.terminal_value(state)
        return max(-value(moves + (int(a),)) for a in GAME.legal_actions(state))

    assert value(()) == 0.0
    assert value((4, 0, 8, 1)) == 1.0  # X holds the centre and two corners' threats


def test_notation():
    assert [GAME.format_move(GAME.parse_move(t)) for t in ("a1", "B2", "c3")] == ["a1", "b2", "c3"]
    with pytest.raises(MoveParseError):
        GAME.parse_move("d4")
