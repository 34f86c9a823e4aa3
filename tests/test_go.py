"""Go rules on hand-made positions (ASCII diagrams): parameters, captures, suicide, ko and
superko, the end of the game and scoring, and the human surface (coordinates, the board)."""

from __future__ import annotations

import numpy as np
import pytest
from go_reference import check_bookkeeping, play, position

from games import go, kernels
from games.base import GameError, IllegalMoveError, MoveParseError
from games.go import BLACK, EMPTY, WHITE, GoGame

# ---- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, message", [
    (dict(size=4), "board size"), (dict(size=20), "board size"), (dict(size=9.0), "board size"),
    (dict(komi=7.3), "multiple of 0.5"), (dict(komi="x"), "komi must be a number"),
    (dict(max_moves=0), "move cap"), (dict(max_moves=-5), "move cap"),
])
def test_bad_parameters_are_rejected_with_a_message(kwargs, message):
    with pytest.raises(GameError, match=message):
        GoGame(**kwargs)


def test_defaults_match_openspiel_conventions():
    game = GoGame(9)
    assert (game.num_actions, game.obs_shape, game.max_moves, game.komi) == (82, (11, 9, 9), 162, 7.5)
    assert game.kernel_id == kernels.GO and game.num_symmetries == 8
    assert game.parse_move("A1") == 0 and game.parse_move("J9") == 80 and game.parse_move("pass") == 81


# ---- captures, suicide, ko, superko ------------------------------------------------------------


def test_capture_of_a_group_with_one_liberty():
    game, state = position("""
        . . . . .
        . X X . .
        X O O X .
        . O X . .
        . X . . .
    """)
    assert game.legal_mask(state)[game.parse_move("A2")]
    after = play(game, state, "A2")
    assert (game.board(after) == WHITE).sum() == 0  # B3, C3 and B2 are gone
    assert game.captures(after) == (3, 0)
    check_bookkeeping(game, after)


def test_one_move_captures_two_groups():
    game, state = position("""
        . . . . .
        . . . . .
        X . . . .
        O X . . .
        . O X . .
    """)
    after = play(game, state, "A1")
    assert (game.board(after) == WHITE).sum() == 0 and game.captures(after) == (2, 0)
    check_bookkeeping(game, after)


def test_snapback():
    game, state = position("""
        . . . . .
        . . . . .
        X X X . .
        O O O X .
        O . . X .
    """)
    state = play(game, state, "B1")  # throw-in: self-atari
    state = play(game, state, "C1")  # White takes it, and is left in atari itself
    assert game.captures(state) == (0, 1)
    assert game.legal_mask(state)[game.parse_move("B1")]
    state = play(game, state, "B1")  # snapback: five stones
    assert game.captures(state) == (5, 1)
    assert (game.board(state) == WHITE).sum() == 0
    check_bookkeeping(game, state)


def test_suicide_is_refused_for_one_stone_and_for_a_group():
    game, state = position("""
        . . . . .
        . . . . .
        . . . . .
        O O . . .
        . X O . .
    """)
    a1 = game.parse_move("A1")
    assert not game.legal_mask(state)[a1]  # Black A1 would join B1 with no liberty left
    with pytest.raises(IllegalMoveError, match="A1 is not legal"):
        game.step(state, a1)
    state = play(game, state, "pass")
    assert game.legal_mask(state)[a1]  # for White, A1 captures B1 first
    game, state = position("""
        . . . . .
        . . . . .
        . . . . .
        O . . . .
        . O . . .
    """)
    assert not game.legal_mask(state)[game.parse_move("A1")]  # a lone stone in the corner


def test_ko_recapture_is_refused_until_a_move_elsewhere():
    game, state = position("""
        . . . . .
        . . . . .
        . X O . .
        X O . O .
        . X O . .
    """)
    state = play(game, state, "C2")  # Black takes the ko
    b2 = game.parse_move("B2")
    assert not game.legal_mask(state)[b2]
    state = play(game, state, "E5", "E4")  # a ko threat and its answer
    assert game.legal_mask(state)[b2]
    assert game.captures(play(game, state, "B2")) == (1, 1)


TRIPLE_KO = """
    . X O . . . . . .
    X . X O . . . . .
    . X O . . . . . .
    . X O . . . . . .
    X O . O . . . . .
    . X O . . . . . .
    . X O . . . . . .
    X O . O . . . . .
    . X O . . . . . .
"""


def test_positional_superko_refuses_the_end_of_a_triple_ko_cycle():
    game, state = position(TRIPLE_KO)
    start = game.board(state)
    # Each move takes one of the three kos, never the one just taken (simple ko allows them all).
    state = play(game, state, "C5", "B8", "C2", "B5", "C8")
    b2 = game.parse_move("B2")
    after = game.board(state)
    after[1, 1], after[1, 2] = WHITE, EMPTY  # what White B2 would give: the start again
    assert (after == start).all()
    assert not game.legal_mask(state)[b2]
    assert game.legal_mask(state)[game.pass_action]
    with pytest.raises(IllegalMoveError):
        game.step(state, b2)


# ---- the end of the game and scoring -----------------------------------------------------------


def test_two_passes_end_the_game():
    game = GoGame(5, komi=7.5)
    state = play(game, game.initial_state(), "pass")
    assert not game.is_terminal(state)
    state = play(game, state, "pass")
    assert game.is_terminal(state) and not game.legal_mask(state).any()
    assert game.result_string(state) == "W+7.5" and game.score(state) == -7.5
    assert game.to_play(state) == 0 and game.terminal_value(state) == -1.0
    assert game.returns(state) == (-1.0, 1.0)
    with pytest.raises(IllegalMoveError, match="game is over"):
        game.step(state, 0)


def test_a_pass_between_moves_does_not_end_the_game():
    game = GoGame(5)
    state = play(game, game.initial_state(), "pass", "C3", "pass")
    assert not game.is_terminal(state)


def test_seki_points_count_for_neither_side():
    game, state = position("""
        X . O X .
        X . O X .
        O O O X .
        X X X X .
        . . . . .
    """, komi=0)
    # Black: 9 stones + 9 points reaching only Black; White: 5 stones; B5 and B4 touch both.
    assert game.score(state) == 13
    state = play(game, state, "pass", "pass")
    assert game.result_string(state) == "B+13"


SEVEN_POINTS = """
    . . X O .
    . . X O .
    . . X O .
    . . X O .
    . . . X O
"""


@pytest.mark.parametrize("komi, result, black_value", [(7, "Draw", 0.0), (6.5, "B+0.5", 1.0), (7.5, "W+0.5", -1.0)])
def test_scoring_with_komi_and_a_draw(komi, result, black_value):
    game, state = position(SEVEN_POINTS, komi=komi)
    # Black: 5 stones + 11 points (columns A-B and C1) = 16; White: 5 stones + E2-E5 = 9.
    assert go.area_difference(state) == 7
    state = play(game, state, "pass", "pass")
    assert game.score(state) == 7 - komi
    assert game.result_string(state) == result
    assert game.returns(state) == (black_value, -black_value)


def test_the_move_cap_ends_the_game():
    game = GoGame(5, komi=0.5, max_moves=3)
    state = play(game, game.initial_state(), "C3", "D4")
    assert not game.is_terminal(state)
    state = play(game, state, "pass")
    assert game.is_terminal(state) and game.result_string(state) == "W+0.5"
    assert game.legal_mask(state).sum() == 0


# ---- humans ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [5, 9, 13, 19])
def test_gtp_vertices_round_trip(size):
    game = GoGame(size)
    for a in range(game.num_actions):
        text = game.format_move(a)
        assert game.parse_move(text) == a and game.parse_move(text.lower()) == a
        assert game.sgf_to_action(game.action_to_sgf(a)) == a
    assert "I" not in "".join(game.format_move(a) for a in range(game.num_actions - 1))


def test_known_coordinates():
    game = GoGame(19)
    assert game.format_move(0) == "A1" and game.format_move(18) == "T1" and game.format_move(360) == "T19"
    assert game.parse_move("J10") == 9 * 19 + 8 and game.parse_move(" k10 ") == 9 * 19 + 9
    assert game.action_to_sgf(game.parse_move("A19")) == "aa" and game.action_to_sgf(0) == "as"
    assert game.sgf_to_action("tt") == game.pass_action and game.sgf_to_action("") == game.pass_action
    assert GoGame(9).parse_move("C3") == 2 * 9 + 2


@pytest.mark.parametrize("text, message", [
    ("", "empty move"), ("   ", "empty move"), ("I3", "no column I"), ("K3", "column K is off"),
    ("A0", "row 0 is off"), ("A10", "row 10 is off"), ("A", "must be a number"), ("Ax", "must be a number"),
    ("33", "not a point"), ("?", "not a point"),
])
def test_bad_vertices_are_rejected_with_a_message(text, message):
    with pytest.raises(MoveParseError, match=message):
        GoGame(9).parse_move(text)


@pytest.mark.parametrize("text", ["a", "aj", "ja", "AA", "abc", "a1"])
def test_bad_sgf_points_are_rejected(text):
    with pytest.raises(MoveParseError, match="SGF point"):
        GoGame(9).sgf_to_action(text)


def test_render_marks_the_last_move_and_labels_every_edge():
    game = GoGame(5)
    state = play(game, game.initial_state(), "C3", "D3")
    assert game.render(state) == "\n".join([
        "    A B C D E",
        " 5  . . . . . 5",
        " 4  . . . . . 4",
        " 3  . . X(O). 3",
        " 2  . . . . . 2",
        " 1  . . . . . 1",
        "    A B C D E",
        "Black to move (move 3); captures: Black 0, White 0",
    ])
    assert game.player_name(0) == "Black" and game.player_name(1) == "White"


def test_from_board_rejects_groups_without_liberties():
    game = GoGame(5)
    board = np.zeros((5, 5), dtype=np.int64)
    board[0, 0], board[0, 1], board[1, 0] = BLACK, WHITE, WHITE
    with pytest.raises(GameError, match="group at A1 has no liberty"):
        game.from_board(board)
    with pytest.raises(GameError, match="shape"):
        game.from_board(np.zeros((4, 4)))
