"""What the terminal game shows about a position: Go's area count behind the score, Connect
Four's winning four and full columns; the counts must agree with the rules' kernels."""

import numpy as np
import pytest

from games import IllegalMoveError, make_game


@pytest.mark.parametrize("size", [5, 7, 9])
def test_go_score_breakdown_agrees_with_the_kernel_score(size):
    game = make_game("go", size=size, komi=None)
    rng = np.random.default_rng(size)
    for _ in range(40):
        state = game.initial_state()
        for _ in range(int(rng.integers(0, 3 * size * size))):
            if game.is_terminal(state):
                break
            state = game.step(state, int(rng.choice(game.legal_actions(state))))
        counts = game.score_breakdown(state)
        assert counts.score == game.score(state)
        assert counts.result == game.result_string(state) or not game.is_terminal(state)
        board = game.board(state)
        assert counts.black_stones == (board == 1).sum() and counts.white_stones == (board == 2).sum()
        assert counts.black_area + counts.white_area <= size * size


def test_go_score_breakdown_lines():
    game = make_game("go", size=5, komi=0.5)
    state = game.step(game.initial_state(), game.parse_move("C3"))
    assert game.score_breakdown(state).lines() == [
        "Black: 1 stone + 24 territory = 25",
        "White: 0 stones + 0 territory = 0 + komi 0.5 = 0.5",
        "result: B+24.5",
    ]
    assert "komi 0.5" in game.rules_text() and "positional superko" in game.rules_text()


@pytest.mark.parametrize("moves, cells", [
    ("4545454", ["d1", "d2", "d3", "d4"]),          # up
    ("1122334", ["a1", "b1", "c1", "d1"]),          # across
    ("12234334544", ["a1", "b2", "c3", "d4"]),      # a diagonal
])
def test_connect4_winning_four(moves, cells):
    game = make_game("connect4")
    state = game.state_from_moves(moves)
    assert game.winner(state) == 0
    assert [game.cell_name(c, r) for c, r in game.winning_four(state)] == cells
    assert game.render(state).count("*X*") == 4


def test_connect4_no_four_without_a_winner():
    game = make_game("connect4")
    state = game.state_from_moves("4455")
    assert game.winning_four(state) == [] and "*" not in game.render(state)


def test_connect4_full_column_is_named():
    game = make_game("connect4")
    with pytest.raises(IllegalMoveError, match="column 4 is full"):
        game.step(game.state_from_moves("444444"), 3)
