"""The arena end to end: saved games replayed by the rules, games in flight, a killed arena,
clear errors, a human, openings between deterministic players, and `selfplay arena`."""

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from games import make_game
from selfplay.arena.errors import ArenaError
from selfplay.arena.lockstep import SpecLineup, play_games
from selfplay.arena.results import read_results
from selfplay.arena.runner import run_arena
from selfplay.arena.schedule import Contestant, schedule, with_openings
from selfplay.cli import main
from selfplay.distributed.processes import in_this_process
from selfplay.players import Player
from selfplay.rating.stats import wilson_interval

REPO = Path(__file__).resolve().parents[1]


def replay(game, moves):
    state = game.initial_state()
    for m in moves:
        state = game.step(state, game.parse_move(m))
    return state


def test_arena_random_vs_mcts_connect4(tmp_path, capsys):
    results, saved = tmp_path / "results.csv", tmp_path / "games"
    code = main(["arena", "random", "mcts:sims=20", "--games", "4", "--seed", "7",
                 "--results", str(results), "--save-games", str(saved)])
    assert code == 0
    out = capsys.readouterr().out
    assert "95% CI" in out
    with open(results, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4
    assert [r["first"] for r in rows] == ["random", "mcts:sims=20"] * 2  # colours alternate
    game = make_game("connect4")
    for r in rows:
        assert r["game"] == "connect4"
        moves = Path(r["record"]).read_text().strip()
        assert len(moves) == int(r["moves"])
        final = replay(game, list(moves))  # the rules agree the game is over with this result
        assert game.is_terminal(final)
        assert float(r["result"]) == (game.returns(final)[0] + 1) / 2
    assert len(list(saved.iterdir())) == 4
    # the summary's score and interval are those of the rows
    score = sum(float(r["result"]) if r["first"] == "random" else 1 - float(r["result"]) for r in rows)
    lo, hi = wilson_interval(score, 4)
    assert f"{lo:.1%}-{hi:.1%}" in out


def test_round_robin_and_gauntlet_end_to_end(tmp_path, capsys):
    results = tmp_path / "rr.csv"
    players = ["random", "random:seed=5", "mcts:sims=5"]
    assert main(["arena", *players, "--game", "tictactoe", "--games", "2", "--results", str(results)]) == 0
    rows = read_results(results)
    pairs = [("random", "random:seed=5"), ("random", "mcts:sims=5"), ("random:seed=5", "mcts:sims=5")]
    assert Counter(frozenset((r.first, r.second)) for r in rows) == {frozenset(p): 2 for p in pairs}
    assert "Elo from these games (anchor random = 0)" in capsys.readouterr().out
    gauntlet = tmp_path / "g.csv"
    assert main(["arena", *players, "--game", "tictactoe", "--games", "3", "--gauntlet",
                 "--results", str(gauntlet)]) == 0
    rows = read_results(gauntlet)
    assert len(rows) == 6 and all("random" in (r.first, r.second) for r in rows)


def sgf_moves(text):
    return re.findall(r";[BW]\[([a-z]*)\]", text)


def test_parallel_go_games_saved_as_sgf_and_deterministic(tmp_path):
    outcomes = []
    for attempt in range(2):
        results, saved = tmp_path / f"go{attempt}.csv", tmp_path / f"sgf{attempt}"
        assert main(["arena", "random", "mcts:sims=8", "--game", "go", "--size", "5", "--komi", "0.5",
                     "--games", "4", "--parallel", "2", "--seed", "3", "--results", str(results),
                     "--save-games", str(saved)]) == 0
        rows = read_results(results)
        assert len(rows) == 4 and {r.game for r in rows} == {"go-5x5-komi0.5"}
        game = make_game("go", size=5, komi=0.5)
        games = []
        for r in rows:
            text = Path(r.record).read_text()
            assert text.startswith("(;FF[4]GM[1]") and "SZ[5]" in text and "KM[0.5]" in text
            assert f"PB[{r.first}]" in text and f"PW[{r.second}]" in text
            state = game.initial_state()
            moves = sgf_moves(text)
            for m in moves:
                state = game.step(state, game.sgf_to_action(m))
            assert game.is_terminal(state) and len(moves) == r.moves
            assert f"RE[{game.result_string(state)}]" in text
            assert r.result == (game.returns(state)[0] + 1) / 2
            games.append((r.first, r.second, r.result, tuple(moves)))
        outcomes.append(sorted(games))
    assert outcomes[0] == outcomes[1]  # same seed, same workers: the same games


@pytest.mark.parametrize("batch", [1, 4])
def test_games_in_flight_keep_each_search_on_its_own_game(batch):
    """Lock-step play: with 4 games at once, finishing and restarting in any order, the batched
    search must still answer each game with its own move, so a search far above random still
    wins every game."""
    game = make_game("connect4")
    contestants = [Contestant.of("mcts:sims=200"), Contestant.of("random")]
    rows = run_arena(game, contestants, schedule(2, 12), batch=batch, seed=4)
    assert len(rows) == 12
    assert sum(r.result if r.first == "mcts:sims=200" else 1 - r.result for r in rows) == 12
    assert len({r.moves for r in rows}) > 1  # different games, not one game replayed


def test_a_killed_arena_leaves_a_readable_csv(tmp_path):
    results = tmp_path / "killed.csv"
    proc = subprocess.Popen([sys.executable, "-m", "selfplay.cli", "arena", "random", "random:seed=1",
                             "--games", "100000", "--results", str(results)],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if results.exists() and results.read_text().count("\n") > 20:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    rows = read_results(results)
    assert len(rows) >= 20
    assert all(r.first in ("random", "random:seed=1") and r.result in (0, 0.5, 1) for r in rows)
    assert main(["elo", str(results)]) == 0


@pytest.mark.parametrize("argv, message", [
    (["random", "grandmaster"], "unknown player 'grandmaster'"),
    (["random", "mcts:sims=many"], "sims='many' is not a valid int"),
    (["random", "mcts:speed=3"], "unknown option 'speed'"),
    (["random", "mcts:sims=20", "--games", "0"], "--games must be at least 1"),
    (["random", "mcts:sims=20", "--parallel", "0"], "--parallel must be at least 1"),
    (["random"], "at least two players"),
    (["random", "random"], "named twice"),
    (["random", "solver", "--game", "tictactoe"], "connect4 only"),
])
def test_bad_arguments_give_one_clear_line(argv, message, capsys):
    assert main(["arena", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_human_in_the_arena_plays_without_undo(tmp_path):
    from selfplay.cli import build_parser
    from selfplay.commands import arena
    args = build_parser().parse_args(["arena", "human", "random", "--game", "tictactoe", "--games", "1",
                                      "--results", str(tmp_path / "h.csv"), "--parallel", "4"])
    # every cell once, in order: the refused ones are the random player's, so the game ends
    feed = iter(["undo", "a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"])
    out = []
    assert arena.run(args, read_line=lambda prompt: next(feed), write=out.append) == 0
    assert "undo and hint are not available" in "\n".join(out)
    assert len(read_results(tmp_path / "h.csv")) == 1


class _FirstLegal(Player):
    """As deterministic as a network at temperature 0: the same position, the same move."""
    name = "first-legal"

    def select_move(self, game, state):
        return int(game.legal_actions(state)[0])


def test_openings_make_deterministic_players_play_different_games(monkeypatch, tmp_path):
    monkeypatch.setattr("selfplay.arena.lockstep.build_player", lambda spec, game, seed, context=None: _FirstLegal())
    game = make_game("connect4")
    contestants = [Contestant.of("a"), Contestant.of("b")]

    def distinct_games(**options):
        rows = run_arena(game, contestants, schedule(2, 10), seed=1, check=False, save_dir=tmp_path, **options)
        return {Path(r.record).read_text() for r in rows}

    assert len(distinct_games()) == 1  # one game, played ten times
    assert len(distinct_games(opening_plies=2)) == 5  # five openings (same players: colours swap to the same game)


@pytest.mark.parametrize("batch", [1, 4])
def test_saved_games_begin_with_the_opening_and_replay_legally(tmp_path, batch):
    """Searching players start from the position after the opening (batched search at batch 4,
    the player's own tree at batch 1): every saved game replays by the rules from its opening."""
    game = make_game("connect4")
    contestants = [Contestant.of("mcts:sims=30"), Contestant.of("random")]
    rows = run_arena(game, contestants, schedule(2, 6), batch=batch, seed=3, save_dir=tmp_path, opening_plies=3)
    expected = {g.index: g.opening for g in with_openings(game, schedule(2, 6), 3, seed=3)}
    starts = sorted(Path(r.record).read_text().strip()[:3] for r in rows)
    assert starts == sorted("".join(str(a + 1) for a in o) for o in expected.values())
    for r in rows:
        moves = [int(c) - 1 for c in Path(r.record).read_text().strip()]
        assert game.is_terminal(_replay(game, moves)) and len(moves) == r.moves


def _replay(game, moves):
    state = game.initial_state()
    for a in moves:
        state = game.step(state, a)
    return state


def test_arena_command_takes_opening_plies(tmp_path, capsys):
    results = tmp_path / "r.csv"
    assert main(["arena", "random", "random:seed=1", "--games", "4", "--opening-plies", "2",
                 "--results", str(results), "--save-games", str(tmp_path / "g"), "--seed", "5"]) == 0
    rows = read_results(results)
    assert len(rows) == 4 and all(r.moves >= 7 for r in rows)
    assert main(["arena", "random", "random:seed=1", "--opening-plies", "-1"]) == 2
    assert "--opening-plies must be 0 or more" in capsys.readouterr().err


# ---- executors -------------------------------------------------------------------------------------
def test_run_arena_plays_through_the_executor_passed_in():
    shares = []

    def executor(play, games, record):
        shares.append([g.index for g in games])
        in_this_process(play, games, record)

    game = make_game("tictactoe")
    contestants = [Contestant.of("random"), Contestant.of("mcts:sims=5")]
    rows = run_arena(game, contestants, schedule(2, 4), seed=2, executor=executor)
    assert shares == [[0, 1, 2, 3]] and len(rows) == 4
    default = run_arena(game, contestants, schedule(2, 4), seed=2)  # this process, share 0
    assert [(r.first, r.result, r.moves) for r in rows] == [(r.first, r.result, r.moves) for r in default]


def test_local_processes_play_the_shares_the_loop_plays_here():
    """Worker w plays share w, every parallel-th game: the results are those of the same shares
    played in this process, whatever order they arrive in."""
    game = make_game("tictactoe")
    contestants = [Contestant.of("random"), Contestant.of("mcts:sims=6")]
    games = schedule(2, 6)
    rows = run_arena(game, contestants, games, parallel=2, batch=2, seed=9)
    expected = []
    for w in range(2):
        play_games(game, SpecLineup(game, tuple(contestants)), games[w::2], w,
                   lambda o: expected.append(o) or True, seed=9, batch=2)
    names = {g.index: (contestants[g.first].name, contestants[g.second].name) for g in games}
    assert sorted((r.first, r.second, r.result, r.moves) for r in rows) == \
        sorted((*names[o.index], o.result, len(o.actions)) for o in expected)


def test_a_human_plays_in_this_process_only():
    game = make_game("tictactoe")
    with pytest.raises(ArenaError, match="a human plays at this terminal"):
        run_arena(game, [Contestant.of("human"), Contestant.of("random")], schedule(2, 1), executor=in_this_process)


def test_the_executors_never_import_the_arena():
    code = ("import sys, selfplay.distributed.processes, selfplay.distributed.ray_arena; "
            "print(sorted(m for m in sys.modules if m.startswith('selfplay.arena')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
