"""Reward hacking made visible (``selfplay llm overoptimization``), after Gao, Schulman and Hilton
2022, "Scaling laws for reward model overoptimization".

A reward model (the *proxy*, reward_model.py) learned from a labeller's preferences is optimised
two ways from the initial (SFT) policy pi_init, while the labeller's own *gold* score
(preferences.gold_scores: correctness plus the secondary preference) is measured beside it:

RL. GRPO or PPO with ``reward: model:PROXY`` (the algorithm's own section gives its options).
At every measurement the policy samples one response per held-out prompt (at the RL
temperature); logged are the mean normalised proxy score, the mean gold score and

    KL = mean over responses of  sum_t  KL(pi(.|s_t) || pi_init(.|s_t))      (exact, per token)
    d  = sqrt(KL)

(the per-token KLs summed over a response sampled from pi estimate the sequence-level KL
without bias).

The proxy may be an ensemble of reward models (``reward_model.ensemble: K``, combined by
``reward_model.ensemble_combine``: rewards.py), the mitigation of Coste et al. 2024; the proxy
logged is then the combined score RL optimises.

Best-of-n. From pi_init, N = ``best_of_n`` samples per held-out prompt, scored by the proxy; for
n = 1, 2, 4, ..., N the gold score of the proxy's favourite of n samples, with the unbiased
estimator from N samples (Gao et al., appendix): sorting a prompt's samples by proxy score
ascending, the i-th (1-based) is the best of a random n-subset with probability
C(i - 1, n - 1) / C(N, n). Its KL to pi_init is analytic (Stiennon et al. 2020):

    KL_bon(n) = log n - (n - 1) / n,        d = sqrt(KL_bon)

Functional forms, fitted by least squares on Delta gold = gold(d) - gold(0) (gold(0): the
initial policy's, n = 1 for best-of-n, the first measurement for RL) over every measured d:

    best-of-n:  Delta gold = d (alpha - beta d)          peak at d* = alpha / (2 beta)
    RL:         Delta gold = d (alpha - beta log d)      peak at d* = exp(alpha / beta - 1)

(each a linear least-squares problem in (alpha, beta); beta <= 0 has no peak). The proxy keeps
rising with d while the gold peaks and falls: overoptimisation.

    runs/<name>/overoptimization.csv       every point: method, step or n, KL, d, proxy, gold, accuracy;
                                           for RL also spread (the std of an ensemble's member scores)
                                           and gold_se (the gold mean's standard error over prompts)
    runs/<name>/overoptimization.png|svg   proxy and gold against d, the fits dashed
    runs/<name>/grpo/ (or ppo/)            the RL run's checkpoints; eval.csv, tb/, log.txt as usual
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError
from selfplay.llm.config import LLMConfig, RewardModelConfig
from selfplay.llm.evaluation import complete
from selfplay.llm.grpo import GRPOTrainer
from selfplay.llm.model import model_from_payload
from selfplay.llm.ppo import PPOTrainer
from selfplay.llm.rl_phase import RLPhase
from selfplay.llm.preferences import gold_scores
from selfplay.llm.reward_model import PHASE as REWARD_PHASE
from selfplay.llm.reward_model import member_phase, train_reward_models
from selfplay.llm.rewards import Scorer, combine, load_reward_members, make_scorer
from selfplay.llm.run import Setting
from selfplay.llm.sampling import mask_not_in_response, right_pad
from selfplay.llm.sft import SFTTrainer
from selfplay.llm.tasks import Problem
from selfplay.rating.plots import save_figure
from selfplay.run.checkpoint import list_checkpoints, load_checkpoint
from selfplay.run.directory import RunDir

CSV_NAME = "overoptimization.csv"
FIGURE_NAME = "overoptimization"
COLUMNS = ["method", "step", "n", "kl", "d", "proxy", "gold", "accuracy", "spread", "gold_se"]


# ---- the formulas ------------------------------------------------------------------------------
def best_of_n_kl(n: int) -> float:
    """KL(best-of-n || pi_init) = log n - (n - 1) / n."""
    return math.log(n) - (n - 1) / n


def best_of_n_expectation(proxy: np.ndarray, value: np.ndarray, n: int) -> float:
    """The expected ``value`` [P, N] of the proxy's favourite among n of a prompt's N samples
    (n drawn without replacement), averaged over prompts: unbiased, from all N samples."""
    count = proxy.shape[1]
    order = np.argsort(proxy, axis=1, kind="stable")
    ranked = np.take_along_axis(value, order, axis=1)  # ascending by proxy score
    weights = np.array([math.comb(i - 1, n - 1) for i in range(1, count + 1)], dtype=np.float64)
    weights /= math.comb(count, n)
    return float((ranked * weights).sum(axis=1).mean())


def _least_squares(features: np.ndarray, delta: np.ndarray) -> tuple[float, float]:
    if len(delta) < 2:
        return float("nan"), float("nan")
    (alpha, beta), *_ = np.linalg.lstsq(features, delta, rcond=None)
    return float(alpha), float(beta)


def fit_best_of_n(d: np.ndarray, delta_gold: np.ndarray) -> tuple[float, float]:
    """(alpha, beta) of Delta gold = d (alpha - beta d), least squares over points with d > 0."""
    d, delta = np.asarray(d, dtype=np.float64), np.asarray(delta_gold, dtype=np.float64)
    keep = d > 0
    return _least_squares(np.stack([d[keep], -d[keep] ** 2], axis=1), delta[keep])


def fit_rl(d: np.ndarray, delta_gold: np.ndarray) -> tuple[float, float]:
    """(alpha, beta) of Delta gold = d (alpha - beta log d), least squares over points with d > 0."""
    d, delta = np.asarray(d, dtype=np.float64), np.asarray(delta_gold, dtype=np.float64)
    keep = d > 0
    return _least_squares(np.stack([d[keep], -d[keep] * np.log(d[keep])], axis=1), delta[keep])


def best_of_n_form(d, alpha: float, beta: float) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    return d * (alpha - beta * d)


def rl_form(d, alpha: float, beta: float) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    safe = np.where(d > 0, d, 1.0)
    return np.where(d > 0, d * (alpha - beta * np.log(safe)), 0.0)


def best_of_n_peak(alpha: float, beta: float) -> tuple[float, float]:
    """(d*, Delta gold at d*) of the best-of-n form; nan without a peak (beta <= 0)."""
    if not beta > 0:
        return float("nan"), float("nan")
    return alpha / (2 * beta), alpha ** 2 / (4 * beta)


def rl_peak(alpha: float, beta: float) -> tuple[float, float]:
    """(d*, Delta gold at d*) of the RL form: alpha - beta log d - beta = 0, where Delta gold = beta d*."""
    if not beta > 0:
        return float("nan"), float("nan")
    d = math.exp(alpha / beta - 1)
    return d, beta * d


# ---- measuring ---------------------------------------------------------------------------------
@torch.no_grad()
def response_kl(policy, reference, setting: Setting, problems: list[Problem], texts: list[str],
                temperature: float) -> torch.Tensor:
    """Per response [N]: sum over its tokens of the exact KL(pi || pi_ref) at that position, both
    read as softmax(masked logits / T), the distribution sampling draws from."""
    tok, out = setting.tokenizer, []
    batch = setting.config.eval.batch_size
    for start in range(0, len(texts), batch):
        prompts = [tok.prompt_ids(setting.task.prompt(p)) for p in problems[start:start + batch]]
        rows = [prompt + tok.encode(text) for prompt, text in zip(prompts, texts[start:start + batch])]
        tokens, mask = right_pad(rows, [len(p) for p in prompts], tok.pad_id)
        tokens, mask = tokens.to(setting.device), mask.to(setting.device)
        logp = F.log_softmax(mask_not_in_response(policy(tokens[:, :-1])[0].float()) / temperature, dim=-1)
        ref = F.log_softmax(mask_not_in_response(reference(tokens[:, :-1])[0].float()) / temperature, dim=-1)
        p = logp.exp()
        per_position = torch.where(p > 0, p * (logp - ref), torch.zeros_like(p)).sum(-1)  # 0 log 0 = 0
        out.append((per_position * mask).sum(-1).cpu())
    return torch.cat(out)


class Measure:
    """Proxy and gold of a policy's samples on the held-out prompts, and its KL to pi_init."""

    def __init__(self, setting: Setting, scorer: Scorer, gold_config: RewardModelConfig, initial,
                 temperature: float, problems: int):
        self.setting, self.scorer, self.gold_config = setting, scorer, gold_config
        self.initial, self.temperature = initial, temperature
        self.problems = setting.eval_problems[:problems]

    def gold(self, problems: list[Problem], texts: list[str]) -> np.ndarray:
        return gold_scores(self.setting.task, self.setting.tokenizer, problems, texts, self.gold_config)

    def sample(self, model, problems: list[Problem], seed: int) -> list[str]:
        s = self.setting
        generator = torch.Generator(device=s.device).manual_seed(seed)
        return complete(model, s.task, s.tokenizer, problems, self.temperature, s.config.eval.batch_size, generator)

    def rl_point(self, model, step: int) -> dict:
        s = self.setting
        model.eval()  # the caller puts it back in training mode
        texts = self.sample(model, self.problems, s.config.seed + 11 + step)
        kl = float(response_kl(model, self.initial, s, self.problems, texts, self.temperature).mean())
        kl = max(kl, 0.0)  # rounding below 0 at the first measurement, where pi is pi_init
        accuracy = float(self.scorer.verifier(self.problems, texts).mean())
        members = self.scorer.member_scores(self.problems, texts)
        gold = self.gold(self.problems, texts)
        return {"method": "rl", "step": step, "n": "", "kl": kl, "d": math.sqrt(kl),
                "proxy": float(combine(members, self.scorer.how, self.scorer.uncertainty_weight).mean()),
                "gold": float(gold.mean()), "accuracy": accuracy,
                "spread": float(members.std(0, unbiased=False).mean()),
                "gold_se": float(gold.std(ddof=1) / math.sqrt(len(gold))) if len(gold) > 1 else float("nan")}

    def best_of_n(self, largest: int) -> list[dict]:
        """Best-of-n points for n = 1, 2, 4, ..., ``largest`` from pi_init's samples."""
        s = self.setting
        problems = [p for p in self.problems for _ in range(largest)]
        texts = self.sample(self.initial, problems, s.config.seed + 12)
        shape = (len(self.problems), largest)
        proxy = self.scorer(problems, texts).double().numpy().reshape(shape)
        gold = self.gold(problems, texts).reshape(shape)
        correct = self.scorer.verifier(problems, texts).double().numpy().reshape(shape)
        points, n = [], 1
        while n <= largest:
            kl = best_of_n_kl(n)
            points.append({"method": "best_of_n", "step": "", "n": n, "kl": kl, "d": math.sqrt(kl),
                           "proxy": best_of_n_expectation(proxy, proxy, n),
                           "gold": best_of_n_expectation(proxy, gold, n),
                           "accuracy": best_of_n_expectation(proxy, correct, n), "spread": "", "gold_se": ""})
            n *= 2
        return points


# ---- the proxy: an SFT policy and a reward model, built when missing -----------------------------
def ensure_proxy(setting: Setting, proxy_dir: Path, log=print, show_progress: bool = False) -> Path:
    """The SFT checkpoint RL starts from, the reward model (every member of the configured
    ensemble) in ``proxy_dir``; a missing SFT checkpoint or reward model is trained there first
    with this config's ``sft`` and ``reward_model`` sections (the reward model on the SFT
    policy's samples). RL starts from the policy the reward model's pairs were sampled from."""
    run = RunDir(proxy_dir)
    if not list_checkpoints(run.phase_checkpoints("sft")) and not list_checkpoints(run.phase_checkpoints(REWARD_PHASE)):
        log(f"no SFT checkpoint in {proxy_dir}: training one")
        SFTTrainer(setting, proxy_dir, log=log, show_progress=show_progress).train()
    for member in range(setting.config.reward_model.ensemble):
        if not list_checkpoints(run.phase_checkpoints(member_phase(member))):
            log(f"reward model member {member} missing in {proxy_dir}: training the ensemble's missing members "
                f"on the SFT policy's samples")
            sft = list_checkpoints(run.phase_checkpoints("sft"))[-1][1]
            train_reward_models(setting, proxy_dir, sft, log=log, show_progress=show_progress)
            break
    reward_file = list_checkpoints(run.phase_checkpoints(REWARD_PHASE))[-1][1]
    sampled_from = load_checkpoint(reward_file, setting.device).get("init", "")
    if sampled_from and Path(sampled_from).is_file():
        return Path(sampled_from)
    found = list_checkpoints(run.phase_checkpoints("sft"))
    if not found:
        raise ConfigError(f"overoptimization.proxy: {proxy_dir} has a reward model of the teacher's demonstrations "
                          f"but no SFT checkpoint to start RL from; run `selfplay llm sft` there first")
    return found[-1][1]


def rl_config(config: LLMConfig, proxy_dir: Path) -> LLMConfig:
    """The config the RL phase runs under: the chosen algorithm's section with the proxy as its
    reward and the overoptimization section's steps (its own eval_every sets the held-out
    evaluations into eval.csv; the measurements here are overoptimization.eval_every apart)."""
    o = config.overoptimization
    section = getattr(config, o.algorithm)
    section = replace(section, steps=o.steps, reward=f"model:{proxy_dir}")
    return replace(config, **{o.algorithm: section})


def check_new_run(run_dir: str | Path, config: LLMConfig) -> None:
    """The RL phase starts afresh: a run that already holds one is not mixed with a second."""
    o = config.overoptimization
    if list_checkpoints(RunDir(run_dir).phase_checkpoints(o.algorithm)):
        raise ConfigError(f"{run_dir} already holds a {o.algorithm} run; measure over-optimisation in a new run "
                          f"(--name) with overoptimization.proxy={o.proxy or run_dir}")


def run_overoptimization(run_dir: str | Path, config: LLMConfig, log=print, show_progress: bool = False) -> dict:
    """Build or read the proxy, measure best-of-n, run RL with a measurement every eval_every
    steps, fit both forms, write the CSV and the figure; returns the summary."""
    o, run_dir = config.overoptimization, Path(run_dir)
    if o.problems > config.eval.problems:
        raise ConfigError(f"overoptimization.problems ({o.problems}) must be at most eval.problems "
                          f"({config.eval.problems}): it measures on the first of the held-out problems")
    check_new_run(run_dir, config)
    proxy_dir = Path(o.proxy) if o.proxy else run_dir
    init = ensure_proxy(Setting.build(config), proxy_dir, log, show_progress)
    setting = Setting.build(rl_config(config, proxy_dir))
    scorer = make_scorer(setting, f"model:{proxy_dir}", "overoptimization.proxy")
    members = len(scorer.models)
    trained_gold = load_reward_members(proxy_dir, setting)[0][1].get("config", {}).get("reward_model", {})
    gold_config = RewardModelConfig(correctness_weight=float(trained_gold.get("correctness_weight", 1.0)),
                                    brevity_weight=float(trained_gold.get("brevity_weight", 0.1)))
    initial = model_from_payload(load_checkpoint(init, setting.device), setting.device).eval().requires_grad_(False)
    trainer_class = GRPOTrainer if o.algorithm == "grpo" else PPOTrainer
    trainer = trainer_class(setting, run_dir, init, log=log, show_progress=show_progress, scorer=scorer)
    measure = Measure(setting, scorer, gold_config, initial, trainer.config.temperature, o.problems)
    proxy = f"{members} reward models combined by {scorer.how}" if members > 1 else "the reward model"
    log(f"over-optimisation: {o.algorithm} from {init} against {proxy} of {proxy_dir}, "
        f"{o.steps} steps, best-of-n up to {o.best_of_n}, {o.problems} held-out prompts")
    points = measure.best_of_n(o.best_of_n)
    rl_points = [measure.rl_point(trainer.model, 0)]

    def measure_step(rl: RLPhase) -> None:  # proxy, gold and d every eval_every steps and at the end
        if rl.step % o.eval_every == 0 or rl.step == o.steps:
            point = measure.rl_point(rl.model, rl.step)
            rl_points.append(point)
            for key in ("proxy", "gold", "kl", "d"):
                rl.phase.writer.add_scalar(f"overoptimization/{key}", point[key], rl.step)
            rl.model.train()

    trainer.after_step.append(measure_step)
    trainer.train()
    points += rl_points
    write_points(run_dir / CSV_NAME, points)
    summary = summarize(points)
    plot(points, summary, run_dir, f"{o.algorithm.upper()} and best-of-n against a reward model "
                                   f"({run_dir.resolve().name})")
    return summary


# ---- outputs -----------------------------------------------------------------------------------
def write_points(path: Path, points: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(points)
    atomic_write_text(path, buffer.getvalue())


def _fit(points: list[dict], method: str, fit) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    chosen = [p for p in points if p["method"] == method]
    d = np.array([p["d"] for p in chosen])
    gold = np.array([p["gold"] for p in chosen])
    gold0 = float(gold[0]) if len(gold) else float("nan")
    alpha, beta = fit(d, gold - gold0)
    return d, gold, gold0, alpha, beta


def summarize(points: list[dict]) -> dict:
    """The fits (alpha, beta, the fitted peak) of both methods and what RL measured: its peak
    gold score, the d and step it peaked at, and its proxy and gold at the end."""
    summary: dict = {}
    for method, fit, peak in (("best_of_n", fit_best_of_n, best_of_n_peak), ("rl", fit_rl, rl_peak)):
        _, _, gold0, alpha, beta = _fit(points, method, fit)
        peak_d, peak_delta = peak(alpha, beta)
        summary.update({f"{method}_gold0": gold0, f"{method}_alpha": alpha, f"{method}_beta": beta,
                        f"{method}_fitted_peak_d": peak_d, f"{method}_fitted_peak_gold": gold0 + peak_delta})
    rl = [p for p in points if p["method"] == "rl"]
    if rl:
        best = max(rl, key=lambda p: p["gold"])
        summary.update({"rl_peak_gold": best["gold"], "rl_peak_d": best["d"], "rl_peak_step": best["step"],
                        "rl_end_step": rl[-1]["step"], "rl_end_d": rl[-1]["d"], "rl_end_proxy": rl[-1]["proxy"],
                        "rl_end_gold": rl[-1]["gold"]})
    bon = [p for p in points if p["method"] == "best_of_n"]
    if bon:
        best = max(bon, key=lambda p: p["gold"])
        summary.update({"best_of_n_peak_gold": best["gold"], "best_of_n_peak_n": best["n"],
                        "best_of_n_end_proxy": bon[-1]["proxy"], "best_of_n_end_gold": bon[-1]["gold"]})
    return summary


def plot(points: list[dict], summary: dict, out_dir: Path, title: str) -> list[Path]:
    """Proxy (solid, left axis) and gold (dotted, right axis: the two have different units)
    against d for RL and best-of-n, the gold fits dashed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6.5), dpi=120)
    FigureCanvasAgg(fig)
    proxy_axis = fig.subplots()
    gold_axis = proxy_axis.twinx()
    for method, label, colour, form in (("rl", "RL", "tab:red", rl_form),
                                        ("best_of_n", "best-of-n", "tab:blue", best_of_n_form)):
        chosen = [p for p in points if p["method"] == method]
        if not chosen:
            continue
        d = [p["d"] for p in chosen]
        proxy_axis.plot(d, [p["proxy"] for p in chosen], color=colour, marker="o", markersize=3,
                        label=f"{label}: proxy")
        gold_axis.plot(d, [p["gold"] for p in chosen], color=colour, marker="s", markersize=3, linestyle=":",
                       label=f"{label}: gold")
        alpha, beta = summary[f"{method}_alpha"], summary[f"{method}_beta"]
        if math.isfinite(alpha) and math.isfinite(beta):
            grid = np.linspace(0, max(d) * 1.05 if max(d) > 0 else 1.0, 200)
            gold_axis.plot(grid, summary[f"{method}_gold0"] + form(grid, alpha, beta), color=colour, linestyle="--",
                           alpha=0.7, label=f"{label}: gold fit (alpha {alpha:.3g}, beta {beta:.3g})")
    proxy_axis.set_xlabel("d = sqrt(KL(pi || pi_init)), KL in nats")
    proxy_axis.set_ylabel("proxy: the reward model's normalised score (solid)")
    gold_axis.set_ylabel("gold: the labeller's score (dotted; fits dashed)")
    proxy_axis.set_title(title)
    proxy_axis.grid(alpha=0.3)
    handles, labels = proxy_axis.get_legend_handles_labels()
    more_handles, more_labels = gold_axis.get_legend_handles_labels()
    fig.legend(handles + more_handles, labels + more_labels, loc="lower center", ncol=2, fontsize=8)
    fig.tight_layout(rect=(0, 0.14, 1, 1))  # the legend below the axes, clear of the curves
    return save_figure(fig, out_dir, FIGURE_NAME)
