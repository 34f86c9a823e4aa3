"""Self-play against a fixed opponent (selfplay.opponent, selfplay.opponent_share): AlphaStar's
exploiters. The opponent here is a scripted tic-tac-toe player that keeps its own record of
every game it is shown, so each game's moves, who made them and its result are worked out by the
rules from that record, not taken from the code under test."""

import json

import numpy as np
import pytest

from games import make_game
from selfplay.configio import ConfigError, load_config
from selfplay.mcts import UniformEvaluator
from selfplay.players import Player, Resignation
from selfplay.training.config import RunConfig
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig
from tests.test_selfplay import LINES, check_policy_targets, to_move, ttt_board

TTT = make_game("tictactoe")


class LowestCell(Player):
    """Plays the lowest empty cell, and writes down every game it is shown: the moves in order,
    and which of them it chose itself. ``resign`` makes it resign instead of moving."""

    def __init__(self, resign: bool = False):
        self.resign = resign
        self.games: list[dict] = []

    def reset(self, game):
        self.games.append({"moves": [], "own": []})
        self.board = np.zeros(9, int)  # 1 X, 2 O, its own view from what it was told

    def select_move(self, game, state):
        if self.resign:
            raise Resignation("lowest-cell")
        move = int(np.flatnonzero(self.board == 0)[0])
        self.games[-1]["own"].append(len(self.games[-1]["moves"]))
        return move

    def observe(self, game, state, action):
        record = self.games[-1]
        assert self.board[action] == 0, "shown a move onto an occupied cell: its board is out of step"
        self.board[action] = 1 + len(record["moves"]) % 2
        record["moves"].append(int(action))


def winner(moves: list[int]) -> int | None:
    """0 (X), 1 (O) or None (a draw), by the rules, from a finished game's moves."""
    board = np.zeros(9, int)
    for ply, cell in enumerate(moves):
        board[cell] = 1 + ply % 2
        if any(board[a] == board[b] == board[c] == board[cell] for a, b, c in LINES):
            return ply % 2
    assert len(moves) == 9, "the game stopped before it was over"
    return None


def config(**overrides) -> SelfPlayConfig:
    settings = dict(parallel_games=1, simulations=8, cheap_simulations=2, full_search_prob=0.25, c_puct=4.0,
                    dirichlet_fraction=0.0, temperature_moves=9, resign_threshold=-1.0, opponent="random",
                    opponent_share=1.0)
    settings.update(overrides)
    c = SelfPlayConfig(**settings)
    c.validate()
    return c


@pytest.fixture
def opponents(monkeypatch):
    """The opponents SelfPlay makes, one per game slot, scripted; ``opponents.resign = True``
    before the first game makes them resign."""
    made = Made()

    def make(spec, game):
        made.append(LowestCell(made.resign))
        return made[-1]

    monkeypatch.setattr("selfplay.training.selfplay.make_player", make)
    return made


class Made(list):
    resign = False


def test_against_an_opponent_only_the_networks_moves_are_recorded_each_with_the_real_result(opponents):
    selfplay = SelfPlay(TTT, UniformEvaluator(), config(), seed=7)
    chunk, stats = selfplay.play(40)
    (opponent,) = opponents
    games = opponent.games[:40]  # a 41st may have started
    assert stats.games == chunk.games == stats.opponent_games == 40
    rows, points, colours = 0, 0.0, set()
    for record in games:
        moves, own = record["moves"], set(record["own"])
        colour = own and next(iter(own)) % 2  # the opponent's side: the parity of its plies
        assert own and all(ply % 2 == colour for ply in own)  # it played one side, all of that side's moves
        assert own == {ply for ply in range(len(moves)) if ply % 2 == colour}
        colours.add(colour)
        won_by = winner(moves)
        result = 0.0 if won_by is None else 1.0 if won_by != colour else -1.0  # the network's
        points += (result + 1) / 2
        network_plies = [ply for ply in range(len(moves)) if ply % 2 != colour]
        # every move of the network is a full search: one recorded position each, in order
        for ply in network_plies:
            planes = chunk.planes[rows]
            board = ttt_board(planes)
            expected = np.zeros(9, int)
            for i, cell in enumerate(moves[:ply]):
                expected[cell] = 1 + i % 2
            assert to_move(planes) == 1 - colour and np.array_equal(board, expected)
            assert chunk.value[rows] == result
            rows += 1
    assert rows == len(chunk) == stats.positions
    assert colours == {0, 1} and stats.opponent_points == points
    assert stats.outcomes[0] + stats.outcomes[1] + stats.outcomes[2] == 40
    check_policy_targets(TTT, chunk)
    assert stats.simulations == 8 * len(chunk)  # searched only on the network's moves, each a full search


def test_an_opponent_that_resigns_loses_the_game(opponents):
    opponents.resign = True
    chunk, stats = SelfPlay(TTT, UniformEvaluator(), config(), seed=3).play(20)
    assert stats.opponent_games == 20 and stats.opponent_points == 20 and stats.resigned == 20
    assert len(chunk) and (chunk.value == 1.0).all()  # the network's positions, in games it won
    assert all(len(game["moves"]) <= 1 for game in opponents[0].games)  # it resigned at its first move


def test_a_share_of_games_against_the_opponent_leaves_the_rest_self_play(opponents):
    selfplay = SelfPlay(TTT, UniformEvaluator(), config(opponent_share=0.5, full_search_prob=1.0), seed=11)
    chunk, stats = selfplay.play(200)
    assert 70 <= stats.opponent_games <= 130  # half of 200: outside this is p < 1e-4
    assert len(opponents[0].games) in (stats.opponent_games, stats.opponent_games + 1)
    # self-play games record both sides' moves, games against the opponent the network's only
    moves_against = sum(len(g["moves"]) for g in opponents[0].games[:stats.opponent_games])
    own_against = sum(len(g["own"]) for g in opponents[0].games[:stats.opponent_games])
    assert stats.positions == stats.moves - own_against and moves_against < stats.moves


def test_many_games_each_have_their_own_opponent_thinking_beside_the_search(opponents):
    selfplay = SelfPlay(TTT, UniformEvaluator(), config(parallel_games=4), seed=5)
    chunk, stats = selfplay.play(24)
    assert len(opponents) == 4 and stats.opponent_games >= 24
    finished = sum(len(o.games) for o in opponents) - 4  # each slot's last game is still going
    assert finished == stats.opponent_games
    for opponent in opponents:
        for record in opponent.games[:-1]:
            winner(record["moves"])  # each was played to its end by the rules
    selfplay.close()


@pytest.mark.parametrize("overrides, message", [
    (["selfplay.opponent_share=1.5", "selfplay.opponent=random"], "opponent_share must be 0 (off) to 1"),
    (["selfplay.opponent_share=0.5"], "opponent_share needs an opponent"),
    (["selfplay.opponent_share=0.5", "selfplay.opponent=nosuch:x=1"], "selfplay.opponent"),
    (["selfplay.opponent_share=0.5", "selfplay.opponent=random", "selfplay.gumbel=true",
      "selfplay.cheap_simulations=200"], "need PUCT search, not gumbel"),
])
def test_bad_opponent_settings_are_refused_by_name(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(RunConfig, None, ["game.name=tictactoe", *overrides])
    assert message in str(info.value)


def test_a_run_plays_part_of_its_games_against_the_expert_in_process_and_in_workers(tmp_path):
    from selfplay.training.trainer import run_training
    from tests.test_train import SMOKE
    against = ["selfplay.opponent=expert:depth=1", "selfplay.opponent_share=0.5", "total_steps=4",
               "eval.every_steps=0"]
    run = run_training(tmp_path / "here", SMOKE, against, log=lambda m: None)
    totals = run.source.totals
    # (the first games to finish are mostly the opponent's: an untrained network loses them fast)
    assert run.step == 4 and 0 < totals.opponent_games <= totals.games
    assert 0 <= totals.opponent_points <= totals.opponent_games
    run = run_training(tmp_path / "workers", SMOKE, [*against, "selfplay.workers=1"], log=lambda m: None)
    stage = json.loads((tmp_path / "workers" / "stages" / "worker-1.json").read_text())
    assert run.step == 4 and stage["counts"]["opponent_games"] > 0
