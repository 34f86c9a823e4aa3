"""The configuration of an LLM-mode run (``configs/llm_*.yaml``): task, teacher, model, SFT,
GRPO and evaluation, each a typed section checked on load; cross-section checks here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from selfplay.configio import ConfigError, require
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
    reward: str = "verifier"         # or model:RUN_DIR, a reward model (selfplay llm reward-model): RLHF
    no_eos_score: float | None = None  # the score of a response cut off before its EOS (None: as the reward says)
    format_reward: float = 0.0       # added to the reward of a well-formed response (R1-Zero's format reward)

    def validate(self):
        check_reward_spec(self.reward)
        require(self.format_reward >= 0, f"format_reward must be 0 (none) or positive, got {self.format_reward}")
        require(self.no_eos_score is None or self.no_eos_score <= 0,
                f"no_eos_score must be 0 or negative (a penalty), or null for none, got {self.no_eos_score}")
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
class PPOConfig:
    """PPO with a critic (selfplay/llm/ppo.py), defaults after Huang et al. 2024's RLHF recipe."""
    steps: int = 100                 # rollout batches (each gives epochs * minibatches updates)
    rollout_batch: int = 64          # prompts per batch, one sampled response each
    epochs: int = 4                  # PPO epochs over each rollout batch
    minibatches: int = 4             # per epoch
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    critic: Literal["shared", "separate"] = "shared"  # value head on the policy's trunk, or a second network
    critic_init: str = ""            # separate critic: a reward model to start it from (RUN_DIR or
                                     # checkpoint of `selfplay llm reward-model`; "" = the policy)
    reward: str = "verifier"         # or model:RUN_DIR, a reward model (selfplay llm reward-model): RLHF
    gamma: float = 1.0               # discount over response tokens
    gae_lambda: float = 0.95         # GAE's lambda
    clip_range: float = 0.2          # policy ratio clipped to [1 - c, 1 + c]
    clip_range_value: float = 0.2    # value prediction kept within +-c of the rollout's
    value_coef: float = 0.1          # weight of the value loss
    kl_coef: float = 0.05            # per-token KL penalty to the reference, in the reward
    adaptive_kl: bool = False        # Ziegler et al.'s proportional controller on kl_coef
    kl_target: float = 6.0           # ... KL (per response, summed over tokens) it steers towards
    kl_horizon: int = 10000          # ... samples over which it closes the gap
    no_eos_score: float = -1.0       # the score of a response cut off before its EOS
    whiten_advantages: bool = True
    temperature: float = 1.0         # sampling and the log-probs both use softmax(logits / T)
    eval_every: int = 10
    checkpoint_every: int = 20
    log_completions_every: int = 10  # write a few sample completions (0 = never)

    def validate(self):
        require(self.steps >= 1, f"steps must be positive, got {self.steps}")
        require(self.rollout_batch >= 2, f"rollout_batch must be at least 2 (advantages are whitened over "
                                         f"the batch), got {self.rollout_batch}")
        require(self.epochs >= 1, f"epochs must be positive, got {self.epochs}")
        require(1 <= self.minibatches <= self.rollout_batch,
                f"minibatches must be between 1 and rollout_batch ({self.rollout_batch}), got {self.minibatches}")
        require(self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate}")
        require(self.grad_clip > 0, f"grad_clip must be positive, got {self.grad_clip}")
        require(self.weight_decay >= 0, f"weight_decay must be 0 or more, got {self.weight_decay}")
        check_reward_spec(self.reward)
        require(not self.critic_init or self.critic == "separate",
                "critic_init needs critic: separate (a shared critic is the policy's own value head)")
        require(0 <= self.gamma <= 1, f"gamma must be between 0 and 1, got {self.gamma}")
        require(0 < self.gae_lambda <= 1, f"gae_lambda must be in (0, 1], got {self.gae_lambda}")
        require(0 < self.clip_range < 1, f"clip_range must be between 0 and 1, got {self.clip_range}")
        require(self.clip_range_value > 0, f"clip_range_value must be positive, got {self.clip_range_value}")
        require(self.value_coef > 0, f"value_coef must be positive (the critic must learn), got {self.value_coef}")
        require(self.kl_coef >= 0, f"kl_coef must be 0 or more, got {self.kl_coef}")
        require(not self.adaptive_kl or self.kl_coef > 0,
                "adaptive_kl needs a positive kl_coef to start from (the controller multiplies it)")
        require(self.kl_target > 0, f"kl_target must be positive, got {self.kl_target}")
        require(self.kl_horizon >= 1, f"kl_horizon must be positive, got {self.kl_horizon}")
        require(self.no_eos_score <= 0, f"no_eos_score must be 0 or negative (a penalty), got {self.no_eos_score}")
        require(self.temperature > 0, f"temperature must be positive (PPO samples), got {self.temperature}")
        require(self.eval_every >= 1, f"eval_every must be positive, got {self.eval_every}")
        require(self.checkpoint_every >= 1, f"checkpoint_every must be positive, got {self.checkpoint_every}")
        require(self.log_completions_every >= 0, "log_completions_every must be 0 (never) or positive")


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def require_choices(field: str, noun: str, text: str, allowed: tuple[str, ...]) -> None:
    """``text`` is a non-empty comma-separated list of distinct names from ``allowed``."""
    items = comma_list(text)
    require(items, f"{field} is empty; choose from {', '.join(allowed)}")
    unknown = [item for item in items if item not in allowed]
    require(not unknown, f"{field}: unknown {noun} {unknown[0]!r}; choose from {', '.join(allowed)}" if unknown else "")
    require(len(set(items)) == len(items), f"{field} lists a {noun} twice: {text!r}")


def check_reward_spec(spec: str) -> None:
    """``verifier`` (the task's exact-answer check) or ``model:RUN_DIR`` (a learned reward model)."""
    require(spec == "verifier" or (spec.startswith("model:") and spec[len("model:"):].strip() != ""),
            f"reward must be 'verifier' or 'model:RUN_DIR' (a run of `selfplay llm reward-model`), got {spec!r}")


@dataclass
class AlphaZeroConfig:
    """AlphaZero on tokens (selfplay/llm/alphazero.py): MCTS over the token game writes the
    responses, the policy learns the search's visit distributions and the value head the
    verifier's outcomes."""
    steps: int = 100                 # search-then-learn steps
    problems_per_step: int = 64      # training problems answered by search each step
    simulations: int = 8             # per token
    top_k: int = 0                   # children: the LM head's top K tokens (0 = every legal token)
    c_puct: float = 1.25
    temperature: float = 1.0         # tokens drawn with visits ** (1 / T) while training (0 = most visited)
    epochs: int = 1                  # passes over each step's searched responses
    minibatches: int = 1             # per pass
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    value_weight: float = 1.0        # the value loss's weight beside the policy's cross-entropy
    eval_every: int = 10
    checkpoint_every: int = 20
    log_completions_every: int = 10
    reward: str = "verifier"         # the token game's terminal value: the only reward the search reads

    def validate(self):
        require(self.steps >= 1 and self.problems_per_step >= 1, "steps and problems_per_step must be positive")
        require(self.simulations >= 1, f"simulations must be positive, got {self.simulations}")
        require(self.top_k >= 0, f"top_k must be 0 (every legal token) or positive, got {self.top_k}")
        require(self.c_puct > 0, f"c_puct must be positive, got {self.c_puct}")
        require(self.temperature >= 0, f"temperature must be 0 (most visited) or positive, got {self.temperature}")
        require(self.epochs >= 1 and self.minibatches >= 1, "epochs and minibatches must be positive")
        require(self.minibatches <= self.problems_per_step, "more minibatches than searched responses")
        require(self.learning_rate > 0 and self.grad_clip > 0, "learning_rate and grad_clip must be positive")
        require(self.weight_decay >= 0 and self.value_weight >= 0, "weight_decay and value_weight must be 0 or more")
        require(self.eval_every >= 1 and self.checkpoint_every >= 1, "eval_every and checkpoint_every must be positive")
        require(self.log_completions_every >= 0, "log_completions_every must be 0 (never) or positive")
        require(self.reward == "verifier", f"reward must be 'verifier': the search's terminal value is the token "
                                           f"game's verifier, got {self.reward!r}")


@dataclass
class RewardModelConfig:
    """A reward model from pairwise preferences (selfplay/llm/preferences.py, reward_model.py).
    The simulated labeller's gold score of a response is correctness_weight * verifier -
    brevity_weight * response tokens / the task's longest response."""
    pairs: int = 4000                # labelled pairs, training and held-out together
    heldout_fraction: float = 0.2    # share of the pairs (on prompts of their own) kept for evaluation
    noise: float = 0.0               # the labeller's Bradley-Terry temperature (0 = noiseless)
    correctness_weight: float = 1.0
    brevity_weight: float = 0.1      # the secondary preference: shorter responses (0 = none)
    sample_temperature: float = 1.0  # policy source: temperature of the sampled responses
    normalisation_samples: int = 1000  # reference responses to training prompts; scores get mean 0, std 1
    layers: int = 2
    heads: int = 4
    dim: int = 64
    steps: int = 600
    batch_size: int = 64             # pairs per step
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_every: int = 200
    ensemble: int = 1                # members trained on the same pairs from different initialisations
    ensemble_combine: Literal["mean", "worst", "uncertainty"] = "mean"  # how RL reads an ensemble (rewards.py)
    uncertainty_weight: float = 1.0  # lambda of "uncertainty": mean - lambda * variance of the members

    def validate(self):
        require(1 <= self.ensemble <= 64, f"ensemble must be between 1 and 64 members, got {self.ensemble}")
        require(self.uncertainty_weight >= 0, f"uncertainty_weight must be 0 or more, got {self.uncertainty_weight}")
        require(self.pairs >= 1, f"pairs must be positive (a reward model learns from labelled pairs), got {self.pairs}")
        require(0 < self.heldout_fraction < 1, f"heldout_fraction must be between 0 and 1, got {self.heldout_fraction}")
        require(round(self.pairs * self.heldout_fraction) >= 1 and round(self.pairs * self.heldout_fraction) < self.pairs,
                f"pairs ({self.pairs}) x heldout_fraction ({self.heldout_fraction}) must leave at least one "
                f"training and one held-out pair")
        require(self.noise >= 0, f"noise must be 0 (noiseless) or positive, got {self.noise}")
        require(self.correctness_weight >= 0 and self.brevity_weight >= 0,
                "correctness_weight and brevity_weight must be 0 or more")
        require(self.correctness_weight + self.brevity_weight > 0,
                "correctness_weight and brevity_weight are both 0: the labeller would prefer nothing")
        require(self.sample_temperature > 0, f"sample_temperature must be positive, got {self.sample_temperature}")
        require(self.normalisation_samples >= 2, f"normalisation_samples must be at least 2 (a std), "
                                                 f"got {self.normalisation_samples}")
        require(self.layers >= 1 and self.heads >= 1, "layers and heads must be positive")
        require(self.dim >= 1 and self.dim % self.heads == 0,
                f"dim ({self.dim}) must be a positive multiple of heads ({self.heads})")
        require(self.steps >= 1 and self.batch_size >= 1, "steps and batch_size must be positive")
        require(self.learning_rate > 0 and self.grad_clip > 0, "learning_rate and grad_clip must be positive")
        require(self.weight_decay >= 0, "weight_decay must be 0 or more")
        require(self.eval_every >= 1, "eval_every must be positive")


@dataclass
class OveroptimizationConfig:
    """Reward hacking made visible (selfplay/llm/overoptimization.py): RL against a proxy reward
    model, and best-of-n against it, with the labeller's gold score measured beside the proxy."""
    algorithm: Literal["grpo", "ppo"] = "grpo"  # the RL that optimises the proxy (its section's other options apply)
    proxy: str = ""                  # RUN_DIR with an SFT checkpoint and a reward model ("" = this run, built when missing)
    steps: int = 200                 # RL steps (replaces the algorithm section's steps)
    eval_every: int = 10             # RL steps between measurements (the section's own eval_every: its eval.csv)
    best_of_n: int = 64              # the largest n of best-of-n, a power of 2 (n = 1, 2, 4, ..., best_of_n)
    problems: int = 200              # held-out prompts of each measurement (at most eval.problems: the first of them)

    def validate(self):
        require(self.algorithm in ("grpo", "ppo"), f"algorithm must be 'grpo' or 'ppo', got {self.algorithm!r}")
        require(self.steps >= 1, f"steps must be positive, got {self.steps}")
        require(self.eval_every >= 1, f"eval_every must be positive, got {self.eval_every}")
        require(self.best_of_n >= 1 and self.best_of_n & (self.best_of_n - 1) == 0,
                f"best_of_n must be a power of 2 (n runs over 1, 2, 4, ..., best_of_n), got {self.best_of_n}")
        require(self.problems >= 1, f"problems must be positive, got {self.problems}")


@dataclass
class R1ZeroConfig:
    """``selfplay llm r1zero`` (selfplay/llm/r1zero.py): a base stage on answer-free texts of the
    task's format (the sft section's optimiser settings, value head off), then GRPO (the grpo
    section; grpo.steps is the RL budget over all curriculum levels)."""
    base_steps: int = 1000           # next-token steps of the base stage
    base_examples: int = 20000       # answer-free texts, drawn once
    base_scratchpad_share: float = 0.5  # share of them with a random scratchpad (needs task.scratchpad)
    curriculum: bool = True          # GRPO on 1-digit problems first, then 2, ..., task.max_digits
    curriculum_threshold: float = 0.8  # move on when the training accuracy over the window reaches this
    curriculum_window: int = 10      # ... the last this many steps at the level
    steps_per_level: int = 0         # ... or after this many steps at a level, whatever the accuracy (0 = no cap)

    def validate(self):
        require(self.base_steps >= 1, f"r1zero.base_steps must be positive, got {self.base_steps}")
        require(self.base_examples >= 1, f"r1zero.base_examples must be positive, got {self.base_examples}")
        require(0 <= self.base_scratchpad_share <= 1,
                f"r1zero.base_scratchpad_share must be between 0 and 1, got {self.base_scratchpad_share}")
        require(0 < self.curriculum_threshold <= 1,
                f"r1zero.curriculum_threshold must be in (0, 1] (a training accuracy), got {self.curriculum_threshold}")
        require(self.curriculum_window >= 1, f"r1zero.curriculum_window must be positive, got {self.curriculum_window}")
        require(self.steps_per_level >= 0,
                f"r1zero.steps_per_level must be 0 (no cap) or positive, got {self.steps_per_level}")


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


COMPARE_METHODS = ("ppo", "grpo", "dr_grpo")  # PPO with its critic, GRPO, Dr. GRPO (grpo.loss_type)


@dataclass
class CompareConfig:
    """``selfplay llm compare`` (selfplay/llm/compare.py): every method and seed gets the same
    budget, ``steps`` steps of ``responses_per_step`` sampled responses each, evaluated every
    ``eval_every`` steps. ``methods`` and ``seeds`` are comma-separated lists (quote one seed: "0")."""
    methods: str = "ppo,grpo,dr_grpo"
    seeds: str = "0,1,2"
    steps: int = 100
    eval_every: int = 10
    responses_per_step: int = 0      # 0 = grpo.prompts_per_step x grpo.group_size

    def method_list(self) -> list[str]:
        return comma_list(self.methods)

    def seed_list(self) -> list[int]:
        return [int(s) for s in self.seeds.split(",") if s.strip()]

    def validate(self):
        require_choices("methods", "method", self.methods, COMPARE_METHODS)
        try:
            seeds = self.seed_list()
        except ValueError:
            raise ConfigError(f"seeds must be comma-separated integers such as \"0,1,2\", got {self.seeds!r}") from None
        require(seeds, "seeds is empty: name at least one seed, such as \"0,1,2\"")
        require(len(set(seeds)) == len(seeds) and min(seeds) >= 0,
                f"seeds must be distinct integers, 0 or more, got {self.seeds!r}")
        require(self.steps >= 1, f"steps must be positive, got {self.steps}")
        require(self.eval_every >= 1, f"eval_every must be positive, got {self.eval_every}")
        require(self.responses_per_step >= 0, f"responses_per_step must be 0 (grpo.prompts_per_step x "
                                              f"grpo.group_size) or positive, got {self.responses_per_step}")


DISTILL_MODES = ("shown", "hidden")  # the students: the teacher's whole responses, or its answers alone


@dataclass
class DistillConfig:
    """``selfplay llm distill`` (selfplay/llm/distill.py): an RL policy answers ``demonstrations``
    training problems at ``temperature`` (0 = greedy), the verifier-correct answers are kept
    (``filter_correct``), and a fresh student per mode learns them by SFT (the sft section)."""
    demonstrations: int = 20000
    temperature: float = 1.0
    filter_correct: bool = True      # rejection sampling: keep only responses the verifier accepts
    modes: str = "shown,hidden"      # shown: scratchpad and answer; hidden: the answer alone

    def mode_list(self) -> list[str]:
        return comma_list(self.modes)

    def validate(self):
        require(self.demonstrations >= 1, f"demonstrations must be 1 or more, got {self.demonstrations}")
        require(self.temperature >= 0, f"temperature must be 0 (greedy) or positive, got {self.temperature}")
        require_choices("modes", "mode", self.modes, DISTILL_MODES)


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
    ppo: PPOConfig = field(default_factory=PPOConfig)
    alphazero: AlphaZeroConfig = field(default_factory=AlphaZeroConfig)
    reward_model: RewardModelConfig = field(default_factory=RewardModelConfig)
    overoptimization: OveroptimizationConfig = field(default_factory=OveroptimizationConfig)
    compare: CompareConfig = field(default_factory=CompareConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    r1zero: R1ZeroConfig = field(default_factory=R1ZeroConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def validate(self):
        require(self.seed >= 0, f"seed must be 0 or more, got {self.seed}")
        require(self.torch_threads >= 0, "torch_threads must be 0 (default) or positive")
        task = make_task(self.task)
        longest = task.max_prompt_tokens() + task.max_response_tokens()
        require(self.model.context >= longest,
                f"model.context ({self.model.context}) is shorter than the task's longest prompt and "
                f"response ({longest} tokens)")
