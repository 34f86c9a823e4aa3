"""PettingZoo AEC environments: PettingZoo's own API and seed tests, games played through the
AEC loop against the game's own rules, illegal actions, and no pettingzoo import elsewhere."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("pettingzoo")
from pettingzoo.test import api_test, seed_test

from games import IllegalMoveError, make_game
from selfplay.pettingzoo_envs import (
    ConnectFourAECEnv,
    GoAECEnv,
    connect4_env,
    go_env,
    tokens_env,
)

ENVS = [(connect4_env, {}), (go_env, {"board_size": 5, "max_moves": 60}),
        (tokens_env, {"min_digits": 2, "max_digits": 2})]


@pytest.mark.parametrize("make, kwargs", ENVS)
def test_pettingzoos_api_test(make, kwargs):
    with warnings.catch_warnings():
        # api_test warns of any dict observation unless the env is one of PettingZoo's own
        # classic games, which use the same {"observation", "action_mask"} dict as these.
        warnings.filterwarnings("ignore", "Observation is not a NumPy array")
        warnings.filterwarnings("ignore", "Observation space for each agent probably should be")
        api_test(make(**kwargs), num_cycles=300)


@pytest.mark.parametrize("make, kwargs", ENVS)
def test_pettingzoos_seed_test(make, kwargs):
    seed_test(lambda: make(**kwargs), num_cycles=50)


def play_random_game(env, game, rng):
    """Random legal moves through the AEC loop, each checked against a state stepped by the
    game itself; returns the final rewards and that state."""
    env.reset(seed=0)
    state = game.initial_state()
    totals = {agent: 0.0 for agent in env.possible_agents}
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, _ = env.last()
        totals[agent] += reward
        player = env.possible_agents.index(agent)
        other = env.possible_agents[1 - player]
        if terminated or truncated:
            assert game.is_terminal(state) and not obs["action_mask"].any()
            env.step(None)
            continue
        assert game.to_play(state) == player
        assert (obs["action_mask"].astype(bool) == game.legal_mask(state)).all()
        assert not env.observe(other)["action_mask"].any()
        # the other agent sees the same stones from its side: own and opponent planes swapped
        assert (env.observe(other)["observation"][0] == obs["observation"][1]).all()
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        state = game.step(state, action)
        env.step(action)
    return totals, state


def test_connect4_games_follow_the_rules_and_score_both_sides():
    game = make_game("connect4")
    rng = np.random.default_rng(0)
    for _ in range(5):
        totals, state = play_random_game(connect4_env(), game, rng)
        assert (totals["player_0"], totals["player_1"]) == game.returns(state)


def test_go_games_follow_the_rules_and_score_both_sides():
    game = make_game("go", size=5, komi=0.5, max_moves=50)
    env = go_env(board_size=5, komi=0.5, max_moves=50)
    assert env.unwrapped.pass_action == 25
    totals, state = play_random_game(env, game, np.random.default_rng(1))
    assert (totals["player_0"], totals["player_1"]) == game.returns(state)


def test_the_token_game_pays_the_verifiers_reward_once():
    env = tokens_env(min_digits=2, max_digits=2, scratchpad=False)
    env.reset(seed=4)
    assert env.agents == ["player_0"]
    game, state = env.unwrapped.game, env.unwrapped.state
    a, b = (int(x) for x in game.prompt(state).split("+"))
    obs, *_ = env.last()
    assert obs["observation"][:len(game.tokens(state))].tolist() == game.tokens(state).tolist()
    assert (obs["action_mask"].astype(bool) == game.legal_mask(state)).all()
    for token in ["<ans>", *str(a + b), "<eos>"]:  # the right answer, written token by token
        env.step(game.parse_move(token))
    _, reward, terminated, _, info = env.last()
    assert reward == 1.0 and terminated and info["result"] == f"right ({a + b})"
    env.step(None)
    assert env.agents == []
    env.reset(seed=4)
    assert env.unwrapped.game.prompt(env.unwrapped.state) == f"{a}+{b}"  # the seed picks the problem


def test_an_illegal_action_ends_the_game_for_its_player():
    env = connect4_env()
    env.reset()
    for _ in range(6):
        env.step(3)  # column 4 full
    assert env.agent_selection == "player_0"
    env.step(3)
    assert all(env.terminations.values())
    assert env.rewards == {"player_0": -1.0, "player_1": 0.0}
    assert env.infos["player_0"]["illegal_action"] is True and "not legal" in env.infos["player_0"]["illegal_move"]
    seen = {}
    for agent in env.agent_iter():  # each agent hears of the end once, then leaves
        _, reward, terminated, _, _ = env.last()
        assert terminated
        seen[agent] = reward
        env.step(None)
    assert seen == {"player_0": -1.0, "player_1": 0.0} and env.agents == []
    raw = ConnectFourAECEnv(illegal_action="raise")
    raw.reset()
    with pytest.raises(IllegalMoveError):
        raw.step(7)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="illegal_action"):
        ConnectFourAECEnv(illegal_action="ignore")
    with pytest.raises(ValueError, match="render_mode"):
        GoAECEnv(board_size=5, render_mode="rgb_array")
    env = ConnectFourAECEnv()
    env.reset()
    with pytest.raises(ValueError, match="None"):
        env.step(None)


def test_render_shows_the_board():
    env = connect4_env(render_mode="ansi")
    env.reset()
    env.step(0)
    assert env.render() == make_game("connect4").render(env.unwrapped.state)
    env.close()


def test_the_package_and_its_cli_do_not_import_pettingzoo():
    code = ("import sys, contextlib, io\n"
            "import selfplay, selfplay.envs, selfplay.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    selfplay.cli.main(['--help'])\n"
            "assert 'pettingzoo' not in sys.modules, 'pettingzoo imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
