"""``selfplay llm curve``: SFT then GRPO in one run, and the figure of the story: held-out
accuracy against optimiser steps, the teacher's accuracy as a dotted line (the Elo figure's
style: imitation climbs to the teacher and stops; RL goes past it), pass@k dashed (the right
answer was within reach of sampling all along), and below it the mean response length."""

from __future__ import annotations

from pathlib import Path

from selfplay.llm.grpo import GRPOTrainer
from selfplay.llm.run import Setting, prepare_run
from selfplay.llm.sft import SFTTrainer
from selfplay.rating.plots import save_figure
from selfplay.run.directory import RunDir, read_rows


def run_curve(run_dir: str | Path, config_path: str | None = None, overrides: list[str] = (), resume: bool = False,
              log=print, show_progress: bool = False) -> dict[str, float]:
    config = prepare_run(run_dir, config_path, list(overrides), resume, phase="sft")
    setting = Setting.build(config)
    sft_checkpoint = SFTTrainer(setting, run_dir, log, show_progress).train()
    GRPOTrainer(setting, run_dir, sft_checkpoint, log, show_progress).train()
    plot_curve(run_dir)
    return summarize(read_rows(RunDir(run_dir).eval_csv))


def _last(rows: list[dict], phase: str) -> dict:
    rows = [r for r in rows if r["phase"] == phase]
    return rows[-1] if rows else {}


def _number(row: dict, key: str) -> float:
    try:
        return float(row.get(key, "nan"))
    except ValueError:
        return float("nan")


def summarize(rows: list[dict]) -> dict[str, float]:
    """The headline figures: teacher, SFT's last evaluation, GRPO's last evaluation."""
    sft, grpo = _last(rows, "sft"), _last(rows, "grpo")
    out = {"teacher_accuracy": _number(sft or grpo, "teacher_accuracy")}
    for name, row in (("sft", sft), ("grpo", grpo)):
        for key, value in row.items():
            if key not in ("phase", "step", "curve_step", "minutes", "teacher_accuracy") and value not in ("", None):
                out[f"{name}_{key}"] = _number(row, key)
        if row:
            out[f"{name}_step"] = _number(row, "step")
            out[f"{name}_minutes"] = _number(row, "minutes")
    return out


def plot_curve(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write ``curve.png`` and ``curve.svg`` (into the run directory by default)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run = RunDir(run_dir)
    rows = read_rows(run.eval_csv)
    fig = Figure(figsize=(8, 6), dpi=120)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for phase, colour in (("sft", "tab:blue"), ("grpo", "tab:red")):
        points = [(int(r["curve_step"]), float(r["accuracy"]), float(r["mean_length"]))
                  for r in rows if r["phase"] == phase]
        if points:
            x, accuracy, length = zip(*points)
            top.plot(x, accuracy, marker="o", markersize=3, color=colour, label=f"{phase.upper()} (greedy)")
            bottom.plot(x, length, marker="o", markersize=3, color=colour)
        for key in [k for k in (rows[0] if rows else {}) if k.startswith("pass@") and k != "pass@1"]:
            sampled = [(int(r["curve_step"]), float(r[key])) for r in rows if r["phase"] == phase and r.get(key)]
            if sampled:
                top.plot(*zip(*sampled), linestyle="--", color=colour, alpha=0.5, label=f"{phase.upper()} {key}")
    teacher = [float(r["teacher_accuracy"]) for r in rows if r.get("teacher_accuracy")]
    if teacher:
        top.axhline(teacher[-1], color="black", linestyle=":", linewidth=1.5, label=f"teacher ({teacher[-1]:.1%})")
    grpo_start = [int(r["curve_step"]) for r in rows if r["phase"] == "grpo"]
    if grpo_start:
        for axis in (top, bottom):
            axis.axvline(min(grpo_start), color="grey", linestyle="--", linewidth=0.8)
    top.set_ylabel("held-out accuracy")
    top.set_ylim(0, 1.02)
    top.set_title(f"SFT on the teacher, then GRPO ({run.root.resolve().name})")
    top.legend(loc="best", fontsize=8)
    bottom.set_ylabel("response tokens")
    bottom.set_xlabel("optimiser steps (SFT, then GRPO)")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, out_dir if out_dir is not None else run.root, "curve")
