"""A reward model from pairwise preferences (``selfplay llm reward-model``), and the scorer RL
optimises (``reward: verifier | model:RUN_DIR`` in the grpo and ppo sections).

The model is TokenPolicyValueModel's transformer with its value head unbounded
(``value_activation: none``) and read once, at the response's last token (its EOS): r(x, y) is
a scalar for prompt x and response y. Given pairs where the labeller preferred y_c over y_r
(selfplay/llm/preferences.py), it is fitted by the Bradley-Terry likelihood (Christiano et al.
2017, Ouyang et al. 2022):

    loss = -log sigmoid(r(x, y_c) - r(x, y_r))        averaged over a batch of pairs

Held-out pairwise accuracy is the share of held-out pairs with r(y_c) > r(y_r) (a tie counts
a half), with its 95% Wilson interval; beside it the labeller's own agreement rate, the ceiling
a gold-perfect ranker reaches under the label noise, and the accuracy against the gold order
on pairs whose gold scores differ. Only differences of r are learned, so after training the
scores are normalised on the reference policy (Ziegler et al. 2019; Huang et al. 2024's detail
on reward normalisation): over reference responses to training prompts,

    r_norm(x, y) = (r(x, y) - mean) / std                 (std the population one)

so the reference's rewards have mean 0 and std 1; mean and std are stored in the checkpoint.
The reference is the SFT policy the pairs were sampled from (or the teacher without one).

An ensemble (``ensemble: K``, Coste et al. 2024) is K such models trained on the same pairs from
different initialisations and batch orders, each normalised on its own; rewards.py reads them
together (their mean, the worst of them, or the mean less their disagreement).

    runs/<name>/reward_model/step-N.pt    the model, its config, the normalisation, the metrics
    runs/<name>/reward_model-K/step-N.pt  member K of an ensemble (member 0 is reward_model/)
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from selfplay.llm.evaluation import complete
from selfplay.llm.model import ModelConfig, TokenPolicyValueModel, model_from_payload
from selfplay.llm.preferences import (
    PreferencePairs,
    labelled_pairs,
    labeller_agreement,
    split_problems,
    teacher_respond,
)
from selfplay.llm.run import Phase, Setting, check_vocab
from selfplay.llm.sampling import right_pad
from selfplay.llm.tasks import Problem
from selfplay.rating.stats import wilson_interval
from selfplay.run.checkpoint import (
    checkpoint_path,
    load_checkpoint,
)

PHASE = "reward_model"
STD_FLOOR = 1e-6
MEMBER_SEED_STRIDE = 7919  # member k initialises from torch seed seed + 7919 k


def member_phase(member: int) -> str:
    """The phase (checkpoint folder, tb tag, eval.csv phase) of ensemble member ``member``."""
    return PHASE if member == 0 else f"{PHASE}-{member}"


def bradley_terry_loss(r_chosen: torch.Tensor, r_rejected: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged over the pairs."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def normalisation(scores: torch.Tensor) -> tuple[float, float]:
    """Mean and (population) std of raw scores of reference responses; the std floored at 1e-6."""
    scores = scores.double()
    return float(scores.mean()), max(float(scores.std(unbiased=False)), STD_FLOOR)


def encode(setting: Setting, problems: list[Problem], texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompt + response rows, right-padded [N, L], and the index of each row's last token (its
    EOS when the response finished) [N]."""
    tok = setting.tokenizer
    rows = [tok.prompt_ids(setting.task.prompt(p)) + tok.encode(t) for p, t in zip(problems, texts)]
    tokens, _ = right_pad(rows, [1] * len(rows), tok.pad_id)
    return tokens, torch.tensor([len(r) - 1 for r in rows])


def read_scores(model: TokenPolicyValueModel, tokens: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """r for each row: the scalar head at its last token."""
    _, values = model(tokens)
    return values[torch.arange(len(tokens), device=tokens.device), last.to(tokens.device)]


@torch.no_grad()
def raw_scores(model: TokenPolicyValueModel, setting: Setting, problems: list[Problem], texts: list[str],
               batch_size: int = 512) -> torch.Tensor:
    model.eval()
    out = []
    for start in range(0, len(texts), batch_size):
        tokens, last = encode(setting, problems[start:start + batch_size], texts[start:start + batch_size])
        out.append(read_scores(model, tokens.to(setting.device), last).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def pairwise_accuracy(r_chosen: torch.Tensor, r_rejected: torch.Tensor, pairs: PreferencePairs,
                      noise: float) -> dict[str, float]:
    """Held-out figures: accuracy on the labels (ties a half) with its Wilson interval, the
    labeller's agreement ceiling, and accuracy against the gold order where the gold differs."""
    wins = (r_chosen > r_rejected).double() + 0.5 * (r_chosen == r_rejected).double()
    low, high = wilson_interval(float(wins.sum()), len(wins))
    delta_gold = torch.from_numpy(pairs.gold_chosen - pairs.gold_rejected)
    distinct = delta_gold != 0
    agrees = (torch.sign(r_chosen - r_rejected).double() == torch.sign(delta_gold))[distinct]
    gold_low, gold_high = wilson_interval(float(agrees.sum()), len(agrees))
    return {"pairwise_accuracy": float(wins.mean()), "pairwise_accuracy_low": low, "pairwise_accuracy_high": high,
            "heldout_pairs": float(len(wins)), "labeller_agreement": labeller_agreement(
                pairs.gold_chosen, pairs.gold_rejected, noise),
            "gold_order_accuracy": float(agrees.double().mean()) if len(agrees) else float("nan"),
            "gold_order_accuracy_low": gold_low, "gold_order_accuracy_high": gold_high,
            "gold_distinct_pairs": float(distinct.sum())}


class RewardModelTrainer:
    def __init__(self, setting: Setting, run_dir: str | Path, init: str | Path | None = None, log=print,
                 show_progress: bool = False, member: int = 0):
        self.setting = setting
        self.config = setting.config.reward_model
        c, seed = self.config, setting.config.seed
        self.member = member
        self.model_config = ModelConfig(layers=c.layers, heads=c.heads, dim=c.dim,
                                        context=setting.config.model.context, value_activation="none")
        self.phase = Phase(member_phase(member), run_dir, c.steps, log, show_progress)
        torch.manual_seed(seed + MEMBER_SEED_STRIDE * member)  # the pairs below are the same for every member
        self.rng = np.random.default_rng([seed, 7] if member == 0 else [seed, 7, member])
        self.model = TokenPolicyValueModel(setting.tokenizer.vocab_size, self.model_config).to(setting.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=c.learning_rate,
                                           weight_decay=c.weight_decay, betas=(0.9, 0.99))
        self.init = Path(init) if init is not None else None
        self.source = f"samples of {self.init}" if self.init is not None else "the teacher's demonstrations"
        self.respond = self._respond()
        self.step = 0
        self.results: dict[str, float] = {}  # the latest held-out evaluation

    def _respond(self) -> Callable[[list[Problem]], list[str]]:
        """The policy the pairs and the normalisation are sampled from (see preferences.py)."""
        s = self.setting
        data_rng = np.random.default_rng([s.config.seed, 8])
        if self.init is None:
            return teacher_respond(s.task, s.teacher, data_rng)
        payload = load_checkpoint(self.init, s.device)
        check_vocab(payload, s.tokenizer, self.init)
        policy = model_from_payload(payload, s.device)
        generator = torch.Generator(device=s.device).manual_seed(s.config.seed + 8)
        return lambda problems: complete(policy, s.task, s.tokenizer, problems, self.config.sample_temperature,
                                         s.config.eval.batch_size, generator)

    def build_data(self) -> None:
        """Pairs (the same on a resume: every draw here has its own seed) and reference responses."""
        s, c = self.setting, self.config
        rng = np.random.default_rng([s.config.seed, 9])
        train, held = split_problems(s.task, c.pairs, c.heldout_fraction, rng)
        self.train_pairs = labelled_pairs(s.task, s.tokenizer, train, self.respond, c, rng)
        self.heldout_pairs = labelled_pairs(s.task, s.tokenizer, held, self.respond, c, rng)
        self.train_tokens = encode(s, train + train, self.train_pairs.chosen + self.train_pairs.rejected)
        self.reference_problems = s.task.sample_many(c.normalisation_samples, rng)
        self.reference_texts = self.respond(self.reference_problems)

    # ---- state ------------------------------------------------------------------------------
    def save(self, metrics: dict[str, float]) -> Path:
        mean, std = normalisation(raw_scores(self.model, self.setting, self.reference_problems, self.reference_texts))
        payload = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                   "phase": PHASE, "config": asdict(self.setting.config), "model_config": asdict(self.model_config),
                   "vocab": list(self.setting.tokenizer.vocab), "numpy_rng": self.rng.bit_generator.state,
                   "torch_rng": torch.get_rng_state(), "reward_mean": mean, "reward_std": std,
                   "source": self.source, "init": str(self.init or ""), "metrics": metrics, "member": self.member}
        return self.phase.save(self.step, payload)

    def restore(self) -> None:
        found = self.phase.latest(self.setting.device)
        if found is not None:
            path, payload = found
            self.model.load_state_dict(payload["model"])
            self.optimizer.load_state_dict(payload["optimizer"])
            self.rng.bit_generator.state = payload["numpy_rng"]
            torch.set_rng_state(payload["torch_rng"])
            self.step = int(payload["step"])
            self.results = dict(payload.get("metrics", {}))
            self.phase.log(f"resumed from {path.name} at step {self.step}")

    # ---- training ---------------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        pairs = self.heldout_pairs
        r_chosen = raw_scores(self.model, self.setting, pairs.problems, pairs.chosen)
        r_rejected = raw_scores(self.model, self.setting, pairs.problems, pairs.rejected)
        results = pairwise_accuracy(r_chosen, r_rejected, pairs, self.config.noise)
        row = {"phase": self.phase.name, "step": self.step, "minutes": self.phase.runlog.minutes(), **results}
        self.phase.runlog.record_eval(self.step, row, results, first_columns=["phase", "step", "minutes"])
        self.model.train()
        return results

    def train(self) -> Path:
        c, s = self.config, self.setting
        self.restore()
        self.build_data()
        tokens, last = (t.to(s.device) for t in self.train_tokens)
        n = len(self.train_pairs)
        if self.step == 0:
            member = f" {self.phase.name} (member {self.member + 1} of {c.ensemble})" if c.ensemble > 1 else ""
            self.phase.log(f"{n} training and {len(self.heldout_pairs)} held-out pairs from {self.source}; "
                           f"labeller noise {c.noise}; reward model{member} {self.model.num_parameters():,} parameters")
        self.model.train()
        try:
            while self.step < c.steps:
                index = torch.from_numpy(self.rng.integers(0, n, c.batch_size)).to(s.device)
                rows = torch.cat([index, index + n])
                scores = read_scores(self.model, tokens[rows], last[rows])
                r_chosen, r_rejected = scores[:len(index)], scores[len(index):]
                loss = bradley_terry_loss(r_chosen, r_rejected)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip).item()
                self.optimizer.step()
                self.step += 1
                accuracy = (r_chosen > r_rejected).float().mean().item()
                self.phase.report(self.step, {"losses/bradley_terry": loss.item(), "train/pairwise_accuracy": accuracy,
                                              "train/grad_norm": grad_norm},
                                  f"loss {loss.item():.3f}  acc {accuracy:.3f}")
                if self.step % c.eval_every == 0 or self.step == c.steps:
                    self.results = self.evaluate()
                    self.save(self.results)
        finally:
            self.phase.close()
        return checkpoint_path(self.phase.directory, self.step)


def train_reward_models(setting: Setting, run_dir: str | Path, init: str | Path | None = None, log=print,
                        show_progress: bool = False) -> list[RewardModelTrainer]:
    """Every member of the configured ensemble (one model unless ``ensemble`` > 1), in turn;
    a member already trained is read back, not retrained."""
    trainers = []
    for member in range(setting.config.reward_model.ensemble):
        trainer = RewardModelTrainer(setting, run_dir, init, log, show_progress, member)
        trainer.train()
        trainers.append(trainer)
    return trainers
