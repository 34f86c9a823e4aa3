"""``selfplay expert-games``: small end-to-end runs, a run killed and rerun (it continues to the
target with no duplicate and no partial record), settings checks; Go through the fake engine
and, behind the external marker, GNU Go."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from games import make_game
from games.go import GoGame
from games.go.sgf import read_sgf_dir
from selfplay.cli import main

ROOT = Path(__file__).resolve().parent.parent
FAKE = f"{sys.executable} {Path(__file__).parent / 'fake_gtp_engine.py'}"
C4 = make_game("connect4")
RESULTS = {0: "1-0", 1: "0-1", None: "1/2-1/2"}


def check_connect4_file(path: Path) -> list[str]:
    """Every line a finished game with its true result; no duplicate; returns the move strings."""
    data = path.read_text()
    assert data.endswith("\n")
    moves = []
    for line in data.splitlines():
        text, result = line.split()
        state = C4.state_from_moves(text)
        assert C4.is_terminal(state), line
        assert result == RESULTS[C4.winner(state)], line
        moves.append(text)
    assert len(set(moves)) == len(moves)
    return moves


def test_connect4_games_and_a_rerun_that_continues(tmp_path, capsys):
    out = tmp_path / "c4"
    assert main(["expert-games", "connect4", "--games", "60", "--out", str(out), "--seed", "1"]) == 0
    first = check_connect4_file(out / "games.txt")
    assert len(first) == 60
    meta = json.loads((out / "meta.json").read_text())
    assert meta["game"] == "connect4" and meta["random_plies"] == 4 and meta["depth"] >= 1
    assert main(["expert-games", "connect4", "--games", "90", "--out", str(out), "--workers", "2"]) == 0
    both = check_connect4_file(out / "games.txt")
    assert len(both) == 90 and both[:60] == first
    assert "30 games added, 90 in all" in capsys.readouterr().out
    assert main(["expert-games", "connect4", "--games", "50", "--out", str(out)]) == 0  # already there
    assert len(check_connect4_file(out / "games.txt")) == 90


def test_games_follow_the_expert_after_the_random_opening(tmp_path):
    from selfplay.experts.connect4_expert import ConnectFourExpert
    out = tmp_path / "c4"
    assert main(["expert-games", "connect4", "--games", "20", "--out", str(out), "--depth", "3",
                 "--random-plies", "2", "--seed", "3"]) == 0
    expert = ConnectFourExpert(depth=3)
    for text in check_connect4_file(out / "games.txt"):
        state = C4.initial_state()
        for i, ch in enumerate(text):
            if i >= 2:
                assert int(ch) - 1 in expert.best_moves(C4, state), (text, i)
            state = C4.step(state, int(ch) - 1)


@contextlib.contextmanager
def endless_run(out: Path, *flags: str):
    """`selfplay expert-games connect4` towards a target it will not reach, in a subprocess
    that is killed and waited for on the way out."""
    command = [sys.executable, "-m", "selfplay.cli", "expert-games", "connect4", "--games", "1000000",
               "--out", str(out), *flags]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.kill()
        process.wait()
        process.stderr.close()


def wait_for(process: subprocess.Popen, condition, what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_killed_run_resumes_to_the_target_without_duplicates_or_torn_records(tmp_path):
    out = tmp_path / "c4"
    games = out / "games.txt"
    with endless_run(out, "--seed", "5") as process:
        wait_for(process, lambda: games.exists() and games.stat().st_size > 5000, "no games written in time")
        os.kill(process.pid, signal.SIGKILL)
    with open(games, "ab") as f:  # as if the kill had cut a write short
        f.write(b"44455566")
    whole = games.read_text().count("\n")
    target = whole + 40
    assert main(["expert-games", "connect4", "--games", str(target), "--out", str(out), "--seed", "5"]) == 0
    assert len(check_connect4_file(games)) == target


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM])
def test_workers_stop_when_the_run_is_stopped(tmp_path, stop):
    """SIGKILL ends the parent without shutting its pool down: the workers must notice and stop
    rather than play on as orphans. SIGTERM stops the run the way Ctrl-C does: the pool shut
    down, the games kept counted, no traceback."""
    out = tmp_path / "c4"
    with endless_run(out, "--workers", "2") as process:
        wait_for(process, lambda: (out / "games.txt").exists() and len(children_of(process.pid)) >= 2,
                 "no workers and games in time")
        workers = children_of(process.pid)
        os.kill(process.pid, stop)
        process.wait(30)
        if stop == signal.SIGTERM:
            err = process.stderr.read().decode()
            held = len(check_connect4_file(out / "games.txt"))
            assert process.returncode == 130 and f"stopped with {held} games" in err, err
            assert "Traceback" not in err and "leaked" not in err, err
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(running(pid) for pid in workers), "workers outlived the stopped run"


def test_settings_must_match_the_existing_games(tmp_path, capsys):
    out = tmp_path / "c4"
    assert main(["expert-games", "connect4", "--games", "5", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["expert-games", "connect4", "--games", "10", "--out", str(out), "--depth", "5"]) == 2
    err = capsys.readouterr().err
    assert "other settings: depth=" in err and err.count("\n") == 1
    assert main(["expert-games", "connect4", "--games", "0", "--out", str(out)]) == 2
    assert "--games must be at least 1" in capsys.readouterr().err


def test_go_games_through_a_gtp_engine(tmp_path):
    out = tmp_path / "go5"
    args = ["expert-games", "go", "--size", "5", "--komi", "0.5", "--out", str(out), "--engine", FAKE,
            "--random-plies", "3", "--seed", "1"]
    assert main(args + ["--games", "6"]) == 0
    records, skipped = read_sgf_dir(out, GoGame.for_record)
    assert len(records) == 6 and skipped == 0
    assert main(args + ["--games", "9", "--workers", "2"]) == 0
    records, skipped = read_sgf_dir(out, GoGame.for_record)
    assert len(records) == 9 and skipped == 0
    assert len({tuple(r.moves) for r in records}) == 9
    game = make_game("go", size=5, komi=0.5)
    for r in records:
        # three random stones, then the fake engine passes for both sides
        assert len(r.moves) == 5 and r.moves[3:] == [game.pass_action] * 2
        assert r.black == r.white == "Fake Engine 0.1"
        assert r.result == game.result_string(r.replay(game)[-1]).replace("Draw", "0")
    assert not list(out.glob(".*.tmp"))


def test_an_engine_that_stops_answering_ends_its_batch_with_the_games_finished(capsys):
    """A timeout mid-batch (a niced engine starved of CPU) keeps the finished games and says so;
    one before any game is finished is still an error."""
    from selfplay.experts.gtp_games import play_gtp_games
    from selfplay.experts.settings import Settings
    from selfplay.gtp.client import EngineTimeoutError
    hangs_in_game_2 = Settings("go", 3, size=5, komi=0.5, engine=f"{FAKE} --hang-on genmove:3")
    games = play_gtp_games(hangs_in_game_2, seed=1, count=4, timeout=1.0)
    assert len(games) == 1
    assert "the batch ends early, keeping its 1 finished game(s)" in capsys.readouterr().err
    hangs_at_once = Settings("go", 3, size=5, komi=0.5, engine=f"{FAKE} --hang-on genmove")
    with pytest.raises(EngineTimeoutError):
        play_gtp_games(hangs_at_once, seed=1, count=2, timeout=1.0)


def test_a_missing_engine_is_a_one_line_error(tmp_path, capsys):
    assert main(["expert-games", "go", "--games", "2", "--out", str(tmp_path / "x"),
                 "--engine", "no-such-engine --mode gtp"]) == 2
    err = capsys.readouterr().err
    assert "no-such-engine not found" in err and err.count("\n") == 1


def test_an_engine_too_slow_for_the_timeout_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "go5"
    args = ["expert-games", "go", "--size", "5", "--komi", "0.5", "--out", str(out), "--random-plies", "3",
            "--seed", "1"]
    assert main(args + ["--engine", f"{FAKE} --hang-on genmove", "--games", "4", "--timeout", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "did not answer 'genmove" in err and "larger --timeout" in err and err.count("\n") == 1
    assert not list(out.glob("*.sgf")) and not list(out.glob(".*.tmp"))
    assert main(args + ["--engine", FAKE, "--games", "4", "--timeout", "0"]) == 2
    assert "--timeout must be positive" in capsys.readouterr().err


@pytest.mark.external
@pytest.mark.skipif(not os.access("/usr/games/gnugo", os.X_OK), reason="GNU Go is not installed")
def test_gnugo_games(tmp_path):
    out = tmp_path / "go5"
    assert main(["expert-games", "go", "--size", "5", "--games", "2", "--out", str(out), "--level", "1",
                 "--seed", "1"]) == 0
    records, skipped = read_sgf_dir(out, GoGame.for_record)
    assert len(records) == 2 and skipped == 0
    for r in records:
        assert r.black.startswith("GNU Go")
        game = make_game("go", size=5, komi=r.komi)
        final = r.replay(game)[-1]
        assert game.is_terminal(final) and r.result == game.result_string(final).replace("Draw", "0")
