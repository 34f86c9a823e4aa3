"""`selfplay play` end to end with scripted input, bad input included."""

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


def analysis_lines(out):
    """The moves of the first hint: (move, share) pairs, and its value line."""
    lines = out.split("hint from ", 1)[1].splitlines()
    value = next(line for line in lines if "value" in line)
    moves = []
    for line in lines[2:]:
        if not line.strip() or line.strip().startswith("pv:"):
            break
        parts = line.split()
        moves.append((parts[0], float(parts[1].rstrip("%")) / 100))
    return value, moves


def test_hint_from_the_engine_in_the_game():
    code, out = run_play(["connect4", "--o", "mcts:sims=200,seed=1"], ["hint", "4", "quit"])
    assert code == 0 and "hint from mcts(sims=200" in out
    value, moves = analysis_lines(out)
    assert "X to move: value" in value and "after 200 visits" in value
    assert 1 <= len(moves) <= 5 and all(0 <= share <= 1 for _, share in moves)
    assert [share for _, share in moves] == sorted((share for _, share in moves), reverse=True)
    assert "O plays" in out  # the game went on after the hint


def test_hint_without_an_engine_finds_the_winning_move():
    # X has three in column 1: a rollout search (no engine in a human vs random game) sees the win
    code, out = run_play(["connect4", "--o", "random", "--start", "121212"], ["eval", "quit"])
    assert "hint from mcts(sims=2000" in out
    value, moves = analysis_lines(out)
    assert moves[0][0] == "1" and moves[0][1] > 0.5
    assert float(value.split("value ")[1].split()[0]) > 0.5
    assert "pv: 1" in out


def test_resign_ends_the_game_as_a_loss():
    code, out = run_play(["go", "--size", "5", "--x", "random:seed=1", "--o", "human"], ["resign"])
    assert code == 0 and "White (human) resigns" in out and out.endswith("result: B+R")
    code, out = run_play(["connect4", "--o", "human"], ["4", "resign"])
    assert "O (human) resigns" in out and out.endswith("result: X wins by resignation")
