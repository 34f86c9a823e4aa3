"""Hostile input from the command line ends in the command's own error (exit code 2, one line
naming what is wrong), never a traceback (issue 19's list; more cases join as they are fixed)."""

from pathlib import Path

import pytest

from games import GameError, MoveParseError, make_game
from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.players import PlayerSpecError, make_player
from selfplay.training.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, message", [
    (["solve", "4\u00b2"], "move 2 ('\u00b2') of '4\u00b2' is not a column 1-7"),     # a superscript digit
    (["solve", "4\u0663"], "is not a column 1-7"),                                  # an Arabic-Indic digit
    (["solve", "4" * 5000], "'4444444444444444444444444444444444444444'... plays in column 4, which is full"),
    (["train", str(ROOT / "configs" / "smoke.yaml"), "seed=-1"], "seed must be 0 or more, got -1"),
    (["play", "connect4", "--x", "random:seed=-5", "--o", "random"], "random: seed must be 0 or more, got -5"),
])
def test_the_command_names_the_problem(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.splitlines()) <= 2


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"seed: 1\n\xff\xfe bad\n")
    for config_class in (RunConfig, LLMConfig):
        with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte 0xff at offset 8\)"):
            load_config(config_class, path)
    with pytest.raises(ConfigError, match="seed must be 0 or more"):
        load_config(LLMConfig, None, ["seed=-3"])


def test_only_ascii_digits_are_moves():
    connect4, go = make_game("connect4"), make_game("go", size=7, komi=9.0)
    for text in ("\u00b2", "\u0664", "\uff14"):  # superscript 2, Arabic-Indic 4, fullwidth 4
        with pytest.raises(MoveParseError):
            connect4.parse_move(text)
        with pytest.raises(MoveParseError):
            go.parse_move("C" + text)
    assert connect4.split_moves("4\u00b2") == ["4\u00b2"]  # not split into columns


def test_a_negative_seed_in_any_player_spec_is_refused():
    game = make_game("connect4")
    for spec in ("random:seed=-1", "mcts:sims=8,seed=-2"):
        with pytest.raises(PlayerSpecError, match="seed must be 0 or more"):
            make_player(spec, game)


def test_a_games_file_that_is_not_utf8_names_the_file(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"44\xff55\n")
    with pytest.raises(GameError, match=r"a.txt is not UTF-8 text \(byte 0xff at offset 2\)"):
        make_game("connect4").read_records(tmp_path)


def test_save_games_to_a_place_that_cannot_hold_them_fails_before_any_game(tmp_path, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    argv = ["arena", "random", "random:seed=2", "--game", "connect4", "--games", "2", "--save-games", str(blocked),
            "--results", str(tmp_path / "results.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"--save-games {blocked}: cannot write games there" in err and "Traceback" not in err
    assert not (tmp_path / "results.csv").exists()  # no game was played


@pytest.mark.parametrize("override, message", [
    ("eval.opponents=random;mtcs:sims=10", "eval: opponents: unknown player 'mtcs'"),
    ("rating.pool=random;mcts:sims=10,\"x", "rating: pool: player spec"),
    ("rating.anchor=rnadom", "rating: anchor: unknown player 'rnadom'"),
])
def test_a_bad_spec_in_a_pool_is_refused_before_the_run_starts(tmp_path, override, message, capsys):
    assert main(["train", str(ROOT / "configs" / "smoke.yaml"), override, "--runs", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no run directory was made
