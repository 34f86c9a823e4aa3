"""The LLM mode's headline figures: SFT on the imperfect teacher, then GRPO, on 3-digit addition
with and without the scratchpad.

    python scripts/llm_headline.py                 # both runs (resumed if present), then the tables
    python scripts/llm_headline.py --report-only   # the tables from runs/llm_addition*

Prints the held-out accuracies (teacher, SFT greedy / pass@8 / maj@8, GRPO greedy) and the
mean response length at every evaluation, from each run's eval.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from selfplay.commands.bench import format_table
from selfplay.llm.curve import run_curve, summarize
from selfplay.run.directory import read_rows

CONFIG = "configs/llm_addition.yaml"
RUNS = {"scratchpad": ("llm_addition", []),
        "no scratchpad": ("llm_addition_noscratch", ["task.scratchpad=false"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default="runs")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    results, lengths = [], []
    for label, (name, overrides) in RUNS.items():
        run_dir = Path(args.runs) / name
        if not args.report_only:
            run_curve(run_dir, CONFIG, overrides, resume=(run_dir / "config.yaml").is_file())
        rows = read_rows(run_dir / "eval.csv")
        if not rows:
            continue
        s = summarize(rows)
        results.append({"format": label, "teacher": s["teacher_accuracy"], "sft greedy": s.get("sft_accuracy"),
                        "sft pass@8": s.get("sft_pass@8"), "sft maj@8": s.get("sft_maj@8"),
                        "grpo greedy": s.get("grpo_accuracy"), "grpo pass@8": s.get("grpo_pass@8"),
                        "sft minutes": s.get("sft_minutes"), "grpo minutes": s.get("grpo_minutes")})
        lengths += [{"format": label, "phase": r["phase"], "step": int(r["step"]), "accuracy": float(r["accuracy"]),
                     "mean response tokens": float(r["mean_length"])} for r in rows]
    print(format_table("held-out accuracy, 3-digit addition (500 problems; pass@8 and maj@8 on 200)", results))
    print()
    print(format_table("response length over training", lengths))


if __name__ == "__main__":
    main()
