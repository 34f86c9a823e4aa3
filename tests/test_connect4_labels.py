"""Solver-labelled Connect Four positions: each line's scores are the solver's, checked move by
move against a search of the position after the move (the best columns' exact score, the others
below it); the benchmark files stay held out; the targets are hand-computed; SFT trains on them
end to end."""

import json

import numpy as np
import pytest

from games.connect4 import MASK, POSITION, ConnectFour
from games.connect4_solver import ILLEGAL, Solver, book_key
from selfplay.cli import main
from selfplay.experts.connect4_labels import (
    BELOW,
    LabelSettings,
    generate_labels,
    held_out_keys,
    label_batch,
    opening_labels,
    plies_to_end,
    read_labelled_positions,
    solver_targets,
)
from selfplay.experts.settings import ExpertGamesError
from selfplay.training.imitation import run_imitation

GAME = ConnectFour()
LATE = 30  # positions with 30+ stones: the solver answers at once
LATE_ONLY = LabelSettings(random_plies=LATE, min_ply=LATE)  # random play up to LATE, labels from it


def test_targets_by_hand():
    scores = np.array([[ILLEGAL, 3, 3, -2, 0, -5, ILLEGAL],   # two moves win fastest
                       [-1, -4, -1, -1, -9, -3, -2],             # every move loses
                       [0, -2, ILLEGAL, 0, -1, 0, -6]], np.int8)  # the best is a draw
    policy, value = solver_targets(scores)
    assert policy[0].tolist() == [0, .5, .5, 0, 0, 0, 0] and value[0] == 1
    assert np.allclose(policy[1], [1 / 3, 0, 1 / 3, 1 / 3, 0, 0, 0]) and value[1] == -1
    assert np.allclose(policy[2], [1 / 3, 0, 0, 1 / 3, 0, 1 / 3, 0]) and value[2] == 0
    best_only = np.where((scores == ILLEGAL) | (scores == scores.max(axis=1, keepdims=True)), scores, BELOW)
    again = solver_targets(best_only.astype(np.int8))  # the "<" lines: the same targets
    assert np.array_equal(again[0], policy) and np.array_equal(again[1], value)


def test_plies_to_end_is_the_length_of_perfect_play():
    """Both sides play an exact-best move (the fastest win, the slowest loss) until the game ends:
    as many plies as plies_to_end reads off the score."""
    solver = Solver(log_size=20, book=False)
    rng = np.random.default_rng(4)
    checked = 0
    for _, line in label_batch(LabelSettings(random_plies=LATE - 4, min_ply=LATE - 4), np.zeros(0, np.int64),
                               seed=11, count=12):
        moves = line.split()[0]
        state = GAME.state_from_moves(moves)
        score = int(solver.solve(state))
        plies = 0
        while not GAME.is_terminal(state):
            scores = solver.move_scores(state)
            state = GAME.step(state, int(rng.choice(np.flatnonzero(scores == scores.max()))))
            plies += 1
        assert plies_to_end(len(moves), score) == plies, (moves, score)
        checked += score != 0
    assert checked >= 5  # most of them decided, not drawn


def test_discounted_targets_by_hand():
    scores = np.array([[ILLEGAL, 3, 3, -2, 0, -5, ILLEGAL],  # 30 stones, X to move, wins with its 19th: 7 plies
                       [-1, -4, -1, -1, -9, -3, -2]], np.int8)  # 31 stones, O to move, X wins with its 21st: 10 plies
    _, value = solver_targets(scores, [30, 31], value_discount=0.9)
    assert value.tolist() == pytest.approx([0.9 ** 7, -0.9 ** 10])


def test_labels_are_the_solvers_scores_move_by_move():
    lines = label_batch(LATE_ONLY, np.zeros(0, np.int64), seed=3, count=40)
    assert len(lines) >= 40 and all(key == line.split()[0] for key, line in lines)
    checked = 0
    solver = Solver(log_size=20, book=False)
    for _, line in lines[:15]:
        moves, *fields = line.split()
        state = GAME.state_from_moves(moves)
        assert len(moves) >= LATE
        exact = []
        for col, field in enumerate(fields):
            if field == "-":
                assert not GAME.legal_mask(state)[col]
                continue
            child = GAME.step(state, col)
            exact.append((22 - (len(moves) + 2) // 2) if GAME.is_terminal(child) and GAME.winner(child) is not None
                         else 0 if GAME.is_terminal(child) else -solver.solve(child))
        best = max(exact)
        given = [f for f in fields if f != "-"]
        assert [int(f) if f != "<" else "<" for f in given] == [s if s == best else "<" for s in exact], moves
        checked += given.count("<") > 0
    assert checked >= 5  # most positions have a worse move


def test_early_positions_come_from_the_opening_book_at_once():
    """With the book, the first plies cost nothing: a batch from the first stone on, its 3- and
    4-stone rows checked against every column's score (each a book entry)."""
    lines = label_batch(LabelSettings(), np.zeros(0, np.int64), seed=8, count=10)
    assert min(len(key) for key, _ in lines) == 1
    solver = Solver(log_size=22)
    early = [(moves, line) for moves, line in lines if len(moves) in (3, 4)]
    assert early
    for moves, line in early:
        scores = solver.move_scores(GAME.state_from_moves(moves))
        assert line.split()[1:] == [str(s) if s == scores.max() else "<" for s in scores], moves


def test_moves_before_min_ply_follow_the_solver_after_the_random_ones(monkeypatch):
    """Past --random-plies the games play the solver's best moves (a game's epsilon drawn as 0
    here) also before --min-ply, where nothing is labelled: every move from the third to the
    eighth of each labelled 8-stone position is best by the book's score of every column."""
    real_rng = np.random.default_rng

    class NoEpsilon:  # epsilon and every coin flip come out 0: no random moves past the opening
        def __init__(self, seed):
            self.inner = real_rng(seed)

        def random(self):
            return 0.0

        def choice(self, options):
            return self.inner.choice(options)

    monkeypatch.setattr(np.random, "default_rng", NoEpsilon)  # label_batch's generator
    lines = label_batch(LabelSettings(random_plies=2, min_ply=8, max_ply=8), np.zeros(0, np.int64), seed=6, count=12)
    assert len(lines) >= 12 and {len(moves) for moves, _ in lines} == {8}
    solver = Solver(log_size=22)
    for moves, _ in lines:
        for ply in range(2, 8):
            scores = solver.move_scores(GAME.state_from_moves(moves[:ply]))
            assert scores[int(moves[ply]) - 1] == scores.max(), (moves, ply)
    assert len({moves[:2] for moves, _ in lines}) > 1  # the first two moves stay random


def test_held_out_positions_and_their_mirrors_are_never_labelled(tmp_path):
    lines = label_batch(LATE_ONLY, np.zeros(0, np.int64), seed=5, count=30)
    first = lines[0][0]
    mirrored = "".join(str(8 - int(c)) for c in lines[1][0])
    held = tmp_path / "held.txt"
    held.write_text(f"{first}\n{mirrored}\n")
    excluded = held_out_keys([held])
    again = label_batch(LATE_ONLY, excluded, seed=5, count=30)
    keys = {book_key(s[POSITION], s[MASK]) for s in (GAME.state_from_moves(k) for k, _ in again)}
    assert not keys & set(excluded.tolist())
    assert len(again) >= 30 and first not in dict(again)


def test_a_rerun_continues_and_other_settings_are_refused(tmp_path):
    out = tmp_path / "labels"
    assert generate_labels(out, 25, seed=1, random_plies=LATE, min_ply=LATE, held_out=[]) == 25
    before = (out / "positions.txt").read_text()
    assert generate_labels(out, 60, seed=2, random_plies=LATE, min_ply=LATE, held_out=[]) == 35
    after = (out / "positions.txt").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 60
    moves, scores = read_labelled_positions(out)
    assert len(moves) == 60 and len(set(moves)) == 60 and scores.shape == (60, 7)
    with pytest.raises(ExpertGamesError, match="other settings"):
        generate_labels(out, 70, random_plies=LATE, min_ply=LATE + 1, held_out=[])


def test_max_ply_stops_each_game_there(tmp_path):
    settings = LabelSettings(random_plies=LATE, min_ply=LATE, max_ply=LATE + 2)
    lines = label_batch(settings, np.zeros(0, np.int64), seed=4, count=30)
    assert {len(moves) for moves, _ in lines} <= {LATE, LATE + 1, LATE + 2}
    with pytest.raises(ExpertGamesError, match="--max-ply must be in 30..41"):
        generate_labels(tmp_path / "bad", 10, min_ply=LATE, max_ply=LATE - 1, held_out=[])


def test_a_directory_made_before_a_setting_existed_continues(tmp_path):
    """meta.json without max_ply (labels made before the option) reads as the default it was made with."""
    out = tmp_path / "labels"
    assert generate_labels(out, 10, seed=1, min_ply=LATE, held_out=[]) == 10
    meta = json.loads((out / "meta.json").read_text())
    del meta["max_ply"]
    (out / "meta.json").write_text(json.dumps(meta))
    assert generate_labels(out, 20, seed=2, min_ply=LATE, held_out=[]) == 10
    with pytest.raises(ExpertGamesError, match="max_ply=41 \\(now 35\\)"):
        generate_labels(out, 30, min_ply=LATE, max_ply=35, held_out=[])
    (out / "meta.json").write_text("[1, 2]")
    with pytest.raises(ExpertGamesError, match="holds no settings"):
        generate_labels(out, 30, min_ply=LATE, held_out=[])


def test_a_directory_of_the_earlier_games_is_not_continued_with_the_new_ones(tmp_path):
    """Before 2026-12-05 the moves up to --min-ply were random; a folder made then (its meta.json
    has no unlabelled_moves) continues only where the games are the same (--random-plies at least
    --min-ply) and is refused, naming the difference, where they are not."""
    def made_before_the_change(out, **options):
        generate_labels(out, 5, seed=1, held_out=[], **options)
        meta = json.loads((out / "meta.json").read_text())
        assert meta.pop("unlabelled_moves") == ("best" if options["random_plies"] < options["min_ply"] else "random")
        (out / "meta.json").write_text(json.dumps(meta))

    same = tmp_path / "same"
    made_before_the_change(same, random_plies=LATE, min_ply=LATE)
    assert generate_labels(same, 10, seed=2, random_plies=LATE, min_ply=LATE, held_out=[]) == 5
    other = tmp_path / "other"
    made_before_the_change(other, random_plies=LATE - 2, min_ply=LATE)
    with pytest.raises(ExpertGamesError, match="unlabelled_moves='random' \\(now 'best'\\)"):
        generate_labels(other, 10, seed=2, random_plies=LATE - 2, min_ply=LATE, held_out=[])


@pytest.mark.parametrize("text, message", [
    ("4455 1 2 3\n", "expected 'MOVES' and 7 scores"),
    ("4455 1 2 x 0 0 0 0\n", "must be integers"),
    ("4455 1 < 3 < < < <\n", "the others must all be the best"),
    ("4455 < < < < < < <\n", "the others must all be the best"),
    ("4455 1 2 3 - 0 0 0\n", "a score per legal column"),
    ("444444 1 2 3 4 0 0 0\n", "a score per legal column"),
    ("4444444 1 2 3 - 0 0 0\n", "column 4, which is full"),
    ("1212121 0 0 0 0 0 0 0\n", "the game is over"),
    ("# nothing\n", "no labelled positions"),
])
def test_bad_label_files_name_the_line(tmp_path, text, message):
    path = tmp_path / "positions.txt"
    path.write_text(text)
    with pytest.raises(ExpertGamesError, match=message):
        read_labelled_positions(path)


def test_both_formats_read(tmp_path):
    path = tmp_path / "positions.txt"
    path.write_text("4455 1 2 3 4 0 0 0\n4455 < < < 4 < < <\n")
    moves, scores = read_labelled_positions(path)
    assert moves == ["4455", "4455"] and scores[1].tolist() == [BELOW] * 3 + [4] + [BELOW] * 3
    assert np.array_equal(solver_targets(scores)[0][0], solver_targets(scores)[0][1])


def test_non_utf8_labels_are_a_clear_error(tmp_path):
    path = tmp_path / "positions.txt"
    path.write_bytes(b"4455 \xff\n")
    with pytest.raises(ExpertGamesError, match="not UTF-8"):
        read_labelled_positions(path)


def test_command_then_sft_on_the_labels(tmp_path, capsys):
    out = tmp_path / "labels"
    assert main(["solver-labels", "--positions", "120", "--out", str(out), "--min-ply", str(LATE),
                 "--held-out", "--seed", "4"]) == 0
    assert "120 positions added" in capsys.readouterr().out
    overrides = ["total_steps=30", "network.channels=16", "network.blocks=1", "optim.batch_size=32",
                 "sft.validation_share=0.25", "sft.validate_every=30", "eval.every_steps=0"]
    trainer = run_imitation(tmp_path / "sft", None, "configs/smoke.yaml", overrides, log=lambda m: None,
                            positions_path=out)
    assert trainer.step == 30 and len(trainer.validation) == 30
    assert 0 <= trainer.validate()["val/move_accuracy"] <= 1
    assert main(["sft", "configs/go7.yaml", "--positions", str(out), "--runs", str(tmp_path)]) == 2
    assert "Connect Four positions" in capsys.readouterr().err


def test_a_stopped_command_says_what_it_kept(tmp_path, capsys, monkeypatch):
    """Ctrl-C or SIGTERM (fill_store raises Stopped; tests/test_expert_games.py sends the real
    signal): the count kept and how to continue, exit status 130, no traceback."""
    import selfplay.commands.solver_labels as command
    from selfplay.experts.games import Stopped

    def stopped(*args, **kwargs):
        raise Stopped(3, 10, "position")
    monkeypatch.setattr(command, "generate_labels", stopped)
    assert main(["solver-labels", "--positions", "50", "--out", str(tmp_path / "x")]) == 130
    assert "stopped with 10 positions (3 added); rerun to continue" in capsys.readouterr().err


def _all_positions(stones: int) -> tuple[int, set[int]]:
    """Brute force: every move sequence of ``stones`` moves (no game ends that early), the
    distinct positions it reaches and their mirror-folded keys."""
    sequences = [""]
    for _ in range(stones):
        sequences = [m + str(c) for m in sequences for c in range(1, 8) if (m + str(c)).count(str(c)) <= 6]
    states = [GAME.state_from_moves(m) for m in sequences]
    distinct = {(int(s[POSITION]), int(s[MASK])) for s in states}
    return len(distinct), {int(book_key(s[POSITION], s[MASK])) for s in states}


def test_opening_labels_hold_every_position_once_with_the_negamax_scores(tmp_path):
    """Every position of 1-4 stones, mirror images once: the unfolded counts are OEIS A212693's
    (7, 49, 238, 1120), the folded ones a brute force's. Allis's first moves: the edge columns
    and their neighbours lose for the first player, the centre wins, the others draw. Each line's
    score is minus its best child's line (negamax across the file)."""
    assert opening_labels(tmp_path, 4, held_out=[]) == sum(len(_all_positions(n)[1]) for n in range(1, 5))
    assert [_all_positions(n)[0] for n in range(1, 5)] == [7, 49, 238, 1120]
    moves, scores = read_labelled_positions(tmp_path)
    best = dict(zip(moves, np.where(scores == ILLEGAL, -99, scores).max(axis=1).tolist()))
    assert {m: np.sign(best[m]) for m in moves if len(m) == 1} == {"1": 1, "2": 1, "3": 0, "4": -1}
    keyed = {}
    for m, score in best.items():
        state = GAME.state_from_moves(m)
        keyed[int(book_key(state[POSITION], state[MASK]))] = score
    for m, row in zip(moves, scores):
        if len(m) == 4:
            continue
        state = GAME.state_from_moves(m)
        children = []
        for col in np.flatnonzero(GAME.legal_mask(state)):
            child = GAME.step(state, int(col))
            children.append(-keyed[int(book_key(child[POSITION], child[MASK]))])
        assert best[m] == max(children), m
        assert [c for c, s in enumerate(row) if s != BELOW and s != ILLEGAL] == \
            [c for c, s in zip(np.flatnonzero(GAME.legal_mask(state)), children) if s == max(children)], m


def test_opening_labels_keep_the_benchmarks_out(tmp_path, capsys):
    held = tmp_path / "held.txt"
    held.write_text("44\n17\n")  # 17's mirror is 71
    assert main(["solver-labels", "--opening", "2", "--out", str(tmp_path / "o"), "--held-out", str(held)]) == 0
    assert "every position with at most 2 stones, 27 labelled" in capsys.readouterr().out  # 4 + 25 - 2
    moves, _ = read_labelled_positions(tmp_path / "o")
    assert "44" not in moves and "17" not in moves and "71" not in moves and "11" in moves
    assert main(["solver-labels", "--opening", "2", "--out", str(tmp_path / "o")]) == 2  # never overwritten
    assert "already holds labelled positions" in capsys.readouterr().err
    assert main(["solver-labels", "--opening", "9", "--out", str(tmp_path / "deep")]) == 2
    assert "--opening must be in 1..8 stones, got 9" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--out", "x"], ["--positions", "5", "--opening", "2", "--out", "x"]])
def test_solver_labels_wants_games_or_the_opening(argv, capsys):
    assert main(["solver-labels", *argv]) == 2
    assert "exactly one of --positions N" in capsys.readouterr().err
