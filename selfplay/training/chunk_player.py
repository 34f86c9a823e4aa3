"""Playing a chunk of self-play games: what in-process self-play, worker processes and Ray
actors all do between the learner's checkpoints. A chunk is ``parallel_games`` finished games
stamped with the version (training step) of the weights that played them; the games still in
progress carry over to the next chunk."""

from __future__ import annotations

from typing import Callable

import torch

from games import Game
from selfplay.network import NetworkEvaluator, PolicyValueNet
from selfplay.training.replay import GameChunk
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig, SelfPlayStats


class ChunkPlayer:
    """A network, its batched evaluator and a SelfPlay, kept across chunks."""

    def __init__(self, game: Game, model: PolicyValueNet, device: torch.device | str, config: SelfPlayConfig,
                 seed: int):
        self.model = model
        self.evaluator = NetworkEvaluator(model, device, precision=config.inference_precision,
                                          cache_entries=config.eval_cache, cache_fold=config.eval_cache_fold,
                                          score_utility=config.score_utility)
        self.selfplay = SelfPlay(game, self.evaluator, config, seed=seed, value_discount=model.config.value_discount)
        self.parallel_games = config.parallel_games
        self.version: int | None = None  # the training step of the weights held; None: none loaded
        self.played = SelfPlayStats()    # every chunk's, for the process's stage record

    def load(self, version: int, weights: Callable[[], dict]) -> None:
        """Take the weights of ``version`` unless they are the ones held (``weights()`` fetches
        the state dict only then)."""
        if version != self.version:
            self.model.load_state_dict(weights())
            self.version = version

    def play(self, model_step: int) -> tuple[GameChunk, SelfPlayStats, float]:
        """The next chunk, its statistics and the seconds spent in the network for it."""
        self.model.eval()
        forward_before = self.evaluator.forward_seconds
        chunk, stats = self.selfplay.play(self.parallel_games)
        chunk.model_step = model_step
        self.played.merge(stats)
        return chunk, stats, self.evaluator.forward_seconds - forward_before

    def counts(self) -> dict[str, int]:
        """What this player has produced: games, recorded positions, moves, simulations, and the
        positions its network evaluated (selfplay.training.stages records them)."""
        p = self.played
        return {"games": p.games, "positions": p.positions, "moves": p.moves, "simulations": p.simulations,
                "network_positions": self.evaluator.positions_evaluated,
                "cache_lookups": getattr(p, "cache_lookups", 0), "cache_hits": getattr(p, "cache_hits", 0),
                "opponent_games": p.opponent_games, "opponent_half_points": round(2 * p.opponent_points)}
