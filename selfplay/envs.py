"""Gymnasium environments over the Game contract: the agent plays one side, an opponent
policy the other, so a single-agent RL user can train against it.

Observation: ``{"observation": float32 planes (obs_shape), "action_mask": int8 (num_actions,)}``,
both from the agent's point of view. Reward: +1 / 0 / -1 for a win / draw / loss, at the end.
"""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from games import Game, IllegalMoveError, make_game
from selfplay.players import make_player

#: An opponent policy: takes the observation dict (from the opponent's point of view), returns an action.
Policy = Callable[[dict], int]


class BoardGameEnv(gym.Env):
    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}

    def __init__(self, game: Game, opponent: Policy | str | None = None, agent_player: int = 0,
                 illegal_action: str = "raise", render_mode: str | None = None):
        """``opponent``: a policy callable, a player spec string (``"mcts:sims=200"``) or None for
        uniformly random moves. ``agent_player``: 0 to move first, 1 to move second.
        ``illegal_action``: "raise" (IllegalMoveError) or "lose" (the episode ends with reward -1)."""
        if agent_player not in (0, 1):
            raise ValueError(f"agent_player must be 0 or 1, got {agent_player!r}")
        if illegal_action not in ("raise", "lose"):
            raise ValueError(f"illegal_action must be 'raise' or 'lose', got {illegal_action!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.game = game
        self.agent_player = agent_player
        self.illegal_action = illegal_action
        self.render_mode = render_mode
        self._opponent = self._make_opponent(opponent)
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, game.obs_shape, np.float32),
            "action_mask": spaces.MultiBinary(game.num_actions),
        })
        self.action_space = spaces.Discrete(game.num_actions)
        self.state = game.initial_state()

    def _make_opponent(self, opponent) -> Policy:
        if opponent is None:
            return self._random_policy
        if isinstance(opponent, str):
            player = make_player(opponent, self.game)
            return lambda obs: player.select_move(self.game, self.state)
        if not callable(opponent):
            raise TypeError(f"opponent must be a policy callable, a player spec string or None, got {opponent!r}")
        return opponent

    def _random_policy(self, obs: dict) -> int:
        return int(self.np_random.choice(np.flatnonzero(obs["action_mask"])))

    def _obs(self) -> dict:
        return {"observation": self.game.encode(self.state),
                "action_mask": self.game.legal_mask(self.state).astype(np.int8)}

    def _agent_reward(self) -> float:
        return float(self.game.returns(self.state)[self.agent_player])

    def _opponent_moves(self) -> None:
        while not self.game.is_terminal(self.state) and self.game.to_play(self.state) != self.agent_player:
            self.state = self.game.step(self.state, int(self._opponent(self._obs())))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state = self.game.initial_state()
        self._opponent_moves()
        return self._obs(), {"to_play": self.game.to_play(self.state)}

    def step(self, action):
        if self.game.is_terminal(self.state):
            raise RuntimeError("step() called on a finished episode; call reset()")
        try:
            self.state = self.game.step(self.state, int(action))
        except IllegalMoveError as e:
            if self.illegal_action == "raise":
                raise
            return self._obs(), -1.0, True, False, {"illegal_move": str(e)}
        self._opponent_moves()
        terminated = self.game.is_terminal(self.state)
        reward = self._agent_reward() if terminated else 0.0
        info = {"result": self.game.result_string(self.state)} if terminated else {}
        if self.render_mode == "human":
            print(self.game.render(self.state))
        return self._obs(), reward, terminated, False, info

    def render(self):
        if self.render_mode == "ansi":
            return self.game.render(self.state)
        if self.render_mode == "human":
            print(self.game.render(self.state))
        return None


class ConnectFourEnv(BoardGameEnv):
    def __init__(self, **kwargs):
        super().__init__(make_game("connect4"), **kwargs)


class GoEnv(BoardGameEnv):
    def __init__(self, board_size: int = 9, komi: float = 7.5, max_moves: int | None = None, **kwargs):
        super().__init__(make_game("go", size=board_size, komi=komi, max_moves=max_moves), **kwargs)


def register_envs() -> None:
    """Register ``selfplay/ConnectFour-v0`` and ``selfplay/Go-v0`` with Gymnasium (idempotent)."""
    for env_id, entry_point in (("selfplay/ConnectFour-v0", "selfplay.envs:ConnectFourEnv"),
                                ("selfplay/Go-v0", "selfplay.envs:GoEnv")):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, disable_env_checker=False)


register_envs()
