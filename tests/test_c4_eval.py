"""eval-c4: the two shares, the on-disk cache of move scores (written once, reused, recovered
when corrupt), bad positions files, and the command end to end."""

import json

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.connect4_solver import ILLEGAL, Solver
from selfplay.cli import main
from selfplay.errors import UserError
from selfplay.evaluation import c4_positions as c4_eval
from selfplay.players import Player, RandomPlayer
from selfplay.players.solver import SolverPlayer

GAME = ConnectFour()
# Middle- and end-game benchmark positions with their scores (all quick to solve).
LINES = """\
7422341735647741166133573473242566 1
65214673556155731566316327373221417 -1
52677675164321472411331752454 0
233377345754465174223731671122611552 1
6763525635134453444361412671365712 -1
5554224333234511764415115 4
52753311433677442422121 8
271713432331713132 -11
6672375354252731116762237724 -2
662222576343651642712157 8
3455565261655364217 -10
21253774536432517717274325 2
715371563635542612576371 3
274552224131661 0
5455174361263362 -1
2531276566711153 2
6614446666373154 -4
165713352355467777 3
243335424257 12
5512243243536 13
22144426444 15
74746315233 15
"""


class CountingSolver(Solver):
    def __init__(self):
        super().__init__(log_size=20, book=False)
        self.calls = 0

    def move_scores(self, state, weak=False):
        self.calls += 1
        return super().move_scores(state, weak)


class NoSolver(Solver):
    def __init__(self):
        pass

    def move_scores(self, state, weak=False):
        raise AssertionError("the solver was called although the cache holds every position")


@pytest.fixture
def positions_file(tmp_path):
    path = tmp_path / "positions.txt"
    path.write_text(LINES)
    return path


@pytest.fixture(scope="module")
def shared_solver():
    return Solver(log_size=20)


def test_read_positions(positions_file):
    positions = c4_eval.read_positions(positions_file)
    assert len(positions) == 22 and positions.moves[0] == "7422341735647741166133573473242566"
    assert positions.scores[:3] == [1, -1, 0]
    assert len(c4_eval.read_positions(positions_file, limit=5)) == 5
    assert c4_eval.read_positions(positions_file, limit=5).digest == positions.digest


def test_scores_are_optional_and_comments_skipped(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("# my positions\n\n4453\n44 \n")
    positions = c4_eval.read_positions(path)
    assert positions.moves == ["4453", "44"] and positions.scores == [None, None]


@pytest.mark.parametrize("text, line, message", [
    ("4453 1\n44a3 0\n", 2, "not a column"),
    ("4444444 0\n", 1, "full"),
    ("4455667 0\n", 1, "game is over"),
    ("44556671 0\n", 1, "after the game ended"),
    ("4453 x\n", 1, "not an integer"),
    ("4453 1 2\n", 1, "fields"),
])
def test_bad_lines_name_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(c4_eval.PositionsFileError, match=message) as info:
        c4_eval.read_positions(path)
    assert f"{path}:{line}:" in str(info.value)


def test_bytes_that_are_not_utf8_are_named_with_their_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"4453 1\n44\xff3 0\n")
    with pytest.raises(c4_eval.PositionsFileError, match=r"bad.txt:2: not UTF-8 text \(byte 0xff at column 3\)"):
        c4_eval.read_positions(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(c4_eval.PositionsFileError, match="no positions"):
        c4_eval.read_positions(tmp_path / "empty.txt")
    with pytest.raises(c4_eval.PositionsFileError, match="cannot read"):
        c4_eval.read_positions(tmp_path / "absent.txt")


def test_move_scores_are_exact(positions_file, tmp_path, shared_solver):
    positions = c4_eval.read_positions(positions_file)
    rows = c4_eval.move_scores(positions, tmp_path / "cache", solver=CountingSolver())
    assert rows.dtype == np.int8 and rows.shape == (22, 7)
    for moves, score, row in zip(positions.moves, positions.scores, rows):
        assert row.max() == score
        assert list(row) == list(shared_solver.move_scores(GAME.state_from_moves(moves)))


def test_cache_is_written_once_and_reused(positions_file, tmp_path):
    positions = c4_eval.read_positions(positions_file)
    cache = tmp_path / "cache"
    counting = CountingSolver()
    first = c4_eval.move_scores(positions, cache, solver=counting)
    assert counting.calls == 22
    assert c4_eval.cache_path(positions, cache).exists()
    assert list(cache.iterdir()) == [c4_eval.cache_path(positions, cache)]  # no temp file left
    again = c4_eval.move_scores(positions, cache, solver=NoSolver())
    assert np.array_equal(first, again)


def test_cache_grows_with_the_limit(positions_file, tmp_path):
    cache = tmp_path / "cache"
    counting = CountingSolver()
    c4_eval.move_scores(c4_eval.read_positions(positions_file, limit=5), cache, solver=counting)
    assert counting.calls == 5
    c4_eval.move_scores(c4_eval.read_positions(positions_file), cache, solver=counting)
    assert counting.calls == 22
    few = c4_eval.move_scores(c4_eval.read_positions(positions_file, limit=3), cache, solver=NoSolver())
    assert few.shape == (3, 7)


def test_another_file_gets_another_cache(positions_file, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text(LINES.replace(" 8\n", " 7\n"))  # same positions, different bytes
    a, b = c4_eval.read_positions(positions_file), c4_eval.read_positions(other)
    assert c4_eval.cache_path(a, tmp_path) != c4_eval.cache_path(b, tmp_path)


def _corrupt_garbage(path, rows):
    path.write_bytes(b"this is not a numpy file")


def _corrupt_truncated(path, rows):
    path.write_bytes(path.read_bytes()[:100])


def _corrupt_dtype(path, rows):
    np.save(path, rows.astype(np.float64))


def _corrupt_illegal_marks(path, rows):
    bad = rows.copy()
    bad[0, :] = ILLEGAL  # says every column of the first position is full
    np.save(path, bad)


def _corrupt_out_of_range(path, rows):
    bad = rows.copy()
    bad[1, bad[1] != ILLEGAL] = 100
    np.save(path, bad)


@pytest.mark.parametrize("corrupt", [_corrupt_garbage, _corrupt_truncated, _corrupt_dtype,
                                     _corrupt_illegal_marks, _corrupt_out_of_range])
def test_corrupt_cache_is_recomputed(positions_file, tmp_path, corrupt):
    positions = c4_eval.read_positions(positions_file, limit=6)
    cache = tmp_path / "cache"
    good = c4_eval.move_scores(positions, cache, solver=CountingSolver())
    corrupt(c4_eval.cache_path(positions, cache), good)
    counting = CountingSolver()
    assert np.array_equal(c4_eval.move_scores(positions, cache, solver=counting), good)
    assert counting.calls == 6
    assert np.array_equal(c4_eval.move_scores(positions, cache, solver=NoSolver()), good)  # repaired


def test_solver_player_is_perfect_and_random_is_not(positions_file, tmp_path, shared_solver):
    positions = c4_eval.read_positions(positions_file)
    scores = c4_eval.move_scores(positions, tmp_path, solver=shared_solver)
    perfect = c4_eval.evaluate(SolverPlayer(seed=0, solver=shared_solver), positions, scores)
    assert perfect.outcome.count == perfect.best.count == 22 and perfect.score_mismatches == 0
    rand = c4_eval.evaluate(RandomPlayer(seed=0), positions, scores)
    assert rand.best.value < 0.5 and rand.outcome.value < 0.8
    assert rand.best.count <= rand.outcome.count
    # a move keeps the outcome exactly when its score has the best score's sign
    expected = 0
    rng = np.random.default_rng(0)
    for moves, row in zip(positions.moves, scores):
        action = int(rng.choice(GAME.legal_actions(GAME.state_from_moves(moves))))
        expected += int(np.sign(row[action]) == np.sign(row.max()))
    assert rand.outcome.count == expected


def test_wrong_scores_in_the_file_are_counted(tmp_path, shared_solver):
    path = tmp_path / "wrong.txt"
    path.write_text("52753311433677442422121 8\n5554224333234511764415115 3\n")
    positions = c4_eval.read_positions(path)
    scores = c4_eval.move_scores(positions, tmp_path, solver=shared_solver)
    assert c4_eval.evaluate(SolverPlayer(seed=0, solver=shared_solver), positions, scores).score_mismatches == 1


def test_illegal_choice_is_an_error(positions_file, tmp_path, shared_solver):
    class Stubborn(Player):
        name = "stubborn"

        def select_move(self, game, state):
            return 0

    positions = c4_eval.read_positions(positions_file, limit=2)  # column 1 is full in the 2nd
    scores = c4_eval.move_scores(positions, tmp_path, solver=shared_solver)
    with pytest.raises(UserError, match="illegal move"):
        c4_eval.evaluate(Stubborn(), positions, scores)


def test_wilson_interval_known_values():
    low, high = c4_eval.wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    low, high = c4_eval.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)


# ---- the command ----------------------------------------------------------------------------
def test_command_json(positions_file, tmp_path, capsys):
    code = main(["eval-c4", "solver:seed=1", "--positions", str(positions_file), "--limit", "8",
                 "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["positions"] == 8
    assert report["outcome_kept"]["share"] == report["best_move"]["share"] == 1.0
    assert report["outcome_kept"]["ci95"][1] == 1.0


def test_command_table(positions_file, tmp_path, capsys):
    code = main(["eval-c4", "random:seed=2", "--positions", str(positions_file),
                 "--cache-dir", str(tmp_path / "cache")])
    out = capsys.readouterr().out
    assert code == 0 and "keeps the outcome" in out and "best score" in out and "22 positions" in out


def test_command_pairs_two_players_on_the_same_positions(positions_file, tmp_path, capsys):
    cache, answers = ["--cache-dir", str(tmp_path / "cache")], tmp_path / "solver.npz"
    assert main(["eval-c4", "solver:seed=1", "--positions", str(positions_file), *cache, "--answers", str(answers)]) == 0
    capsys.readouterr()
    assert main(["eval-c4", "random:seed=2", "--positions", str(positions_file), *cache, "--against", str(answers),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    misses = report["positions"] - report["outcome_kept"]["count"]
    assert misses > 0  # random play drops some outcomes; the solver none, so every difference is the solver's
    assert report["against"]["outcome_kept"] == {"only_this": 0, "only_other": misses,
                                                 "p": pytest.approx(min(1, 2 / 2 ** misses))}
    assert report["against"]["best_move"]["only_this"] == 0
    code = main(["eval-c4", "random", "--positions", str(positions_file), *cache, "--limit", "5",
                 "--against", str(answers)])
    assert code == 2 and "other positions" in capsys.readouterr().err
    answers.write_bytes(b"not an npz")
    code = main(["eval-c4", "random", "--positions", str(positions_file), *cache, "--against", str(answers)])
    assert code == 2 and "not a readable answers file" in capsys.readouterr().err


@pytest.mark.parametrize("player, extra, message", [
    ("random", ["--limit", "0"], "--limit"),
    ("nobody", [], "unknown player"),
    ("solver:mode=fast", [], "mode"),
])
def test_command_bad_arguments(positions_file, tmp_path, capsys, player, extra, message):
    code = main(["eval-c4", player, "--positions", str(positions_file), "--cache-dir", str(tmp_path), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_command_bad_file(tmp_path, capsys):
    path = tmp_path / "bad.txt"
    path.write_text("4453 1\n4444444 0\n")
    code = main(["eval-c4", "random", "--positions", str(path), "--cache-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and f"{path}:2:" in err and err.count("\n") == 1
