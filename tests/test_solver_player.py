"""The perfect Connect Four player: spec options, optimal choices, seeding."""

import numpy as np
import pytest

from games import make_game
from games import connect4_solver as cs
from games.connect4 import ConnectFour
from games.connect4_solver import ILLEGAL, Solver
from selfplay.players import PlayerSpecError, make_player
from selfplay.players.solver import SolverPlayer

GAME = ConnectFour()
# Benchmark positions: one winning move; seven winning moves of different speeds; one drawing
# move among losses; two equally fast wins; four winning moves.
POSITIONS = ["5554224333234511764415115", "52753311433677442422121", "274552224131661", "74746315233",
             "5512243243536"]
ALL_WIN = "52753311433677442422121"  # every column wins, column 5 fastest


@pytest.fixture(scope="module")
def solver():
    return Solver(log_size=20)


def test_spec_builds_a_solver_player():
    player = make_player("solver:seed=3", GAME)
    assert isinstance(player, SolverPlayer) and player.mode == "best"
    assert make_player("solver:mode=outcome", GAME).mode == "outcome"


@pytest.mark.parametrize("spec, message", [
    ("solver:mode=fast", "mode"),
    ("solver:depth=3", "unknown option"),
    ("solver:seed=x", "not a valid int"),
])
def test_bad_specs(spec, message):
    with pytest.raises(PlayerSpecError, match=message):
        make_player(spec, GAME)


def test_only_connect_four():
    with pytest.raises(PlayerSpecError, match="connect4"):
        make_player("solver", make_game("tictactoe"))


def test_best_mode_picks_among_exactly_best_moves(solver):
    player = SolverPlayer(seed=0, solver=solver)
    for moves in POSITIONS:
        state = GAME.state_from_moves(moves)
        scores = solver.move_scores(state)
        best = set(np.flatnonzero(scores == scores.max()))
        assert set(player.optimal_moves(GAME, state)) == best
        assert {player.select_move(GAME, state) for _ in range(20)} <= best


def test_outcome_mode_keeps_the_outcome(solver):
    player = SolverPlayer(seed=0, mode="outcome", solver=solver)
    for moves in POSITIONS:
        state = GAME.state_from_moves(moves)
        scores = solver.move_scores(state)
        legal = scores != ILLEGAL
        keeping = set(np.flatnonzero(legal & (np.sign(scores) == np.sign(scores[legal].max()))))
        assert set(player.optimal_moves(GAME, state)) == keeping


def test_known_choices(solver):
    state = GAME.state_from_moves(ALL_WIN)
    assert list(SolverPlayer(solver=solver).optimal_moves(GAME, state)) == [4]
    assert list(SolverPlayer(mode="outcome", solver=solver).optimal_moves(GAME, state)) == list(range(7))
    state = GAME.state_from_moves("74746315233")
    assert list(SolverPlayer(solver=solver).optimal_moves(GAME, state)) == [1, 4]
    state = GAME.state_from_moves("5512243243536")
    assert list(SolverPlayer(mode="outcome", solver=solver).optimal_moves(GAME, state)) == [1, 2, 3, 4]


def test_ties_are_broken_at_random_and_seeded(solver):
    state = GAME.state_from_moves(ALL_WIN)
    choices = SolverPlayer(seed=0, mode="outcome", solver=solver).optimal_moves(GAME, state)
    picks = [SolverPlayer(seed=s, mode="outcome", solver=solver).select_move(GAME, state) for s in range(30)]
    assert set(picks) == set(choices)
    again = [SolverPlayer(seed=s, mode="outcome", solver=solver).select_move(GAME, state) for s in range(30)]
    assert picks == again


def test_a_solver_without_a_book_says_its_first_moves_may_take_minutes(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cs, "BOOK_PATH", tmp_path / "absent.npz")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_player("solver", GAME)
    assert "no opening book" in capsys.readouterr().err  # else a user takes its silence for a freeze
    np.savez(cs.BOOK_PATH, entries=np.zeros(0, dtype=np.int64), depth=np.int64(8))
    make_player("solver", GAME)
    assert capsys.readouterr().err == ""
