"""What GRPO (grpo.py) and PPO (ppo.py) share: an RL phase that starts from a checkpoint and
runs ``steps`` steps of sample-score-update, with the same seeding, checkpoints, evaluations
and loop cadence. A subclass supplies one step (``train_step``) and what differs around it
(its progress line, its sample log, any state beyond the policy's).

Observers of the loop (over-optimisation's measurements, a meter) register a callable in
``after_step``: it is called with the phase after every step, once its evaluation and
checkpoint are done, instead of patching the trainer.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from selfplay.llm.evaluation import evaluate
from selfplay.llm.rewards import Scorer, make_scorer, proxy_reward
from selfplay.llm.run import (
    Phase,
    Setting,
    base_payload,
    check_continues,
    load_start,
    restore_base,
    start_policy,
)
from selfplay.run.checkpoint import checkpoint_path


class RLPhase:
    """``name`` is the phase ("grpo" or "ppo": its config section, checkpoint folder and tb
    tag); ``rng_stream`` keeps each algorithm's prompt draws its own."""

    name: str
    rng_stream: int

    def __init__(self, setting: Setting, run_dir: str | Path, init: str | Path, log=print, show_progress=False,
                 scorer: Callable | None = None):
        self.setting = setting
        self.eval_setting = setting  # held-out problems; stays the full task's while a curriculum changes setting
        self.config = getattr(setting.config, self.name)
        self.init = Path(init)
        self.start_payload = load_start(setting, self.init)
        transfer_note = check_continues(setting, self.start_payload, self.init)
        self.check_start(self.start_payload)
        self.model = start_policy(setting, self.start_payload, self.init)
        self.init_step = int(self.start_payload["step"])
        # the frozen initial policy: the KL to it is always logged (kl_ref), penalised where configured
        self.reference = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.scorer = scorer if scorer is not None else make_scorer(setting, self.config.reward, f"{self.name}.reward")
        self.gold = Scorer(setting).verifier  # what accuracy counts, whatever the reward
        self.phase = Phase(self.name, run_dir, self.config.steps, log, show_progress)
        if transfer_note:
            self.phase.log(transfer_note)
        self.rng = np.random.default_rng([setting.config.seed, self.rng_stream])
        self.generator = torch.Generator(device=setting.device).manual_seed(setting.config.seed)
        self.step = 0
        self.after_step: list[Callable[["RLPhase"], None]] = []
        self.teacher: dict[str, float] = {}

    def make_optimizer(self, parameters) -> None:
        """Called by the subclass once its parameters exist; seeds torch after every model is built."""
        c = self.config
        self.optimizer = torch.optim.AdamW(parameters, lr=c.learning_rate, weight_decay=c.weight_decay,
                                           **self.optimizer_options())
        torch.manual_seed(self.setting.config.seed)

    # ---- what a subclass supplies -----------------------------------------------------------
    def check_start(self, payload: dict) -> None:
        """Refuse a starting checkpoint this algorithm cannot use (PPO: one with no value head)."""

    def optimizer_options(self) -> dict:
        return {}

    @property
    def updates_per_step(self) -> int:
        raise NotImplementedError

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    def start_message(self) -> str:
        raise NotImplementedError

    def progress(self, metrics: dict[str, float]) -> tuple[dict[str, float], str]:
        """The scalars for TensorBoard (tagged) and the progress line of one step."""
        raise NotImplementedError

    def log_completions(self) -> None:
        """A few of the last batch's responses to TensorBoard and log.txt."""

    def write_completions(self, lines: list[str]) -> None:
        """Sample lines (``log_completions``'s) to TensorBoard as one text and to log.txt."""
        self.phase.writer.add_text("completions", "\n\n".join(f"`{line}`" for line in lines), self.step)
        for line in lines:
            self.phase.log("sample: " + line, quiet=True)

    def extra_state(self) -> dict:
        return {}

    def eval_extras(self) -> dict[str, float]:
        """Figures beside each evaluation's in eval.csv (the inference compute spent so far)."""
        return {}

    def load_extra_state(self, payload: dict) -> None:
        pass

    # ---- state ------------------------------------------------------------------------------
    def curve_step(self) -> int:
        """Optimiser steps since the model was created (SFT's, then this phase's): the curve's x."""
        return self.init_step + self.step * self.updates_per_step

    def restore(self) -> None:
        found = self.phase.latest(self.setting.device)
        if found is not None:
            path, payload = found
            self.load_extra_state(payload)
            self.step = restore_base(payload, self.model, self.optimizer, self.rng)
            self.generator.set_state(payload["sampler_rng"])
            self.phase.log(f"resumed from {path.name} at step {self.step}")

    def save(self) -> Path:
        payload = base_payload(self.setting, self.model, self.optimizer, self.step, self.rng)
        return self.phase.save(self.step, {**payload, "phase": self.name, "init": str(self.init),
                                           "init_step": self.init_step, "sampler_rng": self.generator.get_state(),
                                           **self.extra_state()})

    # ---- the loop ---------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Held-out accuracy (greedy, and sampled where configured) into eval.csv; with a reward
        model, its score of the greedy responses beside the gold."""
        s, e = self.eval_setting, self.eval_setting.config.eval
        results = evaluate(self.model, s.task, s.tokenizer, s.eval_problems, e.batch_size, e.samples, e.pass_k,
                           e.sampled_problems, seed=s.config.seed)
        if isinstance(self.scorer, Scorer):
            results.update(proxy_reward(self.scorer, self.model, s.eval_problems))
        results.update(self.eval_extras())
        self.phase.record_eval(self.step, self.curve_step(), results, self.teacher)
        self.model.train()
        return results

    def train(self) -> Path:
        c = self.config
        self.restore()
        self.teacher = self.setting.teacher_report()
        if self.step == 0:
            self.phase.log(self.start_message())
            self.evaluate()
        try:
            while self.step < c.steps:
                metrics = self.train_step()
                self.step += 1
                scalars, line = self.progress(metrics)
                self.phase.report(self.step, scalars, line)
                if c.log_completions_every and self.step % c.log_completions_every == 0 and "skipped" not in metrics:
                    self.log_completions()
                if self.step % c.eval_every == 0 or self.step == c.steps:
                    self.evaluate()
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self.save()
                for observer in self.after_step:
                    observer(self)
        finally:
            self.phase.close()
        return checkpoint_path(self.phase.directory, self.step)
