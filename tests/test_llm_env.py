import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import selfplay.llm.env  # noqa: F401  (registers selfplay/Tokens-v0)
from selfplay.llm.env import TokenEnv


@pytest.mark.parametrize("kwargs", [{}, {"scratchpad": False}, {"task": "multiplication", "min_digits": 1}])
def test_passes_gymnasiums_checker(kwargs):
    env = gym.make("selfplay/Tokens-v0", **kwargs)
    check_env(env.unwrapped, skip_render_check=True)


def write(env: TokenEnv, text: str):
    total, result = 0.0, None
    for token in env.tokenizer.encode(text):
        obs, reward, terminated, truncated, info = env.step(token)
        total += reward
        result = (obs, terminated, truncated, info)
    return total, result


def test_the_verifiers_reward_at_eos_only():
    env = TokenEnv(min_digits=2, max_digits=2)
    _, info = env.reset(seed=0)
    problem = env.problem
    assert info["prompt"] == env.task.prompt(problem) and info["answer"] == str(sum(problem))
    response = env.task.response(problem) + "<eos>"
    total, (obs, terminated, truncated, step_info) = write(env, response)
    assert total == 1.0 and terminated and not truncated
    assert step_info["response"] == response
    assert obs["length"] == len(env.tokenizer.prompt_ids(info["prompt"])) + len(env.tokenizer.encode(response))
    env.reset(seed=1)
    wrong = str(sum(env.problem) + 1)
    total, (_, terminated, _, _) = write(env, f"<ans>{wrong}<eos>")
    assert total == 0.0 and terminated


def test_observation_is_the_sequence_so_far():
    env = TokenEnv(min_digits=2, max_digits=2)
    obs, _ = env.reset(seed=3)
    prompt = env.tokenizer.prompt_ids(env.task.prompt(env.problem))
    assert obs["length"] == len(prompt)
    assert obs["tokens"][:len(prompt)].tolist() == prompt
    assert (obs["tokens"][len(prompt):] == env.tokenizer.pad_id).all()
    obs, *_ = env.step(env.tokenizer.ans_id)
    assert obs["tokens"][len(prompt)] == env.tokenizer.ans_id and obs["length"] == len(prompt) + 1
    mask = obs["action_mask"]
    assert mask[env.tokenizer.eos_id] == 1 and mask[env.tokenizer.pad_id] == 0 and mask[env.tokenizer.bos_id] == 0


def test_truncated_without_eos():
    env = TokenEnv(min_digits=2, max_digits=2)
    env.reset(seed=0)
    digit = env.tokenizer.encode("1")[0]
    for _ in range(env.max_response - 1):
        _, reward, terminated, truncated, _ = env.step(digit)
        assert not (terminated or truncated)
    _, reward, terminated, truncated, _ = env.step(digit)
    assert truncated and not terminated and reward == 0.0
    with pytest.raises(RuntimeError, match="finished episode"):
        env.step(digit)


def test_heldout_problems_on_request():
    env = TokenEnv(min_digits=2, max_digits=2, heldout=True)
    for seed in range(5):
        env.reset(seed=seed)
        assert env.task.is_heldout(env.problem)


def test_bad_actions_and_options():
    env = TokenEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="not a token id"):
        env.step(env.action_space.n)
    with pytest.raises(Exception, match="unknown task"):
        TokenEnv(task="sorting")
    assert np.issubdtype(env.observation_space["tokens"].dtype, np.integer)
