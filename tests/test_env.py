"""Gymnasium environments: the env checker, rewards from the agent's side, opponents, bad actions."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import selfplay.envs  # noqa: F401  (registers the ids)
from games import IllegalMoveError


def test_connect4_env_passes_the_checker():
    env = gym.make("selfplay/ConnectFour-v0")
    check_env(env.unwrapped)
    obs, info = env.reset(seed=0)
    assert obs["observation"].shape == (3, 6, 7) and obs["action_mask"].tolist() == [1] * 7


def test_agent_win_gives_plus_one_and_loss_minus_one():
    # The opponent always plays column 1; the agent stacks column 4 and wins on its 4th stone.
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 0)
    env.reset(seed=0)
    for _ in range(3):
        _, reward, terminated, _, _ = env.step(3)
        assert reward == 0 and not terminated
    _, reward, terminated, _, info = env.step(3)
    assert reward == 1.0 and terminated and info["result"] == "X wins"
    # Playing second against the same opponent, the agent loses when it ignores column 1.
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 0, agent_player=1)
    obs, _ = env.reset(seed=0)
    assert obs["observation"][1].sum() == 1  # the opponent has moved
    rewards = [env.step(6)[1] for _ in range(3)]
    assert rewards == [0.0, 0.0, -1.0]


def test_random_opponent_is_seeded_and_games_finish():
    def episode(seed):
        env = gym.make("selfplay/ConnectFour-v0")
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        actions, done, reward = [], False, 0.0
        while not done:
            a = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            obs, reward, done, _, _ = env.step(a)
            actions.append(a)
        return actions, reward

    assert episode(5) == episode(5)
    assert episode(5)[1] in (-1.0, 0.0, 1.0)


def test_illegal_action_loses_by_default_or_raises():
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 3)
    env.reset(seed=0)
    for _ in range(3):
        env.step(3)
    _, reward, terminated, _, info = env.step(3)
    assert reward == -1.0 and terminated and info["illegal_action"] and "not legal" in info["illegal_move"]
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 3, illegal_action="raise")
    env.reset(seed=0)
    for _ in range(3):
        env.step(3)
    with pytest.raises(IllegalMoveError):
        env.step(3)


def test_opponent_from_a_player_spec():
    env = gym.make("selfplay/ConnectFour-v0", opponent="random", agent_player=1)
    obs, _ = env.reset(seed=1)
    assert obs["observation"][1].sum() == 1


def test_go_env_passes_the_checker():
    env = gym.make("selfplay/Go-v0", board_size=5, komi=0.5)
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].shape == (26,) and obs["action_mask"].all()
    assert env.render() is None or isinstance(env.render(), str)
    text = gym.make("selfplay/Go-v0", board_size=5, render_mode="ansi")
    text.reset(seed=0)
    assert "A" in text.render()


def test_bad_arguments():
    with pytest.raises(ValueError, match="agent_player"):
        gym.make("selfplay/ConnectFour-v0", agent_player=2)
    with pytest.raises(ValueError, match="illegal_action"):
        gym.make("selfplay/ConnectFour-v0", illegal_action="ignore")
