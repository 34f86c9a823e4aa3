"""The configuration of an LLM-mode run (``configs/llm_*.yaml``): task, teacher, model, SFT,
GRPO and evaluation, each a typed section checked on load; cross-section checks here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from selfplay.configio import require
from selfplay.llm.model import ModelConfig
from selfplay.llm.tasks import TaskConfig, make_task
from selfplay.llm.teacher import TeacherConfig


@dataclass
class SFTConfig:
    steps: int = 2000
    batch_size: int = 128
    learning_rate: float = 1e-3      # peak; linear warmup, cosine decay to a tenth
    warmup_steps: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    num_demonstrations: int = 50_000  # the teacher's dataset, from training problems only
    value_weight: float = 0.1        # value head: MSE to the demonstration's reward (0 = off)
    eval_every: int = 250
    checkpoint_every: int = 500

    def validate(self):
        require(self.steps >= 1 and self.batch_size >= 1, "steps and batch_size must be positive")
        require(self.learning_rate > 0, "learning_rate must be positive")
        require(self.warmup_steps >= 0 and self.weight_decay >= 0 and self.value_weight >= 0,
                "warmup_steps, weight_decay and value_weight must be 0 or more")
        require(self.grad_clip > 0, "grad_clip must be positive")
        require(self.num_demonstrations >= 1, "num_demonstrations must be positive")
        require(self.eval_every >= 1 and self.checkpoint_every >= 1, "eval_every and checkpoint_every must be positive")


@dataclass
class GRPOConfig:
    steps: int = 200                 # sampled batches (each gives num_iterations * minibatches updates)
    prompts_per_step: int = 32
    group_size: int = 8              # G samples per prompt; the advantage compares them
    num_iterations: int = 2          # optimisation passes over each sampled batch (mu in DeepSeekMath)
    minibatches: int = 1             # per pass
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    loss_type: Literal["grpo", "dr_grpo", "dapo"] = "grpo"
    epsilon: float = 0.2             # clip range below 1 (and above, unless epsilon_high is set)
    epsilon_high: float = 0.0        # DAPO's clip-higher: the range above 1 (0 = same as epsilon)
    beta: float = 0.0                # KL(policy || reference) weight, k3 estimator; 0 keeps no reference
    temperature: float = 1.0         # sampling and the ratio both use softmax(logits / T); no top-k here
    dynamic_sampling: bool = False   # DAPO: replace zero-std groups by fresh prompts
    max_resample_rounds: int = 4     # ... at most this many extra sampling rounds per step
    eval_every: int = 20
    checkpoint_every: int = 50
    log_completions_every: int = 20  # write a few sample completions (0 = never)

    def validate(self):
        require(self.group_size >= 2, f"group_size must be at least 2 (GRPO compares the samples of a "
                                      f"prompt with each other), got {self.group_size}")
        require(self.steps >= 1 and self.prompts_per_step >= 1, "steps and prompts_per_step must be positive")
        require(self.num_iterations >= 1 and self.minibatches >= 1, "num_iterations and minibatches must be positive")
        require(self.minibatches <= self.prompts_per_step * self.group_size, "more minibatches than samples")
        require(self.learning_rate > 0 and self.grad_clip > 0, "learning_rate and grad_clip must be positive")
        require(0 < self.epsilon < 1, "epsilon must be between 0 and 1")
        require(self.epsilon_high >= 0, "epsilon_high must be 0 (same as epsilon) or positive")
        require(self.beta >= 0 and self.weight_decay >= 0, "beta and weight_decay must be 0 or more")
        require(self.temperature > 0, "temperature must be positive (GRPO samples)")
        require(self.max_resample_rounds >= 0, "max_resample_rounds must be 0 or more")
        require(self.eval_every >= 1 and self.checkpoint_every >= 1, "eval_every and checkpoint_every must be positive")
        require(self.log_completions_every >= 0, "log_completions_every must be 0 (never) or positive")


@dataclass
class EvalConfig:
    problems: int = 500              # held-out problems, the same ones at every evaluation
    samples: int = 8                 # temperature-1 samples per problem for pass@k and maj@k (0 = off)
    pass_k: int = 8
    sampled_problems: int = 200      # how many of the problems get samples
    batch_size: int = 512

    def validate(self):
        require(self.problems >= 1 and self.batch_size >= 1, "problems and batch_size must be positive")
        require(self.samples >= 0 and self.sampled_problems >= 0, "samples and sampled_problems must be 0 or more")
        require(self.samples == 0 or 1 <= self.pass_k <= self.samples,
                f"pass_k must be between 1 and samples ({self.samples}), got {self.pass_k}")


@dataclass
class LLMConfig:
    seed: int = 0
    device: str = "cpu"
    torch_threads: int = 0           # 0 = torch's default
    task: TaskConfig = field(default_factory=TaskConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self):
        require(self.torch_threads >= 0, "torch_threads must be 0 (default) or positive")
        task = make_task(self.task)
        longest = task.max_prompt_tokens() + task.max_response_tokens()
        require(self.model.context >= longest,
                f"model.context ({self.model.context}) is shorter than the task's longest prompt and "
                f"response ({longest} tokens)")
