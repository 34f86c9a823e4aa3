"""Test-time compute (``selfplay llm solve``): the same policy answers held-out problems with
different decoding strategies, and each is reported as its accuracy (with a 95% Wilson interval
over problems) beside what it cost in model calls, so that spending more compute at inference
(more samples, a ranker, a vote, a search) can be weighed against what it buys.

Strategies (``--search SPEC``; the grammar is GRAMMAR):

    greedy                          the most likely token at every step
    sample[:n=N]                    pass@1: the mean correctness of N temperature-1 samples (N = 1)
    best-of:n=N,by=RANKER           N samples, the one the ranker scores highest answers (ties: the
                                    first sampled); RANKER is verifier (the oracle: correct iff any
                                    sample is, pass@N), value (the policy's own value head at the
                                    response's last token) or reward-model (--reward-model RUN_DIR)
    majority:n=N                    the most frequent well-formed final answer of N samples (first
                                    seen wins a tie; malformed answers do not vote)
    mcts:sims=N[,top_k=K,c_puct=C]  the board games' MCTS over the token game (selfplay/llm/search.py):
                                    N simulations per token, the LM head's priors (its top K
                                    tokens), the value head at the leaves and the verifier at
                                    finished responses: like best-of by verifier, it consults the
                                    oracle during the search

Samples are drawn once per invocation and shared: every strategy that needs n samples reads the
first n of one bank, so strategies are compared on the same responses. The value head is read
where it was trained to see the whole response: at its last token before EOS (SFT and PPO train
values at the positions whose next token is in the response, so never at the EOS itself).

Model calls count token positions a network processes, as if every network kept a KV cache: a
sequence costs its length once per network that reads it. A sampled (or greedy) response costs
prompt tokens (BOS and SEP included) + response tokens generated (EOS included, though the
sampler never feeds it back: one length for a sequence, sampled or re-read; none after it).
Re-ranking by the value head or by a reward model re-reads each whole sequence once per network
(a reward-model ensemble of K members reads it K times): + (prompt + response) per ranked
sample. The verifier is not a model and costs nothing; voting costs nothing. MCTS reads a
problem's prompt once and one position per leaf it evaluates (search.TokenEvaluator). The
report gives the mean per problem.

Verifier checks count the oracle's use: the distinct finished responses whose verdict a strategy
read before it answered (best-of by verifier: its distinct samples; MCTS: the distinct finished
responses its search reached, whose terminal value is the verifier's). The rest read none.

A strategy is a function (policy, setting, problems, options, generator) -> Outcome (correctness,
model calls and verifier checks, each [P]), registered in STRATEGIES; ``options`` holds the spec's options and, under
BANK and SCORER, the shared samples and the reward model (or None).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from pathlib import Path

import numpy as np
import torch

from games.tokens import TokenGame
from selfplay.configio import ConfigError, load_config
from selfplay.errors import UserError
from selfplay.llm.config import LLMConfig
from selfplay.llm.evaluation import complete_ids, majority_correct, with_interval
from selfplay.llm.model import TokenPolicyValueModel
from selfplay.llm.reward_model import encode, read_scores
from selfplay.llm.rewards import Scorer
from selfplay.llm.run import Setting, load_start, start_policy
from selfplay.llm.search import TokenEvaluator, mcts_decode, search_config
from selfplay.llm.tasks import Problem, extract_answer
from selfplay.rating.plots import save_figure
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import RunDir, load_run_config

GRAMMAR = ("greedy | sample[:n=N] | best-of:n=N,by=verifier|value|reward-model | majority:n=N | "
           "mcts:sims=N[,KEY=VALUE...]")
RANKERS = ("verifier", "value", "reward-model")
POLICY_PHASES = ("grpo", "ppo", "sft")  # a run directory's policy: its newest checkpoint of the first found
BANK, SCORER = "bank", "scorer"         # the reserved options a strategy receives besides its spec's
REQUIRED = object()
_NAME = re.compile(r"[a-z][a-z0-9_-]*")


# ---- the spec ----------------------------------------------------------------------------------
def positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text) or int(text) < 1:
        raise ValueError("a positive integer")
    return int(text)


def ranker(text: str) -> str:
    if text not in RANKERS:
        raise ValueError(" or ".join(RANKERS))
    return text


def loose_value(text: str):
    """An option the strategy itself will check: an int, a float, or the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# name -> {option: (parser, default or REQUIRED)}
OPTIONS: dict[str, dict[str, tuple[Callable[[str], object], object]]] = {
    "greedy": {},
    "sample": {"n": (positive_int, 1)},
    "best-of": {"n": (positive_int, REQUIRED), "by": (ranker, REQUIRED)},
    "majority": {"n": (positive_int, REQUIRED)},
    "mcts": {"sims": (positive_int, REQUIRED)},
}
OPEN_OPTIONS = {"mcts"}  # strategies whose further KEY=VALUE options pass through to the strategy


@dataclass(frozen=True)
class Strategy:
    name: str
    options: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name + (":" + ",".join(f"{k}={v}" for k, v in self.options.items()) if self.options else "")


def parse_spec(spec: str) -> Strategy:
    """``NAME[:KEY=VALUE,...]`` checked against OPTIONS; ConfigError naming the spec otherwise."""
    def fail(problem: str):
        raise ConfigError(f"--search {spec!r}: {problem} (grammar: {GRAMMAR})")

    name, colon, rest = spec.strip().partition(":")
    if name not in OPTIONS:
        fail(f"unknown strategy {name!r}; choose one of {', '.join(OPTIONS)}")
    if colon and not rest.strip():
        fail("nothing after ':'")
    schema, options = OPTIONS[name], {}
    for item in rest.split(",") if rest.strip() else []:
        key, eq, value = (part.strip() for part in item.partition("="))
        if not eq or not _NAME.fullmatch(key) or not value:
            fail(f"{item!r} is not KEY=VALUE")
        if key in options:
            fail(f"option {key!r} given twice")
        if key not in schema:
            if name not in OPEN_OPTIONS:
                known = ", ".join(schema) or "none"
                fail(f"{name} has no option {key!r} (its options: {known})")
            options[key] = loose_value(value)
            continue
        try:
            options[key] = schema[key][0](value)
        except ValueError as e:
            fail(f"{key}={value!r} is not {e}")
    for key, (_, default) in schema.items():
        if key not in options:
            if default is REQUIRED:
                fail(f"{name} needs {key}=...")
            options[key] = default
    ordered = {key: options[key] for key in schema} | {k: v for k, v in options.items() if k not in schema}
    return Strategy(name, ordered)


def needs_reward_model(strategy: Strategy) -> bool:
    return strategy.name == "best-of" and strategy.options["by"] == "reward-model"


# ---- samples and their cost ----------------------------------------------------------------------
def sequence_tokens(prompt_tokens: int, response_ids: list[int], eos_id: int) -> int:
    """Prompt + response tokens generated: up to and including the first EOS (all of them when
    the response was cut off without one)."""
    generated = response_ids.index(eos_id) + 1 if eos_id in response_ids else len(response_ids)
    return prompt_tokens + generated


def prompt_tokens(setting: Setting, problem: Problem) -> int:
    return len(setting.tokenizer.prompt_ids(setting.task.prompt(problem)))


@dataclass
class Samples:
    """Responses to each of P problems, n each: texts [P][n] (ending in <eos> when finished),
    the verifier's correctness [P, n] and each sequence's tokens, prompt + response [P, n]."""
    texts: list[list[str]]
    correct: np.ndarray
    tokens: np.ndarray

    @property
    def n(self) -> int:
        return self.correct.shape[1]

    def first(self, n: int) -> Samples:
        return Samples([row[:n] for row in self.texts], self.correct[:, :n], self.tokens[:, :n])

    def extended(self, more: Samples) -> Samples:
        return Samples([a + b for a, b in zip(self.texts, more.texts)], np.concatenate([self.correct, more.correct], 1),
                       np.concatenate([self.tokens, more.tokens], 1))


def respond(policy: TokenPolicyValueModel, setting: Setting, problems: list[Problem], n: int, temperature: float,
            generator: torch.Generator | None) -> Samples:
    """n responses to each problem at ``temperature`` (0: greedy, then n should be 1)."""
    s, tok = setting, setting.tokenizer
    repeated = [p for p in problems for _ in range(n)]
    ids = complete_ids(policy, s.task, tok, repeated, temperature, s.config.eval.batch_size, generator)
    texts = [tok.response_text(row) for row in ids]
    correct = [s.task.reward_ids(p, row, tok) for p, row in zip(repeated, ids)]
    tokens = [sequence_tokens(prompt_tokens(s, p), row, tok.eos_id) for p, row in zip(repeated, ids)]
    return Samples([texts[i * n:(i + 1) * n] for i in range(len(problems))],
                   np.array(correct, dtype=np.float64).reshape(len(problems), n),
                   np.array(tokens, dtype=np.float64).reshape(len(problems), n))


class SampleBank:
    """Temperature-1 samples of one policy on one problem set, drawn as needed and shared: a
    strategy asking for n reads the first n, drawing only those not drawn yet."""

    def __init__(self, policy: TokenPolicyValueModel, setting: Setting, problems: list[Problem],
                 generator: torch.Generator | None):
        self.policy, self.setting, self.problems, self.generator = policy, setting, problems, generator
        self.drawn: Samples | None = None

    def samples(self, n: int) -> Samples:
        have = 0 if self.drawn is None else self.drawn.n
        if have < n:
            more = respond(self.policy, self.setting, self.problems, n - have, 1.0, self.generator)
            self.drawn = more if self.drawn is None else self.drawn.extended(more)
        return self.drawn.first(n)


def samples_for(policy, setting: Setting, problems: list[Problem], n: int, options: dict,
                generator: torch.Generator | None) -> Samples:
    bank = options.get(BANK)
    if bank is None:
        return respond(policy, setting, problems, n, 1.0, generator)
    return bank.samples(n)


def sampling_calls(tokens: np.ndarray) -> np.ndarray:
    """Model calls per problem [P] to sample sequences of ``tokens`` [P, n] tokens."""
    return tokens.sum(axis=1)


def best_of_calls(tokens: np.ndarray, rereads: int) -> np.ndarray:
    """Sampling, then ``rereads`` networks reading every whole sequence once."""
    return sampling_calls(tokens) * (1 + rereads)


# ---- choosing among samples (pure) -----------------------------------------------------------------
def pick_best(scores: np.ndarray) -> np.ndarray:
    """The index [P] of each row's highest score [P, n]; a tie goes to the first sampled."""
    return np.argmax(scores, axis=1)


def best_of_correct(correct: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The correctness [P] of each problem's highest-scored sample (``correct``, ``scores`` [P, n]).
    Ranked by ``correct`` itself (the verifier) it is 1 iff any sample is correct."""
    return correct[np.arange(len(correct)), pick_best(scores)]


def majority_correctness(texts: list[list[str]], truths: list[str]) -> np.ndarray:
    """maj@n [P]: whether the most frequent well-formed answer of each problem's texts is right."""
    return np.array([float(majority_correct([extract_answer(t) for t in row], truth))
                     for row, truth in zip(texts, truths)])


# ---- rankers (models) -------------------------------------------------------------------------------
@torch.no_grad()
def value_scores(policy: TokenPolicyValueModel, setting: Setting, problems: list[Problem],
                 texts: list[str]) -> torch.Tensor:
    """The policy's value head [N] read at each response's last token before its EOS (the
    last one of a response cut off without EOS)."""
    policy.eval()
    out, batch = [], setting.config.eval.batch_size
    for start in range(0, len(texts), batch):
        chunk = texts[start:start + batch]
        tokens, last = encode(setting, problems[start:start + batch], chunk)
        last = last - torch.tensor([t.endswith("<eos>") for t in chunk], dtype=torch.long)
        out.append(read_scores(policy, tokens.to(setting.device), last).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def rank_scores(by: str, policy, setting: Setting, problems: list[Problem], samples: Samples,
                scorer: Scorer | None) -> tuple[np.ndarray, int]:
    """Scores [P, n] of the samples by ``by``, and how many networks re-read each sequence."""
    if by == "verifier":
        return samples.correct, 0
    repeated = [p for p in problems for _ in range(samples.n)]
    flat = [t for row in samples.texts for t in row]
    if by == "value":
        scores = value_scores(policy, setting, repeated, flat)
        rereads = 1
    else:
        if scorer is None or not scorer.is_model:
            raise ConfigError("best-of by=reward-model needs --reward-model RUN_DIR (a run of `selfplay llm reward-model`)")
        scores = scorer(repeated, flat)
        rereads = len(scorer.models)
    return scores.double().numpy().reshape(len(problems), samples.n), rereads


# ---- the strategies ------------------------------------------------------------------------------
class Outcome(NamedTuple):
    """Per problem [P]: correctness, model calls, and verifier checks (distinct finished
    responses whose verdict the strategy read before answering: the oracle's use)."""
    correct: np.ndarray
    calls: np.ndarray
    verifier_checks: np.ndarray


def no_checks(problems: list[Problem]) -> np.ndarray:
    return np.zeros(len(problems))


def greedy(policy, setting, problems, options, generator):
    out = respond(policy, setting, problems, 1, 0.0, None)
    return Outcome(out.correct[:, 0], out.tokens[:, 0], no_checks(problems))


def sample(policy, setting, problems, options, generator):
    out = samples_for(policy, setting, problems, options["n"], options, generator)
    return Outcome(out.correct.mean(axis=1), sampling_calls(out.tokens), no_checks(problems))


def best_of(policy, setting, problems, options, generator):
    out = samples_for(policy, setting, problems, options["n"], options, generator)
    scores, rereads = rank_scores(options["by"], policy, setting, problems, out, options.get(SCORER))
    checks = np.array([len(set(row)) for row in out.texts], dtype=np.float64) if options["by"] == "verifier" \
        else no_checks(problems)
    return Outcome(best_of_correct(out.correct, scores), best_of_calls(out.tokens, rereads), checks)


def majority(policy, setting, problems, options, generator):
    out = samples_for(policy, setting, problems, options["n"], options, generator)
    return Outcome(majority_correctness(out.texts, [setting.task.answer(p) for p in problems]),
                   sampling_calls(out.tokens), no_checks(problems))


def mcts(policy, setting, problems, options, generator):
    game = TokenGame(setting.task.name, setting.config.task.max_digits, setting.config.task.scratchpad)
    for key in options:
        if key not in ("sims", "top_k", "c_puct", BANK, SCORER):
            raise ConfigError(f"mcts has no option {key!r} (its options: sims, top_k, c_puct)")
    top_k, c_puct = options.get("top_k", 0), options.get("c_puct", 1.25)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ConfigError(f"mcts top_k must be 0 (every legal token) or a positive integer, got {top_k!r}")
    if not isinstance(c_puct, (int, float)) or c_puct <= 0:
        raise ConfigError(f"mcts c_puct must be a positive number, got {c_puct!r}")
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item()) if generator is not None else 0
    evaluator = TokenEvaluator(policy, game, top_k=top_k, trees=len(problems))
    checked: list[set[str]] = [set() for _ in problems]
    finished = mcts_decode(game, [game.start(p) for p in problems], evaluator, options["sims"],
                           search_config(options["sims"], c_puct=float(c_puct), seed=seed), checked)
    return Outcome(np.array([game.terminal_value(state) for state in finished]), evaluator.calls.astype(np.float64),
                   np.array([len(c) for c in checked], dtype=np.float64))


StrategyFunction = Callable[..., Outcome]
STRATEGIES: dict[str, StrategyFunction] = {
    "greedy": greedy, "sample": sample, "best-of": best_of, "majority": majority, "mcts": mcts,
}


def solve(policy: TokenPolicyValueModel, setting: Setting, problems: list[Problem], strategies: list[Strategy],
          seed: int, scorer: Scorer | None = None) -> list[dict]:
    """One row per strategy: accuracy with its Wilson interval over problems, problems, mean
    model calls per problem, and the seed of the shared samples."""
    policy.eval()
    generator = torch.Generator(device=setting.device).manual_seed(seed)
    bank = SampleBank(policy, setting, problems, generator)
    rows = []
    for strategy in strategies:
        options = {**strategy.options, BANK: bank, SCORER: scorer}
        correct, calls, checks = STRATEGIES[strategy.name](policy, setting, problems, options, generator)
        rows.append({"strategy": str(strategy), **with_interval("accuracy", [float(c) for c in correct]),
                     "problems": len(problems), "model_calls": float(np.mean(calls)),
                     "verifier_checks": float(np.mean(checks)), "seed": seed})
    return rows


# ---- test-time compute: the figure ---------------------------------------------------------------
def family(strategy: str) -> str:
    """The line a row belongs to: its strategy without the amount of compute (n, sims)."""
    parsed = parse_spec(strategy)
    rest = {k: v for k, v in parsed.options.items() if k not in ("n", "sims")}
    return parsed.name + "".join(f" {k}={v}" for k, v in rest.items())


def plot_rows(rows: list[dict], path_stem: str | Path, title: str) -> list[Path]:
    """Accuracy (95% intervals) against model calls per problem, log scale, a line per family
    of strategies (greedy a single point); PNG and SVG at ``path_stem``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5.5), dpi=120)
    FigureCanvasAgg(fig)
    axis = fig.subplots()
    draw_rows(axis, rows)
    axis.set_title(title)
    fig.tight_layout()
    path_stem = Path(path_stem)
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path_stem.parent, path_stem.name)


def draw_rows(axis, rows: list[dict]) -> None:
    """The rows of ``solve`` on a matplotlib axis: a line per family, model calls on a log scale."""
    from matplotlib.ticker import NullFormatter
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(family(row["strategy"]), []).append(row)
    for name, members in groups.items():
        members = sorted(members, key=lambda r: r["model_calls"])
        x = [r["model_calls"] for r in members]
        y = [r["accuracy"] for r in members]
        errors = [[r["accuracy"] - r["accuracy_low"] for r in members], [r["accuracy_high"] - r["accuracy"] for r in members]]
        axis.errorbar(x, y, yerr=errors, marker="o", markersize=4, capsize=3, label=name)
    axis.set_xscale("log")
    axis.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a narrow log range overlap
    axis.set_xlabel("model calls per problem (token positions read, as with a KV cache)")
    axis.set_ylabel("held-out accuracy (95% Wilson intervals)")
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="lower right")


# ---- the policy --------------------------------------------------------------------------------
def policy_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory's newest checkpoint of its grpo, else ppo, else sft phase."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise UserError(f"--init {path} does not exist (a checkpoint file or a run directory)")
    for phase in POLICY_PHASES:
        found = list_checkpoints(RunDir(path).phase_checkpoints(phase))
        if found:
            return found[-1][1]
    raise UserError(f"no policy checkpoint in {path} (none of {', '.join(POLICY_PHASES)}/step-N.pt); "
                    f"run `selfplay llm sft` first or pass --init CHECKPOINT")


def load_policy(setting: Setting, checkpoint: Path) -> TokenPolicyValueModel:
    policy = start_policy(setting, load_start(setting, checkpoint), checkpoint)
    return policy.eval().requires_grad_(False)


def run_dir_of_checkpoint(checkpoint: Path) -> Path:
    """RUN for RUN/PHASE/step-N.pt."""
    return checkpoint.parent.parent


def read_config(config_or_run: str | None, init: str | None, overrides: list[str]) -> LLMConfig:
    """The config: a file, or a run directory's config.yaml (CONFIG_OR_RUN's, else --init's: the
    run directory itself, or the one its checkpoint file lies in), with the overrides applied."""
    if config_or_run is not None:
        path = Path(config_or_run)
        return load_run_config(LLMConfig, path, overrides) if path.is_dir() else load_config(LLMConfig, path, overrides)
    if init is not None:
        path = Path(init)
        run = path if path.is_dir() else run_dir_of_checkpoint(path)
        if RunDir(run).config.is_file():
            return load_run_config(LLMConfig, run, overrides)
    raise UserError("name a config file or a run directory (its config.yaml gives the task), "
                    "or --init a run directory")


def default_init(config_or_run: str | None, init: str | None) -> str:
    """--init, else CONFIG_OR_RUN when it is a run directory."""
    if init is not None:
        return init
    if config_or_run is not None and Path(config_or_run).is_dir():
        return config_or_run
    raise UserError("--init CHECKPOINT|RUN_DIR names the policy (or give a run directory instead of a config)")
