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
    assert "column 4 is full" in out  # the 7th stone in column 4
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
                         ["C3", "Z9", "I1", "C3", "pass", "pass", "pass"])
    assert code == 0 and "result: B+" in out
    assert "Z9" in out and "I1" in out  # both refused with a message naming them


def test_go_shows_the_rules_and_komi_first():
    _, out = run_play(["go", "--size", "7", "--o", "human"], ["quit"])
    first_prompt = out.index("Black to move> ")
    assert "Go 7x7, komi 9: area scoring" in out[:first_prompt] and "positional superko" in out
    assert "two passes in a row end the game" in out


def test_the_first_prompt_is_preceded_by_the_commands():
    _, out = run_play(["connect4", "--o", "human"], ["quit"])
    intro = out.split("X to move> ")[0].splitlines()[-1]
    assert "help" in intro and "hint" in intro and "save FILE" in intro and "undo" in intro
    assert "the first to line up four" in out
    assert out.count("type a move") == 1  # once, not once per human


def test_a_pass_that_ends_the_game_asks_for_confirmation():
    # White passes: Black is told that a pass of his ends the game, and must type pass twice
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "human"],
                         ["C3", "pass", "pass", "D4", "pass", "pass", "pass"])
    assert "White passed: if Black passes too, the game ends (the count now: B+24.5)" in out
    assert out.count("this pass ends the game") == 2  # a move in between cancels the first
    assert out.count("White passed: if Black passes too") == 2  # D4 was played, then White passed
    assert "Black passed after a pass: the game is over" in out and "result: B+" in out


def test_a_first_pass_is_announced_without_confirmation():
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "human"], ["pass", "C3", "quit"])
    assert "Black passed: if White passes too, the game ends (the count now: W+0.5)" in out
    assert "this pass ends the game" not in out and "(O)" in out  # White's C3 was played


def test_the_end_of_a_go_game_shows_the_area_count():
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "human"],
                         ["C3", "pass", "pass", "pass"])
    assert "Black: 1 stone + 24 territory = 25" in out
    assert "White: 0 stones + 0 territory = 0 + komi 0.5 = 0.5" in out
    assert "captures: Black 0, White 0" in out and out.endswith("result: B+24.5")


def test_the_winning_four_is_named_and_marked():
    _, out = run_play(["connect4", "--o", "human"], ["4", "5", "4", "5", "4", "5", "4"])
    assert "X wins: d1 d2 d3 d4 (marked *X*)" in out
    final_board = out.split("X wins:")[0]
    assert final_board.count("*X*") == 4
    assert out.endswith("result: X wins")


def test_save_writes_the_game_so_far_and_goes_on(tmp_path):
    target = tmp_path / "game.txt"
    _, out = run_play(["connect4", "--o", "human", "--start", "44"],
                         ["5", f"save {target}", "5", "quit"])
    assert target.read_text() == "445\n" and f"saved 3 moves to {target}" in out
    assert "O to move> " in out.split("saved 3 moves")[1]  # O's 5 came after the save
    assert [p.name for p in tmp_path.iterdir()] == ["game.txt"]  # no temporary file left


def test_save_go_writes_sgf(tmp_path):
    target = tmp_path / "game.sgf"
    run_play(["go", "--size", "5", "--o", "human"], ["C3", "pass", f"save {target}", "quit"])
    text = target.read_text()
    assert text.startswith("(;FF[4]") and "SZ[5]" in text and ";B[cc];W[]" in text


def test_save_to_a_bad_path_is_a_one_line_error(tmp_path):
    _, out = run_play(["connect4", "--o", "human"],
                         ["save", f"save {tmp_path}/no/such/folder/g.txt", f"save {tmp_path}", "4", "quit"])
    assert "save: name a file" in out
    assert "there is no folder" in out and not (tmp_path / "no").exists()
    assert "it is a folder" in out
    assert out.endswith("game abandoned") and "Traceback" not in out and "[X]" in out  # the game went on


def test_save_after_undo_leaves_out_the_moves_taken_back(tmp_path):
    target = tmp_path / "g.txt"
    # O's undo takes back O's 5 and X's 3 played since
    run_play(["connect4", "--o", "human"], ["4", "5", "3", "undo", f"save {target}", "quit"])
    assert target.read_text() == "4\n"


def test_a_shipped_network_shows_its_card():
    line = play.shipped_network_strength("net:c4,sims=20")
    assert line and "selfplay/agents/c4.md" in line
    assert play.shipped_network_strength("random") is None
    assert play.shipped_network_strength("mcts:sims=20") is None
    assert play.shipped_network_strength("net:runs/somewhere") is None


def test_a_strength_line_of_the_card_is_quoted(tmp_path, monkeypatch):
    card = tmp_path / "c4.md"
    card.write_text("# net:c4\n\nSome words.\n\n**Strength:** beats the depth-2 expert 74% of games\n")
    monkeypatch.setattr(play, "card_path", lambda name: card)
    assert play.shipped_network_strength("net:c4") == (
        "net:c4, beats the depth-2 expert 74% of games (model card: selfplay/agents/c4.md)")
    card.unlink()
    assert play.shipped_network_strength("net:c4") is None  # no card, no line


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
    _, out = run_play(["connect4", "--o", "random", "--start", "121212"], ["eval", "quit"])
    assert "hint from mcts(sims=2000" in out
    value, moves = analysis_lines(out)
    assert moves[0][0] == "1" and moves[0][1] > 0.5
    assert float(value.split("value ")[1].split()[0]) > 0.5
    assert "pv: 1" in out


def test_resign_ends_the_game_as_a_loss():
    code, out = run_play(["go", "--size", "5", "--x", "random:seed=1", "--o", "human"], ["resign"])
    assert code == 0 and "White (human) resigns" in out and out.endswith("result: B+R")
    _, out = run_play(["connect4", "--o", "human"], ["4", "resign"])
    assert "O (human) resigns" in out and out.endswith("result: X wins by resignation")


class PassingEngine:
    """An opponent that always passes: the engine's pass after the human's, made certain."""

    name = "passer"

    def reset(self, game):
        pass

    def observe(self, game, state, action):
        pass

    def select_move(self, game, state):
        return game.pass_action


def with_passing_white(monkeypatch):
    real = play.make_player
    monkeypatch.setattr(play, "make_player",
                        lambda spec, game, **context: PassingEngine() if spec == "passer" else real(spec, game, **context))


def test_the_engines_pass_after_the_humans_ends_the_game_with_the_count(monkeypatch):
    with_passing_white(monkeypatch)
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "passer"], ["C3", "pass"])
    # C3, White passes; Black's pass would end the game: asked to confirm, and EOF quits instead
    assert "White plays pass" in out and "this pass ends the game" in out and out.endswith("game abandoned")
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--x", "passer", "--o", "human"], ["pass"])
    # White's pass ends it: the human was warned and did not confirm
    assert "Black passed: if White passes too, the game ends (the count now: W+0.5)" in out
    assert "this pass ends the game (two passes in a row), result W+0.5" in out
    _, out = run_play(["go", "--size", "5", "--komi", "0.5", "--o", "passer"], ["pass"])
    # the human passes first: told the engine can end it, then the engine does
    assert "Black passed: if White passes too, the game ends" in out
    assert "White plays pass" in out and "White passed after a pass: the game is over" in out
    assert "White: 0 stones + 0 territory = 0 + komi 0.5 = 0.5" in out and out.endswith("result: W+0.5")
