"""The Gymnasium envs for maskable learners: action_masks() against the game's own rules, one
row convention, illegal actions that end the episode instead of raising, opponents seeded by
reset(seed=...), and the masked PPO example run for a few hundred steps."""

import importlib.util
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from games import IllegalMoveError, make_game
from selfplay.envs import GoEnv, seeded_spec  # registers the board games
from selfplay.llm.env import TokenEnv  # registers selfplay/Tokens-v0

ROOT = Path(__file__).resolve().parents[1]


def random_episode(env, rng, check):
    """Play uniformly random legal moves (from the observation's mask) to the end, calling
    ``check(env, obs)`` at every position the agent sees."""
    obs, _ = env.reset(seed=int(rng.integers(1000)))
    done, info = False, {}
    while not done:
        check(env, obs)
        action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        obs, _, done, _, info = env.step(action)
    check(env, obs)
    return info


def test_connect4_masks_are_the_columns_with_room():
    # Independent truth: a column is playable iff its top cell is empty in the planes (row 5 is
    # the top row), and the game's own legal moves agree.
    def check(env, obs):
        mask = env.unwrapped.action_masks()
        assert mask.dtype == np.bool_ and (mask == obs["action_mask"].astype(bool)).all()
        if env.unwrapped.game.is_terminal(env.unwrapped.state):
            assert not mask.any()
            return
        top_row_empty = obs["observation"][0, 5] + obs["observation"][1, 5] == 0
        assert (mask == top_row_empty).all()
        assert (mask == env.unwrapped.game.legal_mask(env.unwrapped.state)).all()

    rng = np.random.default_rng(0)
    for agent_player in (0, 1):
        env = gym.make("selfplay/ConnectFour-v0", agent_player=agent_player)
        for _ in range(5):
            assert "result" in random_episode(env, rng, check)


def test_go_masks_are_the_games_legal_moves_and_pass_is_last():
    game = make_game("go", size=5, komi=0.5)
    env = GoEnv(board_size=5, komi=0.5, max_moves=40)
    assert env.pass_action == 25 == game.parse_move("pass") and game.format_move(env.pass_action) == "pass"

    def check(env, obs):
        mask = env.action_masks()
        assert (mask == obs["action_mask"].astype(bool)).all()
        if game.is_terminal(env.state):
            assert not mask.any()
        else:
            assert (mask == game.legal_mask(env.state)).all() and mask[env.pass_action]
            # plane 9 is the legal points, [r, c] the point of action r * size + c
            assert (obs["observation"][9].ravel() == mask[:25]).all()

    rng = np.random.default_rng(1)
    for _ in range(3):
        random_episode(env, rng, check)


def test_row_zero_is_the_bottom_row_in_both_games():
    # Connect Four: the agent's first stone in column 4 lands on the bottom row.
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 6)
    env.reset(seed=0)
    obs, *_ = env.step(3)
    assert obs["observation"][0, 0, 3] == 1 and obs["observation"][0].sum() == 1
    assert obs["observation"][1, 0, 6] == 1 and obs["observation"][1].sum() == 1
    # Go: C1 (GTP row 1, the bottom row as rendered) is row 0; the opponent's stone at E5, row 4.
    game = make_game("go", size=5)
    env = GoEnv(board_size=5, opponent=lambda obs: game.parse_move("E5"))
    env.reset(seed=0)
    obs, *_ = env.step(game.parse_move("C1"))
    board = game.board(env.state)  # the game's own board: [row, col], row 0 the bottom
    assert board[0, 2] == 1 and obs["observation"][0, 0, 2] == 1
    assert board[4, 4] == 2 and obs["observation"][1, 4, 4] == 1
    assert (obs["observation"][0] == (board == 1)).all() and (obs["observation"][1] == (board == 2)).all()
    rows = [line[:2] for line in game.render(env.state).splitlines()]
    assert rows.index(" 1") > rows.index(" 5")  # row 1 (row 0 here) is drawn at the bottom


def test_the_last_observation_is_the_agents_view_when_it_wins():
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 0)
    env.reset(seed=0)
    for _ in range(4):
        obs, reward, terminated, _, _ = env.step(3)
    assert terminated and reward == 1.0
    assert obs["observation"][0, :4, 3].tolist() == [1, 1, 1, 1]  # the agent's four, own plane
    assert obs["observation"][1, :3, 0].tolist() == [1, 1, 1]
    assert not obs["action_mask"].any() and not env.unwrapped.action_masks().any()


@pytest.mark.parametrize("action", [3, 7, -1])
def test_an_illegal_action_ends_the_episode_without_raising(action):
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 3, illegal_reward=-10)
    env.reset(seed=0)
    for _ in range(3):
        env.step(3)  # column 4 is full now
    before = env.unwrapped.state.copy()
    obs, reward, terminated, truncated, info = env.step(action)
    assert reward == -10.0 and terminated and not truncated and info["illegal_action"] is True
    assert "connect4" in info["illegal_move"] and (env.unwrapped.state == before).all()
    assert not env.unwrapped.action_masks().any() and not obs["action_mask"].any()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    assert env.unwrapped.action_masks().all()


def test_illegal_action_options_are_checked():
    with pytest.raises(ValueError, match="illegal_reward"):
        gym.make("selfplay/ConnectFour-v0", illegal_reward=float("nan"))
    with pytest.raises(ValueError, match="illegal_action"):
        gym.make("selfplay/Go-v0", illegal_action="pass")
    env = gym.make("selfplay/ConnectFour-v0", illegal_action="raise")
    env.reset(seed=0)
    with pytest.raises(IllegalMoveError, match="out of range"):
        env.step(9)


def test_an_illegal_opponent_move_is_named():
    env = gym.make("selfplay/ConnectFour-v0", opponent=lambda obs: 9)
    env.reset(seed=0)
    with pytest.raises(IllegalMoveError, match="opponent"):
        env.step(0)


def opponent_moves(env, seed, agent_actions=(3, 2, 4, 1, 5, 0, 6)):
    """The opponent's replies to a fixed line of agent moves after reset(seed=seed)."""
    env.reset(seed=seed)
    replies = [env.unwrapped.state.copy()]
    for action in agent_actions:
        if not env.unwrapped.action_masks()[action]:
            break
        _, _, done, _, _ = env.step(action)
        replies.append(env.unwrapped.state.copy())
        if done:
            break
    return [s.tolist() for s in replies]


@pytest.mark.parametrize("spec", ["random", "mcts:sims=4,temp=1"])
def test_reset_seed_seeds_a_spec_opponent(spec):
    env = gym.make("selfplay/ConnectFour-v0", opponent=spec, agent_player=1)
    first = opponent_moves(env, 7)
    opponent_moves(env, 8)
    assert opponent_moves(env, 7) == first
    assert len({str(opponent_moves(env, seed)) for seed in range(6)}) > 1  # the seed matters
    env.close()


def test_a_spec_with_its_own_seed_keeps_it():
    env = gym.make("selfplay/ConnectFour-v0", opponent="random:seed=3", agent_player=1)
    assert opponent_moves(env, 1) == opponent_moves(env, 2)
    assert seeded_spec("random", 5) == "random:seed=5" and seeded_spec("mcts:sims=4", 5) == "mcts:sims=4,seed=5"


@pytest.mark.parametrize("env_id, kwargs", [
    ("selfplay/ConnectFour-v0", {"opponent": "mcts:sims=4,temp=1", "agent_player": 1}),
    ("selfplay/Go-v0", {"board_size": 5, "opponent": "random", "agent_player": 1}),
    ("selfplay/Go-v0", {"board_size": 5, "illegal_action": "lose"}),
])
def test_check_env_with_spec_opponents(env_id, kwargs):
    env = gym.make(env_id, **kwargs)
    check_env(env.unwrapped, skip_render_check=True)
    assert env.unwrapped.action_masks().shape == (env.action_space.n,)


def test_the_token_env_has_action_masks():
    env = gym.make("selfplay/Tokens-v0")
    assert isinstance(env.unwrapped, TokenEnv)
    obs, _ = env.reset(seed=0)
    mask = env.unwrapped.action_masks()
    assert mask.dtype == np.bool_ and (mask == obs["action_mask"].astype(bool)).all()


def load_example():
    path = ROOT / "scripts" / "masked_ppo_connect4.py"
    spec = importlib.util.spec_from_file_location("masked_ppo_connect4", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LegalMovesOnly(gym.Wrapper):
    """Fails the test at once if an action is not among the game's own legal moves."""

    def step(self, action):
        game, state = self.env.unwrapped.game, self.env.unwrapped.state
        assert int(action) in game.legal_actions(state), f"illegal move {action} taken"
        self.moves = getattr(self, "moves", 0) + 1
        return self.env.step(action)


def test_the_masked_ppo_example_never_plays_an_illegal_move():
    example = load_example()
    # Against an opponent that fills column 4 first, full columns come up in most games.
    def column_four_first(obs):
        return 3 if obs["action_mask"][3] else int(np.flatnonzero(obs["action_mask"])[0])

    env = LegalMovesOnly(gym.make("selfplay/ConnectFour-v0", opponent=column_four_first))
    result = example.train(300, env=env, rollout_steps=64)
    assert result["steps"] == 300 == env.moves and result["illegal_moves"] == 0 and result["episodes"] > 5
    assert result["losses"] and all(math.isfinite(loss) for loss in result["losses"])
    with pytest.raises(ValueError, match="total_steps"):
        example.train(0)


def test_maskable_ppo_runs_on_the_env():
    sb3_contrib = pytest.importorskip("sb3_contrib")
    env = gym.make("selfplay/ConnectFour-v0", illegal_action="raise")  # an illegal move fails the test
    model = sb3_contrib.MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, seed=0)
    model.learn(256)
    assert model.num_timesteps >= 256
