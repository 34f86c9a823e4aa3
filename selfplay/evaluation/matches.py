"""Evaluation of a network during training: matches against reference players and, for
Connect Four, the share of outcome-keeping moves on solver-scored benchmark positions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from games import Game, make_game
from selfplay.arena.match import play_game
from selfplay.mcts import MCTS, MCTSConfig, MCTSPlayer
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
    """Scores keyed ``score_vs/<opponent spec>`` and, when configured and the positions file
    exists, ``c4/outcome_share`` and ``c4/best_share`` (EvalConfig in selfplay.training.config)."""
    rng = np.random.default_rng(seed)
    results: dict[str, float] = {}
    player = network_player(game, model, device, config.simulations, int(rng.integers(2**31)))
    if config.games:
        for spec in filter(None, (s.strip() for s in config.opponents.split(";"))):
            opponent = make_player(spec, game)
            results[f"score_vs/{spec}"] = match_score(game, player, opponent, config.games)
    if config.c4_positions and game.name == "connect4" and Path(config.c4_positions).is_file():
        results.update(connect4_benchmark(model, device, config.c4_positions, config.c4_limit,
                                          config.simulations, int(rng.integers(2**31))))
    return results


def network_moves(game: Game, model: PolicyValueNet, device, states, simulations: int, seed: int,
                  batch_size: int = 256) -> np.ndarray:
    """The move the network + MCTS plays in each of many positions, searched as one batch of trees
    (one forward per round for all of them, instead of a search per position)."""
    actions = np.empty(len(states), dtype=np.int64)
    evaluator = NetworkEvaluator(model, device)
    for start in range(0, len(states), batch_size):
        chunk = states[start:start + batch_size]
        mcts = MCTS(game, evaluator, MCTSConfig(num_simulations=simulations, seed=seed + start), len(chunk))
        mcts.set_roots(chunk)
        actions[start:start + len(chunk)] = mcts.search().select_actions(0.0, mcts.rng)
    return actions


def connect4_benchmark(model: PolicyValueNet, device, positions_path: str, limit: int, simulations: int,
                       seed: int) -> dict[str, float]:
    """Shares of outcome-keeping and best-score moves on solver-scored positions (eval-c4's measures)."""
    from selfplay.evaluation.c4_positions import move_scores, read_positions
    game = make_game("connect4")
    positions = read_positions(positions_path, limit)
    scores = move_scores(positions)
    states = [game.state_from_moves(m) for m in positions.moves]
    actions = network_moves(game, model, device, states, simulations, seed)
    chosen = scores[np.arange(len(actions)), actions].astype(int)
    top = scores.max(axis=1).astype(int)
    return {"c4/outcome_share": float(np.mean(np.sign(chosen) == np.sign(top))),
            "c4/best_share": float(np.mean(chosen == top))}
