"""The reward RL optimises (``reward: verifier | model:RUN_DIR`` in the grpo and ppo sections):
the task's verifier, or reward models learned from preferences (reward_model.py), read at the
response's EOS and normalised on the reference policy.

A run directory with an ensemble of K members (``reward_model.ensemble: K``) gives K normalised
scores r_1..r_K per response; ``reward_model.ensemble_combine`` (of the config RL runs under)
makes them one, after Coste et al. 2024, "Reward model ensembles help mitigate overoptimization":

    mean         R = mean_k r_k
    worst        R = min_k r_k                                 (worst-case optimisation, WCO)
    uncertainty  R = mean_k r_k - lambda var_k r_k             (uncertainty-weighted, UWO;
                                                                lambda = uncertainty_weight,
                                                                var the population variance)

The members agree where their pairs taught them and disagree off that distribution, where a
policy optimising one of them would go; the last two make such responses worth less.
"""

from __future__ import annotations

from pathlib import Path

import torch

from selfplay.configio import ConfigError
from selfplay.llm.evaluation import complete
from selfplay.llm.model import TokenPolicyValueModel, model_from_payload
from selfplay.llm.reward_model import PHASE, member_phase, raw_scores
from selfplay.llm.run import Setting, check_vocab
from selfplay.llm.tasks import Problem
from selfplay.run.checkpoint import CheckpointError, load_checkpoint, load_latest_good
from selfplay.run.directory import RunDir

MAX_MEMBERS = 64  # members looked for in a run directory: reward_model, reward_model-1, ...


def _checked(file: Path, payload: dict, setting: Setting, where: str) -> TokenPolicyValueModel:
    if payload.get("phase") != PHASE or "reward_mean" not in payload:
        raise ConfigError(f"{where}: {file} is not a reward model checkpoint (phase {payload.get('phase')!r})")
    check_vocab(payload, setting.tokenizer, file)
    keys = ("name", "min_digits", "max_digits", "scratchpad")
    trained_on = {k: payload.get("config", {}).get("task", {}).get(k) for k in keys}
    if trained_on != {k: getattr(setting.config.task, k) for k in keys}:
        raise ConfigError(f"{where}: {file} was trained on another task ({trained_on})")
    try:
        model = model_from_payload(payload, setting.device)
    except (ConfigError, RuntimeError) as e:
        raise CheckpointError(f"{file}: cannot rebuild its reward model: {e}") from None
    longest = setting.task.max_prompt_tokens() + setting.task.max_response_tokens()
    if model.config.context < longest:
        raise ConfigError(f"{where}: {file}'s context ({model.config.context}) is shorter than this task needs "
                          f"({longest} tokens)")
    return model.eval().requires_grad_(False)


def load_reward_members(path: str | Path, setting: Setting,
                        where: str = "reward") -> list[tuple[TokenPolicyValueModel, dict]]:
    """Every member of a run directory's reward model (its newest good checkpoint each), or the
    one model of a checkpoint file."""
    path = Path(path)
    if path.is_file():
        found = [(path, load_checkpoint(path, setting.device))]
    elif path.is_dir():
        run, found = RunDir(path), []
        for member in range(MAX_MEMBERS):
            directory = run.phase_checkpoints(member_phase(member))
            if not directory.is_dir():
                break
            latest = load_latest_good(directory, setting.device)
            if latest is None:
                break
            found.append(latest)
    else:
        raise ConfigError(f"{where}: {path} does not exist (a run directory of `selfplay llm reward-model`)")
    if not found:
        raise ConfigError(f"{where}: {path} holds no reward model (no {PHASE}/step-N.pt); "
                          f"train one with `selfplay llm reward-model`")
    return [(_checked(file, payload, setting, where), payload) for file, payload in found]


def load_reward_model(path: str | Path, setting: Setting, where: str = "reward") -> tuple[TokenPolicyValueModel, dict]:
    """The reward model of a checkpoint file, or of a run directory (its first member)."""
    return load_reward_members(path, setting, where)[0]


def combine(scores: torch.Tensor, how: str, uncertainty_weight: float) -> torch.Tensor:
    """One reward [N] from the members' normalised scores [K, N] (see the module docstring)."""
    if how == "mean":
        return scores.mean(0)
    if how == "worst":
        return scores.min(0).values
    if how == "uncertainty":
        return scores.mean(0) - uncertainty_weight * scores.var(0, unbiased=False)
    raise ConfigError(f"ensemble_combine must be mean, worst or uncertainty, got {how!r}")


class Scorer:
    """score(problems, response texts) -> rewards [N] (a float tensor on the CPU): the verifier
    without models, else the members' normalised scores combined."""

    def __init__(self, setting: Setting, models: list[TokenPolicyValueModel] = (), means: list[float] = (),
                 stds: list[float] = (), spec: str = "verifier", how: str = "mean", uncertainty_weight: float = 1.0):
        self.setting, self.spec, self.how, self.uncertainty_weight = setting, spec, how, uncertainty_weight
        self.models, self.means, self.stds = list(models), list(means), list(stds)

    @property
    def is_model(self) -> bool:
        return bool(self.models)

    def verifier(self, problems: list[Problem], texts: list[str]) -> torch.Tensor:
        """The gold: the task's exact-answer check."""
        return torch.tensor([self.setting.task.reward(p, t) for p, t in zip(problems, texts)], dtype=torch.float32)

    def member_scores(self, problems: list[Problem], texts: list[str]) -> torch.Tensor:
        """Each member's normalised score [K, N]."""
        batch = self.setting.config.eval.batch_size
        return torch.stack([(raw_scores(model, self.setting, problems, texts, batch) - mean) / std
                            for model, mean, std in zip(self.models, self.means, self.stds)])

    def __call__(self, problems: list[Problem], texts: list[str]) -> torch.Tensor:
        if not self.models:
            return self.verifier(problems, texts)
        return combine(self.member_scores(problems, texts), self.how, self.uncertainty_weight)


def make_scorer(setting: Setting, reward_spec: str, where: str = "reward") -> Scorer:
    """``verifier`` or ``model:RUN_DIR`` (``where`` names the config field in errors)."""
    if reward_spec == "verifier":
        return Scorer(setting)
    if not reward_spec.startswith("model:") or not reward_spec[len("model:"):].strip():
        raise ConfigError(f"{where}: unknown reward {reward_spec!r}; use 'verifier' or 'model:RUN_DIR'")
    members = load_reward_members(reward_spec[len("model:"):].strip(), setting, where)
    c = setting.config.reward_model
    return Scorer(setting, [m for m, _ in members], [float(p["reward_mean"]) for _, p in members],
                  [float(p["reward_std"]) for _, p in members], reward_spec, c.ensemble_combine, c.uncertainty_weight)


@torch.no_grad()
def proxy_reward(scorer: Scorer, policy: TokenPolicyValueModel, problems: list[Problem]) -> dict[str, float]:
    """The reward model's mean normalised score of the policy's greedy responses (empty for the
    verifier, whose mean is the accuracy): beside the gold accuracy, it shows reward hacking."""
    if not scorer.is_model:
        return {}
    s = scorer.setting
    texts = complete(policy, s.task, s.tokenizer, problems, 0.0, s.config.eval.batch_size)
    return {"proxy_reward": float(scorer(problems, texts).mean())}
