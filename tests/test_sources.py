"""Where the learner's positions come from: self-play in this process writes chunks the buffer
ingests, numbered on across a resume; an expert dataset is always ready. (Worker processes
and Ray actors: tests/test_train.py and tests/test_ray_backend.py.)"""

from pathlib import Path

import numpy as np
import torch

from selfplay.configio import load_config
from selfplay.network import PolicyValueNet
from selfplay.run.directory import RunDir, list_chunks
from selfplay.run.log import RunLog
from selfplay.training.config import RunConfig
from selfplay.training.replay import GameChunk, read_chunk
from selfplay.training.sources import ExpertDataset, InProcessSelfPlay, selfplay_source

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"


def in_process(run_dir, config):
    run = RunDir(run_dir)
    run.make()
    game = config.game.make()
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, config.network)
    runlog = RunLog(run, run.tb, config.total_steps, echo=lambda m: None)
    return selfplay_source(config, run, game, model, "cpu", np.random.default_rng(0), runlog)


def test_in_process_self_play_writes_numbered_chunks_the_buffer_ingests(tmp_path):
    config = load_config(RunConfig, SMOKE, ["selfplay.parallel_games=4"])
    source = in_process(tmp_path, config)
    assert isinstance(source, InProcessSelfPlay)
    source.restore(None)
    assert not source.may_train(0)  # nothing played yet
    for step in (0, 7):
        source.produce(step)
    chunks = list_chunks(tmp_path / "replay")
    assert [p.name for p in chunks] == ["chunk-000-00000000.npz", "chunk-000-00000001.npz"]
    assert [read_chunk(p).model_step for p in chunks] == [0, 7]  # stamped with the weights' step
    source.collect(7)
    assert source.buffer.games == sum(read_chunk(p).games for p in chunks) >= 8
    assert source.buffer.positions_total == source.buffer.size > 0
    state = source.state_dict()
    assert state["chunk_sequence"] == 2 and sorted(state["replay"]["ingested"]) == [p.name for p in chunks]

    for p in chunks:  # pruned from disk: the numbering still goes on from the checkpoint
        p.unlink()
    resumed = in_process(tmp_path, config)
    resumed.restore(state)
    resumed.produce(8)
    assert [p.name for p in list_chunks(tmp_path / "replay")] == ["chunk-000-00000002.npz"]
    resumed.collect(8)
    new_games = read_chunk(tmp_path / "replay" / "chunk-000-00000002.npz").games
    assert resumed.buffer.games == state["replay"]["games"] + new_games


def test_the_replay_ratio_holds_the_learner_back(tmp_path):
    config = load_config(RunConfig, SMOKE, ["replay.min_positions=1", "optim.replay_ratio=1.0"])
    source = in_process(tmp_path, config)
    source.restore(None)
    source.produce(0)
    source.collect(0)
    generated = source.buffer.positions_total
    assert source.may_train(generated - 1) and not source.may_train(generated)


def test_an_expert_dataset_is_always_ready_and_keeps_its_counters(tmp_path):
    game = load_config(RunConfig, SMOKE).game.make()
    n = 5
    data = GameChunk(np.zeros((n, *game.obs_shape), np.uint8), np.full((n, game.num_actions), 1 / game.num_actions,
                     np.float32), np.zeros(n, np.float32), games=2, model_step=-1)
    source = ExpertDataset(game, data, augment=False, run=RunDir(tmp_path))
    source.restore({"replay": {"ingested": [], "games": 99, "positions_total": 99}, "chunk_sequence": 0})
    assert source.may_train(10**9) and (source.buffer.games, source.buffer.size) == (2, n)
    planes, policy, value = source.buffer.sample(3, np.random.default_rng(0))
    assert planes.shape == (3, *game.obs_shape) and np.allclose(policy.sum(axis=1), 1)
