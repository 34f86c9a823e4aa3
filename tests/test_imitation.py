"""SFT: expert games in, a network that predicts the expert's moves on held-out games out."""

import numpy as np
import pytest

from games import make_game
from selfplay.cli import main
from selfplay.run.directory import list_chunks
from selfplay.training.config import RunConfig, SFTConfig
from selfplay.training.imitation import (
    build_dataset,
    read_expert_games,
    run_imitation,
    split_replay,
)
from selfplay.training.replay import GameChunk, read_chunk, write_chunk
from selfplay.training.trainer import run_training

GAME = make_game("connect4")
SMOKE = "configs/smoke.yaml"


def rule_expert_games(n, seed=0):
    """Games of a simple deterministic rule (the lowest column, leftmost among equals) after two
    random opening moves: learnable, and far from uniform, so accuracy must rise well above 1/7."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        state, moves = GAME.initial_state(), []
        while not GAME.is_terminal(state):
            legal = GAME.legal_actions(state)
            if len(moves) < 2:
                a = int(rng.choice(legal))
            else:
                heights = [bin(int(state[1]) >> (7 * c) & 0x3F).count("1") for c in legal]
                a = int(legal[int(np.argmin(heights))])
            moves.append(a)
            state = GAME.step(state, a)
        lines.append("".join(str(a + 1) for a in moves))
    return lines


def test_dataset_targets(tmp_path):
    path = tmp_path / "games.txt"
    path.write_text("4455\n1212121 1-0\n")
    games = read_expert_games(path, GAME)
    assert games[0].returns is None and games[1].returns == (1.0, -1.0)
    data = build_dataset(GAME, games)
    assert len(data) == 4 + 7 and np.allclose(data.policy.sum(axis=1), 1.0)
    assert data.policy[0].argmax() == 3 and data.value[:4].tolist() == [0, 0, 0, 0]
    assert data.value[4:].tolist() == [1, -1, 1, -1, 1, -1, 1]  # X won: its moves +1, O's -1
    discounted = build_dataset(GAME, games, value_discount=0.9)  # times 0.9 per ply to the end
    assert discounted.value[4:].tolist() == pytest.approx([0.9 ** 7, -0.9 ** 6, 0.9 ** 5, -0.9 ** 4, 0.9 ** 3,
                                                           -0.9 ** 2, 0.9])


def test_bad_game_files_are_clear_errors(tmp_path, capsys):
    path = tmp_path / "games.txt"
    path.write_text("4455\n44444444\n")
    assert main(["sft", SMOKE, "--games", str(path), "--runs", str(tmp_path)]) == 2
    assert "games.txt:2" in capsys.readouterr().err
    assert main(["sft", SMOKE, "--games", str(tmp_path / "none.txt"), "--runs", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_resumed_sft_run_imitates_the_data_it_recorded(tmp_path, capsys):
    games, other = tmp_path / "games.txt", tmp_path / "other.txt"
    games.write_text("\n".join(rule_expert_games(40)) + "\n")
    other.write_text("\n".join(rule_expert_games(40, seed=1)) + "\n")
    small = ["network.channels=8", "network.blocks=1", "optim.batch_size=16", "eval.every_steps=0",
             "sft.validate_every=2", "checkpoint_every=2"]
    assert main(["sft", SMOKE, "--games", str(games), "--runs", str(tmp_path), "--name", "s", "total_steps=2",
                 *small]) == 0
    run = tmp_path / "s"
    assert main(["sft", "--resume", str(run), "total_steps=4"]) == 0  # no data named: the recorded games
    assert "done: step 4" in capsys.readouterr().out
    assert main(["sft", "--resume", str(run), "--games", str(other), "total_steps=6"]) == 2
    err = capsys.readouterr().err
    assert f"imitates the games in {games}, not the games in {other}" in err and "Traceback" not in err
    (run / "sft-data.json").write_text("{not json")
    assert main(["sft", "--resume", str(run), "total_steps=6"]) == 2
    assert "sft-data.json is damaged" in capsys.readouterr().err
    (run / "sft-data.json").unlink()  # a run from before runs recorded their data: named again, and recorded
    assert main(["sft", "--resume", str(run), "total_steps=6"]) == 2
    assert "does not record what it imitates" in capsys.readouterr().err
    assert main(["sft", "--resume", str(run), "--games", str(games), "total_steps=6"]) == 0
    assert main(["sft", "--resume", str(run), "total_steps=8"]) == 0
    assert main(["sft", SMOKE, "--runs", str(tmp_path)]) == 2
    assert "name the data to imitate" in capsys.readouterr().err


def test_sft_learns_the_expert_then_rl_starts_from_it(tmp_path):
    path = tmp_path / "games.txt"
    path.write_text("\n".join(rule_expert_games(300)) + "\n")
    overrides = ["total_steps=150", "network.channels=32", "network.blocks=2", "optim.batch_size=64",
                 "optim.learning_rate=0.003", "sft.validation_share=0.1", "sft.validate_every=150",
                 "eval.every_steps=0"]
    trainer = run_imitation(tmp_path / "sft", path, SMOKE, overrides, log=lambda m: None)
    accuracy = trainer.validate()["val/move_accuracy"]
    assert accuracy > 0.6  # chance is about 1/7
    assert trainer.validation.games == 30

    rl = run_training(tmp_path / "rl", SMOKE, ["total_steps=5", "eval.every_steps=0", "network.channels=32",
                                               "network.blocks=2", f"init_from={tmp_path / 'sft'}"],
                      log=lambda m: None)
    assert rl.step == 5
    messages = []  # a new value discount keeps the weights and says what the value head learns now
    discounted = run_training(tmp_path / "rl-discounted", SMOKE,
                              ["total_steps=2", "eval.every_steps=0", "network.channels=32", "network.blocks=2",
                               "network.value_discount=0.98", f"init_from={tmp_path / 'sft'}"], log=messages.append)
    assert discounted.step == 2 and any("it learns 0.98 from here on" in m for m in messages)
    messages = []  # a scalar value head becomes win/draw/loss (and a wdl one cannot go back)
    to_wdl = run_training(tmp_path / "rl-wdl", SMOKE, ["total_steps=1", "eval.every_steps=0", "network.channels=32",
                                                       "network.blocks=2", "network.value_head=wdl",
                                                       f"init_from={tmp_path / 'sft'}"], log=messages.append)
    assert to_wdl.step == 1 and any("becomes win/draw/loss" in m for m in messages)
    with pytest.raises(Exception, match="differs from this run's"):
        run_training(tmp_path / "rl-back", SMOKE, ["network.channels=32", "network.blocks=2",
                                                   f"init_from={tmp_path / 'rl-wdl'}"], log=lambda m: None)
    messages = []  # more blocks: the new ones start as the identity
    deeper = run_training(tmp_path / "rl-deeper", SMOKE, ["total_steps=1", "eval.every_steps=0", "network.channels=32",
                                                          "network.blocks=3", f"init_from={tmp_path / 'sft'}"],
                          log=messages.append)
    assert deeper.step == 1 and any("deepened from 2 to 3 residual blocks" in m for m in messages)
    with pytest.raises(Exception, match="differs from this run's"):  # fewer blocks cannot be
        run_training(tmp_path / "rl-shallower", SMOKE, ["network.channels=32", "network.blocks=1",
                                                        f"init_from={tmp_path / 'sft'}"], log=lambda m: None)
    with pytest.raises(Exception, match="differs from this run's"):
        run_training(tmp_path / "rl2", SMOKE, [f"init_from={tmp_path / 'sft'}"], log=lambda m: None)


# ---- SFT on the replay chunks of self-play runs (starting a larger network) --------------------
GO5 = make_game("go", size=5, komi=0.5)
GO_RUN = ["game.name=go", "game.size=5", "game.komi=0.5", "eval.every_steps=0", "network.channels=8",
          "network.blocks=1"]


def numbered_chunk(first, n, ownership):
    """n positions whose value is their number (first, first + 1, ...): each can be traced."""
    c, h, w = GO5.obs_shape
    policy = np.zeros((n, GO5.num_actions), np.float32)
    policy[np.arange(n), np.arange(n) % GO5.num_actions] = 1.0
    aux = (np.ones((n, h, w), np.int8), np.full(n, 0.5, np.float32)) if ownership else (None, None)
    return GameChunk(np.zeros((n, c, h, w), np.uint8), policy, np.arange(first, first + n, dtype=np.float32),
                     games=1, model_step=7, ownership=aux[0], score=aux[1])


def test_replay_chunks_of_two_runs_are_split_by_whole_chunks(tmp_path):
    for i in range(10):  # one run's chunks with ownership targets, the other's without
        run = tmp_path / ("own" if i < 5 else "plain") / "replay"
        write_chunk(run, 0, i, numbered_chunk(100 * i, 3 + i, ownership=i < 5))
    (tmp_path / "plain" / "replay" / "chunk-000-00000099.npz").write_bytes(b"not a chunk")
    messages = []
    config = RunConfig(sft=SFTConfig(validation_share=0.2))
    train, held = split_replay(GO5, [tmp_path / "own", tmp_path / "plain" / "replay"], config, messages.append)
    assert any("chunk-000-00000099.npz is unreadable" in m for m in messages)
    every = sorted(np.concatenate([train.value, held.value]).tolist())
    assert every == sorted(float(100 * i + k) for i in range(10) for k in range(3 + i))
    assert held.games == 2 and train.games == 8
    held_chunks = {int(v) // 100 for v in held.value}
    assert len(held_chunks) == 2 and not held_chunks & {int(v) // 100 for v in train.value}
    for part in (train, held):  # a chunk without ownership gets none (0, NaN: masked in the loss)
        from_own = part.value < 500
        assert (part.ownership[from_own] == 1).all() and (part.score[from_own] == 0.5).all()
        assert (part.ownership[~from_own] == 0).all() and np.isnan(part.score[~from_own]).all()


def test_replay_of_another_board_or_no_replay_is_a_clear_error(tmp_path, capsys):
    write_chunk(tmp_path / "go5" / "replay", 0, 0, numbered_chunk(0, 4, ownership=False))
    code = main(["sft", SMOKE, "--replay", str(tmp_path / "go5"), "--runs", str(tmp_path)])  # a Connect Four config
    err = capsys.readouterr().err
    assert code == 2 and "chunk-000-00000000.npz holds positions of planes" in err and "Traceback" not in err
    assert main(["sft", SMOKE, "--replay", str(tmp_path), "--runs", str(tmp_path), *GO_RUN]) == 2
    assert "no replay chunks there" in capsys.readouterr().err


def test_a_larger_network_learns_from_a_go_runs_self_play(tmp_path):
    teacher = run_training(tmp_path / "teacher", SMOKE, GO_RUN + [
        "total_steps=30", "replay.min_positions=16", "selfplay.resign_threshold=-1", "network.ownership_head=true"],
        log=lambda m: None)
    chunks = list_chunks(teacher.run.replay)
    assert len(chunks) >= 2  # whole chunks are held out
    positions = sum(len(read_chunk(p)) for p in chunks)
    student = run_imitation(tmp_path / "student", config_path=SMOKE, replay_paths=[tmp_path / "teacher"],
                            overrides=GO_RUN + ["network.channels=16", "network.blocks=2", "network.ownership_head=true",
                                                "total_steps=4", "sft.validate_every=4"], log=lambda m: None)
    assert len(student.train_data) + len(student.validation) == positions
    assert student.step == 4 and "losses/ownership" in student.metrics
    assert 0.0 <= student.validate()["val/move_accuracy"] <= 1.0
