"""The game registry (games.registry) and what differs between games as methods of the game:
names and aliases, parameters that rebuild a game, the kernel switch's ids, labels, saved
records, move hints, and the command line and run config derived from the registry."""

import argparse
import importlib

import numpy as np
import pytest

from games import GAME_NAMES, GameError, kernels, make_game
from games.connect4 import ConnectFour
from games.go import GoGame
from games.registry import GAMES, game_entry
from games.tictactoe import TicTacToe
from selfplay.configio import ConfigError, from_dict
from selfplay.training.config import GameConfig

VARIANTS = [("connect4", {}), ("tictactoe", {}), ("go", {}), ("go", dict(size=5, komi=0.5)),
            ("go", dict(size=7, komi=9.0, max_moves=40)), ("go", dict(size=19, komi=-2.5))]


# ---- names, aliases, parameters ----------------------------------------------------------------
@pytest.mark.parametrize("name, cls", [("connect4", ConnectFour), ("connect-four", ConnectFour), ("c4", ConnectFour),
                                       ("go", GoGame), ("tictactoe", TicTacToe)])
def test_every_name_and_alias_makes_its_game(name, cls):
    game = make_game(name)
    assert type(game) is cls and game.name == game_entry(name).name


def test_names_are_the_entries_and_unique():
    assert GAME_NAMES == ("connect4", "go", "tictactoe")
    names = [n for entry in GAMES for n in (entry.name, *entry.aliases)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name, params", VARIANTS)
def test_params_rebuild_the_game(name, params):
    game = make_game(name, **params)
    again = make_game(game.name, **game.params())
    assert again.label() == game.label() and again.params() == game.params()
    assert (again.num_actions, again.obs_shape, again.kernel_id) == (game.num_actions, game.obs_shape, game.kernel_id)
    assert np.array_equal(again.initial_state(), game.initial_state())
    assert set(game.params()) == set(game_entry(name).params)


@pytest.mark.parametrize("name, params, message", [
    ("chess", {}, "unknown game 'chess'; choose connect4, go, tictactoe or tokens"),
    ("Go", {}, "unknown game 'Go'"),
    ("connect4", dict(size=9), "connect4 takes no parameters, got size"),
    ("tictactoe", dict(komi=7.5), "tictactoe takes no parameters, got komi"),
    ("go", dict(board=9), "go takes only size, komi, max_moves, got board"),
    ("go", dict(size=4), "board size must be an integer from 5 to 19, got 4"),
    ("go", dict(komi=6.3), "komi must be a multiple of 0.5"),
    ("go", dict(max_moves=0), "move cap must be a positive integer"),
])
def test_unknown_names_and_bad_parameters_are_game_errors(name, params, message):
    with pytest.raises(GameError, match=message):
        make_game(name, **params)


def test_go_without_komi_takes_the_fair_komi_of_its_size():
    assert [make_game("go", size=n, komi=None).komi for n in (5, 7, 9, 13)] == [24.5, 9.0, 7.0, 7.5]
    assert GoGame(9).komi == 7.5  # the default of a given-or-not komi stays OpenSpiel's


# ---- the kernel switch -------------------------------------------------------------------------
def test_kernel_ids_are_distinct_and_each_has_its_branch():
    ids = [entry.game.kernel_id for entry in GAMES]
    assert len(set(ids)) == len(ids)
    for name, params in VARIANTS:
        game = make_game(name, **params)
        state = game.initial_state()
        out = np.zeros(game.num_actions, dtype=np.bool_)
        kernels.legal_mask(game.kernel_id, state, out)
        assert np.array_equal(out, game.legal_mask(state))
        planes = np.zeros(game.obs_shape, dtype=np.float32)
        kernels.encode(game.kernel_id, state, planes)
        assert np.array_equal(planes, game.encode(state))
        child = state.copy()
        kernels.step(game.kernel_id, child, int(game.legal_actions(state)[0]))
        assert np.array_equal(child, game.step(state, int(game.legal_actions(state)[0])))
        assert kernels.to_play(game.kernel_id, child) == 1 and not kernels.is_terminal(game.kernel_id, child)


@pytest.mark.parametrize("kernel", ["legal_mask", "step", "is_terminal", "terminal_value", "to_play", "encode",
                                    "rollout"])
def test_an_unknown_kernel_id_is_an_error_not_another_games_rules(kernel):
    state = make_game("tictactoe").initial_state()
    extra = {"legal_mask": (np.zeros(9, np.bool_),), "step": (0,), "encode": (np.zeros((3, 3, 3), np.float32),)}
    with pytest.raises(ValueError, match="no game has this kernel id"):
        getattr(kernels, kernel)(99, state, *extra.get(kernel, ()))


# ---- what differs between games: methods -------------------------------------------------------
@pytest.mark.parametrize("name, params, label", [
    ("connect4", {}, "connect4"), ("tictactoe", {}, "tictactoe"), ("go", dict(size=7, komi=9.0), "go-7x7-komi9"),
    ("go", dict(size=5, komi=0.5), "go-5x5-komi0.5"), ("go", dict(size=9, komi=-3.0), "go-9x9-komi-3"),
])
def test_labels(name, params, label):
    assert make_game(name, **params).label() == label


def test_connect_four_records_are_move_strings():
    game = make_game("connect4")
    assert game.record_suffix == ".txt"
    assert game.record_text([3, 3, 4, 2], "a", "b", "X wins", "2026-01-02") == "4453\n"


def test_tictactoe_records_are_moves_separated_by_spaces():
    game = make_game("tictactoe")
    assert game.record_suffix == ".txt"
    assert game.record_text([4, 0, 8], "a", "b", "draw", "2026-01-02") == "b2 a1 c3\n"


def test_go_records_are_sgf_as_the_arena_saves_them():
    game = make_game("go", size=5, komi=0.5)
    text = game.record_text([12, 25, 0], "mcts:sims=8", "net:runs/x]\\y", "B+24.5", "2026-01-02")
    assert game.record_suffix == ".sgf"
    assert text == ("(;FF[4]GM[1]CA[UTF-8]AP[selfplay]SZ[5]KM[0.5]RU[Chinese]PB[mcts:sims=8]"
                    "PW[net:runs/x\\]\\\\y]RE[B+24.5]DT[2026-01-02]\n;B[cc];W[];B[ae])\n")


@pytest.mark.parametrize("name, hint", [("connect4", "a column 1-7"), ("go", "a vertex such as C3, or pass"),
                                        ("tictactoe", "e.g. a1")])
def test_move_hints(name, hint):
    assert make_game(name).move_hint() == hint


@pytest.mark.parametrize("name, text, moves", [
    ("connect4", " 4453 ", ["4", "4", "5", "3"]), ("connect4", "4 4 5", ["4", "4", "5"]),
    ("go", "C3 pass D4", ["C3", "pass", "D4"]), ("tictactoe", "b2 a1", ["b2", "a1"]), ("go", "", []),
])
def test_split_moves(name, text, moves):
    assert make_game(name).split_moves(text) == moves


def test_connect_four_reads_its_records(tmp_path):
    game = make_game("connect4")
    (tmp_path / "a.txt").write_text("# comment\n4455\n1212121 1-0\n")
    records, skipped = game.read_records(tmp_path)
    assert skipped == [] and [r.actions for r in records] == [[3, 3, 4, 4], [0, 1, 0, 1, 0, 1, 0]]
    assert records[0].returns is None and records[1].returns == (1.0, -1.0) and records[1].start is None
    (tmp_path / "b.txt").write_text("4455\n44444444\n")
    with pytest.raises(GameError, match="b.txt:2"):
        game.read_records(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(GameError, match="no Connect Four game files"):
        game.read_records(tmp_path / "empty")


def test_go_reads_the_sgf_files_of_its_board_size(tmp_path):
    seven, five = make_game("go", size=7, komi=9.0), make_game("go", size=5, komi=0.5)
    (tmp_path / "a.sgf").write_text(seven.record_text([24, 49, 25], "b", "w", "?", "2026-01-02"))
    (tmp_path / "b.sgf").write_text(five.record_text([12], "b", "w", "?", "2026-01-02"))
    (tmp_path / "c.sgf").write_text("(;SZ[7];B[dd];W[dd])")  # illegal: the point is taken
    (tmp_path / "d.sgf").write_text("(;SZ[7]AB[aa]PL[W];W[bb])")
    records, skipped = seven.read_records(tmp_path)
    assert [r.actions for r in records] == [[24, 49, 25], [seven.parse_move("B6")]]
    assert len(skipped) == 2 and "b.sgf: a 5x5 game, not 7x7" in skipped[0] and "c.sgf" in skipped[1]
    assert records[0].start is None and records[0].returns is None
    assert seven.board(records[1].start)[6, 0] == 1 and seven.to_play(records[1].start) == 1


def test_a_game_without_a_record_reader_says_so(tmp_path):
    with pytest.raises(GameError, match="tictactoe: there is no reader of game records"):
        make_game("tictactoe").read_records(tmp_path)


# ---- what is derived from the registry ---------------------------------------------------------
def test_the_run_config_takes_the_registry_names_and_the_games_checks():
    with pytest.raises(ConfigError, match="'chess' is not one of 'connect4', 'go', 'tictactoe'"):
        from_dict(GameConfig, {"name": "chess"}, "game")
    with pytest.raises(ConfigError, match="game: go: board size must be an integer from 5 to 19, got 4"):
        from_dict(GameConfig, {"name": "go", "size": 4}, "game")
    config = from_dict(GameConfig, {"name": "go", "size": 7, "komi": 9.0}, "game")
    assert config.params() == {"size": 7, "komi": 9.0, "max_moves": None}
    assert config.make().params() == {"size": 7, "komi": 9.0, "max_moves": 98}
    assert from_dict(GameConfig, {"name": "connect4", "size": 4}, "game").params() == {}  # not a Connect Four parameter


def _choices(command: str, dest: str) -> tuple:
    sub = argparse.ArgumentParser().add_subparsers()
    importlib.import_module(f"selfplay.commands.{command}").add_parser(sub)
    (parser,) = sub.choices.values()
    return tuple(next(a for a in parser._actions if a.dest == dest).choices)


@pytest.mark.parametrize("command, dest", [("play", "game"), ("arena", "game")])
def test_command_line_game_choices_are_the_registry_names(command, dest):
    assert _choices(command, dest) == GAME_NAMES
