"""``selfplay llm compare``: PPO (with its critic) against GRPO and Dr. GRPO on one task and one
budget, from the same SFT checkpoint per seed, over several seeds.

The budget rule. Every method gets ``compare.steps`` steps, and every step samples the same
number R of responses (``compare.responses_per_step``; 0 takes grpo.prompts_per_step x
grpo.group_size): PPO runs with ``ppo.rollout_batch = R`` (R prompts, one response each), GRPO
and Dr. GRPO with ``grpo.prompts_per_step = R / G`` (R / G prompts, a group of G =
grpo.group_size each; R must be a multiple of G). DAPO's dynamic sampling is off (it would
sample more). What is not matched, and shown in the table: the updates per batch (PPO's
epochs x minibatches, GRPO's num_iterations x minibatches) and the extra forward passes of
PPO's critic (a separate critic is a second network).

What is counted, per method run (eval.csv columns beside the accuracies):

    responses       sampled responses so far (the budget: equal across methods by construction)
    sampled_tokens  response tokens sampled so far, EOS included: the model calls, one forward
                    position of the policy per sampled token (the figure's x)
    train_seconds   wall time inside the training steps (sampling, scoring, updates); the
                    evaluations, checkpoints and logs are left out

and in ``budget.json`` the peak memory: ``torch.cuda.max_memory_allocated`` over the method
run on CUDA (reset before it), else the process's peak resident set (``ru_maxrss``), which
covers everything the compare process ran before it too (an upper bound; the kind is said).

Across seeds: the final held-out greedy accuracy (the last evaluation) has a 95% t interval
over the seed means, mean +- t_{0.975, n-1} s / sqrt(n), clipped to [0, 1] (none with one
seed); the table also shows each seed's Wilson interval over the held-out problems.

    runs/NAME/config.yaml                 the compare's resolved config
    runs/NAME/sft-seed0/                  the SFT run of seed 0 (trained once, shared)
    runs/NAME/ppo-seed0/, grpo-seed0/ ... a run directory per method and seed (eval.csv, budget.json)
    runs/NAME/compare.csv, compare.png, compare.svg

Everything the table and figure show is read back from the run directories, so a resumed
compare (a finished method and seed is not rerun) redraws from disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.grpo import GRPOTrainer
from selfplay.llm.ppo import PPOTrainer
from selfplay.llm.run import Setting, prepare_run
from selfplay.llm.sft import SFTTrainer
from selfplay.rating.plots import save_figure
from selfplay.run import directory
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import RunDir, read_rows

BUDGET_FILE = "budget.json"
COLOURS = {"ppo": "tab:blue", "grpo": "tab:red", "dr_grpo": "tab:green"}
# t_{0.975, df} for df = 1..30; beyond, the Cornish-Fisher expansion around z (error < 1e-4)
T_975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788,
         2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
         2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)


# ---- intervals over seeds -------------------------------------------------------------------------
def t_quantile_975(df: int) -> float:
    if df < 1:
        raise ValueError(f"a t interval needs at least 2 values (df >= 1), got df={df}")
    if df <= len(T_975):
        return T_975[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def t_interval(values: list[float]) -> tuple[float, float, float]:
    """(mean, low, high): mean +- t_{0.975, n-1} s / sqrt(n), s the sample (n - 1) std; the
    bounds are nan with a single value."""
    n = len(values)
    mean = float(np.mean(values)) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan")
    half = t_quantile_975(n - 1) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


# ---- the budget rule ------------------------------------------------------------------------------
def responses_per_step(config: LLMConfig) -> int:
    r = config.compare.responses_per_step or config.grpo.prompts_per_step * config.grpo.group_size
    if r % config.grpo.group_size:
        raise ConfigError(f"compare.responses_per_step ({r}) must be a multiple of grpo.group_size "
                          f"({config.grpo.group_size}): GRPO samples whole groups")
    return r


def method_overrides(config: LLMConfig, method: str, seed: int) -> list[str]:
    """The overrides that put ``method`` on the compare's budget (the module's rule)."""
    c, r = config.compare, responses_per_step(config)
    if method == "ppo":
        return [f"seed={seed}", f"ppo.rollout_batch={r}", f"ppo.steps={c.steps}", f"ppo.eval_every={c.eval_every}",
                f"ppo.checkpoint_every={c.eval_every}"]
    return [f"seed={seed}", f"grpo.prompts_per_step={r // config.grpo.group_size}", f"grpo.steps={c.steps}",
            f"grpo.eval_every={c.eval_every}", f"grpo.checkpoint_every={c.eval_every}", f"grpo.loss_type={method}",
            "grpo.dynamic_sampling=false"]


def phase_of(method: str) -> str:
    return "ppo" if method == "ppo" else "grpo"


def updates_per_batch(config: LLMConfig, method: str) -> int:
    if method == "ppo":
        return config.ppo.epochs * config.ppo.minibatches
    return config.grpo.num_iterations * config.grpo.minibatches


# ---- metering one method run ----------------------------------------------------------------------
class Meter:
    """Wraps a trainer's ``train_step`` (to time it and count what it sampled) and its phase's
    ``record_eval`` (to add the counts to each eval.csv row); the trainer's own loop runs
    unchanged. A resumed run takes its counts back from the eval.csv row of its checkpoint's step."""

    def __init__(self, trainer, run_dir: Path):
        self.trainer, self.eval_csv = trainer, RunDir(run_dir).eval_csv
        self.counts = {"responses": 0, "sampled_tokens": 0, "train_seconds": 0.0}
        self.started = False
        step, record = trainer.train_step, trainer.phase.record_eval

        def train_step():
            if not self.started:
                self.started = True
                self.resume(trainer.step)
            start = time.perf_counter()
            metrics = step()
            self.counts["train_seconds"] += time.perf_counter() - start
            lengths = trainer.last_batch.lengths
            self.counts["responses"] += len(lengths)
            self.counts["sampled_tokens"] += int(lengths.sum().item())
            return metrics

        def record_eval(step_, curve_step, results, teacher):
            record(step_, curve_step, {**results, **self.counts}, teacher)

        trainer.train_step, trainer.phase.record_eval = train_step, record_eval

    def resume(self, step: int) -> None:
        rows = [r for r in read_rows(self.eval_csv) if int(r["step"]) == step and r.get("responses")]
        if step > 0 and rows:
            row = rows[-1]
            self.counts = {"responses": int(row["responses"]), "sampled_tokens": int(row["sampled_tokens"]),
                           "train_seconds": float(row["train_seconds"])}


def peak_memory_start(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[float, str]:
    """(MiB, what it is)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20, "cuda max_memory_allocated"
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform == "darwin" else 1)
    return kib / 1024, "peak RSS of the compare process (ru_maxrss)"


# ---- running -------------------------------------------------------------------------------------
def run_dir_of(compare_dir: Path, name: str, seed: int) -> Path:
    return compare_dir / f"{name}-seed{seed}"


def train_sft(compare_dir: Path, seed: int, log=print) -> Path:
    """The seed's SFT checkpoint, trained unless its run already finished."""
    run_dir = run_dir_of(compare_dir, "sft", seed)
    config_path = str(RunDir(compare_dir).config)
    found = list_checkpoints(RunDir(run_dir).phase_checkpoints("sft"))
    config = load_config(LLMConfig, config_path, [f"seed={seed}"])
    if found and found[-1][0] >= config.sft.steps:
        return found[-1][1]
    config = prepare_run(run_dir, config_path, [f"seed={seed}"], bool(found), phase="sft")
    log(f"seed {seed}: SFT in {run_dir}")
    return SFTTrainer(Setting.build(config), run_dir, log).train()


def method_finished(run_dir: Path, steps: int) -> bool:
    path = run_dir / BUDGET_FILE
    return path.is_file() and json.loads(path.read_text()).get("steps", -1) >= steps


def train_method(compare_dir: Path, method: str, seed: int, init: Path, log=print) -> None:
    run_dir = run_dir_of(compare_dir, method, seed)
    base = load_config(LLMConfig, RunDir(compare_dir).config)
    if method_finished(run_dir, base.compare.steps):
        log(f"seed {seed}, {method}: finished before, not rerun")
        return
    phase = phase_of(method)
    resume = bool(list_checkpoints(RunDir(run_dir).phase_checkpoints(phase)))
    config = prepare_run(run_dir, str(RunDir(compare_dir).config), method_overrides(base, method, seed), resume, phase)
    setting = Setting.build(config)
    log(f"seed {seed}, {method}: {responses_per_step(config)} responses a step for {config.compare.steps} steps "
        f"in {run_dir}")
    trainer = (PPOTrainer if method == "ppo" else GRPOTrainer)(setting, run_dir, init, log)
    Meter(trainer, run_dir)
    peak_memory_start(setting.device)
    trainer.train()
    memory, kind = peak_memory(setting.device)
    atomic_write_text(run_dir / BUDGET_FILE, json.dumps({
        "method": method, "seed": seed, "steps": trainer.step, "responses_per_step": responses_per_step(config),
        "updates_per_batch": updates_per_batch(config, method), "peak_memory_mib": memory, "memory_kind": kind,
        "device": str(setting.device)}, indent=1))


def run_compare(compare_dir: str | Path, config_path: str | None, overrides: list[str] = (), resume: bool = False,
                log=print) -> list[dict]:
    """Every seed's SFT, then every method from it; the table (also compare.csv) and the figure."""
    compare_dir = Path(compare_dir)
    if not resume and RunDir(compare_dir).config.exists():
        raise ConfigError(f"{compare_dir} already holds a compare; use --resume to continue it, or another --name")
    config = directory.prepare_run(LLMConfig, compare_dir, config_path, list(overrides), resume)
    responses_per_step(config)  # the budget rule's check, before any training
    for seed in config.compare.seed_list():
        init = train_sft(compare_dir, seed, log)
        for method in config.compare.method_list():
            train_method(compare_dir, method, seed, init, log)
    rows = compare_table(compare_dir)
    write_csv(compare_dir / "compare.csv", rows)
    plot_compare(compare_dir)
    return rows


# ---- reading back: the table and the figure -------------------------------------------------------
def method_rows(compare_dir: Path, method: str, seed: int) -> list[dict]:
    return read_rows(RunDir(run_dir_of(compare_dir, method, seed)).eval_csv)


def _float(row: dict, key: str) -> float:
    value = row.get(key, "")
    return float(value) if value not in ("", None) else float("nan")


def compare_table(compare_dir: str | Path) -> list[dict]:
    """One row per method, from the runs on disk (finished seeds only)."""
    compare_dir = Path(compare_dir)
    config = load_config(LLMConfig, RunDir(compare_dir).config)
    table = []
    for method in config.compare.method_list():
        finals, budgets, seeds = [], [], []
        for seed in config.compare.seed_list():
            run_dir = run_dir_of(compare_dir, method, seed)
            rows = method_rows(compare_dir, method, seed)
            if not method_finished(run_dir, config.compare.steps) or not rows:
                continue
            finals.append(max(rows, key=lambda r: int(r["step"])))
            budgets.append(json.loads((run_dir / BUDGET_FILE).read_text()))
            seeds.append(seed)
        if not finals:
            continue
        accuracy = [_float(r, "accuracy") for r in finals]
        mean, low, high = t_interval(accuracy)
        interval = f"[{max(0.0, low):.3f}, {min(1.0, high):.3f}]" if len(accuracy) > 1 else "(one seed)"
        per_seed = "; ".join(f"{s}: {_float(r, 'accuracy'):.3f} [{_float(r, 'accuracy_low'):.3f}, "
                             f"{_float(r, 'accuracy_high'):.3f}]" for s, r in zip(seeds, finals))
        pass_1 = [_float(r, "pass@1") for r in finals]
        table.append({
            "method": method, "seeds": len(seeds), "steps": int(finals[0]["step"]),
            "responses": int(np.mean([_float(r, "responses") for r in finals])),
            "updates/batch": budgets[0]["updates_per_batch"],
            "accuracy": mean, "95% t interval": interval, "per seed (Wilson 95%)": per_seed,
            "pass@1": float(np.mean(pass_1)) if not any(math.isnan(p) for p in pass_1) else "",
            "model calls (sampled tokens)": int(np.mean([_float(r, "sampled_tokens") for r in finals])),
            "train seconds": float(np.mean([_float(r, "train_seconds") for r in finals])),
            "peak MiB": max(b["peak_memory_mib"] for b in budgets), "memory": budgets[0]["memory_kind"],
        })
    return table


def write_csv(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    columns = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def curve_points(compare_dir: Path, method: str, seeds: list[int]) -> list[tuple[float, float, float, float, float]]:
    """(mean train seconds, mean sampled tokens, mean accuracy, lowest, highest) over the seeds at
    each step every seed has evaluated."""
    by_seed = []
    for seed in seeds:
        rows = {int(r["step"]): r for r in method_rows(compare_dir, method, seed) if r.get("responses")}
        if rows:
            by_seed.append(rows)
    if not by_seed:
        return []
    steps = sorted(set.intersection(*(set(rows) for rows in by_seed)))
    points = []
    for step in steps:
        rows = [s[step] for s in by_seed]
        accuracy = [_float(r, "accuracy") for r in rows]
        points.append((float(np.mean([_float(r, "train_seconds") for r in rows])),
                       float(np.mean([_float(r, "sampled_tokens") for r in rows])),
                       float(np.mean(accuracy)), min(accuracy), max(accuracy)))
    return points


def plot_compare(compare_dir: str | Path) -> list[Path]:
    """compare.png and compare.svg: held-out greedy accuracy against training wall time and
    against model calls, a line per method (the mean over seeds) and a band (their range)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    compare_dir = Path(compare_dir)
    config = load_config(LLMConfig, RunDir(compare_dir).config)
    seeds = config.compare.seed_list()
    fig = Figure(figsize=(11, 4.5), dpi=120)
    FigureCanvasAgg(fig)
    by_time, by_calls = fig.subplots(1, 2, sharey=True)
    for method in config.compare.method_list():
        points = curve_points(compare_dir, method, seeds)
        if not points:
            continue
        seconds, tokens, mean, low, high = map(list, zip(*points))
        colour = COLOURS.get(method)
        for axis, x in ((by_time, seconds), (by_calls, tokens)):
            axis.plot(x, mean, marker="o", markersize=3, color=colour, label=method)
            axis.fill_between(x, low, high, color=colour, alpha=0.15, linewidth=0)
    by_time.set_xlabel("training wall time (s; evaluations left out)")
    by_calls.set_xlabel("model calls (sampled response tokens)")
    by_time.set_ylabel("held-out greedy accuracy")
    for axis in (by_time, by_calls):
        axis.set_ylim(0, 1.02)
        axis.grid(alpha=0.3)
    by_time.legend(loc="best", fontsize=8)
    fig.suptitle(f"{' vs '.join(config.compare.method_list())}, {responses_per_step(config)} responses a step, seeds "
                 f"{config.compare.seeds} (line: mean; band: range over seeds)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, compare_dir, "compare")
