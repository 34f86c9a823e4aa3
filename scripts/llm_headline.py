"""The LLM mode's headline figures: SFT on the imperfect teacher, then GRPO, on 3-digit addition
with and without the scratchpad (the random teacher, configs/llm_addition.yaml) and with the
systematic teacher (configs/llm_addition_systematic.yaml: its errors are a rule of the prompt,
so imitation plateaus at it greedily and sampled alike).

    python scripts/llm_headline.py                 # the runs (resumed if present), then the tables
    python scripts/llm_headline.py --report-only   # the tables from runs/llm_addition*

Prints held-out accuracies told honestly: the teacher sampled (its demonstrations) and greedy
(its most likely response); the student greedy and sampled (pass@1) after SFT and after GRPO,
each the last evaluation with its 95% Wilson interval and the mean of the last three
evaluations; and the mean response length at every evaluation, from each run's eval.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from selfplay.commands.bench import format_table
from selfplay.llm.curve import SUMMARY_WINDOW, run_curve, summarize
from selfplay.run.directory import read_rows

RUNS = {"random teacher, scratchpad": ("llm_addition", "configs/llm_addition.yaml", []),
        "random teacher, no scratchpad": ("llm_addition_noscratch", "configs/llm_addition.yaml",
                                          ["task.scratchpad=false"]),
        "systematic teacher, scratchpad": ("llm_addition_systematic", "configs/llm_addition_systematic.yaml", [])}


def with_interval(summary: dict, key: str) -> str:
    """``0.812 [0.776, 0.844]`` (the last evaluation), or "" when not measured."""
    if key not in summary:
        return ""
    low, high = summary.get(f"{key}_low"), summary.get(f"{key}_high")
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{summary[key]:.3f}{interval}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    results, lengths = [], []
    mean = f"mean_last{SUMMARY_WINDOW}"
    for label, (name, config, overrides) in RUNS.items():
        run_dir = Path(args.runs) / name
        if not args.report_only:
            run_curve(run_dir, config, overrides, resume=(run_dir / "config.yaml").is_file())
        rows = read_rows(run_dir / "eval.csv") if (run_dir / "eval.csv").is_file() else []
        if not rows:
            continue
        s = summarize(rows)
        for phase in ("sft", "grpo"):
            if f"{phase}_accuracy" not in s:
                continue
            results.append({
                "run": label, "phase": phase,
                "teacher sampled": with_interval(s, "teacher_accuracy"),
                "teacher greedy": with_interval(s, "teacher_greedy_accuracy"),
                "greedy (last)": with_interval(s, f"{phase}_accuracy"),
                f"greedy (mean of last {SUMMARY_WINDOW})": s.get(f"{phase}_accuracy_{mean}"),
                "sampled pass@1 (last)": with_interval(s, f"{phase}_pass@1"),
                f"pass@1 (mean of last {SUMMARY_WINDOW})": s.get(f"{phase}_pass@1_{mean}"),
                "pass@8": with_interval(s, f"{phase}_pass@8"), "maj@8": with_interval(s, f"{phase}_maj@8"),
                "minutes": s.get(f"{phase}_minutes")})
        lengths += [{"run": label, "phase": r["phase"], "step": int(r["step"]), "accuracy": float(r["accuracy"]),
                     "mean response tokens": float(r["mean_length"])} for r in rows]
    print(format_table("held-out accuracy, 3-digit addition (500 distinct problems; pass@1, pass@8, maj@8 on 200; "
                       "95% Wilson intervals over problems; one seed)", results))
    print()
    print(format_table("response length over training", lengths))


if __name__ == "__main__":
    main()
