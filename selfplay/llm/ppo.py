"""PPO with a critic (``selfplay llm ppo``): the RLHF recipe of Ziegler et al. 2019, Stiennon
et al. 2020 and Ouyang et al. 2022, as laid out in "The N implementation details of RLHF with
PPO" (Huang et al. 2024). GRPO (grpo.py) is this with the critic removed.

Each step samples one response per prompt for ``rollout_batch`` training prompts, at
temperature T; every log-prob below is of softmax(logits / T), as at sampling. A response is
an episode whose actions are its tokens o_1..o_n (EOS included).

Score. ``score(problems, responses) -> [N]``: the task's verifier, or a learned reward model
(``reward: model:RUN_DIR``, rewards.make_scorer). A response cut off before its EOS gets
the fixed ``no_eos_score`` instead, whatever it says.

Reward, per token, with the frozen reference pi_ref (the starting checkpoint):

    r_t = -kl_coef (log pi_old(o_t) - log pi_ref(o_t))  +  [t = n] score

Critic. V(s_t) is the value head of TokenPolicyValueModel: on the policy's own trunk
(``critic: shared``, one forward pass gives both) or on a second network (``separate``),
initialised from the policy checkpoint or from the reward model ``critic_init``.

GAE (Schulman et al. 2016) over the response tokens, V(s_{n+1}) = 0 after the EOS:

    delta_t = r_t + gamma V(s_{t+1}) - V(s_t)
    A_t     = delta_t + gamma lambda A_{t+1},        R_t = A_t + V(s_t)  (the value target)

then whitened over the batch's response tokens: A <- (A - mean A) / sqrt(var A + 1e-8).

Losses, for ``epochs`` passes of ``minibatches`` updates over the batch, with
ratio_t = pi(o_t) / pi_old(o_t) and V_old the rollout's values:

    L_clip  = mean_t max(-A_t ratio_t, -A_t clip(ratio_t, 1 - eps, 1 + eps))
    V_clip  = V_old + clip(V - V_old, -eps_v, eps_v)
    L_value = 1/2 mean_t max((V - R_t)^2, (V_clip - R_t)^2)
    loss    = L_clip + value_coef L_value

Adaptive KL (Ziegler et al. 2019, optional): with KL the mean over responses of
sum_t (log pi_old - log pi_ref) and B the responses in the batch,

    e = clip(KL / kl_target - 1, -0.2, 0.2),        kl_coef <- kl_coef (1 + e B / kl_horizon)

Logged each step: ``charts/reward`` (mean score), ``charts/accuracy`` (the verifier's, whatever
the reward), ``charts/response_length``, ``charts/no_eos_share``, ``charts/kl_coef``,
``charts/non_score_reward`` (the KL part of the return); ``kl_ref/sequence`` (the KL above),
``kl_ref/exact`` and ``kl_ref/k3`` (per token, as GRPO logs them); ``losses/policy_loss``,
``value_loss``, ``approx_kl`` (old vs updated policy, k3), ``clipfrac``, ``value_clipfrac``,
``ratio_mean``, ``explained_variance`` (1 - Var(R - V_old) / Var(R)), ``entropy``, ``grad_norm``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from selfplay.configio import ConfigError
from selfplay.llm.config import PPOConfig
from selfplay.llm.model import model_from_payload
from selfplay.llm.rewards import load_reward_model
from selfplay.llm.rl_phase import RLPhase
from selfplay.llm.rollouts import (
    masked_mean,
    reference_kl,
    token_logprobs,
    token_logprobs_and_values,
)
from selfplay.llm.run import Setting
from selfplay.llm.sampling import generate, right_pad
from selfplay.llm.tasks import Problem

WHITEN_EPSILON = 1e-8
Score = Callable[[list[Problem], list[str]], torch.Tensor]


# ---- the recipe, piece by piece ---------------------------------------------------------------
def shaped_rewards(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor, scores: torch.Tensor,
                   kl_coef: float) -> torch.Tensor:
    """r_t = -kl_coef (logp - ref_logp)_t on the response tokens ``mask`` [N, T], plus each
    response's score [N] on its last token; zero elsewhere."""
    mask = mask.bool()
    rewards = -kl_coef * (logp - ref_logp) * mask
    last = mask.shape[1] - 1 - mask.flip(1).float().argmax(1)  # the last True column of each row
    rows = torch.arange(len(scores), device=rewards.device)
    has_response = mask.any(1)
    rewards[rows[has_response], last[has_response]] += scores.to(rewards)[has_response]
    return rewards


def gae(rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float):
    """Advantages and returns [N, T] by generalised advantage estimation over the positions
    ``mask`` (one contiguous run per row); the state after the last masked position is
    terminal (value 0). Zero outside the mask."""
    mask = mask.to(rewards.dtype)
    rewards, values = rewards * mask, values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    width = rewards.shape[1]
    for t in reversed(range(width)):
        next_value = values[:, t + 1] if t + 1 < width else torch.zeros_like(running)
        next_mask = mask[:, t + 1] if t + 1 < width else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = delta + gamma * lam * next_mask * running
        advantages[:, t] = running
    advantages = advantages * mask
    return advantages, (advantages + values) * mask


def whiten(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(x - mean) / sqrt(var + 1e-8) over the positions ``mask``, with the unbiased (n - 1)
    variance as in the reference implementation; zero elsewhere."""
    mask = mask.to(x.dtype)
    n = mask.sum()
    mean = (x * mask).sum() / n
    var = (((x - mean) * mask) ** 2).sum() / (n - 1).clamp_min(1)
    return (x - mean) * torch.rsqrt(var + WHITEN_EPSILON) * mask


def ppo_loss(logp, old_logp, values, old_values, advantages, returns, mask, config: PPOConfig):
    """L_clip + value_coef L_value over the response tokens ``mask`` [N, T], and its metrics."""
    ratio = torch.exp(logp - old_logp)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - config.clip_range, 1 + config.clip_range)
    policy_loss = masked_mean(torch.max(unclipped, clipped), mask)
    values_clipped = old_values + torch.clamp(values - old_values, -config.clip_range_value, config.clip_range_value)
    error, error_clipped = (values - returns) ** 2, (values_clipped - returns) ** 2
    value_loss = 0.5 * masked_mean(torch.max(error, error_clipped), mask)
    loss = policy_loss + config.value_coef * value_loss
    with torch.no_grad():
        log_ratio = logp - old_logp
        metrics = {
            "losses/policy_loss": policy_loss.item(),
            "losses/value_loss": value_loss.item(),
            "losses/approx_kl": masked_mean((ratio - 1) - log_ratio, mask).item(),  # k3, old vs new
            "losses/clipfrac": masked_mean((clipped > unclipped).float(), mask).item(),
            "losses/value_clipfrac": masked_mean((error_clipped > error).float(), mask).item(),
            "losses/ratio_mean": masked_mean(ratio, mask).item(),
        }
    return loss, metrics


def explained_variance(values: torch.Tensor, returns: torch.Tensor, mask: torch.Tensor) -> float:
    """1 - Var(R - V) / Var(R) over the positions ``mask``: 1 is a perfect critic, 0 a constant one."""
    mask = mask.bool()
    var_returns = returns[mask].var(unbiased=False)
    if var_returns == 0:
        return float("nan")
    return float(1 - (returns[mask] - values[mask]).var(unbiased=False) / var_returns)


class AdaptiveKLController:
    """Ziegler et al. 2019's proportional controller: kl_coef grows while the measured KL is
    above the target and shrinks below it, by at most 20% of B / horizon per step."""

    def __init__(self, kl_coef: float, target: float, horizon: int):
        self.value, self.target, self.horizon = kl_coef, target, horizon

    def update(self, kl: float, samples: int) -> None:
        error = float(np.clip(kl / self.target - 1, -0.2, 0.2))
        self.value *= 1 + error * samples / self.horizon


def require_value_head(payload: dict, where) -> None:
    """PPO's critic is a model's value head: a checkpoint without one cannot be the critic."""
    if not any(key.startswith("value_head.") for key in payload.get("model", {})):
        raise ConfigError(f"{where}: its model has no value head, so it cannot be PPO's critic")


# ---- the trainer ------------------------------------------------------------------------------
@dataclass
class Rollouts:
    """One step's samples, one response per problem."""
    problems: list[Problem]
    tokens: torch.Tensor        # [N, L] prompt + response, right-padded
    mask: torch.Tensor          # [N, L - 1] positions whose next token is in the response
    scores: torch.Tensor        # [N] the score, no_eos_score where there is no EOS
    correct: torch.Tensor       # [N] the verifier's reward (what accuracy counts)
    has_eos: torch.Tensor       # [N]
    lengths: torch.Tensor       # [N] response tokens, EOS included
    texts: list[str]


class PPOTrainer(RLPhase):
    name, rng_stream = "ppo", 6

    def __init__(self, setting: Setting, run_dir: str | Path, init: str | Path, log=print, show_progress=False,
                 scorer: Score | None = None):
        super().__init__(setting, run_dir, init, log, show_progress, scorer)
        c = self.config
        self.ref_model = self.reference
        self.critic = None  # None: the policy's own value head
        if c.critic == "separate" and c.critic_init:  # Ouyang et al.: the value model from the reward model
            self.critic = load_reward_model(c.critic_init, setting, "ppo.critic_init")[0].train().requires_grad_(True)
        elif c.critic == "separate":
            self.critic = model_from_payload(self.start_payload, setting.device)
        self.kl = AdaptiveKLController(c.kl_coef, c.kl_target, c.kl_horizon)
        self.make_optimizer(list(self.model.parameters()) + (list(self.critic.parameters()) if self.critic else []))

    def check_start(self, payload: dict) -> None:
        if not self.config.critic_init:  # the critic starts as the policy checkpoint's value head
            require_value_head(payload, self.init)

    def optimizer_options(self) -> dict:
        return {"eps": 1e-5}

    @property
    def updates_per_step(self) -> int:
        return self.config.epochs * self.config.minibatches

    def extra_state(self) -> dict:
        state = {"kl_coef": self.kl.value}
        if self.critic is not None:
            state["critic"] = self.critic.state_dict()
        return state

    def load_extra_state(self, payload: dict) -> None:
        if self.critic is not None:
            self.critic.load_state_dict(payload["critic"])
        self.kl.value = float(payload["kl_coef"])

    # ---- rollouts ---------------------------------------------------------------------------
    def collect(self) -> Rollouts:
        s, c = self.setting, self.config
        tok = s.tokenizer
        problems = s.task.sample_many(c.rollout_batch, self.rng)
        prompts = [tok.prompt_ids(s.task.prompt(p)) for p in problems]
        responses = generate(self.model, prompts, s.task.max_response_tokens(), tok.pad_id, tok.eos_id,
                             temperature=c.temperature, generator=self.generator)
        rows, lengths, has_eos = [], [], []
        for prompt, response in zip(prompts, responses.tolist()):
            finished = tok.eos_id in response
            length = response.index(tok.eos_id) + 1 if finished else len(response)
            rows.append(prompt + response[:length])
            lengths.append(length)
            has_eos.append(finished)
        tokens, mask = right_pad(rows, [len(p) for p in prompts], tok.pad_id)
        texts = [tok.response_text(r) for r in responses.tolist()]
        device = s.device
        has_eos = torch.tensor(has_eos, device=device)
        scores = self.scorer(problems, texts).to(device)
        scores = torch.where(has_eos, scores, torch.full_like(scores, c.no_eos_score))
        correct = self.gold(problems, texts).to(device)
        return Rollouts(problems, tokens.to(device), mask.to(device), scores, correct, has_eos,
                        torch.tensor(lengths, dtype=torch.float32), texts)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor):
        """Log-probs, entropy (the policy's) and values (the critic's) at every position."""
        t = self.config.temperature
        if self.critic is None:
            return token_logprobs_and_values(self.model, tokens, mask, t)
        logp, entropy = token_logprobs(self.model, tokens, mask, t)
        _, values = self.critic(tokens[:, :-1])
        return logp, entropy, values.float()

    @torch.no_grad()
    def targets(self, batch: Rollouts) -> dict[str, torch.Tensor]:
        """What the rollout policy and critic said: old log-probs and values, the shaped
        rewards, advantages (whitened) and returns."""
        c = self.config
        old_logp, _, old_values = self.forward(batch.tokens, batch.mask)
        old_values = old_values * batch.mask
        ref_logp, _ = token_logprobs(self.ref_model, batch.tokens, batch.mask, c.temperature)
        rewards = shaped_rewards(old_logp, ref_logp, batch.mask, batch.scores, self.kl.value)
        advantages, returns = gae(rewards, old_values, batch.mask, c.gamma, c.gae_lambda)
        if c.whiten_advantages:
            advantages = whiten(advantages, batch.mask)
        return {"old_logp": old_logp, "old_values": old_values, "ref_logp": ref_logp, "rewards": rewards,
                "advantages": advantages, "returns": returns}

    # ---- one step ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        c = self.config
        batch = self.collect()
        target = self.targets(batch)
        mask = batch.mask
        log_ratio_ref = (target["old_logp"] - target["ref_logp"]) * mask
        kl_ref = log_ratio_ref.sum(1).mean().item()  # per response, summed over its tokens: the controller's
        metrics = {
            "charts/reward": batch.scores.mean().item(),
            "charts/accuracy": batch.correct.mean().item(),
            "charts/response_length": batch.lengths.mean().item(),
            "charts/no_eos_share": 1 - batch.has_eos.float().mean().item(),
            "kl_ref/sequence": kl_ref,
            **reference_kl(self.model, self.ref_model, batch.tokens, mask, c.temperature),  # per token, as GRPO's
            "charts/kl_coef": self.kl.value,
            "charts/non_score_reward": (-self.kl.value * log_ratio_ref).sum(1).mean().item(),
            "losses/explained_variance": explained_variance(target["old_values"], target["returns"], mask),
        }
        self.model.train()
        n = len(batch.problems)
        sums: dict[str, float] = {}
        for _ in range(c.epochs):
            order = torch.from_numpy(self.rng.permutation(n)).to(batch.tokens.device)
            for rows in torch.tensor_split(order, c.minibatches):
                logp, entropy, values = self.forward(batch.tokens[rows], mask[rows])
                loss, step_metrics = ppo_loss(logp, target["old_logp"][rows], values, target["old_values"][rows],
                                              target["advantages"][rows], target["returns"][rows], mask[rows], c)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                parameters = [p for group in self.optimizer.param_groups for p in group["params"]]
                step_metrics["losses/grad_norm"] = torch.nn.utils.clip_grad_norm_(parameters, c.grad_clip).item()
                self.optimizer.step()
                step_metrics["losses/entropy"] = masked_mean(entropy.detach(), mask[rows]).item()
                for key, value in step_metrics.items():
                    sums[key] = sums.get(key, 0.0) + value / self.updates_per_step
        metrics.update(sums)
        if c.adaptive_kl:
            self.kl.update(kl_ref, n)
        self.last_batch = batch
        return metrics

    # ---- the loop ---------------------------------------------------------------------------
    def start_message(self) -> str:
        c = self.config
        return (f"PPO from {self.init} (SFT step {self.init_step}); critic: {c.critic}"
                f"{' from ' + c.critic_init if c.critic_init else ''}; reward: {c.reward}; "
                f"kl_coef {c.kl_coef}{' (adaptive)' if c.adaptive_kl else ''}")

    def progress(self, metrics: dict[str, float]) -> tuple[dict[str, float], str]:
        return metrics, (f"reward {metrics['charts/reward']:.3f}  kl_ref {metrics['kl_ref/exact']:.4f}  "
                         f"vloss {metrics['losses/value_loss']:.4f}  "
                         f"ev {metrics['losses/explained_variance']:.2f}  "
                         f"len {metrics['charts/response_length']:.1f}")

    def log_completions(self, count: int = 4) -> None:
        s, batch = self.setting, self.last_batch
        lines = [f"{s.task.prompt(p)} -> {text}  (score {score:.2f}, answer {s.task.answer(p)})"
                 for p, text, score in zip(batch.problems[:count], batch.texts, batch.scores.tolist())]
        self.write_completions(lines)
