"""Gymnasium environments over the Game contract: the agent plays one side, an opponent
policy the other, so a single-agent RL user can train against it.

``selfplay/ConnectFour-v0`` and ``selfplay/Go-v0`` (``selfplay/Tokens-v0``, the token game, is
selfplay/llm/env.py). Observation: ``{"observation": float32 planes (C, H, W), "action_mask":
int8 (num_actions,)}``, both from the agent's point of view, row 0 of every plane the *bottom*
row of the board as rendered in every game (``observation_planes``). Reward: +1 / 0 / -1 for a
win / draw / loss, at the end. ``action_masks()`` (sb3-contrib's MaskablePPO protocol) gives the
legal actions as booleans. An illegal action ends the episode as a loss by default
(``illegal_action``), so a learner that has not learned the rules yet never crashes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from games import Game, IllegalMoveError, make_game
from selfplay.players import PlayerSpecError, check_player, make_player, parse_spec

#: An opponent policy: takes the observation dict (from the opponent's point of view), returns an action.
Policy = Callable[[dict], int]

#: What an illegal action of the agent does: "lose" ends the episode with ``illegal_reward``,
#: "raise" raises IllegalMoveError (for debugging a policy that should know the rules).
ILLEGAL_ACTION_CHOICES = ("lose", "raise")


def check_illegal_options(illegal_action: str, illegal_reward: float) -> None:
    """ValueError naming a bad ``illegal_action`` or ``illegal_reward`` (every env takes both)."""
    if illegal_action not in ILLEGAL_ACTION_CHOICES:
        raise ValueError(f"illegal_action must be one of {', '.join(map(repr, ILLEGAL_ACTION_CHOICES))}, "
                         f"got {illegal_action!r}")
    if isinstance(illegal_reward, bool) or not isinstance(illegal_reward, numbers.Real) \
            or not math.isfinite(illegal_reward):
        raise ValueError(f"illegal_reward must be a finite number, got {illegal_reward!r}")


@dataclass(frozen=True)
class PlaneLayout:
    """What the envs need to know about a game's ``encode`` planes beyond their shape."""

    #: The game's encode puts the board's top row at index 0 (the envs flip it to the bottom).
    top_row_first: bool
    #: (own, opponent) plane pairs, swapped to show the position to the player not to move.
    side_pairs: tuple[tuple[int, int], ...]
    #: Planes that show the mover's options (Go's legal points): zero for the player not to move.
    mover_only: tuple[int, ...] = ()


PLANE_LAYOUTS = {
    "connect4": PlaneLayout(top_row_first=True, side_pairs=((0, 1),)),
    "tictactoe": PlaneLayout(top_row_first=True, side_pairs=((0, 1),)),
    "go": PlaneLayout(top_row_first=False, side_pairs=((0, 1), (2, 3), (4, 5), (6, 7)), mover_only=(9,)),
}


def plane_layout(game: Game) -> PlaneLayout:
    """The layout of ``game``'s planes; ValueError for a game the envs do not know."""
    try:
        return PLANE_LAYOUTS[game.name]
    except KeyError:
        raise ValueError(f"no environment observation for game {game.name!r}; "
                         f"known: {', '.join(sorted(PLANE_LAYOUTS))}") from None


def observation_planes(game: Game, state: np.ndarray, player: int) -> np.ndarray:
    """The game's planes as ``player`` sees them, row 0 the bottom row of the board.

    The game's ``encode`` (what the networks are trained on, left unchanged) is from the player
    to move; for the other player the own/opponent planes are swapped and the mover's options
    cleared. Connect Four's encode puts the top row first and Go's the bottom row (GTP row 1),
    so Connect Four's planes are flipped here: one convention in every env, and in Go the point
    of action ``r * size + c`` is ``[r, c]``."""
    layout = plane_layout(game)
    planes = game.encode(state)
    if game.to_play(state) != player:
        for own, other in layout.side_pairs:
            planes[[own, other]] = planes[[other, own]]
        planes[list(layout.mover_only)] = 0.0
    if layout.top_row_first:
        planes = np.ascontiguousarray(planes[:, ::-1, :])
    return planes


def seeded_spec(spec: str, seed: int) -> str:
    """``spec`` with ``seed=N`` appended (``random`` -> ``random:seed=N``)."""
    spec = spec.strip()
    separator = "" if spec.endswith(":") else "," if ":" in spec else ":"
    return f"{spec}{separator}seed={seed}"


class BoardGameEnv(gym.Env):
    """One side of a two-player board game against a built-in opponent.

    Action ``a`` is the game's action index (``game.format_move(a)`` names it); the episode
    ends when the game does (``terminated``), never by truncation (a Go game has a move cap).
    ``info["result"]`` holds the result at the end; an illegal action under "lose" sets
    ``info["illegal_action"] = True`` and ``info["illegal_move"]`` (why it is illegal)."""

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 1}

    def __init__(self, game: Game, opponent: Policy | str | None = None, agent_player: int = 0,
                 illegal_action: str = "lose", illegal_reward: float = -1.0, render_mode: str | None = None):
        """``opponent``: a policy callable, a player spec string (``"mcts:sims=200"``; rebuilt by
        ``reset(seed=...)`` with a seed drawn from it, or with the spec's own ``seed``) or None
        for uniformly random moves from the env's generator. ``agent_player``: 0 to move first,
        1 to move second. ``illegal_action``: "lose" (the default: the episode ends, reward ``illegal_reward``,
        the position unchanged) or "raise" (IllegalMoveError out of ``step``)."""
        if agent_player not in (0, 1):
            raise ValueError(f"agent_player must be 0 or 1, got {agent_player!r}")
        check_illegal_options(illegal_action, illegal_reward)
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        plane_layout(game)
        self.game = game
        self.agent_player = agent_player
        self.illegal_action = illegal_action
        self.illegal_reward = float(illegal_reward)
        self.render_mode = render_mode
        self.observation_space = spaces.Dict({
            "observation": spaces.Box(0.0, 1.0, game.obs_shape, np.float32),
            "action_mask": spaces.MultiBinary(game.num_actions),
        })
        self.action_space = spaces.Discrete(game.num_actions)
        self.state = game.initial_state()
        self._episode_over = False
        self._player = None  # the opponent when it is a Player built from a spec
        self._spec = None
        self._spec_takes_seed = False
        self._opponent = self._make_opponent(opponent)

    # ---- the opponent ------------------------------------------------------------------------
    def _make_opponent(self, opponent) -> Policy:
        if opponent is None:
            return self._random_policy
        if isinstance(opponent, str):
            self._player = make_player(opponent, self.game)
            self._spec = opponent
            self._spec_takes_seed = self._seedable(opponent)
            return self._player_policy
        if not callable(opponent):
            raise TypeError(f"opponent must be a policy callable, a player spec string or None, got {opponent!r}")
        return opponent

    def _seedable(self, spec: str) -> bool:
        """Whether the spec's kind takes a ``seed`` (a human or a GTP engine does not)."""
        if "seed" in parse_spec(spec)[1]:
            return True
        try:
            check_player(seeded_spec(spec, 0), self.game)
        except PlayerSpecError:
            return False
        return True

    def _reseed_opponent(self) -> None:
        """The spec opponent rebuilt, so that ``reset(seed=s)`` replays the same opponent moves:
        with the spec's own seed if it has one, else with one drawn from the env's generator."""
        spec = self._spec
        if "seed" not in parse_spec(spec)[1]:
            spec = seeded_spec(spec, int(self.np_random.integers(2**31)))
        self._close_player()
        self._player = make_player(spec, self.game)

    def _close_player(self) -> None:
        close = getattr(self._player, "close", None)
        if callable(close):
            close()

    def _random_policy(self, obs: dict) -> int:
        return int(self.np_random.choice(np.flatnonzero(obs["action_mask"])))

    def _player_policy(self, obs: dict) -> int:
        return self._player.select_move(self.game, self.state)

    def _play(self, action: int) -> None:
        """Play a move of either side (IllegalMoveError if illegal, the position unchanged)."""
        before = self.state
        self.state = self.game.step(before, action)
        if self._player is not None:
            self._player.observe(self.game, before, action)

    def _opponent_moves(self) -> None:
        opponent = 1 - self.agent_player
        while not self.game.is_terminal(self.state) and self.game.to_play(self.state) == opponent:
            action = int(self._opponent(self._obs(opponent)))
            try:
                self._play(action)
            except IllegalMoveError as e:
                raise IllegalMoveError(f"the opponent policy chose an illegal move: {e}") from None

    # ---- observations ------------------------------------------------------------------------
    def action_masks(self) -> np.ndarray:
        """Booleans over the actions, True where the agent may play now (sb3-contrib's
        MaskablePPO calls this); all False once the episode is over."""
        if self._episode_over or self.game.to_play(self.state) != self.agent_player:
            return np.zeros(self.game.num_actions, dtype=np.bool_)
        return self.game.legal_mask(self.state)

    def _obs(self, player: int | None = None) -> dict:
        player = self.agent_player if player is None else player
        if player == self.agent_player:
            mask = self.action_masks()
        else:
            mask = self.game.legal_mask(self.state)
        return {"observation": observation_planes(self.game, self.state, player),
                "action_mask": mask.astype(np.int8)}

    # ---- the Gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        if seed is not None and self._spec_takes_seed:
            self._reseed_opponent()
        if self._player is not None:
            self._player.reset(self.game)
        self.state = self.game.initial_state()
        self._episode_over = False
        self._opponent_moves()
        self._episode_over = self.game.is_terminal(self.state)
        return self._obs(), {"to_play": self.game.to_play(self.state)}

    def step(self, action):
        if self._episode_over:
            raise RuntimeError("step() called on a finished episode; call reset()")
        try:
            self._play(int(action))
        except IllegalMoveError as e:
            if self.illegal_action == "raise":
                raise
            self._episode_over = True
            return self._obs(), self.illegal_reward, True, False, {"illegal_action": True, "illegal_move": str(e)}
        self._opponent_moves()
        terminated = self.game.is_terminal(self.state)
        self._episode_over = terminated
        reward = float(self.game.returns(self.state)[self.agent_player]) if terminated else 0.0
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

    def close(self):
        self._close_player()
        super().close()


class ConnectFourEnv(BoardGameEnv):
    """Connect Four (``selfplay/ConnectFour-v0``): 7 actions, the columns left to right.

    Planes (3, 6, 7), row 0 the bottom row: 0 the agent's stones, 1 the opponent's, 2 ones when
    the first player (X) is to move."""

    def __init__(self, **kwargs):
        super().__init__(make_game("connect4"), **kwargs)


class GoEnv(BoardGameEnv):
    """Go (``selfplay/Go-v0``): ``size * size + 1`` actions; ``r * size + c`` is the point in row
    ``r`` from the bottom (GTP row r + 1) and column ``c`` (GTP letters, no I), and the last
    one, ``size * size`` (``pass_action``), is pass. Area scoring with ``komi`` to White.

    Planes (11, size, size), row 0 the bottom row, ``[r, c]`` the point of action
    ``r * size + c``: 0/1 the agent's/opponent's stones now, 2/3 one move ago, 4/5 two moves
    ago, 6/7 three moves ago, 8 ones when Black is to move, 9 the points the agent may play now
    (zero when it is not its turn; pass is always legal and has no plane), 10 ones (the board)."""

    def __init__(self, board_size: int = 9, komi: float = 7.5, max_moves: int | None = None, **kwargs):
        super().__init__(make_game("go", size=board_size, komi=komi, max_moves=max_moves), **kwargs)
        self.pass_action = self.game.pass_action


def register_envs() -> None:
    """Register ``selfplay/ConnectFour-v0`` and ``selfplay/Go-v0`` with Gymnasium (idempotent)."""
    for env_id, entry_point in (("selfplay/ConnectFour-v0", "selfplay.envs:ConnectFourEnv"),
                                ("selfplay/Go-v0", "selfplay.envs:GoEnv")):
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, disable_env_checker=False)


register_envs()
