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
from selfplay.training.imitation import read_expert_games

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("argv, message", [
    (["solve", "4\u00b2"], "move 2 ('\u00b2') of '4\u00b2' is not a column 1-7"),     # a superscript digit
    (["solve", "4\u0663"], "is not a column 1-7"),                                  # an Arabic-Indic digit
    (["solve", "4" * 5000], "'4444444444444444444444444444444444444444'... plays in column 4, which is full"),
    (["train", str(ROOT / "configs" / "smoke.yaml"), "seed=-1"], "seed must be 0 or more, got -1"),
    (["play", "connect4", "--x", "random:seed=-5", "--o", "random"], "random: seed must be 0 or more, got -5"),
    (["train", str(ROOT / "configs" / "smoke.yaml"), "selfplay.temperature=.inf"],
     "selfplay.temperature: expected a finite number, got inf"),   # accepted, then sampled illegal moves
    (["elo", str(ROOT / "tests" / "data" / "none.csv"), "--prior-draws", "nan"],
     "argument --prior-draws: expected a finite number, got 'nan'"),  # printed a table of nan
    (["play", "go", "--komi", "inf"], "argument --komi: expected a finite number, got 'inf'"),
    (["play", "connect4", "--x", "mcts:sims=8,c=nan", "--o", "random"], "mcts: option c='nan' is not a finite number"),
])
def test_the_command_names_the_problem(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse refuses an option's value itself, after the usage lines
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and message in err.splitlines()[-1] and "Traceback" not in err


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
    # option values, checked for the run's game without building the player
    ("rating.pool=random;mcts:sims=-1", "rating.pool: mcts: sims must be >= 0, got -1"),
    ("eval.opponents=expert:depth=99", "eval.opponents: expert: depth=99 must be from 1 to 42"),
    ("rating.expert=expert:level=10", "rating.expert: expert: unknown option 'level'; known options: depth, seed"),
    ("rating.pool=net:runs/nowhere,temp=-1", "rating.pool: net: temp=-1 must be 0 (best move) or more"),
    ("eval.opponents=solver:mode=perfect", "eval.opponents: solver: mode='perfect' is not one of best, outcome"),
    ("eval.opponents=gtp:gnugo", "eval.opponents: gtp: a GTP engine plays go only, not connect4"),
])
def test_a_bad_spec_in_a_pool_is_refused_before_the_run_starts(tmp_path, override, message, capsys):
    assert main(["train", str(ROOT / "configs" / "smoke.yaml"), override, "--runs", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # no run directory was made


def test_checking_a_config_builds_no_player(tmp_path, monkeypatch):
    """The checks read no checkpoint, start no engine, need no GNU Go: a Go run whose pool names
    a network not trained yet and GNU Go as its expert validates on a machine without either."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no gnugo, no engine of any kind
    config = load_config(RunConfig, ROOT / "configs" / "go7.yaml",
                         [f"rating.pool=random;net:{tmp_path / 'not-yet'},sims=8", "rating.expert=expert:level=5"])
    assert config.rating.expert == "expert:level=5"


def test_a_results_file_in_a_folder_that_does_not_exist_is_refused(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "results.csv"
    assert main(["arena", "random", "random:seed=2", "--games", "2", "--results", str(target)]) == 2
    assert f"the folder {target.parent} does not exist" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()  # the typo grew no tree of folders


def test_sft_says_why_it_skipped_each_file(tmp_path):
    """`sft --games DIR` once said "skipped 34 SGF files" and no reason for any."""
    seven, five = make_game("go", size=7, komi=9.0), make_game("go", size=5, komi=0.5)
    (tmp_path / "a.sgf").write_text(seven.record_text([24, 25], "b", "w", "?", "2026-01-02"))
    (tmp_path / "b.sgf").write_text(five.record_text([12], "b", "w", "?", "2026-01-02"))
    (tmp_path / "c.sgf").write_text("(;SZ[7];B[dd];W[dd])")
    lines = []
    assert len(read_expert_games(tmp_path, seven, log=lines.append)) == 1
    (line,) = lines
    assert line.startswith("skipped 2 .sgf files: ") and "b.sgf: a 5x5 game, not 7x7" in line
    assert "c.sgf: " in line.split("; ")[1]
