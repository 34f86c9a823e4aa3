"""The GTP client and GTPPlayer against a fake engine (tests/fake_gtp_engine.py), and, behind
the external marker, against GNU Go."""

import gc
import os
import stat
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from games import GameError, make_game
from games.go import GoGame
from games.go.sgf import read_sgf
from selfplay.arena.match import play_game
from selfplay.arena.runner import run_arena
from selfplay.arena.schedule import Contestant, schedule
from selfplay.gtp import client as gtp
from selfplay.gtp.client import (
    CommandFailedError,
    EngineDiedError,
    EngineNotFoundError,
    EngineTimeoutError,
    GTPClient,
    GTPError,
    GTPPlayer,
    ProtocolError,
)
from selfplay.players import PlayerSpecError, RandomPlayer, make_player

FAKE = [sys.executable, str(Path(__file__).parent / "fake_gtp_engine.py")]
GNUGO = "/usr/games/gnugo"
needs_gnugo = pytest.mark.skipif(not (os.access(GNUGO, os.X_OK) or gtp.shutil.which("gnugo")),
                                 reason="GNU Go is not installed (apt-get install gnugo)")


def fake(*flags, timeout=10.0, grace=2.0):
    return GTPClient(FAKE + list(flags), timeout=timeout, grace=grace)


def reaped(pid: int) -> bool:
    """True when ``pid`` is no child of ours any more (waited for) and no zombie is left."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    else:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return True


# ---- the client --------------------------------------------------------------------------
def test_every_command(tmp_path):
    log = tmp_path / "log.txt"
    with fake("--moves", "C3", "--score", "W+2.5", "--log", str(log)) as engine:
        assert engine.protocol_version() == "2"
        assert engine.engine_name() == "Fake Engine"
        assert engine.version() == "0.1"
        assert engine.known_command("genmove") and not engine.known_command("kgs-chat")
        engine.boardsize(5)
        engine.komi(6.5)
        engine.clear_board()
        engine.play("b", "D4")
        engine.play(1, "pass")
        assert engine.genmove("black") == "c3"  # lower case whatever the engine writes
        assert engine.genmove("w") == "pass"
        assert engine.final_score() == "W+2.5"
        assert engine.send("list_commands").splitlines()[:2] == ["protocol_version", "name"]
    commands = log.read_text().splitlines()
    assert commands[:8] == ["1 protocol_version", "2 name", "3 version", "4 known_command genmove",
                            "5 known_command kgs-chat", "6 boardsize 5", "7 komi 6.5", "8 clear_board"]
    assert commands[8:13] == ["9 play b D4", "10 play w pass", "11 genmove b", "12 genmove w", "13 final_score"]
    assert commands[-1] == "quit"


def test_a_refused_command_is_an_error_and_the_engine_goes_on():
    with fake() as engine:
        engine.boardsize(5)
        engine.play("b", "c3")
        with pytest.raises(CommandFailedError, match="illegal move") as info:
            engine.play("w", "c3")
        assert info.value.reason == "illegal move" and info.value.command == "play w c3"
        with pytest.raises(CommandFailedError, match="unknown command"):
            engine.send("frobnicate")
        with pytest.raises(CommandFailedError, match="unacceptable size"):
            engine.boardsize(99)
        assert engine.protocol_version() == "2"


def test_answers_without_ids_are_accepted():
    with fake("--no-ids") as engine:
        assert engine.engine_name() == "Fake Engine"


def test_crlf_line_ends_and_stray_empty_lines_are_accepted():
    with fake("--crlf", "--moves", "d4") as engine:
        assert engine.engine_name() == "Fake Engine"
        assert engine.send("list_commands").splitlines()[:2] == ["protocol_version", "name"]
        assert engine.genmove("b") == "d4"


def test_timeout_kills_the_engine():
    engine = fake("--hang-on", "genmove")
    engine.boardsize(5)  # the default timeout: a loaded machine may take seconds to start the engine
    with pytest.raises(EngineTimeoutError, match="did not answer 'genmove b' within 0.5 s"):
        engine.genmove("b", timeout=0.5)
    assert engine.closed and reaped(engine.pid)
    with pytest.raises(GTPError, match="did not answer"):
        engine.clear_board()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its parent counts as gone
        return f.read().split()[2] != "Z"


@pytest.mark.skipif(not hasattr(os, "killpg") or not Path("/proc").is_dir(), reason="needs POSIX process groups")
@pytest.mark.parametrize("ending", ["timeout", "close"])
def test_an_engine_behind_a_wrapper_script_takes_its_children_along(tmp_path, ending):
    wrapper = tmp_path / "engine.sh"
    child_pid = tmp_path / "child.pid"
    wrapper.write_text(f"#!/bin/sh\nsleep 600 &\necho $! > {child_pid}\n"
                       f"{' '.join(FAKE)} --hang-on genmove --ignore-quit\n")  # not exec: the shell stays the parent
    wrapper.chmod(0o755)
    engine = GTPClient([str(wrapper)], timeout=30, grace=0.3)
    engine.boardsize(5)
    if ending == "timeout":
        with pytest.raises(EngineTimeoutError):
            engine.genmove("b", timeout=0.5)
    else:
        engine.close()
    assert reaped(engine.pid)
    child = int(child_pid.read_text())
    deadline = time.monotonic() + 10  # SIGKILL is sent; a loaded machine may take a moment to run it
    while (_alive(child) or _group_members(engine.pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child)
    assert not _group_members(engine.pid)  # the engine itself (it ignores SIGTERM) included


def _group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
def test_the_engine_leads_its_own_group_in_its_callers_session():
    """Its own group, so closing it reaches a wrapper's children; the caller's session, so a
    niced caller's engine is niced too (Linux schedules sessions as separate autogroups)."""
    engine = fake()
    try:
        assert os.getpgid(engine.pid) == engine.pid != os.getpgid(0)
        if sys.version_info >= (3, 11):
            assert os.getsid(engine.pid) == os.getsid(0)
    finally:
        engine.close()


def test_crash_mid_game():
    engine = fake("--moves", "c3,d4", "--crash-on", "genmove:2")
    engine.boardsize(5)
    assert engine.genmove("b") == "c3"
    engine.play("w", "b2")
    with pytest.raises(EngineDiedError, match="exited with status 3 .*simulated crash"):
        engine.genmove("b")
    engine.close()
    assert reaped(engine.pid)


def test_garbage_reply_is_a_protocol_error():
    with fake("--garbage-on", "genmove") as engine:
        with pytest.raises(ProtocolError, match="not a GTP response"):
            engine.genmove("b")
        with pytest.raises(GTPError, match="out of step"):
            engine.protocol_version()


def test_missing_binary(monkeypatch, tmp_path):
    with pytest.raises(EngineNotFoundError, match="no-such-engine not found"):
        GTPClient("no-such-engine --mode gtp")
    with pytest.raises(EngineNotFoundError, match="not found"):
        GTPClient(str(tmp_path / "nothing-here"))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(gtp.KNOWN_LOCATIONS, "gnugo", str(tmp_path / "nowhere" / "gnugo"))
    hint = "gnugo not found; apt-get install gnugo, the binary is /usr/games/gnugo"
    with pytest.raises(EngineNotFoundError, match=hint):
        GTPClient("gnugo --mode gtp")
    with pytest.raises(GTPError, match="cannot parse"):
        GTPClient('gnugo "--mode')


def test_gnugo_resolves_to_its_debian_location(monkeypatch, tmp_path):
    binary = tmp_path / "games" / "gnugo"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setitem(gtp.KNOWN_LOCATIONS, "gnugo", str(binary))
    assert gtp.resolve_command("gnugo --mode gtp --level 3") == [str(binary), "--mode", "gtp", "--level", "3"]


def test_no_zombies_whichever_way_the_client_ends():
    with fake() as engine:  # quit
        engine.engine_name()
    assert reaped(engine.pid) and engine.process.returncode == 0
    stubborn = fake("--ignore-quit", grace=0.3)  # ignores quit, end of input and SIGTERM: killed
    stubborn.engine_name()
    stubborn.close()
    assert reaped(stubborn.pid) and stubborn.process.returncode == -9
    forgotten = fake()  # never closed: the finalizer reaps it when the client is collected
    forgotten.engine_name()
    pid = forgotten.pid
    del forgotten
    gc.collect()
    assert reaped(pid)


# ---- GTPPlayer -----------------------------------------------------------------------------
def test_player_keeps_the_engine_board_in_step(tmp_path):
    log = tmp_path / "log.txt"
    game = GoGame(5, komi=0.5, max_moves=12)  # short: the fake engine knows no captures
    engine = GTPPlayer(FAKE + ["--moves", "c3,b2,d4", "--log", str(log)])
    with engine:
        record = play_game(game, [engine, RandomPlayer(seed=3)])
    moves = [game.format_move(a) for a in record.actions]
    commands = [line.split(maxsplit=1)[1] for line in log.read_text().splitlines() if line[0].isdigit()]
    assert commands[:3] == ["boardsize 5", "komi 0.5", "clear_board"]
    expected = []
    for i, move in enumerate(moves):
        expected.append("genmove b" if i % 2 == 0 else f"play w {move}")
    assert commands[3:] == expected
    assert moves[0::2][:3] == ["C3", "B2", "D4"]


def test_player_refuses_other_games_and_foreign_positions():
    player = GTPPlayer(FAKE)
    with player, pytest.raises(GameError, match="go only"):
        player.reset(make_game("connect4"))
    game = GoGame(5)
    state = game.step(game.initial_state(), 12)
    with GTPPlayer(FAKE) as player, pytest.raises(GTPError, match="every move of the game"):
        player.select_move(game, state)


def test_player_rejects_an_off_board_reply():
    game = GoGame(5)
    with GTPPlayer(FAKE + ["--moves", "z9"]) as player, pytest.raises(ProtocolError, match="'z9'"):
        player.select_move(game, game.initial_state())


def test_player_spec_takes_a_quoted_command_line():
    game = GoGame(5)
    command = " ".join(FAKE) + " --moves d4,c3"
    with make_player(f'gtp:"{command}",timeout=5', game) as player:
        assert player.timeout == 5.0
        assert game.format_move(player.select_move(game, game.initial_state())) == "D4"
    with pytest.raises(PlayerSpecError, match="go only"):
        make_player(f'gtp:"{command}"', make_game("connect4"))
    with pytest.raises(PlayerSpecError, match="command line"):
        make_player("gtp", game)
    with pytest.raises(EngineNotFoundError):
        make_player('gtp:"no-such-engine --gtp"', game)


# ---- GNU Go ------------------------------------------------------------------------------
@pytest.mark.external
@needs_gnugo
def test_gnugo_against_random_same_winner_by_both_scores():
    from selfplay.experts.gnugo import gnugo_command
    game = GoGame(5, komi=0.5)
    with GTPPlayer(gnugo_command(level=1, seed=1)) as gnugo:
        record = play_game(game, [gnugo, RandomPlayer(seed=1)])
        ours = game.score(record.final_state)
        theirs = gnugo.final_score()
    assert theirs[0] in "BW0", theirs
    winner = "0" if theirs == "0" else theirs[0]
    assert winner == ("B" if ours > 0 else "W" if ours < 0 else "0"), (ours, theirs)
    assert winner == "B"  # GNU Go, as Black, beats a random player
    assert np.isfinite(ours)


@pytest.mark.external
@needs_gnugo
def test_expert_spec_is_gnugo():
    game = GoGame(5, komi=0.5)
    with make_player("expert:level=1,seed=2", game) as player:
        assert player.argv[0].endswith("gnugo") and "--level" in player.argv
        assert game.legal_mask(game.initial_state())[player.select_move(game, game.initial_state())]


def test_an_engine_that_resigns_loses_there_and_the_record_says_so(tmp_path):
    """An engine's ``resign`` was once recorded as a pass and the result read from the board."""
    game = GoGame(5, komi=0.5)
    engine = GTPPlayer(FAKE + ["--moves", "c3,resign"])
    with engine:
        record = play_game(game, [engine, RandomPlayer(seed=3)])
    assert record.resigned and len(record.actions) == 2 and record.returns == (-1.0, 1.0)  # Black resigned
    command = " ".join(FAKE) + " --moves b4,resign"  # random (seed 1) opens at c3
    contestants = [Contestant("random", "random:seed=1"), Contestant("engine", f'gtp:"{command}"')]
    results = run_arena(game, contestants, schedule(2, 1), save_dir=tmp_path, batch=1)
    (result,) = results
    assert (result.first, result.second, result.result, result.moves) == ("random", "engine", 1.0, 3)
    assert read_sgf(result.record, GoGame.for_record).result == "B+R"  # White, the engine, resigned
