"""Evaluation of a network during training: matches against reference players and, for
Connect Four, the share of outcome-keeping moves on solver-scored benchmark positions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from games import Game, make_game
from games.connect4 import ConnectFour
from selfplay.arena.lockstep import Lineup, Outcome, build_player, play_games
from selfplay.arena.schedule import schedule
from selfplay.evaluation.c4_positions import evaluate, move_scores, read_positions
from selfplay.mcts import MCTSConfig, MCTSPlayer
from selfplay.network import NetworkEvaluator, PolicyValueNet
from selfplay.players import Player


def network_player(game: Game, model: PolicyValueNet, device, simulations: int, seed: int) -> MCTSPlayer:
    config = MCTSConfig(num_simulations=simulations, value_discount=model.config.value_discount, seed=seed)
    return MCTSPlayer(game, NetworkEvaluator(model, device), config, name=f"net(sims={simulations})")


@dataclass(frozen=True)
class NetworkAgainst:
    """The network in training (contestant 0, searching with ``simulations``) against the
    player of ``opponent``, a spec (contestant 1, seeded when its kind takes a seed)."""

    game: Game
    model: PolicyValueNet
    device: object
    simulations: int
    opponent: str

    @property
    def names(self) -> list[str]:
        return [f"net(sims={self.simulations})", self.opponent]

    def build(self, index: int, seed: int) -> Player:
        if index == 0:
            return network_player(self.game, self.model, self.device, self.simulations, seed)
        return build_player(self.opponent, self.game, seed)


def match_score(game: Game, lineup: Lineup, games: int, seed: int) -> float:
    """Score of contestant 0 of ``lineup`` against contestant 1 (win 1, draw 1/2) over ``games``
    games, colours alternating (contestant 0 starts the even ones), all played at once in
    lock-step so that a searching player searches every game together."""
    order = schedule(2, games)
    points = []

    def report(outcome: Outcome) -> bool:
        first_is_zero = order[outcome.index].first == 0
        points.append(outcome.result if first_is_zero else 1 - outcome.result)
        return True

    play_games(game, lineup, order, 0, report, seed=seed, batch=games)
    return sum(points) / max(games, 1)


def evaluate_checkpoint(game: Game, model: PolicyValueNet, device, config, seed: int) -> dict[str, float]:
    """Scores keyed ``score_vs/<opponent spec>`` and, when configured and the positions file
    exists, ``c4/outcome_share`` and ``c4/best_share`` (EvalConfig in selfplay.training.config);
    the positions are Connect Four's, so another game's run skips them."""
    rng = np.random.default_rng(seed)
    results: dict[str, float] = {}
    match_seed = int(rng.integers(2**31))
    if config.games:
        for spec in config.opponent_specs():
            lineup = NetworkAgainst(game, model, device, config.simulations, spec)
            results[f"score_vs/{spec}"] = match_score(game, lineup, config.games, match_seed)
    if config.c4_positions and isinstance(game, ConnectFour) and Path(config.c4_positions).is_file():
        results.update(connect4_benchmark(model, device, config.c4_positions, config.c4_limit,
                                          config.simulations, int(rng.integers(2**31))))
    return results


def connect4_benchmark(model: PolicyValueNet, device, positions_path: str, limit: int, simulations: int,
                       seed: int) -> dict[str, float]:
    """Shares of outcome-keeping and best-score moves on solver-scored positions (eval-c4's measures)."""
    positions = read_positions(positions_path, limit)
    player = network_player(make_game("connect4"), model, device, simulations, seed)
    result = evaluate(player, positions, move_scores(positions))
    return {"c4/outcome_share": result.outcome.value, "c4/best_share": result.best.value}
