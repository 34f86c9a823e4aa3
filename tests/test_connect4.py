"""Connect Four rules: against OpenSpiel and a naive 2-D implementation, known positions, properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from games import IllegalMoveError, MoveParseError
from games.connect4 import MASK, POSITION, ConnectFour

GAME = ConnectFour()
DRAWN_GAME = "666165577462463234152541333211132724554777"  # 42 moves, nobody connects four


def naive_winner(moves: str):
    """Winner ("X"/"O") of a move string by scanning a 2-D grid: no bitboards shared with the rules."""
    grid = [[None] * 6 for _ in range(7)]
    for i, ch in enumerate(moves):
        col = int(ch) - 1
        row = grid[col].index(None)
        grid[col][row] = "XO"[i % 2]
        for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
            for start in range(-3, 1):
                cells = [(col + (start + k) * dc, row + (start + k) * dr) for k in range(4)]
                if all(0 <= c < 7 and 0 <= r < 6 and grid[c][r] == "XO"[i % 2] for c, r in cells):
                    return "XO"[i % 2]
    return None


def test_random_games_match_openspiel():
    pyspiel = pytest.importorskip("pyspiel", reason="open_spiel is the reference implementation")
    reference = pyspiel.load_game("connect_four")
    rng = np.random.default_rng(1)
    endings = {"win": 0, "draw": 0}
    for _ in range(1500):
        ours, theirs = GAME.initial_state(), reference.new_initial_state()
        while not theirs.is_terminal():
            assert not GAME.is_terminal(ours)
            assert list(GAME.legal_actions(ours)) == theirs.legal_actions()
            assert GAME.to_play(ours) == theirs.current_player()
            a = int(rng.choice(theirs.legal_actions()))
            ours = GAME.step(ours, a)
            theirs.apply_action(a)
        assert GAME.is_terminal(ours)
        assert GAME.returns(ours) == tuple(theirs.returns())
        endings["draw" if GAME.winner(ours) is None else "win"] += 1
    assert endings["win"] > 1000 and endings["draw"] > 0  # both kinds of ending were compared


@pytest.mark.parametrize("moves, winner", [
    ("1212121", "X"),        # vertical
    ("1122334", "X"),        # horizontal
    ("12234334544", "X"),    # rising diagonal (1,1)-(4,4)
    ("1223433454", None),    # one move before it
    ("43321221511", "X"),    # falling diagonal (1,4)-(4,1)
    ("4332122151", None),
    ("72121212", "O"),       # vertical for the second player
])
def test_known_positions(moves, winner):
    state = GAME.state_from_moves(moves)
    w = GAME.winner(state)
    assert (None if w is None else "XO"[w]) == winner == naive_winner(moves)
    assert GAME.is_terminal(state) == (winner is not None)


def test_drawn_full_board():
    state = GAME.state_from_moves(DRAWN_GAME)
    assert naive_winner(DRAWN_GAME) is None
    assert GAME.is_terminal(state) and GAME.winner(state) is None
    assert GAME.terminal_value(state) == 0.0 and GAME.result_string(state) == "draw"
    assert not GAME.legal_mask(state).any()


def test_win_value_is_for_the_player_to_move():
    state = GAME.state_from_moves("1212121")
    assert GAME.to_play(state) == 1 and GAME.terminal_value(state) == -1.0
    assert GAME.returns(state) == (1.0, -1.0) and GAME.result_string(state) == "X wins"


@pytest.mark.parametrize("text, error, reason", [
    ("44a3", MoveParseError, "move 3 ('a')"),
    ("48", MoveParseError, "move 2 ('8')"),
    ("40", MoveParseError, "move 2 ('0')"),
    ("4444444", IllegalMoveError, "column 4, which is full"),
    ("12121212", IllegalMoveError, "after the game ended"),
])
def test_bad_move_strings(text, error, reason):
    with pytest.raises(error, match=reason.replace("(", r"\(").replace(")", r"\)")):
        GAME.state_from_moves(text)


@pytest.mark.parametrize("text", ["0", "8", "x", "", "4.0", "-1"])
def test_parse_move_rejects(text):
    with pytest.raises(MoveParseError, match="column"):
        GAME.parse_move(text)


def test_step_refuses_illegal_and_keeps_state():
    state = GAME.state_from_moves("444444")
    before = state.copy()
    with pytest.raises(IllegalMoveError, match="not legal"):
        GAME.step(state, 3)
    with pytest.raises(IllegalMoveError, match="out of range"):
        GAME.step(state, 7)
    assert (state == before).all()
    with pytest.raises(IllegalMoveError, match="over"):
        GAME.step(GAME.state_from_moves("1212121"), 0)


def test_encode_planes_and_render():
    state = GAME.state_from_moves("445")  # X: (4,r0) (5,r0); O: (4,r1); O to move
    planes = GAME.encode(state)
    assert planes.shape == GAME.obs_shape and planes.dtype == np.float32
    own, other, first = planes
    assert own[5, 3] == 0 and own[4, 3] == 1          # O (to move) owns column 4 row 2
    assert other[5, 3] == 1 and other[5, 4] == 1      # X's stones on the bottom row
    assert own.sum() == 1 and other.sum() == 2 and not first.any()
    assert GAME.encode(GAME.initial_state())[2].all()
    text = GAME.render(state)
    assert "[X]" in text and text.count("X") == 2 and text.count("O") == 1
    assert text.splitlines()[0].split() == list("1234567")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60))
def test_random_play_keeps_a_consistent_state(choices):
    state, moves = GAME.initial_state(), ""
    for c in choices:
        legal = GAME.legal_actions(state)
        if len(legal) == 0:
            break
        a = int(legal[c % len(legal)])
        state = GAME.step(state, a)
        moves += str(a + 1)
        mask, position = int(state[MASK]), int(state[POSITION])
        assert bin(mask).count("1") == len(moves) == int(state[2])
        assert position & ~mask == 0
        assert bin(position).count("1") == len(moves) // 2  # the side to move has played half
        assert (GAME.winner(state) is not None) == (naive_winner(moves) is not None)
        # the mirror image of the game is a legal game with the mirrored planes and mask
        mirrored = GAME.state_from_moves("".join(str(8 - int(ch)) for ch in moves))
        planes, mask_m = GAME.symmetry(1, GAME.encode(state), GAME.legal_mask(state))
        assert (planes == GAME.encode(mirrored)).all()
        assert (mask_m == GAME.legal_mask(mirrored)).all()


def test_rollout_returns_the_outcome_for_the_starting_player():
    from games import connect4
    connect4.seed(3)
    for start in ("", "4", "44", "4453"):
        for _ in range(50):
            state = GAME.state_from_moves(start)
            player = GAME.to_play(state)
            value = connect4.rollout(state)
            assert GAME.is_terminal(state)
            assert value == GAME.returns(state)[player]
