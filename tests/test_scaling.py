"""`selfplay scaling`: the test-time games' schedule, the token run's training curves and the
pieces the figure is drawn from, checked by hand; the end-to-end runs are in test_curve.py
(boards) and test_llm_curve.py (tokens), on those modules' reduced runs."""

from pathlib import Path

import pytest

from selfplay.cli import main
from selfplay.commands.scaling import parse_sims
from selfplay.errors import UserError
from selfplay.scaling import test_time_schedule as schedule_of
from selfplay.scaling import training_curves


def test_every_level_meets_every_opponent_with_colours_alternating():
    games = schedule_of(levels=2, opponents=3, games=4, played={})
    assert len(games) == 2 * 3 * 4 and [g.index for g in games] == list(range(24))
    for level in range(2):
        for opponent in range(2, 5):
            pair = [g for g in games if {g.first, g.second} == {level, opponent}]
            assert [g.first == level for g in pair] == [True, False, True, False]
    assert not any({g.first, g.second} <= {0, 1} or {g.first, g.second} <= {2, 3, 4} for g in games)


def test_a_resumed_schedule_plays_only_what_is_missing():
    games = schedule_of(levels=1, opponents=2, games=4, played={(0, 1): 3, (0, 2): 4})
    assert [(g.first, g.second, g.round) for g in games] == [(1, 0, 3)]  # round 3: the opponent starts


def test_token_training_curves_put_rl_after_sft(tmp_path):
    (tmp_path / "eval.csv").write_text(
        "phase,step,minutes,accuracy,accuracy_low,accuracy_high,teacher_accuracy\n"
        "sft,0,0.1,0.0,0.0,0.1,0.6\nsft,500,4.0,0.5,0.4,0.6,0.6\n"
        "grpo,0,0.0,0.5,0.4,0.6,0.6\ngrpo,30,2.5,0.8,0.7,0.9,0.6\n")
    curves, teacher = training_curves(tmp_path)
    assert [p["minutes"] for p in curves["sft"]] == [0.1, 4.0]
    assert [p["minutes"] for p in curves["grpo"]] == [4.0, 6.5]  # after SFT's last minute
    assert teacher == 0.6


@pytest.mark.parametrize("text, ok", [("1,16,200", [1, 16, 200]), ("200,1", [1, 200]), ("0,4", None),
                                      ("4,4", None), ("a", None), ("", None)])
def test_simulation_lists(text, ok):
    if ok is None:
        with pytest.raises(UserError):
            parse_sims(text)
    else:
        assert parse_sims(text) == ok


def test_bad_arguments_are_one_line(tmp_path, capsys):
    assert main(["scaling", "--out", str(tmp_path)]) == 2
    assert "name --boards" in capsys.readouterr().err
    assert main(["scaling", "--boards", str(tmp_path / "none"), "--out", str(tmp_path)]) == 2
    assert "is not a run directory" in capsys.readouterr().err
    assert main(["scaling", "--tokens", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
