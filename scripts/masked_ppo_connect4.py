"""Masked PPO on selfplay/ConnectFour-v0 against the built-in opponent, in one file (CleanRL style).

The policy's logits of illegal columns are set to a large negative number before sampling, so
the agent never plays an illegal move and never has to learn the rules from penalties; the
mask is the observation's ``action_mask`` (the same as the env's ``action_masks()``). A small
MLP, one environment, clipped PPO with GAE. Against the default uniformly random opponent the
mean return (+1 win, -1 loss) rises from about 0 to about +0.8 within 20,000 steps, about half
a minute on one CPU core.

    python scripts/masked_ppo_connect4.py --steps 50000
    python scripts/masked_ppo_connect4.py --steps 50000 --opponent "mcts:sims=50"
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import selfplay.envs  # noqa: F401  (registers selfplay/ConnectFour-v0)

ILLEGAL_LOGIT = -1e9


class MaskedPolicy(nn.Module):
    """An MLP over the planes with a policy head (masked logits) and a value head."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int, hidden: int = 128):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(obs_shape)), hidden), nn.Tanh(),
                                  nn.Linear(hidden, hidden), nn.Tanh())
        self.policy = nn.Linear(hidden, num_actions)
        self.value = nn.Linear(hidden, 1)

    def forward(self, planes: torch.Tensor, legal: torch.Tensor) -> tuple[Categorical, torch.Tensor]:
        features = self.body(planes)
        logits = self.policy(features).masked_fill(~legal, ILLEGAL_LOGIT)
        return Categorical(logits=logits), self.value(features).squeeze(-1)


def train(total_steps: int = 50_000, env: gym.Env | None = None, opponent: str | None = None, seed: int = 0,
          rollout_steps: int = 128, epochs: int = 4, minibatch: int = 32, lr: float = 1e-3, gamma: float = 0.99,
          gae_lambda: float = 0.95, clip: float = 0.2, entropy_coef: float = 0.01, value_coef: float = 0.5,
          log_every: int = 0) -> dict:
    """Train for ``total_steps`` agent moves; returns the counts and the losses of every update.

    ``env``: any env with this observation dict (default: ConnectFour-v0 against ``opponent``, a
    player spec or None for random moves). ``log_every``: print progress every that many steps."""
    if total_steps < 1 or rollout_steps < 1 or minibatch < 1:
        raise ValueError(f"total_steps, rollout_steps and minibatch must be positive, got "
                         f"{total_steps}, {rollout_steps}, {minibatch}")
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs fastest on one thread (many contend on a busy machine)
    try:
        return _train(total_steps, env, opponent, seed, rollout_steps, epochs, minibatch, lr, gamma, gae_lambda,
                      clip, entropy_coef, value_coef, log_every)
    finally:
        torch.set_num_threads(previous_threads)


def _train(total_steps, env, opponent, seed, rollout_steps, epochs, minibatch, lr, gamma, gae_lambda, clip,
           entropy_coef, value_coef, log_every) -> dict:
    torch.manual_seed(seed)
    env = env if env is not None else gym.make("selfplay/ConnectFour-v0", opponent=opponent)
    obs_shape = env.observation_space["observation"].shape
    num_actions = env.action_space.n
    agent = MaskedPolicy(obs_shape, num_actions)
    optimizer = torch.optim.Adam(agent.parameters(), lr=lr)

    planes = torch.zeros((rollout_steps, *obs_shape))
    legal = torch.zeros((rollout_steps, num_actions), dtype=torch.bool)
    actions = torch.zeros(rollout_steps, dtype=torch.long)
    log_probs, rewards, dones, values = (torch.zeros(rollout_steps) for _ in range(4))

    obs, _ = env.reset(seed=seed)
    step, episodes, illegal_moves, losses = 0, 0, 0, []
    recent_returns: deque[float] = deque(maxlen=100)
    started = time.time()
    while step < total_steps:
        n = min(rollout_steps, total_steps - step)
        for t in range(n):  # collect a rollout
            planes[t] = torch.as_tensor(obs["observation"])
            legal[t] = torch.as_tensor(obs["action_mask"].astype(bool))
            with torch.no_grad():
                dist, value = agent(planes[t:t + 1], legal[t:t + 1])
                action = dist.sample()
            actions[t], log_probs[t], values[t] = action, dist.log_prob(action), value
            obs, reward, terminated, truncated, info = env.step(int(action))
            rewards[t], dones[t] = reward, float(terminated or truncated)
            illegal_moves += bool(info.get("illegal_action"))
            step += 1
            if terminated or truncated:
                episodes += 1
                recent_returns.append(float(reward))
                obs, _ = env.reset()
            if log_every and step % log_every == 0:
                mean = np.mean(recent_returns) if recent_returns else float("nan")
                print(f"step {step}  episodes {episodes}  mean return (last 100) {mean:+.2f}  "
                      f"illegal moves {illegal_moves}  {step / (time.time() - started):.0f} steps/s")

        with torch.no_grad():  # generalised advantage estimates, bootstrapped from the next state
            _, next_value = agent(torch.as_tensor(obs["observation"])[None],
                                  torch.as_tensor(obs["action_mask"].astype(bool))[None])
            advantages = torch.zeros(n)
            last = 0.0
            for t in reversed(range(n)):
                following = next_value[0] if t == n - 1 else values[t + 1]
                nonterminal = 1.0 - dones[t]
                delta = rewards[t] + gamma * following * nonterminal - values[t]
                last = delta + gamma * gae_lambda * nonterminal * last
                advantages[t] = last
            targets = advantages + values[:n]

        for _ in range(epochs):  # clipped PPO updates over minibatches of the rollout
            for batch in torch.randperm(n).split(minibatch):
                dist, value = agent(planes[batch], legal[batch])
                ratio = (dist.log_prob(actions[batch]) - log_probs[batch]).exp()
                adv = advantages[batch]
                if len(batch) > 1:
                    adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
                value_loss = (value - targets[batch]).pow(2).mean()
                loss = policy_loss + value_coef * value_loss - entropy_coef * dist.entropy().mean()
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), 0.5)
                optimizer.step()
                losses.append(loss.item())
    env.close()
    return {"steps": step, "episodes": episodes, "illegal_moves": illegal_moves, "losses": losses,
            "mean_return": float(np.mean(recent_returns)) if recent_returns else float("nan"), "policy": agent}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50_000, help="agent moves to train for")
    parser.add_argument("--opponent", default=None, help="a player spec (default: uniformly random moves)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    result = train(args.steps, opponent=args.opponent, seed=args.seed, log_every=max(1, args.steps // 20))
    print(f"done: {result['episodes']} episodes, mean return (last 100) {result['mean_return']:+.2f}, "
          f"illegal moves {result['illegal_moves']}")
    return result


if __name__ == "__main__":
    main()
