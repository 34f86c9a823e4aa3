"""What SFT and GRPO share: the run directory (selfplay.run.directory), the setting (task,
tokenizer, teacher, model, held-out problems) and a phase's bookkeeping: the run log the board
trainer uses too (selfplay.run.log) and its checkpoints.

    runs/<name>/config.yaml            the resolved config
    runs/<name>/sft/step-N.pt          checkpoints of each phase (atomic, weights_only)
    runs/<name>/grpo/step-N.pt
    runs/<name>/tb/sft, tb/grpo        TensorBoard events
    runs/<name>/eval.csv               every held-out evaluation of both phases
    runs/<name>/log.txt, curve.png, curve.svg
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from selfplay.configio import ConfigError
from selfplay.llm.config import LLMConfig
from selfplay.llm.evaluation import score_responses, with_interval
from selfplay.llm.model import TokenPolicyValueModel, model_from_payload
from selfplay.llm.tasks import ColumnTask, Problem, make_task
from selfplay.llm.teacher import Teacher
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.network import resolve_device
from selfplay.run import directory
from selfplay.run.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    load_latest_good,
    prune_checkpoints,
    save_checkpoint,
)
from selfplay.run.directory import RunDir
from selfplay.run.log import RunLog

EVAL_FIELDS = ["phase", "step", "curve_step", "minutes", "accuracy", "accuracy_low", "accuracy_high", "problems",
               "pass@1", "mean_length", "teacher_accuracy", "teacher_greedy_accuracy", "teacher_pass@1"]
TEACHER_REPEATS = 20  # demonstrations per held-out problem for the teacher's sampled accuracy
# the teacher's figures every eval.csv row carries (its pass@k and maj@k are logged once, at the start)
TEACHER_COLUMNS = ("teacher_accuracy", "teacher_greedy_accuracy", "teacher_pass@1")


def prepare_run(run_dir: str | Path, config_path: str | None, overrides: list[str], resume: bool,
                phase: str) -> LLMConfig:
    """The run's config. A new phase writes its resolved config (and may start beside another
    phase's checkpoints: GRPO after SFT); a resumed run reads its config back (overrides still
    apply); a phase that already has checkpoints must be resumed."""
    return directory.prepare_run(LLMConfig, run_dir, config_path, overrides, resume,
                                 checkpoints=RunDir(run_dir).phase_checkpoints(phase), kind=f"{phase} run",
                                 frozen=("task", "model"))


@dataclass
class Setting:
    """Everything a phase needs besides its own loop."""
    config: LLMConfig
    task: ColumnTask
    tokenizer: CharTokenizer
    teacher: Teacher
    device: torch.device
    eval_problems: list[Problem]

    @classmethod
    def build(cls, config: LLMConfig) -> "Setting":
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        task = make_task(config.task)
        eval_rng = np.random.default_rng([config.seed, 1])  # the same held-out set in every phase
        return cls(config, task, CharTokenizer(), Teacher(task, config.teacher), resolve_device(config.device),
                   task.sample_many(config.eval.problems, eval_rng, heldout=True))

    def new_model(self) -> TokenPolicyValueModel:
        return TokenPolicyValueModel(self.tokenizer.vocab_size, self.config.model).to(self.device)

    def teacher_accuracy(self) -> float:
        """On the held-out evaluation problems, 20 demonstrations each (the teacher is cheap)."""
        return self.teacher.accuracy(self.eval_problems, np.random.default_rng([self.config.seed, 2]),
                                     repeats=TEACHER_REPEATS)

    def teacher_report(self) -> dict[str, float]:
        """The teacher measured as the student is, on the same held-out problems, each rate with
        its Wilson interval over problems: ``teacher_accuracy`` (sampled demonstrations, 20 a
        problem: the rate a perfect imitator sampled at temperature 1 would score; the same
        value as ``teacher_accuracy()``), ``teacher_greedy_accuracy`` (its most likely response),
        and on the first ``eval.sampled_problems`` problems with ``eval.samples`` demonstrations
        each, exactly the student's pass@1 / pass@k / maj@k protocol: ``teacher_pass@1`` etc."""
        task, teacher, e = self.task, self.teacher, self.config.eval
        rng = np.random.default_rng([self.config.seed, 2])
        sampled = [np.mean([task.reward(p, teacher.demonstrate(p, rng)[0] + "<eos>") for _ in range(TEACHER_REPEATS)])
                   for p in self.eval_problems]
        report: dict[str, float] = with_interval("teacher_accuracy", [float(x) for x in sampled])
        greedy = [task.reward(p, teacher.greedy(p) + "<eos>") for p in self.eval_problems]
        report.update(with_interval("teacher_greedy_accuracy", greedy))
        if e.samples > 0 and e.sampled_problems > 0:
            subset = self.eval_problems[:e.sampled_problems]
            rng = np.random.default_rng([self.config.seed, 6])
            texts = [[teacher.demonstrate(p, rng)[0] + "<eos>" for _ in range(e.samples)] for p in subset]
            rewards = [[task.reward(p, t) for t in group] for p, group in zip(subset, texts)]
            scored = score_responses(task, subset, [0.0] * len(subset), texts, rewards, e.pass_k)
            report.update({f"teacher_{k}": v for k, v in scored.items()
                           if k.startswith(("pass@", "maj@"))})
        return report


class Phase:
    """A phase's run log (log.txt lines tagged with its name, tb/<phase>, the progress bar,
    eval.csv rows) and its checkpoints (<phase>/step-N.pt, the newest three kept)."""

    def __init__(self, name: str, run_dir: str | Path, total_steps: int, log=print, show_progress=False):
        self.name = name
        self.run = RunDir(run_dir)
        self.directory = self.run.phase_checkpoints(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.runlog = RunLog(self.run, self.run.phase_tb(name), total_steps, tag=name, echo=log,
                             show_progress=show_progress)
        self.writer = self.runlog.writer
        self.runlog.start_progress(0)

    def log(self, message: str, quiet: bool = False) -> None:
        self.runlog.log(message, quiet)

    def report(self, step: int, metrics: dict[str, float], figures: str) -> None:
        """Scalars to TensorBoard, figures to the progress bar, a log line every 10 s."""
        self.runlog.report(step, metrics, figures)

    def record_eval(self, step: int, curve_step: int, results: dict[str, float],
                    teacher: float | dict[str, float]) -> None:
        """One eval.csv row: ``results`` and the teacher's figures (``Setting.teacher_report()``,
        or its sampled accuracy alone as a number)."""
        teacher = teacher if isinstance(teacher, dict) else {"teacher_accuracy": teacher}
        teacher = {k: v for k, v in teacher.items() if k.removesuffix("_low").removesuffix("_high") in TEACHER_COLUMNS}
        row = {"phase": self.name, "step": step, "curve_step": curve_step, "minutes": self.runlog.minutes(),
               **results, **teacher}
        self.runlog.record_eval(step, row, results, first_columns=EVAL_FIELDS)

    def save(self, step: int, payload: dict, keep: int = 3) -> Path:
        path = checkpoint_path(self.directory, step)
        save_checkpoint(path, payload)
        prune_checkpoints(self.directory, keep)
        return path

    def latest(self, device) -> tuple[Path, dict] | None:
        return load_latest_good(self.directory, device,
                                on_bad=lambda p, e: self.log(f"skipping a broken checkpoint: {e}"))

    def close(self) -> None:
        self.runlog.close()


def base_payload(setting: Setting, model: TokenPolicyValueModel, optimizer, step: int,
                 rng: np.random.Generator) -> dict:
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
            "config": asdict(setting.config), "model_config": asdict(setting.config.model),
            "vocab": list(setting.tokenizer.vocab), "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state()}


def restore_base(payload: dict, model: TokenPolicyValueModel, optimizer, rng: np.random.Generator) -> int:
    """The inverse of ``base_payload``: load the weights, optimiser and RNG states; returns the step."""
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    rng.bit_generator.state = payload["numpy_rng"]
    torch.set_rng_state(payload["torch_rng"])
    return int(payload["step"])


def check_vocab(payload: dict, tokenizer: CharTokenizer, where) -> None:
    if payload.get("vocab") != tokenizer.vocab:
        raise ConfigError(f"{where} was trained with another vocabulary: not an llm checkpoint of this version")


def load_start(setting: Setting, init: Path) -> dict:
    """The checkpoint an RL phase starts from (an SFT one), checked to be of this vocabulary."""
    payload = load_checkpoint(init, setting.device)
    check_vocab(payload, setting.tokenizer, init)
    return payload


def check_continues(setting: Setting, payload: dict, init: Path) -> str | None:
    """An RL phase trains its start's model: a config whose model section differs from it (an
    override such as model.dim=128) would be recorded in the run but not trained, so it is
    refused. Another task than the start's is allowed (transfer): the note to log says so."""
    trained, wanted = payload.get("model_config") or {}, asdict(setting.config.model)
    differ = [f"model.{k}={wanted[k]!r} (the checkpoint's: {trained.get(k)!r})" for k in wanted
              if k in trained and trained[k] != wanted[k]]
    if differ:
        raise ConfigError(f"{init} holds another model than this config asks for: {', '.join(differ)}; "
                          "RL continues the checkpoint's model: drop those overrides or set them to its values")
    learned = (payload.get("config") or {}).get("task")
    if learned is not None and learned != asdict(setting.config.task):
        changed = ", ".join(f"task.{k}: {learned.get(k)!r} -> {v!r}" for k, v in asdict(setting.config.task).items()
                            if learned.get(k) != v)
        return f"note: {init} learned another task than this run trains ({changed}): RL starts from it as a transfer"
    return None


def start_policy(setting: Setting, payload: dict, init: Path) -> TokenPolicyValueModel:
    """The policy of that checkpoint, refused if its context cannot hold this task's prompt and response."""
    model = model_from_payload(payload, setting.device)
    longest = setting.task.max_prompt_tokens() + setting.task.max_response_tokens()
    if model.config.context < longest:
        raise ConfigError(f"{init}: its model's context ({model.config.context}) is shorter than "
                          f"this task needs ({longest} tokens)")
    return model
