"""The configuration of a whole run (``configs/*.yaml``): game, network, self-play, replay,
optimiser, evaluation, budget and where self-play runs, each a typed section checked on load."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from games import GAME_NAMES, Game, GameError, make_game
from games.registry import game_entry
from selfplay.arena.errors import ArenaError
from selfplay.arena.schedule import random_opening
from selfplay.configio import ConfigError, require
from selfplay.distributed.ray_cluster import RayConfig
from selfplay.network import NetworkConfig
from selfplay.players import require_specs
from selfplay.rating.rate import RatingConfig
from selfplay.training.learner import OptimConfig
from selfplay.training.replay import ReplayConfig
from selfplay.training.selfplay import SelfPlayConfig


@dataclass
class GameConfig:
    """The game of a run: a name of games.registry and the parameters that game takes (the
    fields of parameters it does not take are ignored), checked by building the game."""
    name: Literal[GAME_NAMES] = "connect4"
    size: int = 9          # Go
    komi: float = 7.0      # Go
    max_moves: int = 0     # Go; 0 = the rules' default cap

    def params(self) -> dict:
        """make_game's keyword parameters: the fields the game takes."""
        params = {name: getattr(self, name) for name in game_entry(self.name).params}
        if params.get("max_moves") == 0:
            params["max_moves"] = None
        return params

    def validate(self):
        try:
            self.make()
        except GameError as e:
            raise ConfigError(str(e)) from None

    def make(self) -> Game:
        return make_game(self.name, **self.params())


@dataclass
class EvalConfig:
    every_steps: int = 1000          # evaluate each checkpoint this many steps apart; 0 = never
    rate: bool = True                # rate it against the reference pool of the rating section
    simulations: int = 200           # the network player's search
    games: int = 20                  # per opponent, colours alternating
    opponents: str = "random;mcts:sims=200"   # player specs separated by semicolons
    c4_positions: str = ""           # Connect Four: a benchmark positions file for eval-c4 ('' = off)
    c4_limit: int = 200              # ... its first N positions

    def validate(self):
        require_specs("opponents", self.opponent_specs())
        require(self.every_steps >= 0, "every_steps must be 0 (off) or positive")
        require(self.simulations >= 1 and self.games >= 0, "simulations must be positive, games 0 or more")
        require(self.c4_limit >= 1, "c4_limit must be positive")

    def opponent_specs(self) -> list[str]:
        return [s.strip() for s in self.opponents.split(";") if s.strip()]


@dataclass
class SFTConfig:
    """Imitation learning on expert games (``selfplay sft``)."""
    validation_share: float = 0.05   # games (replay chunks, labelled positions) held out to measure accuracy
    validate_every: int = 200        # steps
    max_games: int = 0               # use at most this many games; 0 = all

    def validate(self):
        require(0 < self.validation_share < 1, "validation_share must be in (0, 1)")
        require(self.validate_every >= 1, "validate_every must be positive")
        require(self.max_games >= 0, "max_games must be 0 (all) or positive")


@dataclass
class RunConfig:
    seed: int = 0
    device: str = "auto"
    total_steps: int = 10_000        # training steps of the run
    max_hours: float = 0.0           # stop (checkpointed) after this much wall time; 0 = no limit
    checkpoint_every: int = 200      # steps; also how often workers get new weights
    keep_checkpoints: int = 5        # the newest ones kept (and every rated one); more for averaging (SWA)
    torch_threads: int = 0           # 0 = torch's default
    init_from: str = ""              # start from the weights of this run or checkpoint (e.g. an SFT run)
    backend: Literal["local", "ray"] = "local"  # self-play workers as local processes or Ray actors
    game: GameConfig = field(default_factory=GameConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    selfplay: SelfPlayConfig = field(default_factory=SelfPlayConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    rating: RatingConfig = field(default_factory=RatingConfig)
    ray: RayConfig = field(default_factory=RayConfig)   # backend: ray only (docs/ray.md)

    def validate(self):
        require(self.seed >= 0, f"seed must be 0 or more, got {self.seed}")
        require(self.total_steps >= 1, "total_steps must be positive")
        require(self.max_hours >= 0, "max_hours must be 0 (no limit) or positive")
        require(self.checkpoint_every >= 1, "checkpoint_every must be positive")
        require(self.keep_checkpoints >= 1, f"keep_checkpoints must be positive, got {self.keep_checkpoints}")
        require(self.torch_threads >= 0, "torch_threads must be 0 (default) or positive")
        require(self.backend == "local" or self.selfplay.workers >= 1,
                "backend: ray needs selfplay.workers >= 1 (the number of self-play actors)")
        game = self.game.make()  # each player spec's option values, for the game they will play
        require(not self.network.ownership_head or game.final_ownership(game.initial_state()) is not None,
                f"network.ownership_head needs a game with territory (go); {game.name} has no final ownership")
        require(not self.selfplay.score_utility or self.network.ownership_head,
                "selfplay.score_utility needs the score head: network.ownership_head: true")
        if self.selfplay.random_opening_share:
            try:
                random_opening(game, self.selfplay.random_opening_plies, np.random.default_rng(0))
            except ArenaError as e:
                raise ConfigError(f"selfplay.random_opening_plies: {e}") from None
        require_specs("eval.opponents", self.eval.opponent_specs(), game)
        if self.selfplay.opponent_share:
            require_specs("selfplay.opponent", [self.selfplay.opponent], game)
        rating = self.rating
        for name, specs in (("pool", rating.pool_specs()), ("expert", [rating.expert] if rating.expert.strip() else []),
                            ("anchor", [rating.anchor])):
            require_specs(f"rating.{name}", specs, game)
