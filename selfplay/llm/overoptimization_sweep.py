"""Over-optimisation runs side by side (``selfplay llm plot-overoptimization RUN_DIR ...``): how
more preference pairs, a larger reward model, a KL coefficient or an ensemble of reward models
move the peak of the gold score (Gao et al. 2022, section 3; Coste et al. 2024).

Each run is one ``selfplay llm overoptimization``; this reads back its overoptimization.csv, its
config and its proxy's reward-model checkpoint, and writes one table row per run

    peak gold   the highest gold score RL measured, with its 95% interval (1.96 standard errors
                over the prompts: the maximum of noisy points is biased up by about one), and
                the d and step where it was measured
    fitted peak d* and gold of the form d (alpha - beta log d) fitted to the run's points
    gold at d=2 the gold where d first reaches 2, interpolated between the measurements around
                it (runs reach a given d at different steps, so this compares them at one KL)
    end         gold (with its interval), proxy and d at the last measurement

and one figure: gold (left) and proxy (right) against d = sqrt(KL(pi || pi_init)), a line per run.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.overoptimization import CSV_NAME, fit_rl, rl_peak
from selfplay.llm.reward_model import member_phase
from selfplay.rating.plots import save_figure
from selfplay.run.checkpoint import CheckpointError, list_checkpoints, load_checkpoint
from selfplay.run.directory import RunDir, read_rows

Z95 = 1.96
TABLE_COLUMNS = ["run", "reward_model", "train_pairs", "members", "combine", "kl_coef", "rm_gold_order_accuracy",
                 "peak_gold", "peak_gold_low", "peak_gold_high", "peak_d", "peak_step", "fitted_peak_d",
                 "fitted_peak_gold", "gold_at_d2", "end_step", "end_d", "end_gold", "end_gold_low", "end_gold_high", "end_proxy",
                 "end_accuracy"]


def _number(value: str) -> float:
    return float(value) if value not in ("", None) else float("nan")


def proxy_of(proxy_dir: Path) -> dict:
    """What a run optimised: the reward model's size, training pairs, members, held-out figures."""
    run, members = RunDir(proxy_dir), 0
    while list_checkpoints(run.phase_checkpoints(member_phase(members))):
        members += 1
    if not members:
        return {"reward_model": "?", "train_pairs": "", "members": 0, "rm_gold_order_accuracy": float("nan")}
    try:
        payload = load_checkpoint(list_checkpoints(run.phase_checkpoints(member_phase(0)))[-1][1])
    except CheckpointError:
        return {"reward_model": "?", "train_pairs": "", "members": members, "rm_gold_order_accuracy": float("nan")}
    rm = payload.get("config", {}).get("reward_model", {})
    pairs = int(rm.get("pairs", 0))
    return {"reward_model": f"{rm.get('layers', '?')}x{rm.get('dim', '?')}",
            "train_pairs": pairs - round(pairs * float(rm.get("heldout_fraction", 0.0))), "members": members,
            "rm_gold_order_accuracy": float(payload.get("metrics", {}).get("gold_order_accuracy", float("nan")))}


def gold_at(d: np.ndarray, gold: np.ndarray, target: float) -> float:
    """Gold where d first reaches ``target``, linear between the points around it; nan if never."""
    reached = np.flatnonzero(d >= target)
    if not len(reached):
        return float("nan")
    i = int(reached[0])
    if i == 0 or d[i] == d[i - 1]:
        return float(gold[i])
    t = (target - d[i - 1]) / (d[i] - d[i - 1])
    return float(gold[i - 1] + t * (gold[i] - gold[i - 1]))


def read_run(run_dir: str | Path) -> dict:
    """A run's RL points (floats) and its table row."""
    run_dir = Path(run_dir)
    points = [{k: _number(v) if k != "method" else v for k, v in row.items()}
              for row in read_rows(run_dir / CSV_NAME)]
    rl = [p for p in points if p["method"] == "rl"]
    if not rl:
        raise ConfigError(f"{run_dir} has no RL points in {CSV_NAME}: not a finished `selfplay llm overoptimization` run")
    config = load_config(LLMConfig, RunDir(run_dir).config)
    o = config.overoptimization
    kl_coef = config.grpo.beta if o.algorithm == "grpo" else config.ppo.kl_coef
    combine = config.reward_model.ensemble_combine
    if combine == "uncertainty":
        combine = f"uncertainty (lambda {config.reward_model.uncertainty_weight:g})"
    row = {"run": run_dir.name, **proxy_of(Path(o.proxy) if o.proxy else run_dir), "combine": combine,
           "kl_coef": kl_coef}
    gold = np.array([p["gold"] for p in rl])
    se = np.array([p.get("gold_se", float("nan")) for p in rl])
    best, end = int(np.argmax(gold)), len(rl) - 1
    gold0 = gold[0]
    alpha, beta = fit_rl(np.array([p["d"] for p in rl]), gold - gold0)
    peak_d, peak_delta = rl_peak(alpha, beta)
    for prefix, i in (("peak", best), ("end", end)):
        row.update({f"{prefix}_gold": gold[i], f"{prefix}_gold_low": gold[i] - Z95 * se[i],
                    f"{prefix}_gold_high": gold[i] + Z95 * se[i], f"{prefix}_d": rl[i]["d"],
                    f"{prefix}_step": int(rl[i]["step"])})
    row.update({"fitted_peak_d": peak_d, "fitted_peak_gold": gold0 + peak_delta,
                "gold_at_d2": gold_at(np.array([p["d"] for p in rl]), gold, 2.0), "end_proxy": rl[end]["proxy"],
                "end_accuracy": rl[end]["accuracy"]})
    return {"points": rl, "row": row}


def write_table(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TABLE_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def plot_runs(runs: list[dict], out_dir: Path, name: str, title: str) -> list[Path]:
    """Gold (with its 95% band) and proxy against d, a line per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5), dpi=120)
    FigureCanvasAgg(fig)
    gold_axis, proxy_axis = fig.subplots(1, 2)
    for run in runs:
        points, label = run["points"], run["row"]["run"]
        d = np.array([p["d"] for p in points])
        gold = np.array([p["gold"] for p in points])
        se = np.array([p.get("gold_se", float("nan")) for p in points])
        line, = gold_axis.plot(d, gold, marker="o", markersize=2, label=label)
        if np.isfinite(se).all():
            gold_axis.fill_between(d, gold - Z95 * se, gold + Z95 * se, color=line.get_color(), alpha=0.12)
        proxy_axis.plot(d, [p["proxy"] for p in points], marker="o", markersize=2, color=line.get_color(), label=label)
    gold_axis.set_ylabel("gold: the labeller's score (95% bands)")
    proxy_axis.set_ylabel("proxy: the reward score RL optimises (normalised)")
    for axis in (gold_axis, proxy_axis):
        axis.set_xlabel("d = sqrt(KL(pi || pi_init)), KL in nats")
        axis.grid(alpha=0.3)
    gold_axis.legend(fontsize=8, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return save_figure(fig, out_dir, name)


def compare_runs(run_dirs: list[str | Path], out_dir: str | Path, name: str = "overoptimization-sweep") -> list[dict]:
    """Read every run, write NAME.csv and NAME.png|svg in ``out_dir``; returns the table rows."""
    if not run_dirs:
        raise ConfigError("name at least one run directory of `selfplay llm overoptimization`")
    runs = [read_run(r) for r in run_dirs]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [r["row"] for r in runs]
    write_table(out_dir / f"{name}.csv", rows)
    plot_runs(runs, out_dir, name, "Gold and proxy score against sqrt(KL), one line per run")
    return rows


def format_rows(rows: list[dict]) -> list[dict]:
    """The table for a terminal: intervals in brackets, numbers rounded."""
    def fmt(x, digits=3):
        return "" if isinstance(x, float) and math.isnan(x) else f"{x:.{digits}f}" if isinstance(x, float) else str(x)
    return [{"run": r["run"], "reward model": r["reward_model"], "pairs": r["train_pairs"], "members": r["members"],
             "combine": r["combine"], "KL coef": r["kl_coef"],
             "peak gold [95%]": f"{fmt(r['peak_gold'])} [{fmt(r['peak_gold_low'])}, {fmt(r['peak_gold_high'])}]",
             "at d (step)": f"{fmt(r['peak_d'], 2)} ({r['peak_step']})", "fitted peak d": fmt(r["fitted_peak_d"], 2),
             "gold at d=2": fmt(r["gold_at_d2"]),
             "end gold [95%]": f"{fmt(r['end_gold'])} [{fmt(r['end_gold_low'])}, {fmt(r['end_gold_high'])}]",
             "end d": fmt(r["end_d"], 2), "end proxy": fmt(r["end_proxy"], 2)} for r in rows]
