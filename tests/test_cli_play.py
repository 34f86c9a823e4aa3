"""`selfplay play` end to end with scripted input, bad input included."""

import argparse

import pytest

from selfplay.cli import build_parser, main
from selfplay.commands import play


def run_play(argv, lines):
    args = build_parser().parse_args(["play", *argv])
    feed = iter(lines)
    out = []

    def read_line(prompt):
        out.append(prompt)
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    code = play.run(args, read_line=read_line, write=out.append)
    return code, "\n".join(out)


def test_human_vs_human_connect4_to_a_win():
    code, out = run_play(["connect4", "--o", "human"], ["4", "5", "4", "5", "4", "5", "4"])
    assert code == 0 and "result: X wins" in out


def test_bad_input_reprompts_with_a_reason():
    code, out = run_play(["connect4", "--o", "human"],
                         ["9", "abc", "", "4", "4", "4", "4", "4", "4", "4", "quit"])
    assert "'9' is not a column" in out and "'abc' is not a column" in out
    assert "not legal" in out  # the 7th stone in column 4
    assert "moves: a column 1-7" in out  # empty input shows help
    assert out.endswith("game abandoned")


def test_undo_takes_back_the_move_and_the_reply():
    code, out = run_play(["connect4", "--o", "random"], ["undo", "4", "undo", "quit"])
    assert "nothing to undo" in out
    boards = [chunk for chunk in out.split("X to move> ") if "|" in chunk]
    assert boards[-1].count("X") == 0 and boards[-1].count("O") == 0  # back to the empty board


def test_random_vs_random_finishes():
    code, out = run_play(["connect4", "--x", "random", "--o", "random"], [])
    assert code == 0 and "result:" in out


def test_go_human_pass_pass_ends_the_game():
    code, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "human"],
                         ["C3", "Z9", "I1", "C3", "pass", "pass"])
    assert code == 0 and "result: B+" in out
    assert "Z9" in out and "I1" in out  # both refused with a message naming them


def test_eof_quits_cleanly():
    code, out = run_play(["tictactoe"], [])
    assert code == 0 and "game abandoned" in out


def test_bad_player_spec_is_a_clear_error(capsys):
    assert main(["play", "connect4", "--o", "grandmaster"]) == 2
    err = capsys.readouterr().err
    assert "unknown player 'grandmaster'" in err and "Traceback" not in err


def test_bad_start_moves_are_a_clear_error(capsys):
    assert main(["play", "connect4", "--x", "random", "--start", "4444444"]) == 2
    assert "not legal" in capsys.readouterr().err
