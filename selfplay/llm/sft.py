"""SFT (``selfplay llm sft``): imitate the teacher.

The loss is next-token cross-entropy on the response tokens of the teacher's demonstrations
(the prompt is given, not learned), plus ``value_weight`` times the squared error of the value
head against the demonstration's verified reward at the same positions: AlphaGo's imitation
step (policy on the expert's move, value on the outcome). The dataset is drawn once from
training problems only; held-out greedy accuracy, pass@k and maj@k are logged as it trains.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from selfplay.llm.config import SFTConfig
from selfplay.llm.evaluation import evaluate
from selfplay.llm.run import Phase, Setting, base_payload, restore_base
from selfplay.llm.sampling import right_pad
from selfplay.llm.tasks import Problem
from selfplay.run.checkpoint import checkpoint_path


def teacher_pairs(setting: Setting, n: int, rng: np.random.Generator) -> list[tuple[Problem, str]]:
    """``n`` (training problem, the teacher's response text, ``<eos>`` included)."""
    return [(problem, setting.teacher.demonstrate(problem, rng)[0] + "<eos>")
            for problem in setting.task.sample_many(n, rng)]


def encode_pairs(setting: Setting, pairs: list[tuple[Problem, str]]):
    """A dataset from (problem, response text as written, ``<eos>`` included when it ended):
    right-padded token ids [n, L], the mask of positions whose next token is part of the
    response [n, L - 1], and each response's verified reward [n]."""
    tok, task = setting.tokenizer, setting.task
    rows, starts, rewards = [], [], []
    for problem, text in pairs:
        prompt = tok.prompt_ids(task.prompt(problem))
        rows.append(prompt + tok.encode(text))
        starts.append(len(prompt))
        rewards.append(task.reward(problem, text))
    tokens, mask = right_pad(rows, starts, tok.pad_id)
    return tokens, mask, torch.tensor(rewards, dtype=torch.float32)


def demonstrations(setting: Setting, n: int, rng: np.random.Generator):
    """The teacher's dataset (``encode_pairs`` of ``teacher_pairs``)."""
    return encode_pairs(setting, teacher_pairs(setting, n, rng))


def sft_loss(model, tokens: torch.Tensor, mask: torch.Tensor, rewards: torch.Tensor, value_weight: float):
    """The loss of a batch and its metrics; ``mask`` selects the predicted (response) positions."""
    logits, values = model(tokens[:, :-1])
    targets = tokens[:, 1:]
    token_loss = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    policy_loss = token_loss[mask].mean()
    value_loss = ((values - rewards[:, None]) ** 2)[mask].mean()
    loss = policy_loss + value_weight * value_loss
    with torch.no_grad():
        accuracy = (logits.argmax(-1) == targets)[mask].float().mean()
    return loss, {"losses/policy_loss": policy_loss.item(), "losses/value_loss": value_loss.item(),
                  "losses/loss": loss.item(), "train/token_accuracy": accuracy.item()}


def learning_rate(step: int, config: SFTConfig) -> float:
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class SFTTrainer:
    """SFT on the teacher's demonstrations, or on ``demonstrations`` given as (problem, response
    text) pairs (``encode_pairs``; another model's responses: selfplay/llm/distill.py). ``name``
    is the phase (its checkpoint folder and log tag): ``base`` for R1-Zero's base stage (r1zero.py)."""

    def __init__(self, setting: Setting, run_dir: str | Path, log=print, show_progress: bool = False,
                 demonstrations: list[tuple[Problem, str]] | None = None, name: str = "sft"):
        self.setting = setting
        self.given = demonstrations
        self.config = setting.config.sft
        self.phase = Phase(name, run_dir, self.config.steps, log, show_progress)
        torch.manual_seed(setting.config.seed)
        self.rng = np.random.default_rng([setting.config.seed, 3])
        self.model = setting.new_model()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=self.config.learning_rate,
                                           weight_decay=self.config.weight_decay, betas=(0.9, 0.99))
        self.step = 0

    def restore(self) -> None:
        found = self.phase.latest(self.setting.device)
        if found is not None:
            path, payload = found
            self.step = restore_base(payload, self.model, self.optimizer, self.rng)
            self.phase.log(f"resumed from {path.name} at step {self.step}")

    def save(self) -> Path:
        payload = base_payload(self.setting, self.model, self.optimizer, self.step, self.rng)
        return self.phase.save(self.step, {**payload, "phase": self.phase.name})

    def evaluate(self) -> dict[str, float]:
        s, e = self.setting, self.setting.config.eval
        results = evaluate(self.model, s.task, s.tokenizer, s.eval_problems, e.batch_size, e.samples, e.pass_k,
                           e.sampled_problems, seed=s.config.seed)
        self.phase.record_eval(self.step, self.step, results, self.teacher)
        return results

    def dataset(self):
        """(tokens, mask, rewards) of the given demonstrations, else of the teacher's (the same
        draw on a resume)."""
        if self.given is not None:
            return encode_pairs(self.setting, self.given)
        data_rng = np.random.default_rng([self.setting.config.seed, 4])
        return demonstrations(self.setting, self.config.num_demonstrations, data_rng)

    def train(self) -> Path:
        c, s = self.config, self.setting
        self.restore()
        if self.step >= c.steps:  # finished before (a resumed curve run)
            self.phase.close()
            return checkpoint_path(self.phase.directory, self.step)
        self.teacher = s.teacher_report()
        self.teacher_accuracy = self.teacher["teacher_accuracy"]
        tokens, mask, rewards = self.dataset()
        demo_accuracy = rewards.mean().item()
        if self.step == 0:
            source = "the given ones" if self.given is not None else "teacher"
            self.phase.log(f"{len(tokens)} demonstrations ({source} right on {demo_accuracy:.1%}); "
                           f"the teacher on held-out problems (sampled; greedy: its most likely response): "
                           f"{', '.join(f'{k} {v:.3f}' for k, v in self.teacher.items() if not k.endswith(('_low', '_high')))}; "
                           f"model {self.model.num_parameters():,} parameters")
            self.phase.writer.add_scalar("eval/teacher_accuracy", self.teacher_accuracy, 0)
            self.evaluate()
        tokens, mask, rewards = tokens.to(s.device), mask.to(s.device), rewards.to(s.device)
        self.model.train()
        try:
            while self.step < c.steps:
                for group in self.optimizer.param_groups:
                    group["lr"] = learning_rate(self.step, c)
                index = torch.from_numpy(self.rng.integers(0, len(tokens), c.batch_size)).to(s.device)
                loss, metrics = sft_loss(self.model, tokens[index], mask[index], rewards[index], c.value_weight)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                metrics["train/grad_norm"] = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip).item()
                self.optimizer.step()
                self.step += 1
                metrics["train/learning_rate"] = self.optimizer.param_groups[0]["lr"]
                self.phase.report(self.step, metrics, f"loss {metrics['losses/policy_loss']:.3f}  "
                                  f"token acc {metrics['train/token_accuracy']:.3f}")
                if self.step % c.eval_every == 0 or self.step == c.steps:
                    self.evaluate()
                    self.model.train()
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self.save()
        finally:
            self.phase.close()
        return checkpoint_path(self.phase.directory, self.step)
