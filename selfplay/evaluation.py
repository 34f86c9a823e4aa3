"""Evaluation of a network during training: matches against reference players and, for
Connect Four, the share of outcome-keeping moves on solver-scored benchmark positions."""

from __future__ import annotations

import numpy as np

from games import Game
from selfplay.match import play_game
from selfplay.mcts import MCTSConfig, MCTSPlayer
from selfplay.network import NetworkEvaluator, PolicyValueNet
from selfplay.players import Player, make_player


def network_player(game: Game, model: PolicyValueNet, device, simulations: int, seed: int) -> MCTSPlayer:
    config = MCTSConfig(num_simulations=simulations, seed=seed)
    return MCTSPlayer(game, NetworkEvaluator(model, device), config, name=f"net(sims={simulations})")


def match_score(game: Game, player: Player, opponent: Player, games: int) -> float:
    """Score of ``player`` (win 1, draw 1/2) over ``games`` games, colours alternating."""
    total = 0.0
    for i in range(games):
        seats = (player, opponent) if i % 2 == 0 else (opponent, player)
        returns = play_game(game, seats).returns
        total += (returns[i % 2] + 1) / 2
    return total / max(games, 1)


def evaluate_checkpoint(game: Game, model: PolicyValueNet, device, config, seed: int) -> dict[str, float]:
    """Scores keyed ``score_vs/<opponent spec>`` and, when configured, ``c4/outcome_share`` and
    ``c4/best_share`` (EvalConfig in selfplay.runconfig says which)."""
    rng = np.random.default_rng(seed)
    results: dict[str, float] = {}
    player = network_player(game, model, device, config.simulations, int(rng.integers(2**31)))
    if config.games:
        for spec in filter(None, (s.strip() for s in config.opponents.split(";"))):
            opponent = make_player(spec, game)
            results[f"score_vs/{spec}"] = match_score(game, player, opponent, config.games)
    if config.c4_positions and game.name == "connect4":
        from selfplay.c4_eval import evaluate_player
        report = evaluate_player(player, config.c4_positions, limit=config.c4_limit)
        results["c4/outcome_share"] = report.outcome_share
        results["c4/best_share"] = report.best_share
    return results
