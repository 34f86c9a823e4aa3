"""What SFT and GRPO share: the run directory, the setting (task, tokenizer, teacher, model,
held-out problems) and a phase's bookkeeping (log, TensorBoard, progress bar, eval.csv,
checkpoints).

    runs/<name>/config.yaml            the resolved config
    runs/<name>/sft/step-N.pt          checkpoints of each phase (atomic, weights_only)
    runs/<name>/grpo/step-N.pt
    runs/<name>/tb/sft, tb/grpo        TensorBoard events
    runs/<name>/eval.csv               every held-out evaluation of both phases
    runs/<name>/log.txt, curve.png, curve.svg
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from selfplay.configio import ConfigError, dump_config, load_config
from selfplay.errors import UserError
from selfplay.llm.config import LLMConfig
from selfplay.llm.model import TokenPolicyValueModel
from selfplay.llm.tasks import ColumnTask, Problem, make_task
from selfplay.llm.teacher import Teacher
from selfplay.llm.tokenizer import CharTokenizer
from selfplay.network import resolve_device
from selfplay.run.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    load_latest_good,
    save_checkpoint,
)

EVAL_FIELDS = ["phase", "step", "curve_step", "minutes", "accuracy", "mean_length", "teacher_accuracy"]


class LLMRunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.config = self.root / "config.yaml"
        self.eval_csv = self.root / "eval.csv"
        self.log = self.root / "log.txt"

    def checkpoints(self, phase: str) -> Path:
        return self.root / phase

    def tb(self, phase: str) -> Path:
        return self.root / "tb" / phase


def prepare_run(run_dir: str | Path, config_path: str | None, overrides: list[str], resume: bool,
                phase: str) -> LLMConfig:
    """The run's config. A new phase writes its resolved config (and may start beside another
    phase's checkpoints: GRPO after SFT); a resumed run reads its config back (overrides still
    apply); a phase that already has checkpoints must be resumed."""
    run = LLMRunDir(run_dir)
    if resume:
        if not run.config.is_file():
            raise UserError(f"cannot resume {run.root}: it has no config.yaml (not an llm run directory?)")
        config = load_config(LLMConfig, run.config, overrides)
    else:
        if list_checkpoints(run.checkpoints(phase)):
            raise UserError(f"{run.root} already holds a {phase} run; use --resume to continue it, or another --name")
        config = load_config(LLMConfig, config_path, overrides)
    run.root.mkdir(parents=True, exist_ok=True)
    dump_config(config, run.config)
    return config


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
        return self.teacher.accuracy(self.eval_problems, np.random.default_rng([self.config.seed, 2]), repeats=20)


class Phase:
    """A phase's log, TensorBoard writer, progress bar, evaluation rows and checkpoints."""

    def __init__(self, name: str, run_dir: str | Path, total_steps: int, log=print, show_progress=False):
        from torch.utils.tensorboard import SummaryWriter
        self.name = name
        self.run = LLMRunDir(run_dir)
        self.directory = self.run.checkpoints(name)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(str(self.run.tb(name)))
        self.log_fn = log
        self.total_steps = total_steps
        self.started = time.monotonic()
        self.last_log = 0.0
        self.progress = None
        if show_progress:
            self.progress = Progress(TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.fields[figures]}"))
            self.progress_task = self.progress.add_task(name, total=total_steps, figures="")
            self.progress.start()

    def log(self, message: str, quiet: bool = False) -> None:
        self.run.root.mkdir(parents=True, exist_ok=True)
        with open(self.run.log, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{self.name}] {message}\n")
        if not quiet:
            self.log_fn(message)

    def report(self, step: int, metrics: dict[str, float], figures: str) -> None:
        """Scalars to TensorBoard, figures to the progress bar, a log line every 10 s."""
        for key, value in metrics.items():
            if np.isfinite(value):
                self.writer.add_scalar(key, value, step)
        if self.progress is not None:
            self.progress.update(self.progress_task, completed=step, figures=figures)
        now = time.monotonic()
        if now - self.last_log >= 10 or step == self.total_steps:
            self.last_log = now
            self.log(f"step {step}/{self.total_steps}  {figures}  {(now - self.started) / 60:.1f} min",
                     quiet=self.progress is not None)

    def record_eval(self, step: int, curve_step: int, results: dict[str, float], teacher_accuracy: float) -> None:
        for key, value in results.items():
            self.writer.add_scalar(f"eval/{key}", value, step)
        row = {"phase": self.name, "step": step, "curve_step": curve_step,
               "minutes": round((time.monotonic() - self.started) / 60, 2), **results,
               "teacher_accuracy": teacher_accuracy}
        rows = read_eval(self.run.eval_csv)
        rows.append(row)
        fields = list(dict.fromkeys(EVAL_FIELDS + [k for r in rows for k in r]))
        from selfplay.atomic import atomic_path
        with atomic_path(self.run.eval_csv) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        self.log("eval: " + "  ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in row.items() if k != "phase"))

    def save(self, step: int, payload: dict, keep: int = 3) -> Path:
        path = checkpoint_path(self.directory, step)
        save_checkpoint(path, payload)
        for _, old in list_checkpoints(self.directory)[:-keep]:
            old.unlink(missing_ok=True)
        return path

    def latest(self, device) -> tuple[Path, dict] | None:
        return load_latest_good(self.directory, device,
                                on_bad=lambda p, e: self.log(f"skipping a broken checkpoint: {e}"))

    def close(self) -> None:
        self.writer.close()
        if self.progress is not None:
            self.progress.stop()


def read_eval(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


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
