"""Leela Zero's pass rule (selfplay.mcts.passing), on positions whose count is done by hand."""

import numpy as np
import pytest

from games import make_game
from games.go.game import GoGame
from selfplay.mcts import MCTSConfig, MCTSPlayer
from selfplay.mcts.evaluators import Evaluator
from selfplay.mcts.passing import apply_pass_rule, pass_outcome
from selfplay.arena.lockstep import BatchedSearch
from selfplay.players import PlayerSpecError, make_player


def walled(komi: float) -> tuple[GoGame, np.ndarray]:
    """7x7: a Black wall on column D, a White wall on column E, Black to move. Black's area is
    columns A-D (28 points), White's E-G (21): Black's count is 7 - komi."""
    game = GoGame(7, komi=komi)
    board = np.zeros((7, 7), dtype=np.int8)
    board[:, 3], board[:, 4] = 1, 2
    return game, game.from_board(board, to_play=0)


def stats(game: GoGame, visits: dict[int, int], q: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    v = np.zeros(game.num_actions, dtype=np.int32)
    values = np.full(game.num_actions, np.nan, dtype=np.float32)
    for a, n in visits.items():
        v[a], values[a] = n, q[a]
    return v, values


def test_pass_outcome_counts_the_board_as_it_stands():
    game, state = walled(komi=9)  # 28 - 21 - 9 = -2: Black loses the count
    assert pass_outcome(game, state) == -1
    assert pass_outcome(game, walled(komi=7)[1]) == 0  # 28 - 21 - 7: a draw
    assert pass_outcome(game, walled(komi=5)[1]) == 1
    white_to_move = game.step(state, game.pass_action)  # Black passed: White's pass ends it, White wins
    assert pass_outcome(game, white_to_move) == 1


def test_a_losing_or_tied_pass_is_replaced_by_the_best_other_move():
    a1, b1, g1 = 0, 1, 6  # A1 (Black's area), B1, G1 (White's area)
    for komi in (9, 7):  # the count loses, then ties
        game, state = walled(komi)
        visits, q = stats(game, {game.pass_action: 300, a1: 50, g1: 40}, {game.pass_action: 0.0, a1: -0.03, g1: 0.0})
        assert apply_pass_rule(game, state, game.pass_action, visits, q) == a1  # the most visited other move
    game, state = walled(9)
    visits, q = stats(game, {game.pass_action: 300, a1: 50, g1: 40}, {game.pass_action: 0.0, a1: -0.5, g1: -0.01})
    assert apply_pass_rule(game, state, game.pass_action, visits, q) == g1  # A1 is clearly worse
    visits, q = stats(game, {game.pass_action: 300, a1: 50, b1: 40}, {game.pass_action: 0.0, a1: -0.5, b1: -0.9})
    assert apply_pass_rule(game, state, game.pass_action, visits, q) == game.pass_action  # no move as good


def test_a_winning_count_is_ended_and_other_moves_are_left_alone():
    a1, g1 = 0, 6
    game, state = walled(komi=5)  # Black wins the count by 2
    visits, q = stats(game, {game.pass_action: 300, a1: 50}, {game.pass_action: 0.9, a1: 0.9})
    assert apply_pass_rule(game, state, game.pass_action, visits, q) == game.pass_action  # a winning pass stays
    assert apply_pass_rule(game, state, a1, visits, q) == a1  # White has not passed: play on as chosen
    white_passed = game.step(game.step(state, a1), game.pass_action)  # Black fills A1, White passes
    assert apply_pass_rule(game, white_passed, 2, visits, q) == game.pass_action  # B wins by passing now
    game, state = walled(komi=9)
    lost = game.step(game.step(state, a1), game.pass_action)
    assert apply_pass_rule(game, lost, 2, visits, q) == 2  # passing would lose: play on


def test_games_without_a_pass_are_untouched():
    game = make_game("connect4")
    state = game.initial_state()
    visits = np.array([0, 0, 0, 10, 0, 0, 0], dtype=np.int32)
    assert pass_outcome(game, state) is None
    assert apply_pass_rule(game, state, 3, visits, np.zeros(7, np.float32)) == 3


class BlackIsLost(Evaluator):
    """Priors that favour the pass, and every position lost for Black: a search that finds
    nothing to play for, as a self-play network does in a settled count it loses."""

    def evaluate(self, batch):
        priors = batch.legal_mask.astype(np.float32)
        priors[:, -1] *= 10
        priors /= priors.sum(axis=1, keepdims=True)
        black_to_move = np.array([batch.game.to_play(s) == 0 for s in batch.states])
        return priors, np.where(black_to_move, -1.0, 1.0).astype(np.float32)


def test_a_player_with_the_rule_plays_on_instead_of_passing_into_a_loss():
    game, state = walled(komi=9)
    plain = MCTSPlayer(game, BlackIsLost(), MCTSConfig(num_simulations=200, seed=0))
    ruled = MCTSPlayer(game, BlackIsLost(), MCTSConfig(num_simulations=200, seed=0, pass_rule=True))
    assert plain.select_move(game, state) == game.pass_action
    move = ruled.select_move(game, state)
    assert move != game.pass_action and game.legal_mask(state)[move]
    assert (plain.select_moves(game, np.stack([state, state])) == game.pass_action).all()
    assert (ruled.select_moves(game, np.stack([state, state])) != game.pass_action).all()
    for player, passes in ((plain, True), (ruled, False)):  # the arena's lock-step search
        search = BatchedSearch(player, game, slots=3)
        for slot in range(3):
            search.start(slot, state)
        assert [move == game.pass_action for move in search.moves([0, 2])] == [passes, passes]


def test_the_specs_take_the_rule():
    game = GoGame(7, komi=9)
    assert make_player("mcts:sims=8,passrule=true", game).config.pass_rule
    assert "passrule" in make_player("mcts:sims=8,passrule=true", game).name
    assert not make_player("mcts:sims=8", game).config.pass_rule


def test_the_net_spec_refuses_a_bad_value():
    with pytest.raises(PlayerSpecError, match="passrule"):
        make_player("net:go7,passrule=maybe", GoGame(7, komi=9))
