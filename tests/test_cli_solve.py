"""`selfplay solve` end to end through selfplay.cli.main: output and one-line errors."""

import json

import pytest

from selfplay.cli import main


def run(capsys, *argv):
    code = main(["solve", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_scores_and_words(capsys):
    code, out, err = run(capsys, "5512243243536")
    assert code == 0 and not err
    assert "13 stones, O to move" in out
    assert "score +13: O wins with its 3rd stone from now (its 9th)" in out
    assert "score   -3  +4 +12 +13  +8  -3  -2" in out
    assert "best: 4" in out
    assert out.index("best: 4") < out.index("column")  # the answer before the seconds-long table


def test_full_columns_are_marked(capsys):
    code, out, _ = run(capsys, "2252576253462244111563365343671351441")
    assert code == 0
    assert "score    -   -   -   -   -  -1  -2" in out
    assert "score -1: X wins with its 2nd stone from now (its 21st)" in out


def test_json(capsys):
    code, out, _ = run(capsys, "445566", "--json")
    report = json.loads(out)
    assert code == 0 and report["score"] == 18
    assert report["move_scores"]["3"] == report["move_scores"]["7"] == 18
    assert report["meaning"] == "X wins with its 1st stone from now (its 4th)"


def test_drawn_last_move(capsys):
    code, out, _ = run(capsys, "66616557746246323415254133321113272455477")
    assert code == 0 and "draw with best play" in out


@pytest.mark.parametrize("moves, message", [
    ("44a3", "not a column"),
    ("4480", "not a column"),
    ("4444444", "full"),
    ("44556671", "after the game ended"),
    ("4455667", "game is over"),
    ("666165577462463234152541333211132724554777", "board is full"),
])
def test_bad_positions_are_one_line_errors(capsys, moves, message):
    code, out, err = run(capsys, moves)
    assert code == 2 and not out
    assert err.startswith("selfplay solve: error:") and message in err and err.count("\n") == 1
