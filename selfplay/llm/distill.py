"""``selfplay llm distill``: why o1 hides its chain of thought.

OpenAI's o1 shows its users a summary of its reasoning, never the reasoning itself; one reason
given is competitive: whoever can read a strong model's chains of thought can train a model of
their own on them. This command measures how much that is worth here. The "teacher" is an RL
policy (a GRPO, PPO or SFT checkpoint); it answers ``distill.demonstrations`` training problems
(never held-out ones) at ``distill.temperature``, and with ``distill.filter_correct`` only the
responses the verifier accepts are kept (rejection sampling; the keep rate is reported). Two
fresh students, initialised alike from the seed, learn them by the project's SFT (the sft
section gives steps, batch and learning rate):

    shown    the whole response: scratchpad, <ans>, the answer (what an open model reveals)
    hidden   the same responses with the scratchpad cut: <ans>ANSWER<eos> (what o1 reveals)

The verifier reads only what follows <ans>, so a student that writes no scratchpad is judged
like any other, and the task config (its context and response length) needs no change. The
teacher and both students then answer the same held-out problems; the table gives each one's
greedy accuracy with its 95% Wilson interval, pass@1, mean response length, the demonstrations
it learned from and the share of the teacher's accuracy it recovers.

    runs/NAME/config.yaml            the distill's resolved config (the students' too)
    runs/NAME/teacher.json           the teacher checkpoint and how its samples were drawn
    runs/NAME/teacher_samples.csv    every sampled response: a, b, response, correct
    runs/NAME/shown/, hidden/        a student run each: demonstrations.csv, sft/, eval.csv, log.txt
    runs/NAME/distill.csv            the table

The samples are drawn once and read back, so a resumed distill trains its students on the same
data, and a student whose SFT finished is not trained again.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from selfplay.atomic import atomic_write_text
from selfplay.configio import ConfigError, load_config
from selfplay.errors import UserError
from selfplay.llm import solve
from selfplay.llm.compare import write_csv
from selfplay.llm.config import LLMConfig
from selfplay.llm.evaluation import evaluate
from selfplay.llm.run import Setting, prepare_run
from selfplay.llm.sft import SFTTrainer
from selfplay.llm.tasks import ColumnTask, Problem
from selfplay.run import directory
from selfplay.run.checkpoint import list_checkpoints, load_checkpoint
from selfplay.run.directory import RunDir, read_rows

CSV_NAME = "distill.csv"
TEACHER_FILE = "teacher.json"
SAMPLES_FILE = "teacher_samples.csv"
DEMONSTRATIONS_FILE = "demonstrations.csv"
PROBLEM_STREAM = 12  # the seed's random stream of the teacher's training problems
ANSWER, EOS = "<ans>", "<eos>"

Pair = tuple[Problem, str]  # (problem, response text as written, <eos> included when it ended)


# ---- the data: what the teacher shows -------------------------------------------------------------
def strip_scratchpad(text: str) -> str:
    """The response as a provider hiding the chain of thought would show it: from <ans> on. A
    response that never reached <ans> shows only its <eos> (nothing, when it was cut off)."""
    at = text.find(ANSWER)
    if at >= 0:
        return text[at:]
    return EOS if text.endswith(EOS) else ""


def student_pairs(pairs: list[Pair], mode: str) -> list[Pair]:
    """A student's demonstrations: the pairs as written (shown), or their answers alone (hidden;
    a response that shows nothing teaches nothing and is dropped)."""
    if mode == "shown":
        return list(pairs)
    stripped = [(problem, strip_scratchpad(text)) for problem, text in pairs]
    return [(problem, text) for problem, text in stripped if text]


def rejection_sample(task: ColumnTask, problems: list[Problem], texts: list[str],
                     filter_correct: bool) -> tuple[list[Pair], float]:
    """The pairs kept (those the verifier accepts, or all without ``filter_correct``) and the
    keep rate (kept / sampled)."""
    kept = [(p, t) for p, t in zip(problems, texts) if not filter_correct or task.reward(p, t) == 1.0]
    return kept, len(kept) / len(problems)


def teacher_responses(policy, setting: Setting, problems: list[Problem], temperature: float) -> list[str]:
    """One response to each problem at ``temperature`` (0: greedy), seeded by the config's seed."""
    generator = torch.Generator(device=setting.device).manual_seed(setting.config.seed)
    samples = solve.respond(policy, setting, problems, 1, temperature, generator)
    return [row[0] for row in samples.texts]


def teacher_problems(setting: Setting) -> list[Problem]:
    rng = np.random.default_rng([setting.config.seed, PROBLEM_STREAM])
    return setting.task.sample_many(setting.config.distill.demonstrations, rng)  # training split only


# ---- files ---------------------------------------------------------------------------------------
def write_pairs(path: Path, pairs: list[Pair], correct: list[float] | None = None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["a", "b", "response"] + (["correct"] if correct is not None else []))
    for i, ((a, b), text) in enumerate(pairs):
        writer.writerow([a, b, text] + ([correct[i]] if correct is not None else []))
    atomic_write_text(path, buffer.getvalue())


def read_pairs(path: Path) -> list[Pair]:
    return [((int(r["a"]), int(r["b"])), r["response"]) for r in read_rows(path)]


def sampling_record(checkpoint: Path, config: LLMConfig) -> dict:
    d = config.distill
    return {"checkpoint": str(checkpoint), "demonstrations": d.demonstrations, "temperature": d.temperature}


def teacher_checkpoint(distill_dir: Path, init: str | None) -> Path:
    """--init's checkpoint (a run directory's newest grpo, else ppo, else sft one); a resumed
    distill keeps the teacher it sampled, and may not be given another."""
    path = distill_dir / TEACHER_FILE
    recorded = Path(json.loads(path.read_text())["checkpoint"]) if path.is_file() else None
    chosen = solve.policy_checkpoint(init) if init is not None else recorded
    if chosen is None:
        raise UserError("--init CHECKPOINT|RUN_DIR names the teacher (an RL run, or its checkpoint)")
    if recorded is not None and chosen.resolve() != recorded.resolve():
        raise UserError(f"{distill_dir} was distilled from {recorded}, not {chosen}; use another --name")
    return chosen


def check_same_task(checkpoint: Path, config: LLMConfig) -> None:
    """The teacher must have learned this task: the held-out split and the problems are the task's."""
    trained = load_checkpoint(checkpoint).get("config", {}).get("task")
    if trained is not None and trained != asdict(config.task):
        raise ConfigError(f"{checkpoint} learned task {trained}, not this config's {asdict(config.task)}")


def sample_teacher(distill_dir: Path, checkpoint: Path, policy, setting: Setting, log=print) -> list[Pair]:
    """Every response the teacher sampled (drawn once; a resume reads them back)."""
    record, path = sampling_record(checkpoint, setting.config), distill_dir / SAMPLES_FILE
    teacher_file = distill_dir / TEACHER_FILE
    if path.is_file() and teacher_file.is_file():
        if json.loads(teacher_file.read_text()) != record:
            raise ConfigError(f"{distill_dir} sampled its teacher with {json.loads(teacher_file.read_text())}, "
                              f"not {record}; use another --name")
        return read_pairs(path)
    problems = teacher_problems(setting)
    log(f"teacher {checkpoint}: answering {len(problems)} training problems at temperature "
        f"{setting.config.distill.temperature}")
    texts = teacher_responses(policy, setting, problems, setting.config.distill.temperature)
    pairs = list(zip(problems, texts))
    write_pairs(path, pairs, [setting.task.reward(p, t) for p, t in pairs])
    atomic_write_text(teacher_file, json.dumps(record, indent=1))
    return pairs


# ---- the students --------------------------------------------------------------------------------
def student_finished(run_dir: Path, steps: int) -> bool:
    found = list_checkpoints(RunDir(run_dir).phase_checkpoints("sft"))
    return bool(found) and found[-1][0] >= steps


def train_student(distill_dir: Path, mode: str, pairs: list[Pair], log=print) -> None:
    """The ``mode`` student's SFT in distill_dir/mode, unless it finished before."""
    run_dir, config_path = distill_dir / mode, str(RunDir(distill_dir).config)
    if student_finished(run_dir, load_config(LLMConfig, config_path).sft.steps):
        log(f"{mode} student: finished before, not retrained")
        return
    if not pairs:
        raise UserError(f"the {mode} student has no demonstrations: the teacher got none of its problems right "
                        f"(set distill.filter_correct=false, or distil a better teacher)")
    resume = bool(list_checkpoints(RunDir(run_dir).phase_checkpoints("sft")))
    config = prepare_run(run_dir, config_path, [], resume, phase="sft")
    write_pairs(run_dir / DEMONSTRATIONS_FILE, pairs)
    log(f"{mode} student: SFT on {len(pairs)} demonstrations in {run_dir}")
    SFTTrainer(Setting.build(config), run_dir, log, demonstrations=pairs).train()


# ---- the table -----------------------------------------------------------------------------------
def evaluate_policy(policy, setting: Setting) -> dict[str, float]:
    s, e = setting, setting.config.eval
    return evaluate(policy, s.task, s.tokenizer, s.eval_problems, e.batch_size, e.samples, e.pass_k,
                    e.sampled_problems, seed=s.config.seed)


def final_evaluation(run_dir: Path) -> dict[str, float]:
    """The student's last evaluation (its SFT evaluates at its last step, with ``evaluate``)."""
    rows = [r for r in read_rows(RunDir(run_dir).eval_csv) if r["phase"] == "sft"]
    if not rows:
        raise UserError(f"{run_dir} has no SFT evaluation in its eval.csv")
    last = max(rows, key=lambda r: int(r["step"]))
    return {k: float(v) for k, v in last.items() if k != "phase" and v not in ("", None)}


def table_row(name: str, results: dict[str, float], demonstrations: int, teacher_accuracy: float,
              keep_rate: float | str = "") -> dict:
    accuracy = results["accuracy"]
    return {"model": name, "accuracy": accuracy, "accuracy_low": results["accuracy_low"],
            "accuracy_high": results["accuracy_high"], "pass@1": results.get("pass@1", ""),
            "mean_length": results["mean_length"], "demonstrations": demonstrations, "keep_rate": keep_rate,
            "recovered": accuracy / teacher_accuracy if teacher_accuracy > 0 else ""}


# ---- the command ---------------------------------------------------------------------------------
def run_distill(distill_dir: str | Path, config_path: str | None, overrides: list[str] = (), init: str | None = None,
                resume: bool = False, log=print) -> list[dict]:
    """Sample the teacher, train each student, evaluate all three; the rows (also distill.csv)."""
    distill_dir = Path(distill_dir)
    if not resume and RunDir(distill_dir).config.exists():
        raise ConfigError(f"{distill_dir} already holds a distill; use --resume to continue it, or another --name")
    if not resume:  # the config, then the teacher, before config.yaml is written: a refused run leaves nothing
        new_config = load_config(LLMConfig, config_path, list(overrides))
        check_same_task(teacher_checkpoint(distill_dir, init), new_config)
    config = directory.prepare_run(LLMConfig, distill_dir, config_path, list(overrides), resume)
    checkpoint = teacher_checkpoint(distill_dir, init)
    check_same_task(checkpoint, config)
    setting = Setting.build(config)
    policy = solve.load_policy(setting, checkpoint)
    sampled = sample_teacher(distill_dir, checkpoint, policy, setting, log)
    kept, keep_rate = rejection_sample(setting.task, [p for p, _ in sampled], [t for _, t in sampled],
                                       config.distill.filter_correct)
    log(f"teacher: {len(kept)} of {len(sampled)} responses kept ({keep_rate:.1%}"
        f"{', verifier-correct only' if config.distill.filter_correct else ', all'})")
    data = {mode: student_pairs(kept, mode) for mode in config.distill.mode_list()}
    for mode, pairs in data.items():
        train_student(distill_dir, mode, pairs, log)
    teacher = evaluate_policy(policy, setting)
    rows = [table_row("teacher", teacher, len(sampled), teacher["accuracy"], keep_rate)]
    rows += [table_row(mode, final_evaluation(distill_dir / mode), len(pairs), teacher["accuracy"])
             for mode, pairs in data.items()]
    write_csv(distill_dir / CSV_NAME, rows)
    return rows


def format_rows(rows: list[dict]) -> list[dict]:
    """The rows as the printed table shows them."""
    def number(value, spec):
        return format(value, spec) if isinstance(value, (int, float)) else ""

    return [{"model": r["model"], "greedy accuracy": f"{r['accuracy']:.3f}",
             "95% interval": f"[{r['accuracy_low']:.3f}, {r['accuracy_high']:.3f}]",
             "pass@1": number(r["pass@1"], ".3f"), "mean length": f"{r['mean_length']:.1f}",
             "demonstrations": r["demonstrations"], "keep rate": number(r["keep_rate"], ".1%"),
             "recovered": number(r["recovered"], ".1%")} for r in rows]
