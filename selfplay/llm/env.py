"""TokenEnv: the token game as a Gymnasium environment, registered as ``selfplay/Tokens-v0``.

An episode is one problem. The state is the prompt plus the tokens written so far; an action
is the next token; the episode ends at ``<eos>`` with the verifier's reward (1 right, 0 wrong)
or is truncated, reward 0, when the response reaches the task's longest response. Every other
step gives 0: the reward is sparse and final, as in GRPO, PPO and MCTS over tokens.

Observation: ``{"tokens": int64 [max_length] (the sequence, PAD after it), "length": the
number of real tokens, "action_mask": int8 [vocab]}``. The mask marks the tokens a well-formed
response may contain (not PAD, BOS or the separator); it is advice for a search, not a rule:
any token may be written, and a response holding one of those simply fails the verifier.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.tokenizer import CharTokenizer


class TokenEnv(gym.Env):
    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, task: str = "addition", min_digits: int = 3, max_digits: int = 3, scratchpad: bool = True,
                 heldout: bool = False, render_mode: str | None = None):
        """``heldout``: draw problems from the held-out split instead of the training one."""
        config = TaskConfig(name=task, min_digits=min_digits, max_digits=max_digits, scratchpad=scratchpad)
        config.validate()
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.task = make_task(config)
        self.tokenizer = CharTokenizer()
        self.heldout = heldout
        self.render_mode = render_mode
        self.max_response = self.task.max_response_tokens()
        self.max_length = self.task.max_prompt_tokens() + self.max_response
        vocab = self.tokenizer.vocab_size
        self.observation_space = spaces.Dict({
            "tokens": spaces.Box(0, vocab - 1, (self.max_length,), np.int64),
            "length": spaces.Discrete(self.max_length + 1),
            "action_mask": spaces.MultiBinary(vocab),
        })
        self.action_space = spaces.Discrete(vocab)
        mask = np.ones(vocab, dtype=np.int8)
        mask[[self.tokenizer.pad_id, self.tokenizer.bos_id, self.tokenizer.sep_id]] = 0
        self._action_mask = mask
        self.problem = None
        self.sequence: list[int] = []
        self.prompt_length = 0

    def _obs(self) -> dict:
        tokens = np.full(self.max_length, self.tokenizer.pad_id, dtype=np.int64)
        tokens[:len(self.sequence)] = self.sequence
        return {"tokens": tokens, "length": len(self.sequence), "action_mask": self._action_mask.copy()}

    def action_masks(self) -> np.ndarray:
        """The observation's mask as booleans (sb3-contrib's MaskablePPO protocol)."""
        return self._action_mask.astype(np.bool_)

    def response_text(self) -> str:
        return self.tokenizer.decode(self.sequence[self.prompt_length:])

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.problem = self.task.sample(self.np_random, heldout=self.heldout)
        self.sequence = self.tokenizer.prompt_ids(self.task.prompt(self.problem))
        self.prompt_length = len(self.sequence)
        return self._obs(), {"prompt": self.task.prompt(self.problem), "answer": self.task.answer(self.problem)}

    def step(self, action):
        if self.problem is None:
            raise RuntimeError("step() called before reset()")
        action = int(action)
        if not self.action_space.contains(action):
            raise ValueError(f"action {action} is not a token id (0 to {self.action_space.n - 1})")
        if self.sequence[-1] == self.tokenizer.eos_id or len(self.sequence) >= self.max_length:
            raise RuntimeError("step() called on a finished episode; call reset()")
        self.sequence.append(action)
        terminated = action == self.tokenizer.eos_id
        truncated = not terminated and len(self.sequence) - self.prompt_length >= self.max_response
        reward = self.task.reward(self.problem, self.response_text()) if terminated else 0.0
        info = {"response": self.response_text()} if terminated or truncated else {}
        return self._obs(), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            return self.tokenizer.decode(self.sequence)
        return None


def register_envs() -> None:
    """Register ``selfplay/Tokens-v0`` with Gymnasium (idempotent)."""
    if "selfplay/Tokens-v0" not in gym.registry:
        gym.register(id="selfplay/Tokens-v0", entry_point="selfplay.llm.env:TokenEnv", disable_env_checker=False)


register_envs()
