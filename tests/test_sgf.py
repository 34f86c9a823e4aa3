"""SGF for Go: read(write(game)) == game for random games, real-world quirks, and fuzzed
input that must give SgfError and nothing else."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from games import GameError
from games.go import GoGame
from games.go.sgf import GoRecord, SgfError, from_sgf, read_sgf, read_sgf_dir, to_sgf
from selfplay.atomic import atomic_write_bytes

NAMES = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn")), min_size=1,
                max_size=12).map(str.strip).filter(bool)


def random_record(size, komi, seed, length, setup, names, result=None):
    game = GoGame(size, komi)
    rng = np.random.default_rng(seed)
    start = None
    if setup:
        board = np.zeros((size, size), dtype=np.int8)
        for _ in range(size):
            board[rng.integers(size), rng.integers(size)] = rng.integers(1, 3)
        try:
            start = game.from_board(board, int(rng.integers(2)))
        except GameError:
            start = None  # a setup group without liberties: play from the empty board instead
    state = game.initial_state() if start is None else start.copy()
    actions = []
    while len(actions) < length and not game.is_terminal(state):
        action = int(rng.choice(game.legal_actions(state)))
        actions.append(action)
        state = game.step(state, action)
    black, white = names
    return GoRecord.from_game(game, actions, start=start, result=result, black=black, white=white)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(5, 19), komi=st.integers(-20, 20).map(lambda k: k / 2), seed=st.integers(0, 2 ** 32 - 1),
       length=st.integers(0, 80), setup=st.booleans(), names=st.tuples(st.none() | NAMES, st.none() | NAMES),
       result=st.none() | st.sampled_from(["B+R", "W+0.5", "0", "Void", "W+T"]))
def test_read_of_write_is_the_game(size, komi, seed, length, setup, names, result):
    record = random_record(size, komi, seed, length, setup, names, result)
    back = from_sgf(to_sgf(record), GoGame.for_record)
    assert back == record
    game = GoGame.for_record(record)
    assert np.array_equal(game.board(back.replay(game)[-1]), game.board(record.replay(game)[-1]))


def test_passes_are_written_as_empty_moves_and_tt_is_read_as_pass():
    game = GoGame(9)
    record = GoRecord.from_game(game, [40, 81, 41, 81, 81])
    text = to_sgf(record).decode()
    assert ";W[]" in text and ";B[]" in text and "tt" not in text
    assert text.count("[]") == 3
    assert from_sgf(b"(;SZ[19];B[tt];W[dd];B[])", GoGame.for_record).moves == [361, 15 * 19 + 3, 361]
    assert from_sgf(b"(;SZ[9];B[tt];W[ee])", GoGame.for_record).moves == [81, 40]


def test_real_world_quirks():
    data = (b"(;FF[3]GaMe[1]SiZe[9]KoMi[5.5]RU[Japanese]PlayerBlack[Alice]PW[Bob]RE[W+R]\n"
            b"  AddBlack[cc][gg]\n AW[ee] PL[W]\n"
            b";W[dd] C[a comment];B[tt];W[ff]\n"
            b"(;B[aa];W[])\n(;B[ab]))\n"
            b"(;SZ[5];B[aa])")  # a second game in the collection: ignored
    record = from_sgf(data, GoGame.for_record)
    assert (record.size, record.komi, record.rules, record.result) == (9, 5.5, "Japanese", "W+R")
    assert (record.black, record.white, record.first_player) == ("Alice", "Bob", 1)
    assert record.setup_black == (2 * 9 + 6, 6 * 9 + 2) and record.setup_white == (4 * 9 + 4,)
    assert [GoGame(9).format_move(a) for a in record.moves] == ["D6", "pass", "F4", "A9", "pass"]
    assert record.returns == (-1.0, 1.0)
    latin = "(;CA[ISO-8859-1]SZ[7]PB[Müller];B[dd])".encode("latin-1")
    assert from_sgf(latin, GoGame.for_record).black == "Müller"
    assert from_sgf(b"(;SZ[7]KM[0];B[dd](;W[cc];B[ee])(;W[ee]))", GoGame.for_record).moves == [24, 30, 18]


@pytest.mark.parametrize("result, returns", [("B+3.5", (1.0, -1.0)), ("W+Resign", (-1.0, 1.0)), ("0", (0.0, 0.0)),
                                             ("Draw", (0.0, 0.0)), ("Void", None), ("?", None), (None, None)])
def test_returns_from_the_result(result, returns):
    assert GoRecord(result=result).returns == returns


@pytest.mark.parametrize("data, message", [
    (b"(;SZ[5];B[cc];W[cc])", "move 2 (White C3) is illegal"),
    (b"(;SZ[5];B[cc];W[ab];B[cd];W[ba];B[aa])", "move 5 (Black A5) is illegal"),  # suicide
    (b"(;SZ[5];B[cc];B[dd])", "move 2: B plays twice in a row"),
    (b"(;SZ[5];B[cc];W[zz])", "move 2: b'zz' is not a point of a 5x5 board"),
    (b"(;SZ[5];B[];W[];B[cc])", "move 3 (Black C3) is illegal by our rules: go: the game is over"),
    (b"(;GM[2]SZ[5])", "not a game of Go"),
    (b"(;SZ[4];B[aa])", "board size 4 is outside"),
    (b"(;SZ[25])", "board size 25 is outside"),
    (b"(;SZ[9]KM[6.25])", "komi 6.25 is not a multiple of 0.5"),
    (b"(;SZ[9]KM[six])", "not a valid SGF game"),
    (b"(;SZ[9]AB[aa][bb]AW[aa])", "both a black and a white setup stone"),
    (b"(;SZ[5]AB[ab][ba]AW[aa])", "has no liberty"),
    (b"(;SZ[5];B[aa];AB[cc];W[bb])", "setup stones (AB/AW/AE) after move 1"),
    (b"(;SZ[5]PL[B];W[aa])", "PL says B plays first"),
    (b"(;SZ[5];B[aa]W[bb])", "both a B and a W move"),
    (b"not sgf at all", "not a valid SGF game"),
    (b"", "not a valid SGF game"),
])
def test_bad_files_are_clear_errors(data, message):
    with pytest.raises(SgfError) as info:
        from_sgf(data, GoGame.for_record, "games/x.sgf")
    assert str(info.value).startswith("games/x.sgf: ") and message in str(info.value), str(info.value)


def test_files_and_directories(tmp_path):
    record = random_record(7, 9.0, 1, 30, False, ("a", "b"))
    atomic_write_bytes(tmp_path / "a.sgf", to_sgf(record))
    assert read_sgf(tmp_path / "a.sgf", GoGame.for_record) == record
    (tmp_path / "sub").mkdir()
    atomic_write_bytes(tmp_path / "sub" / "b.SGF", to_sgf(random_record(5, 0.5, 2, 10, True, (None, None))))
    (tmp_path / "bad.sgf").write_bytes(b"(;SZ[5];B[cc];W[cc])")
    (tmp_path / "notes.txt").write_text("not a game")
    errors = []
    records, skipped = read_sgf_dir(tmp_path, GoGame.for_record, errors)
    assert len(records) == 2 and records[0] == record and skipped == 1
    assert len(errors) == 1 and "bad.sgf: move 2" in errors[0]
    with pytest.raises(SgfError, match="no such directory"):
        read_sgf_dir(tmp_path / "missing", GoGame.for_record)
    with pytest.raises(SgfError, match="cannot read .*missing.sgf"):
        read_sgf(tmp_path / "missing.sgf", GoGame.for_record)


def test_actions_check_the_board_size():
    record = GoRecord(size=7, moves=[3])
    assert record.actions(GoGame(7)) == [3]
    with pytest.raises(GameError, match="7x7 game, not 9x9"):
        record.actions(GoGame(9))


# ---- fuzzing ---------------------------------------------------------------------------
def parses_or_clear_error(data: bytes) -> None:
    try:
        record = from_sgf(data, GoGame.for_record, "fuzz.sgf")
    except SgfError as e:
        assert str(e).startswith("fuzz.sgf: ")
    else:
        assert isinstance(record, GoRecord)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_garbage_bytes_never_crash(data):
    parses_or_clear_error(data)


SGF_ALPHABET = "();[]\\:ABWKMSZPLRUEGFCAaebcdst0123456789+-. \n"


@settings(max_examples=300, deadline=None)
@given(st.text(SGF_ALPHABET, max_size=120))
def test_sgf_like_garbage_never_crashes(text):
    parses_or_clear_error(text.encode())
    parses_or_clear_error(("(;" + text).encode())


VALID = to_sgf(random_record(7, 9.0, 7, 40, True, ("Alice", "Bob")))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 3), st.binary(max_size=4)),
                min_size=1, max_size=4))
def test_mutated_valid_files_never_crash(mutations):
    data = bytearray(VALID)
    for at, cut, insert in mutations:
        at = min(at, len(data))
        data[at:at + cut] = insert
    parses_or_clear_error(bytes(data))
