"""SFT: expert games in, a network that predicts the expert's moves on held-out games out."""

import numpy as np
import pytest

from games import make_game
from selfplay.cli import main
from selfplay.training.imitation import (
    build_dataset,
    read_expert_games,
    run_imitation,
)
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
    with pytest.raises(Exception, match="differs from this run's"):
        run_training(tmp_path / "rl2", SMOKE, [f"init_from={tmp_path / 'sft'}"], log=lambda m: None)
