"""Contempt (MCTSConfig.contempt, ``net:...,contempt=D``): a draw counts -D for the root's player
and +D for its opponent, checked against values worked out by hand on searches whose every leaf
is a sure draw, on a terminal draw, and on a win/draw/loss network's own draw probabilities."""

import numpy as np
import pytest
import torch

from games import make_game
from selfplay.mcts import MCTS, MCTSConfig
from selfplay.mcts.errors import MCTSConfigError, MCTSError
from selfplay.mcts.evaluators import Evaluator, UniformEvaluator
from selfplay.network import NetworkConfig, NetworkEvaluator, PolicyValueNet
from selfplay.players import PlayerSpecError, make_player
from selfplay.run.checkpoint import network_sections, save_checkpoint


class SureDraws(Evaluator):
    """Uniform priors, value 0 and a draw probability of ``draw`` on every leaf."""

    reports_draws = True

    def __init__(self, draw: float):
        self.draw = draw

    def evaluate(self, batch):
        legal = batch.legal_mask
        self.last_draws = np.full(len(batch), self.draw, dtype=np.float32)
        return (legal / legal.sum(axis=1, keepdims=True)).astype(np.float32), np.zeros(len(batch), np.float32)


@pytest.mark.parametrize("contempt", [0.0, 0.3])
def test_every_leaf_a_sure_draw_is_worth_minus_contempt_to_the_root(contempt):
    game = make_game("connect4")  # 20 simulations cannot reach the end of a game
    mcts = MCTS(game, SureDraws(1.0), MCTSConfig(num_simulations=20, contempt=contempt), batch_size=2)
    mcts.set_roots([game.initial_state(), game.state_from_moves("44")])
    result = mcts.search()
    # a leaf with the root's player to move is worth -c to it; one with the opponent to move
    # +c to the opponent, so -c to the root's player again after negamax: every Q is -c
    assert np.allclose(result.root_value, -contempt, atol=1e-6)
    visited = result.visit_counts > 0
    assert np.allclose(result.q_values[visited], -contempt, atol=1e-6)


def test_half_a_draw_costs_half_the_contempt():
    game = make_game("connect4")
    mcts = MCTS(game, SureDraws(0.5), MCTSConfig(num_simulations=20, contempt=0.4), batch_size=1)
    mcts.set_roots([game.initial_state()])
    assert np.isclose(mcts.search().root_value[0], -0.2, atol=1e-6)


def test_a_terminal_draw_is_worth_minus_contempt_to_the_root():
    game = make_game("tictactoe")
    state = game.initial_state()
    # X O X / X O O / O X . : X to move, and its only move draws (no line for anyone)
    for action in (0, 1, 2, 4, 3, 5, 7, 6):
        state = game.step(state, action)
    assert game.legal_mask(state).sum() == 1 and game.legal_mask(state)[8]
    mcts = MCTS(game, SureDraws(0.0), MCTSConfig(num_simulations=8, contempt=0.25), batch_size=1)
    mcts.set_roots([state])
    result = mcts.search()
    assert np.isclose(result.q_values[0, 8], -0.25, atol=1e-6)
    plain = MCTS(game, SureDraws(0.0), MCTSConfig(num_simulations=8), batch_size=1)
    plain.set_roots([state])
    assert np.isclose(plain.search().q_values[0, 8], 0.0, atol=1e-6)


def test_contempt_is_refused_where_it_cannot_mean_anything():
    with pytest.raises(MCTSConfigError, match="contempt must be in"):
        MCTSConfig(contempt=1.5)
    with pytest.raises(MCTSConfigError, match="without the solver"):
        MCTSConfig(contempt=0.2, solver=True)
    with pytest.raises(MCTSError, match="reports draws"):
        MCTS(make_game("connect4"), UniformEvaluator(), MCTSConfig(contempt=0.2))


def wdl_net(game):
    torch.manual_seed(0)
    config = NetworkConfig(channels=8, blocks=1, value_hidden=8, value_head="wdl")
    return PolicyValueNet(game.obs_shape, game.num_actions, config).eval(), config


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_wdl_network_reports_its_draw_probabilities(precision):
    game = make_game("connect4")
    model, _ = wdl_net(game)
    states = [game.state_from_moves(m) for m in ("4", "4453", "1234567")]
    planes = np.stack([game.encode(s) for s in states])
    masks = np.stack([game.legal_mask(s) for s in states])
    evaluator = NetworkEvaluator(model, "cpu", precision=precision, draws=True)
    _, values = evaluator.forward(planes, masks)
    with torch.no_grad():
        probabilities = model.training_outputs(torch.from_numpy(planes))["value_outputs"].softmax(-1).numpy()
    tolerance = 1e-5 if precision == "fp32" else 2e-2
    assert np.allclose(evaluator.last_draws, probabilities[:, 1], atol=tolerance)
    assert np.allclose(values, probabilities[:, 0] - probabilities[:, 2], atol=tolerance)
    with pytest.raises(ValueError, match="win/draw/loss"):
        NetworkEvaluator(PolicyValueNet(game.obs_shape, game.num_actions), "cpu", draws=True)
    with pytest.raises(ValueError, match="cache"):
        NetworkEvaluator(model, "cpu", draws=True, cache_entries=16)


def test_a_net_player_with_contempt_plays_and_bad_specs_are_refused(tmp_path):
    game = make_game("connect4")
    model, config = wdl_net(game)
    path = tmp_path / "wdl.pt"
    save_checkpoint(path, {"model": model.state_dict(), "step": 1, **network_sections(game, config)})
    player = make_player(f"net:{path},sims=16,contempt=0.3,seed=0", game)
    assert "contempt=0.3" in player.name
    state = game.initial_state()
    for _ in range(4):
        action = player.select_move(game, state)
        assert game.legal_mask(state)[action]
        player.observe(game, state, action)
        state = game.step(state, action)
    scalar = tmp_path / "scalar.pt"
    plain = NetworkConfig(channels=8, blocks=1, value_hidden=8)
    save_checkpoint(scalar, {"model": PolicyValueNet(game.obs_shape, game.num_actions, plain).state_dict(),
                             "step": 1, **network_sections(game, plain)})
    with pytest.raises(PlayerSpecError, match="needs a win/draw/loss network"):
        make_player(f"net:{scalar},contempt=0.3", game)
    with pytest.raises(PlayerSpecError, match="does not combine with cache"):
        make_player(f"net:{path},contempt=0.3,cache=1024", game)
    with pytest.raises(PlayerSpecError, match="contempt must be 0"):
        make_player(f"net:{path},contempt=2", game)
