"""``selfplay llm r1zero``: RL on the verifier's reward from a model that never saw a worked
answer, after DeepSeek-R1-Zero (DeepSeek-AI 2025).

R1-Zero ran GRPO with an accuracy and a format reward straight on a pretrained base model, no
SFT. What that base brought, and a randomly initialised tiny model lacks, is the format and the
numbers: from a random init every sample of a group scores 0, every advantage is 0, and GRPO
learns nothing (``frac_reward_zero_std`` 1.0 at every step). So this run makes a base first:

1. The base stage (phase ``base``, the SFT trainer with the value head off: the base has no
   reward to predict). Next-token training on ``<bos>PROMPT<sep>RESPONSE<eos>`` where PROMPT is
   a random training problem and RESPONSE is well formed but says nothing about its answer:
   ``<ans>`` and the answer of another, independently drawn problem of the same size (the
   task's distribution of numbers), in a share of the texts after a scratchpad of random
   digit/carry pairs of the problem's shape. The base learns how an answer looks, never which
   one is right: its held-out accuracy sits at chance (``chance_accuracy`` beside it in
   eval.csv: the verifier's rate on such random answers).
2. GRPO (phase ``grpo``, the grpo section, ``loss_type`` as configured) from the base, on the
   verifier's 0/1 plus ``grpo.format_reward`` for a well-formed response, with a curriculum
   (``r1zero.curriculum``): training problems of 1-digit operands first, where a random answer
   is right often enough for a group to disagree, then operands of 1 to 2 digits, ..., 1 to
   task.max_digits (each level keeps the shorter ones in the mix); it moves on
   when the training accuracy over the last ``curriculum_window`` steps reaches
   ``curriculum_threshold``, or after ``steps_per_level`` steps. The held-out evaluation is
   always the full task's.

Over the RL steps it logs (TensorBoard train/*, and averaged since the last evaluation in each
eval.csv row: ``train_reward``, ``train_accuracy``, ``train_mean_length``,
``train_scratchpad_share``, ``level``) the reward, the accuracy, the response length and the
share of responses that write a scratchpad (anything before ``<ans>``): R1-Zero's story of a
chain of thought that emerges and responses that grow longer. The caveat: GRPO's loss averages
over each response's own tokens, so a long wrong response is pushed down less per token than a
short wrong one, and responses can grow for that alone (Liu et al. 2025, "Understanding
R1-Zero-like training"). Dr. GRPO (``grpo.loss_type=dr_grpo``) drops that normalisation: the run
to compare with before reading longer responses as reasoning.

    runs/NAME/base/step-N.pt     the base stage
    runs/NAME/grpo/step-N.pt     GRPO from the base (the curriculum's state in each checkpoint)
    runs/NAME/eval.csv, log.txt, tb/base, tb/grpo
    runs/NAME/r1zero.png, .svg   accuracy, response length and scratchpad share over GRPO's steps
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from selfplay.configio import ConfigError
from selfplay.llm.config import LLMConfig
from selfplay.llm.evaluation import evaluate
from selfplay.llm.grpo import GRPOTrainer
from selfplay.llm.run import Setting, prepare_run
from selfplay.llm.sft import SFTTrainer
from selfplay.llm.tasks import ColumnTask, Problem, make_task
from selfplay.rating.plots import save_figure
from selfplay.run.directory import RunDir, read_rows

BASE_PHASE = "base"
MAX_CARRY = {"addition": 1, "multiplication": 8}  # the largest carry a column can pass on
CHANCE_DRAWS = 5000  # random answers the chance rate is measured with
# GRPO's per-step figures of the story, averaged into each eval.csv row as train_*
STORY = {"reward": "train_reward", "rewards/accuracy": "train_accuracy",
         "completions/mean_length": "train_mean_length", "completions/scratchpad_share": "train_scratchpad_share"}


def check_config(config: LLMConfig) -> None:
    """What only this run needs of the other sections."""
    if config.r1zero.base_scratchpad_share > 0 and not config.task.scratchpad:
        raise ConfigError("r1zero.base_scratchpad_share needs task.scratchpad: true (the response budget "
                          "for a scratchpad); set r1zero.base_scratchpad_share=0 for answers alone")


# ---- the base stage's texts ---------------------------------------------------------------------
def level_task(task: ColumnTask, digits: int) -> ColumnTask:
    """The task on operands of 1 to ``digits`` digits, each length equally likely (so a level
    keeps the ones before it in the mix). The held-out split is the same hash of the problem:
    a held-out problem stays held out at every level."""
    return make_task(replace(task.config, min_digits=1, max_digits=digits))


def answer_free_response(task: ColumnTask, problem: Problem, other: Problem, rng: np.random.Generator,
                         scratchpad: bool) -> str:
    """A well-formed response to ``problem`` with ``<eos>``, knowing only its shape: the answer of
    ``other`` (a problem drawn independently of it) after, when ``scratchpad``, one random
    digit/carry pair per column of ``problem``."""
    pad = ""
    if scratchpad:
        columns = len(task.column_values(problem))
        carry = MAX_CARRY[task.name]
        pad = ",".join(f"{rng.integers(0, 10)}{rng.integers(0, carry + 1)}" for _ in range(columns))
    return f"{pad}<ans>{task.answer(other)}<eos>"


def base_pairs(task: ColumnTask, levels: list[ColumnTask], n: int, rng: np.random.Generator,
               scratchpad_share: float) -> list[tuple[Problem, str]]:
    """``n`` (training problem, answer-free response): a level drawn at random, a problem of
    it, and a response from another problem of the same level."""
    pairs = []
    for _ in range(n):
        level = levels[int(rng.integers(len(levels)))]
        problem, other = level.sample(rng), level.sample(rng)
        pairs.append((problem, answer_free_response(task, problem, other, rng, rng.random() < scratchpad_share)))
    return pairs


def chance_accuracy(task: ColumnTask, problems: list[Problem], rng: np.random.Generator,
                    draws: int = CHANCE_DRAWS) -> float:
    """The verifier's expected rate on ``problems`` for answers that know nothing of them: the
    answers of ``draws`` random training problems of the task, each problem's answer counted
    among them."""
    counts = Counter(task.answer(p) for p in task.sample_many(draws, rng))
    return float(np.mean([counts[task.answer(p)] / draws for p in problems]))


def base_setting(setting: Setting) -> Setting:
    """The setting of the base stage: the sft section's optimiser with r1zero's steps and
    examples, and no value loss."""
    r = setting.config.r1zero
    sft = replace(setting.config.sft, steps=r.base_steps, num_demonstrations=r.base_examples, value_weight=0.0)
    return replace(setting, config=replace(setting.config, sft=sft))


def curriculum_levels(config: LLMConfig) -> list[int]:
    return list(range(1, config.task.max_digits + 1))


class BaseTrainer(SFTTrainer):
    """The SFT trainer on answer-free texts (phase ``base``); each evaluation carries the chance rate."""

    def __init__(self, setting: Setting, run_dir: str | Path, log=print, show_progress: bool = False):
        r = setting.config.r1zero
        task = setting.task
        levels = [level_task(task, d) for d in curriculum_levels(setting.config)] if r.curriculum else [task]
        pairs = base_pairs(task, levels, r.base_examples, np.random.default_rng([setting.config.seed, 7]),
                           r.base_scratchpad_share)
        super().__init__(base_setting(setting), run_dir, log, show_progress, demonstrations=pairs, name=BASE_PHASE)
        self.chance = chance_accuracy(task, setting.eval_problems, np.random.default_rng([setting.config.seed, 8]))

    def evaluate(self) -> dict[str, float]:
        s, e = self.setting, self.setting.config.eval
        results = evaluate(self.model, s.task, s.tokenizer, s.eval_problems, e.batch_size, e.samples, e.pass_k,
                           e.sampled_problems, seed=s.config.seed)
        results["chance_accuracy"] = self.chance
        self.phase.record_eval(self.step, self.step, results, self.teacher)
        return results


# ---- the curriculum -----------------------------------------------------------------------------
@dataclass
class Curriculum:
    """Which operand size GRPO trains on: ``levels`` (the most digits) in order, moving on when the
    mean training accuracy of the last ``window`` steps at a level reaches ``threshold``, or
    after ``steps_per_level`` steps there (0: no cap). The last level stays."""
    levels: list[int]
    threshold: float
    window: int
    steps_per_level: int = 0
    index: int = 0
    steps_at_level: int = 0
    recent: list[float] = field(default_factory=list)

    @property
    def digits(self) -> int:
        return self.levels[self.index]

    def record(self, accuracy: float) -> bool:
        """Count one step's training accuracy; True when it moves the curriculum to the next level."""
        self.steps_at_level += 1
        self.recent = (self.recent + [accuracy])[-self.window:]
        if self.index == len(self.levels) - 1:
            return False
        passed = len(self.recent) == self.window and float(np.mean(self.recent)) >= self.threshold
        capped = self.steps_per_level > 0 and self.steps_at_level >= self.steps_per_level
        if passed or capped:
            self.index, self.steps_at_level, self.recent = self.index + 1, 0, []
            return True
        return False

    def state(self) -> dict:
        return {"index": self.index, "steps_at_level": self.steps_at_level, "recent": list(self.recent)}

    def load_state(self, state: dict) -> None:
        self.index, self.steps_at_level, self.recent = state["index"], state["steps_at_level"], list(state["recent"])


class LevelTask:
    """The run's task with its training problems drawn from one curriculum level; everything
    else (prompts, the verifier, the response budget, held-out problems) is the full task's."""

    def __init__(self, task: ColumnTask, digits: int):
        self.full, self.level = task, level_task(task, digits)

    def sample_many(self, n: int, rng: np.random.Generator, heldout: bool = False) -> list[Problem]:
        return (self.full if heldout else self.level).sample_many(n, rng, heldout)

    def __getattr__(self, name):
        return getattr(self.full, name)


class R1ZeroTrainer(GRPOTrainer):
    """GRPO (phase ``grpo``) on the curriculum's training problems, with the story's figures in
    eval.csv and the curriculum's state in its checkpoints."""

    def __init__(self, setting: Setting, run_dir: str | Path, init: str | Path, log=print, show_progress=False):
        super().__init__(setting, run_dir, init, log, show_progress)
        self.full_setting = setting
        r = setting.config.r1zero
        self.curriculum = (Curriculum(curriculum_levels(setting.config), r.curriculum_threshold, r.curriculum_window,
                                      r.steps_per_level) if r.curriculum else None)
        self.since_eval: list[dict[str, float]] = []
        self.use_level()

    def use_level(self) -> None:
        if self.curriculum is not None:
            self.setting = replace(self.full_setting, task=LevelTask(self.full_setting.task, self.curriculum.digits))

    def level(self) -> int:
        return self.curriculum.digits if self.curriculum is not None else self.full_setting.task.config.max_digits

    def train_step(self) -> dict[str, float]:
        metrics = super().train_step()
        metrics["curriculum/level"] = float(self.level())
        if "skipped" not in metrics:
            self.since_eval.append({k: metrics[k] for k in STORY})
        if self.curriculum is not None:
            before = self.curriculum.digits
            if self.curriculum.record(metrics.get("rewards/accuracy", 0.0)):
                self.phase.log(f"curriculum: level {before} -> {self.curriculum.digits} (operands of 1 to "
                               f"{self.curriculum.digits} digits) from step {self.step + 2}")
                self.use_level()
        return metrics

    def eval_extras(self) -> dict[str, float]:
        """The curriculum's level and the story's training figures since the last evaluation."""
        results = {**super().eval_extras(), "level": float(self.level())}
        for key, column in STORY.items():
            values = [m[key] for m in self.since_eval]
            if values:
                results[column] = float(np.mean(values))
        self.since_eval = []
        return results

    def start_message(self) -> str:
        c, r = self.config, self.full_setting.config.r1zero
        plan = (f"curriculum over operands of up to {', '.join(map(str, self.curriculum.levels))} digits (next level at "
                f"training accuracy {r.curriculum_threshold} over {r.curriculum_window} steps"
                f"{f' or after {r.steps_per_level} steps' if r.steps_per_level else ''})"
                if self.curriculum is not None else "no curriculum")
        return (f"R1-Zero: GRPO ({c.loss_type}) from the base stage {self.init} (no demonstrations); reward: "
                f"verifier{f' + format {c.format_reward}' if c.format_reward else ''}; {plan}")

    def progress(self, metrics: dict[str, float]) -> tuple[dict[str, float], str]:
        tagged, line = super().progress(metrics)
        return tagged, (f"{line}  acc {metrics.get('rewards/accuracy', float('nan')):.3f}  scratchpad "
                        f"{metrics.get('completions/scratchpad_share', float('nan')):.2f}  level {self.level()}")

    def extra_state(self) -> dict:
        curriculum = {"curriculum": self.curriculum.state()} if self.curriculum is not None else {}
        return {**super().extra_state(), **curriculum}

    def load_extra_state(self, payload: dict) -> None:
        super().load_extra_state(payload)
        if self.curriculum is not None and "curriculum" in payload:
            self.curriculum.load_state(payload["curriculum"])
            self.use_level()


# ---- the run ------------------------------------------------------------------------------------
def run_r1zero(run_dir: str | Path, config_path: str | None = None, overrides: list[str] = (), resume: bool = False,
               log=print, show_progress: bool = False) -> dict[str, float]:
    """The base stage, then GRPO from it, in one run directory; a resumed run continues either."""
    config = prepare_run(run_dir, config_path, list(overrides), resume, phase=BASE_PHASE)
    check_config(config)
    setting = Setting.build(config)
    base_checkpoint = BaseTrainer(setting, run_dir, log, show_progress).train()
    R1ZeroTrainer(setting, run_dir, base_checkpoint, log, show_progress).train()
    plot_r1zero(run_dir)
    return summarize(read_rows(RunDir(run_dir).eval_csv))


def summarize(rows: list[dict]) -> dict[str, float]:
    """The base's last evaluation beside chance; GRPO's first and last (held-out accuracy,
    response length) and its training figures in the last evaluation's window."""
    def number(row: dict, key: str) -> float:
        value = row.get(key, "")
        return float(value) if value not in ("", None) else float("nan")

    base = [r for r in rows if r["phase"] == BASE_PHASE]
    grpo = [r for r in rows if r["phase"] == "grpo"]
    out: dict[str, float] = {}
    if base:
        for key in ("accuracy", "pass@1", "chance_accuracy", "mean_length"):
            out[f"base_{key}"] = number(base[-1], key)
    if grpo:
        out["grpo_step"] = number(grpo[-1], "step")
        for key in ("accuracy", "accuracy_low", "accuracy_high", "pass@1", "mean_length", "level", *STORY.values()):
            out[f"grpo_{key}"] = number(grpo[-1], key)
        trained = [r for r in grpo if number(r, "step") > 0]
        out["grpo_best_train_accuracy"] = max((number(r, "train_accuracy") for r in trained), default=float("nan"))
        if trained:
            out["grpo_first_train_mean_length"] = number(trained[0], "train_mean_length")
            out["grpo_first_train_scratchpad_share"] = number(trained[0], "train_scratchpad_share")
    return out


def plot_r1zero(run_dir: str | Path) -> list[Path]:
    """``r1zero.png`` and ``.svg`` in the run directory: over GRPO's steps, held-out greedy
    accuracy and training accuracy (the curriculum's levels shaded), chance as a dotted line;
    below, the training responses' mean length and scratchpad share."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run = RunDir(run_dir)
    rows = read_rows(run.eval_csv)
    grpo = [r for r in rows if r["phase"] == "grpo"]
    fig = Figure(figsize=(8, 6), dpi=120)
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    steps = [int(r["step"]) for r in grpo]
    top.plot(steps, [float(r["accuracy"]) for r in grpo], marker="o", markersize=3, color="tab:red",
             label="held-out accuracy (greedy, full task)")
    trained = [r for r in grpo if r.get("train_accuracy")]
    if trained:
        x = [int(r["step"]) for r in trained]
        top.plot(x, [float(r["train_accuracy"]) for r in trained], marker=".", color="tab:orange",
                 label="training accuracy (the level's problems)")
        bottom.plot(x, [float(r["train_mean_length"]) for r in trained], marker=".", color="tab:blue",
                    label="response tokens")
        share = bottom.twinx()
        share.plot(x, [float(r["train_scratchpad_share"]) for r in trained], marker=".", color="tab:green",
                   label="share with a scratchpad")
        share.set_ylim(0, 1.02)
        share.set_ylabel("scratchpad share", color="tab:green")
    chance = [float(r["chance_accuracy"]) for r in rows if r["phase"] == BASE_PHASE and r.get("chance_accuracy")]
    if chance:
        top.axhline(chance[-1], color="black", linestyle=":", label=f"chance ({chance[-1]:.1%})")
    levels = [(int(r["step"]), r.get("level", "")) for r in grpo]
    for (step, level), (next_step, _) in zip(levels, levels[1:] + [(steps[-1] if steps else 0, "")]):
        if level and int(float(level)) % 2 == 0:
            top.axvspan(step, next_step, color="grey", alpha=0.08, linewidth=0)
    top.set_ylim(0, 1.02)
    top.set_ylabel("accuracy")
    top.set_title(f"R1-Zero: GRPO from an answer-free base ({run.root.resolve().name}; even levels shaded)")
    top.legend(loc="best", fontsize=8)
    bottom.set_ylabel("response tokens", color="tab:blue")
    bottom.set_xlabel("GRPO steps")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, run.root, "r1zero")
