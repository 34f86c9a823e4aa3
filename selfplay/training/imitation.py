"""Imitation learning (SFT) on expert games: the first half of AlphaGo's story.

The policy head learns the expert's move (cross-entropy against a one-hot target), the value
head the game's result from the point of view of the player to move: the same loss, network,
checkpoints and evaluation as self-play RL (``selfplay.training.trainer``), with a fixed
dataset as the data source in place of self-play. A share of whole games is held out to
measure move-prediction accuracy, so positions of one game never sit on both sides of the split.

Connect Four can also imitate a perfect teacher: positions labelled by the solver
(selfplay.experts.connect4_labels), the policy target shared by the exact-best moves and the
value target the game-theoretic outcome; a share of the positions is held out.

And a network can imitate another's self-play: the replay chunks of RL runs (search visit
distributions, results, ownership), which is how KataGo and Leela Zero start a larger network
from the window of a smaller one's games rather than from scratch; whole chunks are held out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from games import Game, GameRecord
from games.connect4 import ConnectFour
from selfplay.atomic import atomic_write_text
from selfplay.errors import UserError
from selfplay.experts.connect4_labels import read_labelled_positions, solver_targets
from selfplay.training.config import RunConfig
from selfplay.training.learner import losses
from selfplay.run.directory import RunDir, list_chunks, prepare_run
from selfplay.training.replay import GameChunk, read_chunk
from selfplay.training.sources import ExpertDataset
from selfplay.training.trainer import Trainer


SKIPS_SHOWN = 3  # reasons named in the log when files are skipped


def read_expert_games(path: str | Path, game: Game, log=print) -> list[GameRecord]:
    """The games in the records at ``path``, in the game's own format (``Game.read_records``:
    Connect Four move-string lines, Go SGF files of the run's board size)."""
    records, skipped = game.read_records(path)
    if skipped:
        shown = "; ".join(skipped[:SKIPS_SHOWN]) + ("; ..." if len(skipped) > SKIPS_SHOWN else "")
        log(f"skipped {len(skipped)} {game.record_suffix} file{'s' if len(skipped) > 1 else ''}: {shown}")
    return records


def build_dataset(game: Game, games: list[GameRecord], value_discount: float = 1.0) -> GameChunk:
    """Every position of every game with its expert move and result (times ``value_discount``
    per move from the position to the record's end, NetworkConfig.value_discount)."""
    planes, policy, value = [], [], []
    for g in games:
        state = game.initial_state() if g.start is None else g.start.copy()
        for ply, action in enumerate(g.actions):
            if game.is_terminal(state):
                break
            target = np.zeros(game.num_actions, dtype=np.float32)
            target[action] = 1.0
            planes.append(game.encode(state).astype(np.uint8))
            policy.append(target)
            result = 0.0 if g.returns is None else g.returns[game.to_play(state)]
            value.append(result * value_discount ** (len(g.actions) - ply))
            state = game.step(state, action)
    c, h, w = game.obs_shape
    return GameChunk(np.array(planes, np.uint8).reshape(-1, c, h, w),
                     np.array(policy, np.float32).reshape(-1, game.num_actions),
                     np.array(value, np.float32), games=len(games), model_step=-1)


def split_games(game: Game, games: list[GameRecord], config: RunConfig) -> tuple[GameChunk, GameChunk]:
    """(train, validation) datasets of expert games, whole games held out."""
    if len(games) < 2:
        raise UserError(f"SFT needs at least 2 expert games, got {len(games)}")
    order = np.random.default_rng(config.seed).permutation(len(games))
    if config.sft.max_games:
        order = order[:config.sft.max_games]
    held_out = max(1, int(len(order) * config.sft.validation_share))
    discount = config.network.value_discount
    validation = build_dataset(game, [games[i] for i in order[:held_out]], discount)
    train = build_dataset(game, [games[i] for i in order[held_out:]], discount)
    return train, validation


def split_labelled_positions(game: Game, path: str | Path, config: RunConfig) -> tuple[GameChunk, GameChunk]:
    """(train, validation) datasets of solver-labelled Connect Four positions, positions held out
    (not games: neighbours from one game can sit on both sides, so the held-out loss flatters)."""
    if not isinstance(game, ConnectFour):
        raise UserError(f"solver-labelled positions are Connect Four positions; this run plays {game.name}")
    moves, scores = read_labelled_positions(path)
    if len(moves) < 2:
        raise UserError(f"SFT needs at least 2 labelled positions, got {len(moves)}")
    policy, value = solver_targets(scores, [len(m) for m in moves], config.network.value_discount)
    planes = np.stack([game.encode(game.state_from_moves(m)).astype(np.uint8) for m in moves])
    order = np.random.default_rng(config.seed).permutation(len(moves))
    held_out = max(1, int(len(order) * config.sft.validation_share))

    def chunk(rows):
        return GameChunk(planes[rows], policy[rows], value[rows], games=0, model_step=-1)

    return chunk(order[held_out:]), chunk(order[:held_out])


def read_replay_chunks(paths, game: Game, log=print) -> list[GameChunk]:
    """The chunks of each run directory (or replay folder) in ``paths``, oldest first; an
    unreadable chunk is named and skipped, one of another game or board size is an error."""
    chunks = []
    for path in map(Path, paths):
        replay = RunDir(path).replay
        folder = replay if replay.is_dir() else path
        found = list_chunks(folder)
        if not found:
            raise UserError(f"--replay {path}: no replay chunks there (a run directory or its replay/ folder)")
        for chunk_file in found:
            try:
                chunk = read_chunk(chunk_file)
            except UserError as e:
                log(f"skipping {e}")
                continue
            if chunk.planes.shape[1:] != game.obs_shape or chunk.policy.shape[1] != game.num_actions:
                raise UserError(f"replay chunk {chunk_file} holds positions of planes {chunk.planes.shape[1:]} and "
                                f"{chunk.policy.shape[1]} moves; this run's game ({game.label()}) has "
                                f"{game.obs_shape} and {game.num_actions}")
            chunks.append(chunk)
    return chunks


def join_chunks(chunks: list[GameChunk], game: Game) -> GameChunk:
    """One chunk of many; ownership and score targets kept when any chunk has them (the others'
    positions get none: ownership 0, score NaN, which the loss masks)."""
    auxiliary = any(c.ownership is not None for c in chunks)
    _, h, w = game.obs_shape
    ownership = score = None
    if auxiliary:
        ownership = np.concatenate([c.ownership if c.ownership is not None else np.zeros((len(c), h, w), np.int8)
                                    for c in chunks])
        score = np.concatenate([c.score if c.score is not None else np.full(len(c), np.nan, np.float32)
                                for c in chunks])
    return GameChunk(np.concatenate([c.planes for c in chunks]), np.concatenate([c.policy for c in chunks]),
                     np.concatenate([c.value for c in chunks]), games=sum(c.games for c in chunks), model_step=-1,
                     ownership=ownership, score=score)


def split_replay(game: Game, paths, config: RunConfig, log=print) -> tuple[GameChunk, GameChunk]:
    """(train, validation) datasets of self-play runs' replay chunks, whole chunks held out."""
    chunks = read_replay_chunks(paths, game, log)
    if len(chunks) < 2:
        raise UserError(f"SFT on replay needs at least 2 readable chunks, got {len(chunks)}")
    order = np.random.default_rng(config.seed).permutation(len(chunks))
    held_out = max(1, int(len(order) * config.sft.validation_share))
    return (join_chunks([chunks[i] for i in order[held_out:]], game),
            join_chunks([chunks[i] for i in order[:held_out]], game))


class ImitationTrainer(Trainer):
    """Trainer whose minibatches come from a fixed dataset (an ExpertDataset source); validation
    on held-out data."""

    def __init__(self, config: RunConfig, run_dir, data: tuple[GameChunk, GameChunk], log=print,
                 show_progress=False):
        self.train_data, self.validation = data
        super().__init__(config, run_dir, log, show_progress)
        train, held = self.train_data, self.validation
        if train.games:
            self.log(f"SFT data: {train.games} games ({len(train)} positions) to train on, "
                     f"{held.games} held out ({len(held)} positions)")
        else:
            self.log(f"SFT data: {len(train)} solver-labelled positions to train on, {len(held)} held out")

    def _make_source(self) -> ExpertDataset:
        return ExpertDataset(self.game, self.train_data, self.config.replay.augment, self.run,
                             auxiliary=self.config.network.ownership_head)

    def _after_step(self) -> None:
        if self.step % self.config.sft.validate_every == 0 or self.step == self.config.total_steps:
            for name, value in self.validate().items():  # under eval/ with the other evaluations
                self.runlog.scalar(f"eval/validation_{name.removeprefix('val/')}", value, self.step)

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
            # a move the target weighs most (the expert's move, any exact-best one, the most visited)
            correct += int((policy.gather(1, logits.argmax(-1, keepdim=True))[:, 0] >= policy.max(-1).values).sum())
            policy_loss += metrics["losses/policy"] * len(value)
            value_loss += metrics["losses/value"] * len(value)
        results = {"val/move_accuracy": correct / max(n, 1), "val/policy_loss": policy_loss / max(n, 1),
                   "val/value_loss": value_loss / max(n, 1)}
        self.log(f"validation at step {self.step}: move accuracy {results['val/move_accuracy']:.3f}  "
                 f"policy {results['val/policy_loss']:.3f}  value {results['val/value_loss']:.3f}")
        return results


def run_imitation(run_dir, games_path=None, config_path=None, overrides=(), resume=False, log=print,
                  show_progress=False, positions_path=None, replay_paths=()) -> ImitationTrainer:
    """SFT on the expert games at ``games_path``, on the solver-labelled positions at
    ``positions_path`` or on the replay chunks of the runs at ``replay_paths`` (on ``resume``,
    by default the data the run recorded when it started)."""
    config = prepare_run(RunConfig, run_dir, config_path, list(overrides), resume, frozen=("game", "network"))
    games_path, positions_path, replay_paths = sft_sources(RunDir(run_dir), resume, games_path, positions_path,
                                                           replay_paths)
    game = config.game.make()
    if positions_path is not None:
        data = split_labelled_positions(game, positions_path, config)
    elif replay_paths:
        data = split_replay(game, replay_paths, config, log)
    else:
        data = split_games(game, read_expert_games(games_path, game, log), config)
    trainer = ImitationTrainer(config, run_dir, data, log, show_progress)
    trainer.train()
    return trainer


def sft_sources(run: RunDir, resume: bool, games_path, positions_path, replay_paths) -> tuple:
    """The data an SFT run imitates: what it is given, recorded in the run directory when it
    starts, and on ``resume`` what it recorded (named again, it must be the same data: the
    held-out split would change under the run's feet)."""
    given = {"games": None if games_path is None else str(games_path),
             "positions": None if positions_path is None else str(positions_path),
             "replay": [str(p) for p in replay_paths]}
    named = given["games"] is not None or given["positions"] is not None or bool(given["replay"])
    if resume and run.sft_data.exists():
        try:
            recorded = json.loads(run.sft_data.read_text(encoding="utf-8"))
            recorded = {key: recorded[key] for key in given}
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise UserError(f"{run.sft_data} is damaged ({e}): name the run's data again (--games, --positions "
                            f"or --replay) after removing the file") from None
        if named and given != recorded:
            raise UserError(f"{run.root} imitates {describe_sources(recorded)}, not {describe_sources(given)}: "
                            f"resume it without naming its data, or start a new run")
        given = recorded
    elif not named:
        raise UserError(f"{run.root} does not record what it imitates (it began before runs recorded it): "
                        f"name its data again with --games, --positions or --replay")
    else:
        atomic_write_text(run.sft_data, json.dumps(given, indent=1) + "\n")
    return given["games"], given["positions"], given["replay"]


def describe_sources(sources: dict) -> str:
    if sources["replay"]:
        return "the replay of " + ", ".join(sources["replay"])
    if sources["positions"] is not None:
        return f"the positions in {sources['positions']}"
    return f"the games in {sources['games']}"
