"""PettingZoo AEC environments: both sides of a board game as agents, the ecosystem's
convention for turn-based self-play and multi-agent learners.

Agents ``player_0`` (moves first: Connect Four's X, Go's Black) and ``player_1``.
``observe(agent)`` is ``{"observation": float32 planes, "action_mask": int8}`` from that agent's
point of view, the same planes as the Gymnasium envs (selfplay/envs.py: row 0 the bottom row;
Go's pass is the last action); the mask is all zeros except for the agent to move. Rewards
+1 / 0 / -1 at the end; an illegal action ends the game with ``illegal_reward`` for the agent
that played it and 0 for the other (PettingZoo's TerminateIllegalWrapper convention), or
raises with ``illegal_action="raise"``. The token game is a one-agent AEC env (``tokens_env``):
a problem per episode, the token ids so far as the observation, the verifier's reward at EOS.

    from selfplay.pettingzoo_envs import connect4_env
    env = connect4_env()
    env.reset(seed=0)
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        action = None if terminated or truncated else env.action_space(agent).sample(obs["action_mask"])
        env.step(action)

PettingZoo is an optional dependency (``pip install 'selfplay[pettingzoo]'``); nothing else in
the package imports this module.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from games import Game, IllegalMoveError, make_game
from games.tokens import TokenGame
from selfplay.envs import check_illegal_options, observation_planes, plane_layout
from selfplay.llm.tasks import TaskConfig, make_task

try:
    from pettingzoo import AECEnv
    from pettingzoo.utils.wrappers import OrderEnforcingWrapper
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError("selfplay.pettingzoo_envs needs PettingZoo: pip install 'selfplay[pettingzoo]'") from error


class GameAECEnv(AECEnv):
    """A game of the Game contract as a PettingZoo AEC environment, one agent per player;
    subclasses say what an agent observes and where a game starts."""

    metadata = {"render_modes": ["ansi", "human"], "name": "selfplay_board_game_v0",
                "is_parallelizable": False, "render_fps": 1}

    def __init__(self, game: Game, illegal_action: str = "lose", illegal_reward: float = -1.0,
                 render_mode: str | None = None):
        """``illegal_action``: "lose" (the default: the game ends, ``illegal_reward`` to the
        agent that played it) or "raise" (IllegalMoveError out of ``step``)."""
        super().__init__()
        check_illegal_options(illegal_action, illegal_reward)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.game = game
        self.illegal_action = illegal_action
        self.illegal_reward = float(illegal_reward)
        self.render_mode = render_mode
        self.possible_agents = [f"player_{player}" for player in range(game.players)]
        # One space object per agent, built once: PettingZoo requires the same object each call.
        self._observation_spaces = {agent: spaces.Dict({
            "observation": self._observation_box(),
            "action_mask": spaces.MultiBinary(game.num_actions),
        }) for agent in self.possible_agents}
        self._action_spaces = {agent: spaces.Discrete(game.num_actions) for agent in self.possible_agents}
        self.state = game.initial_state()
        self._game_over = False

    def _observation_box(self) -> spaces.Box:
        raise NotImplementedError

    def _observation(self, player: int) -> np.ndarray:
        raise NotImplementedError

    def _new_game(self, seed: int | None) -> np.ndarray:
        """The state a game starts from."""
        return self.game.initial_state()

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    def _player(self, agent: str) -> int:
        return self.possible_agents.index(agent)

    def action_mask(self, agent: str) -> np.ndarray:
        """Booleans over the actions, True where ``agent`` may play now."""
        if self._game_over or self.game.to_play(self.state) != self._player(agent):
            return np.zeros(self.game.num_actions, dtype=np.bool_)
        return self.game.legal_mask(self.state)

    def observe(self, agent: str) -> dict:
        return {"observation": self._observation(self._player(agent)),
                "action_mask": self.action_mask(agent).astype(np.int8)}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.state = self._new_game(seed)
        self._game_over = False
        self.agents = self.possible_agents[:]
        self.rewards = {agent: 0.0 for agent in self.agents}
        self._cumulative_rewards = {agent: 0.0 for agent in self.agents}
        self.terminations = {agent: False for agent in self.agents}
        self.truncations = {agent: False for agent in self.agents}
        self.infos = {agent: {} for agent in self.agents}
        self.agent_selection = self.possible_agents[self.game.to_play(self.state)]

    def step(self, action) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        if action is None:
            raise ValueError(f"{agent} is to move in a game not over: None is only the action of a finished agent")
        player = self._player(agent)
        self._cumulative_rewards[agent] = 0.0
        self._clear_rewards()
        try:
            self.state = self.game.step(self.state, int(action))
        except IllegalMoveError as e:
            if self.illegal_action == "raise":
                raise
            self._end_game()
            self.rewards[agent] = self.illegal_reward
            self.infos[agent] = {"illegal_action": True, "illegal_move": str(e)}
            self.agent_selection = self.possible_agents[(player + 1) % len(self.possible_agents)]
        else:
            if self.game.is_terminal(self.state):
                self._end_game()
                for other, value in zip(self.possible_agents, self.game.returns(self.state)):
                    self.rewards[other] = float(value)
                    self.infos[other] = {"result": self.game.result_string(self.state)}
            self.agent_selection = self.possible_agents[self.game.to_play(self.state)]
        self._accumulate_rewards()
        if self.render_mode == "human":
            self.render()

    def _end_game(self) -> None:
        self._game_over = True
        self.terminations = {agent: True for agent in self.agents}

    def render(self):
        if self.render_mode is None:
            gymnasium.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        text = self.game.render(self.state)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        """Nothing to release: the board is text."""


class BoardGameAECEnv(GameAECEnv):
    """A two-player board game: the planes of the Gymnasium envs, from each agent's side
    (``reset``'s seed is accepted for the API: the games have no chance)."""

    def __init__(self, game: Game, **kwargs):
        if game.players != 2:
            raise ValueError(f"{game.name} is not a two-player game")
        plane_layout(game)
        super().__init__(game, **kwargs)

    def _observation_box(self) -> spaces.Box:
        return spaces.Box(0.0, 1.0, self.game.obs_shape, np.float32)

    def _observation(self, player: int) -> np.ndarray:
        return observation_planes(self.game, self.state, player)


class ConnectFourAECEnv(BoardGameAECEnv):
    """Connect Four: actions 0-6 the columns left to right; planes (3, 6, 7) as ConnectFourEnv's."""

    metadata = {**BoardGameAECEnv.metadata, "name": "selfplay_connect4_v0"}

    def __init__(self, **kwargs):
        super().__init__(make_game("connect4"), **kwargs)


class GoAECEnv(BoardGameAECEnv):
    """Go: action ``r * size + c`` the point in row ``r`` from the bottom, ``size * size`` pass;
    planes (11, size, size) as GoEnv's."""

    metadata = {**BoardGameAECEnv.metadata, "name": "selfplay_go_v0"}

    def __init__(self, board_size: int = 9, komi: float = 7.5, max_moves: int | None = None, **kwargs):
        super().__init__(make_game("go", size=board_size, komi=komi, max_moves=max_moves), **kwargs)
        self.pass_action = self.game.pass_action


class TokenAECEnv(GameAECEnv):
    """The token game, one agent (``player_0``, the writer): each episode a problem of the task
    drawn with ``reset``'s seed; the observation is the token ids so far (PAD, 0, after them),
    the mask the tokens that keep the response well formed; the reward at ``<eos>`` is the
    verifier's, 1 right and 0 wrong."""

    metadata = {**GameAECEnv.metadata, "render_modes": ["ansi"], "name": "selfplay_tokens_v0"}

    def __init__(self, task: str = "addition", min_digits: int = 3, max_digits: int = 3, scratchpad: bool = True,
                 heldout: bool = False, **kwargs):
        """``heldout``: draw problems from the held-out split instead of the training one."""
        config = TaskConfig(name=task, min_digits=min_digits, max_digits=max_digits, scratchpad=scratchpad)
        config.validate()
        self.task = make_task(config)
        self.heldout = heldout
        self._rng = np.random.default_rng()
        super().__init__(TokenGame(task, max_digits, scratchpad), **kwargs)

    def _observation_box(self) -> spaces.Box:
        return spaces.Box(0, self.game.num_actions - 1, (self.game.context,), np.int64)

    def _observation(self, player: int) -> np.ndarray:
        tokens = np.zeros(self.game.context, dtype=np.int64)  # PAD is 0
        used = self.game.tokens(self.state)
        tokens[:len(used)] = used
        return tokens

    def _new_game(self, seed: int | None) -> np.ndarray:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        return self.game.start(self.task.sample(self._rng, heldout=self.heldout))


def connect4_env(**kwargs) -> AECEnv:
    """Connect Four for PettingZoo, wrapped as PettingZoo's own envs are (calls in order)."""
    return OrderEnforcingWrapper(ConnectFourAECEnv(**kwargs))


def go_env(**kwargs) -> AECEnv:
    """Go for PettingZoo (``board_size``, ``komi``, ``max_moves``), wrapped as connect4_env."""
    return OrderEnforcingWrapper(GoAECEnv(**kwargs))


def tokens_env(**kwargs) -> AECEnv:
    """The token game for PettingZoo (``task``, ``min_digits``, ``max_digits``, ``scratchpad``,
    ``heldout``), one agent, wrapped as connect4_env."""
    return OrderEnforcingWrapper(TokenAECEnv(**kwargs))
