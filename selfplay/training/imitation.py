"""Imitation learning (SFT) on expert games: the first half of AlphaGo's story.

The policy head learns the expert's move (cross-entropy against a one-hot target), the value
head the game's result from the point of view of the player to move: the same loss, network,
checkpoints and evaluation as self-play RL (``selfplay.training.trainer``), with the replay window
replaced by a fixed dataset. A share of whole games is held out to measure move-prediction
accuracy, so positions of one game never sit on both sides of the split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from games import Game, GameError
from selfplay.errors import UserError
from selfplay.training.config import RunConfig
from selfplay.training.learner import losses
from selfplay.training.replay import GameChunk, ReplayBuffer, ReplayConfig
from selfplay.training.trainer import RunDir, Trainer, prepare_run


@dataclass
class ExpertGame:
    actions: list[int]
    returns: tuple[float, float] | None  # for players 0 and 1; None = unknown (no value target)
    setup: np.ndarray | None = None      # a start position other than the initial one (Go setup stones)


def read_connect4_games(path: str | Path, game: Game) -> list[ExpertGame]:
    """Lines "MOVES [RESULT]" (1-indexed columns); the result is recomputed from the moves."""
    path = Path(path)
    files = sorted(path.glob("*.txt")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"{path}: no Connect Four game files (*.txt)")
    games = []
    for file in files:
        try:
            lines = file.read_text().splitlines()
        except OSError as e:
            raise UserError(f"cannot read {file}: {e.strerror}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.startswith("#"):
                continue
            moves = line.split()[0]
            try:
                state = game.state_from_moves(moves)
            except GameError as e:
                raise UserError(f"{file}:{number}: {e}") from None
            returns = game.returns(state) if game.is_terminal(state) else None
            games.append(ExpertGame([int(c) - 1 for c in moves], returns))
    return games


def read_go_games(path: str | Path, game: Game) -> tuple[list[ExpertGame], int]:
    """Every SGF file under ``path`` of this board size; returns (games, files skipped)."""
    from games.go.sgf import read_sgf_dir
    records, skipped = read_sgf_dir(path)
    games = []
    for record in records:
        if record.size != game.size:
            skipped += 1
            continue
        setup = game.from_board(record.setup_board(), record.first_player) if record.has_setup else None
        games.append(ExpertGame(list(record.actions(game)), record.returns, setup))
    return games, skipped


def build_dataset(game: Game, games: list[ExpertGame]) -> GameChunk:
    """Every position of every game with its expert move and result."""
    planes, policy, value = [], [], []
    for g in games:
        state = game.initial_state() if g.setup is None else g.setup.copy()
        for action in g.actions:
            if game.is_terminal(state):
                break
            target = np.zeros(game.num_actions, dtype=np.float32)
            target[action] = 1.0
            planes.append(game.encode(state).astype(np.uint8))
            policy.append(target)
            value.append(0.0 if g.returns is None else g.returns[game.to_play(state)])
            state = game.step(state, action)
    c, h, w = game.obs_shape
    return GameChunk(np.array(planes, np.uint8).reshape(-1, c, h, w),
                     np.array(policy, np.float32).reshape(-1, game.num_actions),
                     np.array(value, np.float32), games=len(games), model_step=-1)


class ImitationTrainer(Trainer):
    """Trainer whose minibatches come from expert games; validation on held-out games."""

    def __init__(self, config: RunConfig, run_dir, games: list[ExpertGame], log=print, show_progress=False):
        super().__init__(config, run_dir, log, show_progress)
        if len(games) < 2:
            raise UserError(f"SFT needs at least 2 expert games, got {len(games)}")
        order = np.random.default_rng(config.seed).permutation(len(games))
        if config.sft.max_games:
            order = order[:config.sft.max_games]
        held_out = max(1, int(len(order) * config.sft.validation_share))
        self.validation = build_dataset(self.game, [games[i] for i in order[:held_out]])
        train = build_dataset(self.game, [games[i] for i in order[held_out:]])
        self.buffer = ReplayBuffer(self.game, ReplayConfig(capacity=max(len(train), 1), min_positions=1,
                                                           augment=config.replay.augment), self.run.replay)
        self.buffer.add(train)
        self.log(f"SFT data: {train.games} games ({len(train)} positions) to train on, "
                 f"{self.validation.games} held out ({len(self.validation)} positions)")

    def restore(self) -> None:
        counters = (self.buffer.games, self.buffer.positions_total)
        super().restore()
        self.buffer.games, self.buffer.positions_total = counters  # the dataset, not a replay window

    def _start_data(self) -> None:
        self.workers = []

    def _next_batch(self):
        return self.buffer.sample(self.config.optim.batch_size, self.rng)

    def _after_step(self) -> None:
        if self.step % self.config.sft.validate_every == 0 or self.step == self.config.total_steps:
            for name, value in self.validate().items():
                self.writer.add_scalar(name, value, self.step)

    @torch.no_grad()
    def validate(self, batch_size: int = 1024) -> dict[str, float]:
        """Move-prediction accuracy and losses on the held-out games."""
        self.model.eval()
        correct, policy_loss, value_loss, n = 0, 0.0, 0.0, len(self.validation)
        for start in range(0, n, batch_size):
            end = start + batch_size
            planes = torch.from_numpy(self.validation.planes[start:end].astype(np.float32)).to(self.device)
            policy = torch.from_numpy(self.validation.policy[start:end]).to(self.device)
            value = torch.from_numpy(self.validation.value[start:end]).to(self.device)
            _, metrics = losses(self.model, planes, policy, value)
            logits, _ = self.model(planes)
            correct += int((logits.argmax(-1) == policy.argmax(-1)).sum())
            policy_loss += metrics["losses/policy"] * len(value)
            value_loss += metrics["losses/value"] * len(value)
        results = {"val/move_accuracy": correct / max(n, 1), "val/policy_loss": policy_loss / max(n, 1),
                   "val/value_loss": value_loss / max(n, 1)}
        self.log(f"validation at step {self.step}: move accuracy {results['val/move_accuracy']:.3f}  "
                 f"policy {results['val/policy_loss']:.3f}  value {results['val/value_loss']:.3f}")
        return results


def run_imitation(run_dir, games_path, config_path=None, overrides=(), resume=False, log=print,
                  show_progress=False) -> ImitationTrainer:
    config = prepare_run(run_dir, config_path, list(overrides), resume)
    game = config.game.make()
    if game.name == "go":
        games, skipped = read_go_games(games_path, game)
        if skipped:
            log(f"skipped {skipped} SGF files (unreadable, or another board size)")
    else:
        games = read_connect4_games(games_path, game)
    trainer = ImitationTrainer(config, RunDir(run_dir).root, games, log, show_progress)
    trainer.train()
    return trainer
