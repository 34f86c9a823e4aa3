"""GRPO (``selfplay llm grpo``), as in DeepSeekMath (Shao et al. 2024), with the Dr. GRPO and
DAPO variants.

For each of ``prompts_per_step`` training prompts the current policy samples a group of G
responses; the verifier scores them. Samples of one prompt sit next to each other (rows
i*G .. i*G + G - 1 belong to prompt i), and each one's advantage compares it with its own
group only:

    A_i = (r_i - mean(r_group)) / (std(r_group) + 1e-4)     (loss_type grpo or dapo)
    A_i =  r_i - mean(r_group)                              (dr_grpo: no std)

Every response token t gets that advantage. With ratio_t = pi(o_t | q, o_<t) / pi_old(...)
(pi_old: the policy that sampled, fixed for the batch) and the k3 estimator of
KL(pi || pi_ref), kl_t = pi_ref/pi - log(pi_ref/pi) - 1 >= 0, the per-token loss is

    l_t = -min(ratio_t A, clip(ratio_t, 1 - epsilon, 1 + epsilon_high) A) + beta kl_t

averaged per response then over responses (grpo), over all tokens of the batch (dapo), or
summed and divided by a constant, responses x the longest response (dr_grpo: no length
normalisation). The batch is reused for ``num_iterations`` passes of ``minibatches`` updates.
With ``format_reward`` set, a well-formed response (one the verifier can read an answer from)
earns that much on top of the reward (DeepSeek-R1-Zero's format reward).
With ``no_eos_score`` set, a response cut off before its EOS scores that instead of what the
reward says (PPO's penalty, there by default: a learned reward model never saw such responses
in its pairs and may score them anywhere). A group whose rewards are all equal has zero advantage, so no signal: the share of such
groups is logged, and ``dynamic_sampling`` (DAPO) replaces them by fresh prompts.

The initial policy is always kept frozen as the reference (the model is small), whether or not
beta puts it in the loss, and two KLs are logged every step under names that keep them apart:
``kl_ref/exact``, the exact per-token KL(pi_old || pi_ref) = sum_v pi_old(v) log(pi_old(v) /
pi_ref(v)) averaged over the batch's response tokens, with ``kl_ref/k3`` its k3 estimate
(both exactly 0 at the first step, where the sampling policy is the reference), and
``losses/approx_kl`` (CleanRL's name; ``approx_kl_old`` on the progress line), the drift of the
updated policy from the one that sampled the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from selfplay.llm.config import GRPOConfig
from selfplay.llm.rl_phase import RLPhase
from selfplay.llm.rollouts import k3_kl, reference_kl, token_logprobs
from selfplay.llm.run import Setting
from selfplay.llm.sampling import generate, right_pad
from selfplay.llm.tasks import Problem, extract_answer

STD_EPSILON = 1e-4


def group_advantages(rewards: torch.Tensor, group_size: int, scale: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages [N] and each group's reward std [N / G], for rewards [N] laid out group by
    group. The std is the sample (Bessel-corrected) one, as in TRL."""
    groups = rewards.view(-1, group_size)
    std = groups.std(dim=1, keepdim=True)
    advantages = groups - groups.mean(dim=1, keepdim=True)
    if scale:
        advantages = advantages / (std + STD_EPSILON)
    return advantages.reshape(-1), std.squeeze(1)


def grpo_loss(logp, old_logp, ref_logp, advantages, mask, config: GRPOConfig, max_response_tokens: int):
    """The GRPO loss over the response tokens ``mask`` [N, L], and its metrics."""
    mask = mask.float()
    epsilon_high = config.epsilon_high or config.epsilon
    ratio = torch.exp(logp - old_logp)
    a = advantages[:, None]
    unclipped = ratio * a
    clipped = torch.clamp(ratio, 1 - config.epsilon, 1 + epsilon_high) * a
    per_token = -torch.min(unclipped, clipped)
    kl = k3_kl(logp, ref_logp) if ref_logp is not None else None
    if kl is not None and config.beta > 0:
        per_token = per_token + config.beta * kl
    per_token = per_token * mask
    if config.loss_type == "grpo":
        loss = (per_token.sum(1) / mask.sum(1).clamp_min(1)).mean()
    elif config.loss_type == "dapo":
        loss = per_token.sum() / mask.sum().clamp_min(1)
    else:  # dr_grpo
        loss = per_token.sum() / (mask.shape[0] * max_response_tokens)
    with torch.no_grad():
        tokens = mask.sum().clamp_min(1)
        low = ((ratio < 1 - config.epsilon) & (a < 0)).float() * mask
        high = ((ratio > 1 + epsilon_high) & (a > 0)).float() * mask
        log_ratio = (logp - old_logp) * mask
        metrics = {
            "clip_ratio/low_mean": (low.sum() / tokens).item(),
            "clip_ratio/high_mean": (high.sum() / tokens).item(),
            "clip_ratio/region_mean": ((low + high).sum() / tokens).item(),
            "losses/approx_kl": (((ratio - 1) - log_ratio) * mask).sum().item() / tokens.item(),
            "losses/policy_loss": loss.item(),
        }
        if kl is not None:
            metrics["kl"] = ((kl * mask).sum() / tokens).item()
    return loss, metrics


def well_formed(texts: list[str]) -> torch.Tensor:
    """1.0 for each response text the verifier can read an answer from (right or wrong), else 0.0."""
    return torch.tensor([extract_answer(t) is not None for t in texts], dtype=torch.float32)


@dataclass
class Rollouts:
    """One step's samples, group by group: rows i*G .. i*G + G - 1 answer problems[i]."""
    problems: list[Problem]
    tokens: torch.Tensor        # [N, L] prompt + response, right-padded
    mask: torch.Tensor          # [N, L - 1] positions whose next token is in the response
    rewards: torch.Tensor       # [N]
    lengths: torch.Tensor       # [N] response tokens, EOS included
    texts: list[str]
    zero_std_share: float       # of the groups first sampled this step
    rounds: int


class GRPOTrainer(RLPhase):
    name, rng_stream = "grpo", 5

    def __init__(self, setting: Setting, run_dir: str | Path, init: str | Path, log=print, show_progress=False,
                 scorer=None):
        super().__init__(setting, run_dir, init, log, show_progress, scorer)
        # the loss's reference: the frozen initial policy when beta > 0 penalises the KL to it
        self.ref_model = self.reference if self.config.beta > 0 else None
        self.model_calls = 0  # sampled token positions (prompt + response), as with a KV cache
        self.make_optimizer(self.model.parameters())

    def extra_state(self) -> dict:
        return {"model_calls": self.model_calls}

    def load_extra_state(self, payload: dict) -> None:
        self.model_calls = int(payload.get("model_calls", 0))

    def eval_extras(self) -> dict[str, float]:
        return {"model_calls": float(self.model_calls)}

    def optimizer_options(self) -> dict:
        return {"betas": (0.9, 0.99)}

    @property
    def updates_per_step(self) -> int:
        return self.config.num_iterations * self.config.minibatches

    # ---- sampling ---------------------------------------------------------------------------
    def sample_groups(self, problems: list[Problem]):
        """G responses per problem, group by group: prompt ids, response ids, texts, rewards."""
        s, g = self.setting, self.config.group_size
        prompts = [s.tokenizer.prompt_ids(s.task.prompt(p)) for p in problems for _ in range(g)]
        responses = generate(self.model, prompts, s.task.max_response_tokens(), s.tokenizer.pad_id,
                             s.tokenizer.eos_id, temperature=self.config.temperature, generator=self.generator)
        finished_at = [r.index(s.tokenizer.eos_id) + 1 if s.tokenizer.eos_id in r else len(r) for r in responses.tolist()]
        self.model_calls += sum(len(p) for p in prompts) + sum(finished_at)
        texts = [s.tokenizer.response_text(r.tolist()) for r in responses]
        rewards = self.scorer([problems[i // g] for i in range(len(texts))], texts)
        if self.config.format_reward:  # R1-Zero's format reward, on top of the verifier's 0/1
            rewards = rewards + self.config.format_reward * well_formed(texts)
        if self.config.no_eos_score is not None:  # a response cut off before its EOS scores this, whatever it says
            finished = (responses == s.tokenizer.eos_id).any(dim=1).cpu()
            rewards = torch.where(finished, rewards, torch.full_like(rewards, self.config.no_eos_score))
        return prompts, responses, texts, rewards

    def collect(self) -> Rollouts:
        c, s, g = self.config, self.setting, self.config.group_size
        kept: list[tuple] = []  # (problem, prompts, responses, texts, rewards) per group
        zero_std_share, rounds, wanted = 0.0, 0, c.prompts_per_step
        while len(kept) < c.prompts_per_step and rounds <= c.max_resample_rounds:
            problems = s.task.sample_many(wanted, self.rng)
            prompts, responses, texts, rewards = self.sample_groups(problems)
            std = rewards.view(-1, g).std(dim=1)
            if rounds == 0:
                zero_std_share = float((std == 0).float().mean())
            for i, problem in enumerate(problems):
                if c.dynamic_sampling and std[i] == 0:
                    continue
                rows = slice(i * g, (i + 1) * g)
                kept.append((problem, prompts[rows], responses[rows], texts[rows], rewards[rows]))
            rounds += 1
            if not c.dynamic_sampling:
                break
            wanted = c.prompts_per_step - len(kept)
        kept = kept[:c.prompts_per_step]
        return self._pack(kept, zero_std_share, rounds)

    def _pack(self, kept, zero_std_share: float, rounds: int) -> Rollouts:
        pad, eos = self.setting.tokenizer.pad_id, self.setting.tokenizer.eos_id
        rows, starts, lengths, texts, rewards = [], [], [], [], []
        for _, prompts, responses, group_texts, group_rewards in kept:
            for prompt, response in zip(prompts, responses):
                response = response.tolist()
                length = response.index(eos) + 1 if eos in response else len(response)
                rows.append(prompt + response[:length])
                starts.append(len(prompt))
                lengths.append(length)
            texts += group_texts
            rewards.append(group_rewards)
        tokens, mask = right_pad(rows, starts, pad)
        device = self.setting.device
        return Rollouts([k[0] for k in kept], tokens.to(device), mask.to(device),
                        torch.cat(rewards).to(device) if rewards else torch.zeros(0, device=device),
                        torch.tensor(lengths, dtype=torch.float32), texts, zero_std_share, rounds)

    # ---- one step ---------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        c = self.config
        batch = self.collect()
        metrics = {"frac_reward_zero_std": batch.zero_std_share, "sampling_rounds": float(batch.rounds)}
        if len(batch.problems) == 0:  # dynamic sampling found no informative group
            return {**metrics, "reward": float("nan"), "skipped": 1.0}
        advantages, std = group_advantages(batch.rewards, c.group_size, scale=c.loss_type != "dr_grpo")
        with torch.no_grad():
            old_logp = None
            if self.updates_per_step > 1:
                old_logp, _ = token_logprobs(self.model, batch.tokens, batch.mask, c.temperature)
            ref_logp = None
            if self.ref_model is not None:
                ref_logp, _ = token_logprobs(self.ref_model, batch.tokens, batch.mask, c.temperature)
            metrics.update(reference_kl(self.model, self.reference, batch.tokens, batch.mask, c.temperature))
        self.model.train()
        n = len(batch.rewards)
        max_len = self.setting.task.max_response_tokens()
        sums: dict[str, float] = {}
        for _ in range(c.num_iterations):
            order = torch.from_numpy(self.rng.permutation(n)).to(batch.tokens.device)
            for rows in torch.tensor_split(order, c.minibatches):
                logp, entropy = token_logprobs(self.model, batch.tokens[rows], batch.mask[rows], c.temperature)
                old = old_logp[rows] if old_logp is not None else logp.detach()
                ref = ref_logp[rows] if ref_logp is not None else None
                loss, step_metrics = grpo_loss(logp, old, ref, advantages[rows], batch.mask[rows], c, max_len)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                step_metrics["grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip).item()
                self.optimizer.step()
                m = batch.mask[rows].float()
                step_metrics["entropy"] = ((entropy.detach() * m).sum() / m.sum().clamp_min(1)).item()
                for key, value in step_metrics.items():
                    sums[key] = sums.get(key, 0.0) + value / self.updates_per_step
        metrics.update(sums)
        metrics.update({
            "reward": batch.rewards.mean().item(), "reward_std": std.mean().item(),
            "rewards/accuracy": self.gold([batch.problems[i // c.group_size] for i in range(len(batch.texts))],
                                          batch.texts).mean().item(),  # the gold, whatever the reward
            "completions/mean_length": batch.lengths.mean().item(),
            "completions/scratchpad_share": float(np.mean([t.find("<ans>") > 0 for t in batch.texts])),
            "completions/min_length": batch.lengths.min().item(),
            "completions/max_length": batch.lengths.max().item(),
            "completions/clipped_ratio": float(np.mean([not t.endswith("<eos>") for t in batch.texts])),
        })
        self.last_batch = batch
        return metrics

    # ---- the loop ---------------------------------------------------------------------------
    def start_message(self) -> str:
        c = self.config
        return (f"GRPO from {self.init} (SFT step {self.init_step}); reward: {c.reward}"
                f"{'' if c.no_eos_score is None else f' ({c.no_eos_score} without EOS)'}; reference model: the "
                f"initial policy, KL to it logged as kl_ref, penalised with beta {c.beta}")

    def progress(self, metrics: dict[str, float]) -> tuple[dict[str, float], str]:
        tagged = {k if k.startswith("losses/") else f"train/{k}": v for k, v in metrics.items()}
        return tagged, (f"reward {metrics['reward']:.3f}  zero-std {metrics['frac_reward_zero_std']:.2f}  "
                        f"kl_ref {metrics.get('kl_ref/exact', float('nan')):.4f}  "
                        f"approx_kl_old {metrics.get('losses/approx_kl', float('nan')):.4f}  "
                        f"len {metrics.get('completions/mean_length', 0.0):.1f}")

    def log_completions(self, count: int = 4) -> None:
        s, g, batch = self.setting, self.config.group_size, self.last_batch
        lines = []
        for row in range(0, min(len(batch.texts), count * g), g):
            problem = batch.problems[row // g]
            lines.append(f"{s.task.prompt(problem)} -> {batch.texts[row]}  (reward {batch.rewards[row].item():.2f}, "
                         f"answer {s.task.answer(problem)})")
        self.write_completions(lines)
