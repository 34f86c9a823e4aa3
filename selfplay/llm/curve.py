"""``selfplay llm curve``: SFT then GRPO in one run, and the figure of the story: held-out
accuracy against optimiser steps, the teacher's accuracy as a dotted line (the Elo figure's
style: imitation climbs to the teacher and stops; RL goes past it), pass@k dashed (the right
answer was within reach of sampling all along), and below it the mean response length.

The summary of a run does not read the last evaluation alone: consecutive evaluations of one
run swing by several points (the policy moves between checkpoints; the Wilson interval of one
evaluation covers only the choice of problems, not that). For each phase and each rate it gives
the last evaluation with its 95% interval and the mean of the last ``SUMMARY_WINDOW``
evaluations after its start (``*_mean_last3``, with how many went in; the step-0 evaluation is
of the model the phase started from). The best evaluation is not reported: it is picked on the
held-out set, so it is biased upward.
"""

from __future__ import annotations

from pathlib import Path

from selfplay.llm.grpo import GRPOTrainer
from selfplay.llm.run import Setting, prepare_run
from selfplay.llm.sft import SFTTrainer
from selfplay.rating.plots import save_figure
from selfplay.run.directory import RunDir, read_rows

SUMMARY_WINDOW = 3  # evaluations averaged at the end of each phase


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


def _is_rate(key: str) -> bool:
    return key == "accuracy" or key.startswith(("pass@", "maj@")) and not key.endswith(("_low", "_high"))


def summarize(rows: list[dict]) -> dict[str, float]:
    """The headline figures: the teacher's (``teacher_*``), and for SFT and GRPO the last
    evaluation's (``sft_accuracy``, ``sft_accuracy_low``, ...) and, for each rate, the mean of
    the phase's last SUMMARY_WINDOW evaluations (``sft_accuracy_mean_last3``) and how many
    evaluations that mean holds (``sft_evals_in_mean``)."""
    sft, grpo = _last(rows, "sft"), _last(rows, "grpo")
    first = sft or grpo
    out = {"teacher_accuracy": _number(first, "teacher_accuracy")}
    out.update({k: _number(first, k) for k in first if k.startswith("teacher_") and first[k] not in ("", None)})
    for name, row in (("sft", sft), ("grpo", grpo)):
        for key, value in row.items():
            if key not in ("phase", "step", "curve_step", "minutes") and not key.startswith("teacher_") \
                    and value not in ("", None):
                out[f"{name}_{key}"] = _number(row, key)
        if row:
            out[f"{name}_step"] = _number(row, "step")
            out[f"{name}_minutes"] = _number(row, "minutes")
            # a phase's step-0 evaluation is of the model it started from, not of what it did
            window = [r for r in rows if r["phase"] == name and _number(r, "step") > 0][-SUMMARY_WINDOW:] or [row]
            out[f"{name}_evals_in_mean"] = float(len(window))
            for key in [k for k in row if _is_rate(k) and row[k] not in ("", None)]:
                values = [_number(r, key) for r in window if r.get(key) not in ("", None)]
                out[f"{name}_{key}_mean_last{SUMMARY_WINDOW}"] = sum(values) / len(values)
    return out


def summary_rows(summary: dict[str, float]) -> list[dict]:
    """The summary as a table for people: one row per measure, the last evaluation with its 95%
    interval, the mean of the last evaluations, and the number of problems it was measured on."""
    def interval(prefix: str) -> str:
        low, high = summary.get(f"{prefix}_low"), summary.get(f"{prefix}_high")
        return f"[{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""

    table = []
    for key in ("teacher_accuracy", "teacher_greedy_accuracy", "teacher_pass@1"):
        if key in summary:
            count = summary.get("sft_sampled_problems" if key == "teacher_pass@1" else "sft_problems")
            count = int(count) if count is not None else ""
            table.append({"measure": key.replace("_", " "), "last": summary[key], "95% interval": interval(key),
                          f"mean of last {SUMMARY_WINDOW}": "", "problems": count})
    for phase in ("sft", "grpo"):
        for key in sorted(k for k in summary if k.startswith(f"{phase}_") and k.endswith(f"_mean_last{SUMMARY_WINDOW}")):
            rate = key[len(phase) + 1:-len(f"_mean_last{SUMMARY_WINDOW}")]
            problems = summary.get(f"{phase}_problems" if rate == "accuracy" else f"{phase}_sampled_problems", "")
            problems = int(problems) if problems != "" else ""
            label = {"accuracy": "greedy accuracy", "pass@1": "sampled accuracy (pass@1)"}.get(rate, rate)
            table.append({"measure": f"{phase.upper()} {label}", "last": summary[f"{phase}_{rate}"],
                          "95% interval": interval(f"{phase}_{rate}"),
                          f"mean of last {SUMMARY_WINDOW}": summary[key], "problems": problems})
    return table


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
            band = [(int(r["curve_step"]), float(r["accuracy_low"]), float(r["accuracy_high"]))
                    for r in rows if r["phase"] == phase and r.get("accuracy_low")]
            if band:
                bx, low, high = zip(*band)
                top.fill_between(bx, low, high, color=colour, alpha=0.15, linewidth=0)
            sampled_1 = [(int(r["curve_step"]), float(r["pass@1"])) for r in rows if r["phase"] == phase and r.get("pass@1")]
            if sampled_1:
                top.plot(*zip(*sampled_1), linestyle=":", marker=".", color=colour, alpha=0.8,
                         label=f"{phase.upper()} sampled (pass@1)")
            bottom.plot(x, length, marker="o", markersize=3, color=colour)
        for key in [k for k in (rows[0] if rows else {}) if k.startswith("pass@") and k != "pass@1"]:
            sampled = [(int(r["curve_step"]), float(r[key])) for r in rows if r["phase"] == phase and r.get(key)]
            if sampled:
                top.plot(*zip(*sampled), linestyle="--", color=colour, alpha=0.5, label=f"{phase.upper()} {key}")
    teacher = [float(r["teacher_accuracy"]) for r in rows if r.get("teacher_accuracy")]
    if teacher:
        top.axhline(teacher[-1], color="black", linestyle=":", linewidth=1.5,
                    label=f"teacher, sampled ({teacher[-1]:.1%})")
    teacher_greedy = [float(r["teacher_greedy_accuracy"]) for r in rows if r.get("teacher_greedy_accuracy")]
    if teacher_greedy and abs(teacher_greedy[-1] - teacher[-1]) > 1e-9:
        top.axhline(teacher_greedy[-1], color="black", linestyle="-.", linewidth=1.0,
                    label=f"teacher, most likely response ({teacher_greedy[-1]:.1%})")
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
