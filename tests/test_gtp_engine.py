"""``selfplay gtp``: a scripted session of every command through a subprocess's real stdin and
stdout, bad commands included; the time budget; and (external) a game against GNU Go."""

import io
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from games.go import GoGame
from selfplay.cli import build_parser, main
from selfplay.gtp.client import GTPClient
from selfplay.gtp.engine import COMMANDS, GTPEngine
from selfplay.errors import UserError
from selfplay.players import Player

ROOT = Path(__file__).resolve().parent.parent
ENGINE = [sys.executable, "-m", "selfplay.cli", "gtp"]
VERTEX = re.compile(r"^([A-HJ-T]([1-9]|1[0-9])|pass)$")
GNUGO = "/usr/games/gnugo"


def session(lines, *args, timeout=240):
    """Run the engine on ``lines``; return its exit status and its responses, split."""
    text = "".join(lines)
    done = subprocess.run(ENGINE + list(args), input=text.encode(), capture_output=True, cwd=ROOT, timeout=timeout)
    out = done.stdout.decode()
    assert out.endswith("\n\n") or not out, out[-200:]
    return done.returncode, [r for r in out.split("\n\n") if r], done.stderr.decode()


def test_scripted_session_of_every_command():
    script = [
        ("protocol_version\n", "= 2"),
        ("1 name\n", "=1 selfplay"),
        ("# a comment line\n", None),
        ("\n", None),
        ("   \t \n", None),
        ("2 version\n", "=2 "),
        ("known_command genmove\n", "= true"),
        ("known_command frobnicate\n", "= false"),
        ("list_commands\n", "= " + "\n".join(COMMANDS)),
        ("boardsize 25\n", "? unacceptable size"),
        ("boardsize nine\n", "? syntax error"),
        ("boardsize\n", "? syntax error"),
        ("3 boardsize 5\n", "=3 "),
        ("komi abc\n", "? syntax error"),
        ("komi 0.5\r\n", "= "),  # a CR is dropped like any control character
        ("clear_board\n", "= "),
        ("play black c3\n", "= "),
        ("10 play W C3\n", "?10 illegal move"),
        ("play b z1\n", "? invalid vertex"),
        ("play x c2\n", "? invalid color"),
        ("play b\n", "? syntax error"),
        ("genmove\n", "? syntax error"),
        ("11 genmove w\n", "=11 "),
        ("showboard\n", "= \n"),
        ("undo\n", "= "),
        ("undo\n", "= "),
        ("undo\n", "? cannot undo"),
        ("play b a1 # with a comment\n", "= "),
        ("final_score\n", "= B+24.5"),
        ("time_settings 60 10 5\n", "= "),
        ("time_settings a b c\n", "? syntax error"),
        ("time_left b 30 0\n", "= "),
        ("time_left b\n", "? syntax error"),
        ("\tgenmove\twhite\n", "= "),  # tabs are spaces
        ("frobnicate now\n", "? unknown command"),
        ("12 quit\n", "=12 "),
        ("name\n", None),  # after quit: never read
    ]
    code, responses, err = session([line for line, _ in script], "--player", "mcts:sims=30,seed=1", "--size", "9")
    expected = [r for _, r in script if r is not None]
    assert code == 0, err
    assert len(responses) == len(expected), responses
    for got, want in zip(responses, expected):
        assert got.startswith(want), (got, want)
    asked = [line for line, want in script if want is not None]
    genmoves = [responses[i] for i, line in enumerate(asked) if "genmove" in line and line.split()[-1] != "genmove"]
    assert len(genmoves) == 2
    for reply in genmoves:
        assert VERTEX.match(reply.split(" ", 1)[1]), reply
    board = responses[expected.index("= \n")]
    assert "A B C D E" in board and board.count("\n") >= 7 and "\n\n" not in board
    assert not any("Traceback" in r for r in responses) and "Traceback" not in err


def test_end_of_input_ends_the_engine():
    args = build_parser().parse_args(["gtp", "--player", "random", "--size", "5"])
    out = io.StringIO()
    assert args.func(args, stdin=io.StringIO("name\n1 boardsize 7\n"), stdout=out) == 0
    assert out.getvalue() == "= selfplay\n\n=1 \n\n"


def test_bad_player_spec_is_a_one_line_error(capsys):
    assert main(["gtp", "--player", "nosuchplayer"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown player 'nosuchplayer'" in err


def test_a_checkpoint_that_does_not_exist_ends_the_engine_with_the_error(tmp_path):
    """The network loads in the background; its error still ends the process at once (exit 2),
    without waiting for a genmove, and no GTP answer is left half written."""
    done = subprocess.Popen(ENGINE + ["--player", f"net:{tmp_path / 'missing'}", "--size", "7"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done.stdin.write(b"name\n")
    done.stdin.flush()  # and the input stays open: the engine ends on its own
    assert done.wait(timeout=120) == 2
    out, err = done.stdout.read(), done.stderr.read()
    done.stdin.close()
    assert "checkpoint" in err.decode() and "does not exist" in err.decode()
    assert out.decode() in ("", "= selfplay\n\n")


# ---- the engine in-process ---------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    num_simulations: int


@dataclass
class Search:
    config: Config


@dataclass
class CountingPlayer(Player):
    """Stands for a search player: records the simulation count each move was asked for."""
    own: int = 1000
    asked: list = field(default_factory=list)

    def __post_init__(self):
        self.mcts = Search(Config(self.own))

    def select_move(self, game, state):
        self.asked.append(self.mcts.config.num_simulations)
        return int(game.legal_actions(state)[0])


def test_time_budget_is_spent(monkeypatch):
    """Under `time_settings 60 0 0` the first genmove once answered after a 64-simulation probe
    in 0.17 s, and later moves stopped at the player's own count whatever the clock said."""
    now = [0.0]
    monkeypatch.setattr("selfplay.gtp.engine.time.perf_counter", lambda: now[0])

    class Timed(CountingPlayer):  # searches at 1,000 simulations a second of the fake clock
        def select_move(self, game, state):
            now[0] += self.mcts.config.num_simulations / 1000
            return super().select_move(game, state)

    player = Timed(own=100)
    engine = GTPEngine(lambda game: player, size=5, komi=0.5)
    assert engine.handle("genmove b").startswith("= ")
    assert player.asked == [100]  # no time settings: the player's own count
    assert engine.handle("time_settings 60 0 0") == "= \n\n"
    engine.handle("genmove w")  # 60 s for max(10, 24 empty points // 2) = 12 moves: 5 s
    assert player.asked[-2:] == [64, 2000]  # the probe, then the rest of the 5 s, capped at 20 x 100
    assert engine.simulation_rate == 1000.0
    engine.handle("time_left b 2 0")
    engine.handle("genmove b")  # 2 s for max(10, 23 // 2) = 11 moves: 0.1818 s, no probe now
    assert abs(player.asked[-1] - int(1000 * 2 / 11)) <= 1
    engine.handle("time_left w 1 5")
    engine.handle("genmove w")  # byo-yomi: 0.8 * 1 s / 5 stones = 0.16 s
    assert abs(player.asked[-1] - 160) <= 1  # (float rounding of the measured rate)
    assert player.mcts.config.num_simulations == 100  # restored after every move
    engine.handle("time_settings 0 1 0")  # the spec's "no time limit"
    engine.handle("genmove b")
    assert player.asked[-1] == 100


def test_either_colour_may_move_and_play_continues_after_two_passes():
    engine = GTPEngine(lambda game: CountingPlayer(), size=5, komi=0.5)
    for line in ("play b c3", "play b d3", "play w pass", "play b pass", "play w c4"):
        assert engine.handle(line) == "= \n\n", line
    board = engine.game.board(engine.state)
    assert board[2, 2] == board[2, 3] == 1 and board[3, 2] == 2
    # Every empty point is in one region touching both colours: 2 stones - 1 stone - komi 0.5.
    assert engine.handle("final_score") == "= B+0.5\n\n"
    assert engine.handle("komi 6.5") == "= \n\n"  # the moves are replayed under the new komi
    assert engine.handle("final_score") == "= W+5.5\n\n"
    assert engine.handle("komi 0.3").startswith("? go: komi must be a multiple of 0.5")
    assert engine.handle("undo") == "= \n\n" and engine.game.board(engine.state)[3, 2] == 0


@pytest.mark.external
@pytest.mark.skipif(not os.access(GNUGO, os.X_OK), reason="GNU Go is not installed (apt-get install gnugo)")
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_game_against_gnugo(seed):
    """Our engine (a subprocess speaking GTP) against GNU Go, relayed move by move (a twogtp);
    both must accept every move of the other until two passes, and agree on the final score."""
    game = GoGame(7, komi=9.0, max_moves=400)
    with GTPClient(ENGINE + ["--player", f"mcts:sims=200,seed={seed}", "--size", "7"], timeout=120, cwd=ROOT) as ours, \
            GTPClient(f"{GNUGO} --mode gtp --level 1 --chinese-rules", timeout=60) as gnugo:
        for engine in (ours, gnugo):
            engine.boardsize(7)
            engine.komi(9)
            engine.clear_board()
        state, engines = game.initial_state(), (ours, gnugo)
        while not game.is_terminal(state):
            colour = game.to_play(state)
            move = engines[colour].genmove(colour)
            assert move != "resign"
            engines[1 - colour].play(colour, move)
            state = game.step(state, game.parse_move(move))
        ours_score, gnugo_score = ours.final_score(), gnugo.final_score()
    assert game.move_number(state) > 4 and state[5] >= 2  # ended by two passes, not by the cap
    assert score_points(ours_score) == score_points(gnugo_score)  # the same dead stones removed, the same count


def score_points(text: str) -> float:
    """Black's margin from a GTP score ("B+3.5", "W+58.0", "0")."""
    text = text.strip().upper()
    return 0.0 if text == "0" else float(text[2:]) * (1 if text[0] == "B" else -1)


def _engine_process(env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-c", "import sys; from selfplay.cli import main; sys.exit(main())",
                             "gtp", "--player", "random", "--size", "7"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_bytes_that_are_not_utf8_are_an_unknown_command_under_any_locale():
    engine = _engine_process({"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii"})
    out, err = engine.communicate(b"1 name\n2 \xff\xfe bad\n3 version\nquit\n", timeout=120)
    assert engine.returncode == 0 and b"Traceback" not in err
    answers = out.decode("utf-8").split("\n\n")
    assert answers[0] == "=1 selfplay" and answers[1].startswith("?2 ") and answers[2].startswith("=3 ")


def test_a_controller_that_closes_the_pipe_ends_the_engine_quietly():
    engine = _engine_process()
    engine.stdout.close()  # the controller is gone before the first answer
    _, err = engine.communicate(b"name\nversion\n" * 200 + b"quit\n", timeout=120)
    assert engine.returncode == 0 and b"Traceback" not in err and b"BrokenPipe" not in err


def test_only_ascii_digits_make_a_command_id():
    engine = GTPEngine(lambda game: CountingPlayer(own=8), size=5, komi=0.5)
    assert engine.handle("\u00b2 name") == "? unknown command\n\n"  # a superscript two is no id
    assert engine.handle("7 name") == "=7 selfplay\n\n"
    assert engine.handle("1" * 5000 + " name").startswith("=" + "1" * 5000 + " selfplay")


def test_dead_stones_are_found_by_playouts():
    """A lone White stone inside Black's side of a walled 5x5 board is dead; the walls live."""
    engine = GTPEngine(lambda game: CountingPlayer(), size=5, komi=0.5)
    for line in ("play b c1", "play w d1", "play b c2", "play w d2", "play b c3", "play w d3", "play b c4",
                 "play w d4", "play b c5", "play w d5", "play b b4", "play w a1"):
        assert engine.handle(line) == "= \n\n", line
    assert engine.handle("final_status_list dead") == "= A1\n\n"
    alive = engine.handle("final_status_list alive")[2:].split()
    assert sorted(alive) == sorted(["B4", *(f"{c}{r}" for c in "CD" for r in range(1, 6))])
    assert engine.handle("final_status_list seki") == "= \n\n"
    assert engine.handle("final_status_list living").startswith("? syntax error")


def test_printsgf_and_loadsgf_round_trip(tmp_path):
    engine = GTPEngine(lambda game: CountingPlayer(), size=5, komi=0.5)
    for line in ("play b c3", "play w b2", "play b pass"):
        engine.handle(line)
    sgf = engine.handle("printsgf")
    assert "SZ[5]" in sgf and "KM[0.5]" in sgf and ";B[cc];W[bd];B[]" in sgf
    assert engine.handle(f"printsgf {tmp_path / 'g.sgf'}") == "= \n\n"
    other = GTPEngine(lambda game: CountingPlayer(), size=9, komi=7.5)
    assert other.handle(f"loadsgf {tmp_path / 'g.sgf'}") == "= \n\n"
    assert other.game.size == 5 and other.komi == 0.5 and other.moves == engine.moves
    assert other.handle(f"loadsgf {tmp_path / 'g.sgf'} 2") == "= \n\n" and len(other.moves) == 1
    assert other.handle(f"loadsgf {tmp_path / 'none.sgf'}").startswith("? cannot load")
    (tmp_path / "bad.sgf").write_bytes(b"(;SZ[5];B[cc];W[cc])")
    assert other.handle(f"loadsgf {tmp_path / 'bad.sgf'}").startswith("? cannot load")
    assert other.handle("play w b2") == "= \n\n" and other.handle("play w c4") == "= \n\n"
    assert other.handle("printsgf").startswith("? cannot write SGF of a game whose colours do not alternate")


def test_gogui_analyze_commands_name_commands_the_engine_knows():
    engine = GTPEngine(lambda game: CountingPlayer(), size=5, komi=0.5)
    entries = engine.handle("gogui-analyze_commands")[2:].strip().split("\n")
    for entry in entries:
        kind, label, command = entry.split("/", 2)
        assert kind in ("plist", "string") and label and command.split()[0] in COMMANDS
    assert VERTEX.match(engine.handle("kgs-genmove_cleanup b")[2:].strip())  # genmove for KGS's cleanup phase


def test_handicap_stones_on_the_standard_points():
    """GTP 2's fixed placement, against the star points of a 19x19 board by hand."""
    engine = GTPEngine(lambda game: CountingPlayer(), size=19, komi=0.5)
    star = {"D4", "Q16", "D16", "Q4", "K10", "D10", "Q10", "K16", "K4"}
    for stones in range(2, 10):
        engine.handle("clear_board")
        placed = engine.handle(f"fixed_handicap {stones}")[2:].split()
        assert len(placed) == stones and set(placed) <= star, stones
        assert ("K10" in placed) == (stones % 2 == 1 and stones >= 5)
    assert engine.game.to_play(engine.state) == 1  # White moves first after a handicap
    assert engine.handle("fixed_handicap 2") == "? board not empty\n\n"
    engine.handle("clear_board")
    assert engine.handle("fixed_handicap 10") == "? invalid number of stones\n\n"
    seven = GTPEngine(lambda game: CountingPlayer(), size=7, komi=0.5)
    assert seven.handle("fixed_handicap 4")[2:].split() == ["E5", "C3", "C5", "E3"]
    seven.handle("clear_board")
    assert seven.handle("fixed_handicap 5") == "? invalid number of stones\n\n"
    assert seven.handle("place_free_handicap 9")[2:].split() == ["E5", "C3", "C5", "E3"]  # fewer, as GTP allows


def test_free_handicap_and_its_sgf(tmp_path):
    engine = GTPEngine(lambda game: CountingPlayer(), size=9, komi=0.5)
    assert engine.handle("set_free_handicap a1 b2 c3") == "= \n\n"
    assert engine.handle("play w e5") == "= \n\n"
    sgf = engine.handle("printsgf")
    assert "AB[ai][bh][cg]" in sgf and "PL[W]" in sgf and ";W[ee]" in sgf
    engine.handle(f"printsgf {tmp_path / 'h.sgf'}")
    other = GTPEngine(lambda game: CountingPlayer(), size=9, komi=0.5)
    assert other.handle(f"loadsgf {tmp_path / 'h.sgf'}") == "= \n\n"
    assert other.setup == engine.setup and other.moves == engine.moves
    engine.handle("clear_board")
    assert engine.handle("set_free_handicap a1 a1") == "? bad vertex list (a pass or a point twice)\n\n"
    assert engine.handle("set_free_handicap a1 pass") == "? bad vertex list (a pass or a point twice)\n\n"
    assert engine.handle("set_free_handicap a1").startswith("? syntax error")


INFO = re.compile(r"info move ([A-HJ-T]\d+|PASS) visits (\d+) winrate (\d+) prior (\d+) order (\d+) pv ")


def test_lz_analyze_streams_until_the_next_command():
    """Sabaki's live analysis: `=` then an `info move ...` line every interval, from a search that
    goes on, until the controller sends anything; then the empty line that ends the response."""
    engine = subprocess.Popen(ENGINE + ["--player", "mcts:sims=200,seed=1", "--size", "7"], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        engine.stdin.write("play b d4\n5 lz-analyze w 10\n")
        engine.stdin.flush()
        assert engine.stdout.readline() == "= \n" and engine.stdout.readline() == "\n"
        assert engine.stdout.readline() == "=5\n"
        lines = [engine.stdout.readline() for _ in range(3)]  # three intervals, the search growing
        engine.stdin.write("name\nquit\n")
        engine.stdin.flush()
        rest, _ = engine.communicate(timeout=60)
    finally:
        engine.kill()
    visits = []
    for line in lines:
        infos = INFO.findall(line)
        assert infos and [int(order) for *_, order in infos] == list(range(len(infos))), line
        assert all(0 <= int(win) <= 10000 and int(v) > 0 for _, v, win, _, _ in infos)
        visits.append(sum(int(v) for _, v, _, _, _ in infos))
    assert visits == sorted(visits) and visits[-1] > visits[0]
    streamed, ending = (lines[-1] + rest).rsplit("\n\n= selfplay\n\n", 1)  # the empty line, then the next
    assert ending == "= \n\n" and all(INFO.match(line) for line in streamed.split("\n") if line)


def test_analysis_of_a_player_that_does_not_search_is_refused():
    out = io.StringIO()
    GTPEngine(lambda game: CountingPlayer(), size=5, komi=0.5).run(io.StringIO("kata-analyze b 10\n"), out)
    assert out.getvalue().startswith("? ") and "does not search" in out.getvalue()


class Gate:
    """A player factory that waits until ``opened`` is set: the background build of a slow network."""

    def __init__(self):
        self.opened = threading.Event()
        self.built = []

    def __call__(self, game):
        self.opened.wait(timeout=60)
        player = ObservingPlayer()
        self.built.append(player)
        return player


@dataclass
class ObservingPlayer(Player):
    seen: list = field(default_factory=list)

    def reset(self, game):
        self.seen = []

    def observe(self, game, state, action):
        self.seen.append(game.format_move(action))

    def select_move(self, game, state):
        return int(game.legal_actions(state)[0])


def test_the_handshake_and_moves_are_answered_while_the_player_is_built():
    """A GUI's first commands do not wait for the network; the moves played meanwhile reach
    the player when it is ready, and genmove waits for it."""
    gate = Gate()
    engine = GTPEngine(gate, size=5, komi=0.5)
    for line in ["name", "protocol_version", "boardsize 5", "clear_board", "komi 0.5", "play b c3", "play w b2"]:
        assert engine.handle(line + "\n").startswith("= ")
    assert not gate.built  # nothing above needed the player
    gate.opened.set()
    assert re.fullmatch(r"= [A-E][1-5]\n\n", engine.handle("genmove b\n"))
    assert gate.built[0].seen[:2] == ["C3", "B2"]


def test_a_player_that_cannot_be_built_is_the_answer_of_the_command_that_needs_it():
    def refuse(game):
        raise UserError("net: no such checkpoint")
    engine = GTPEngine(refuse, size=5, komi=0.5)
    assert engine.handle("name\n") == "= selfplay\n\n"
    assert engine.handle("genmove b\n") == "? net: no such checkpoint\n\n"
