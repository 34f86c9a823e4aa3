import json
from pathlib import Path

import numpy as np
import pytest
import torch

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.errors import UserError
from selfplay.llm.config import LLMConfig
from selfplay.llm.model import ModelConfig, TokenPolicyValueModel
from selfplay.llm.run import Setting
from selfplay.llm.sampling import right_pad
from selfplay.llm.solve import family as solve_family
from selfplay.llm.solve import (
    BANK,
    SCORER,
    STRATEGIES,
    Samples,
    Strategy,
    best_of,
    best_of_calls,
    best_of_correct,
    greedy,
    majority,
    majority_correctness,
    parse_spec,
    pick_best,
    policy_checkpoint,
    sample,
    sampling_calls,
    sequence_tokens,
    value_scores,
)

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")


@pytest.fixture(scope="module")
def setting() -> Setting:
    return Setting.build(load_config(LLMConfig, SMOKE, ["eval.problems=4"]))


def tiny_model(setting: Setting, seed: int = 0) -> TokenPolicyValueModel:
    torch.manual_seed(seed)
    return TokenPolicyValueModel(setting.tokenizer.vocab_size, ModelConfig(layers=1, heads=2, dim=16, context=20))


# ---- the spec --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, name, options", [
    ("greedy", "greedy", {}),
    ("sample", "sample", {"n": 1}),
    ("sample:n=8", "sample", {"n": 8}),
    ("best-of:n=4,by=verifier", "best-of", {"n": 4, "by": "verifier"}),
    ("best-of:by=value,n=16", "best-of", {"n": 16, "by": "value"}),
    ("best-of:n=2,by=reward-model", "best-of", {"n": 2, "by": "reward-model"}),
    ("majority:n=5", "majority", {"n": 5}),
    ("mcts:sims=32", "mcts", {"sims": 32}),
    ("mcts:sims=32,c_puct=1.5,mode=x", "mcts", {"sims": 32, "c_puct": 1.5, "mode": "x"}),
])
def test_specs_parse(spec, name, options):
    strategy = parse_spec(spec)
    assert strategy == Strategy(name, options)
    assert strategy.name in STRATEGIES
    assert parse_spec(str(strategy)) == strategy  # the canonical form reads back


@pytest.mark.parametrize("spec, problem", [
    ("best-of:n=0,by=value", "n='0' is not a positive integer"),
    ("best-of:n=4,by=oracle", "by='oracle' is not verifier or value or reward-model"),
    ("best-of:n=4", "best-of needs by="),
    ("majority", "majority needs n="),
    ("sample:n=x", "n='x' is not a positive integer"),
    ("sample:", "nothing after ':'"),
    ("sample:n=2,n=3", "option 'n' given twice"),
    ("sample:k=2", "sample has no option 'k'"),
    ("greedy:n=2", "greedy has no option 'n'"),
    ("majority:n", "'n' is not KEY=VALUE"),
    ("mcts", "mcts needs sims="),
    ("foo", "unknown strategy 'foo'"),
])
def test_malformed_specs_name_the_problem(spec, problem):
    with pytest.raises(ConfigError) as error:
        parse_spec(spec)
    message = str(error.value)
    assert repr(spec) in message and problem in message and "grammar:" in message


# ---- choosing among fixed samples --------------------------------------------------------------------
def test_best_of_by_hand():
    correct = np.array([[0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=float)
    # the verifier ranks by correctness itself: correct iff any sample is (pass@n)
    assert best_of_correct(correct, correct).tolist() == [1, 0, 1, 1]
    scores = np.array([[0.5, 0.2, 0.9],    # argmax is the wrong third
                       [0.1, 0.1, 0.1],    # all tie: the first
                       [0.3, 0.7, 0.7],    # the second and third tie: the second (right)
                       [-1.0, -2.0, -0.5]])
    assert pick_best(scores).tolist() == [2, 0, 1, 2]
    assert best_of_correct(correct, scores).tolist() == [0, 0, 1, 1]


def test_majority_by_hand():
    texts = [["<ans>46<eos>", "<ans>47<eos>", "1,<ans>47<eos>"],        # 47 twice: wrong
             ["<ans>46<eos>", "<ans>47<eos>"],                          # one each: the first seen, right
             ["<ans>47", "<ans><eos>", "<ans>4<pad>6<eos>", "<ans>46<eos>"],  # only the last is well formed
             ["<ans>47", "bad"],                                         # nobody votes: wrong
             ["<ans>47<eos>", "<ans>46<eos>", "<ans>46<eos>", "<ans>47<eos>", "<ans>5<eos>"]]  # tie 2-2: 47 first
    assert majority_correctness(texts, ["46"] * 5).tolist() == [0, 1, 1, 0, 0]


# ---- model calls --------------------------------------------------------------------------------------
def test_sequence_tokens_stop_at_eos(setting):
    eos, pad = setting.tokenizer.eos_id, setting.tokenizer.pad_id
    assert sequence_tokens(7, [10, 11, eos, pad, pad], eos) == 10
    assert sequence_tokens(7, [eos, pad, pad], eos) == 8
    assert sequence_tokens(7, [10, 11, 12, 13], eos) == 11  # cut off: every token generated


def test_call_formulas_by_hand():
    tokens = np.array([[10, 12], [9, 9]], dtype=float)
    assert sampling_calls(tokens).tolist() == [22, 18]
    assert best_of_calls(tokens, 0).tolist() == [22, 18]   # the verifier is free
    assert best_of_calls(tokens, 1).tolist() == [44, 36]   # the value head re-reads each sequence
    assert best_of_calls(tokens, 3).tolist() == [88, 72]   # three reward models each re-read it


class FixedBank:
    def __init__(self, samples: Samples):
        self.fixed = samples

    def samples(self, n):
        return self.fixed.first(n)


class FixedScorer:
    """Two reward-model members whose combined score is fixed."""
    is_model = True

    def __init__(self, scores):
        self.models, self.scores = [object(), object()], torch.tensor(scores, dtype=torch.float32)

    def __call__(self, problems, texts):
        assert len(texts) == len(self.scores)
        return self.scores


def test_strategies_on_fixed_samples_count_calls_by_hand(setting):
    problems = [(12, 34), (50, 50)]                       # 46, 100; prompts of 7 tokens each
    texts = [["<ans>47<eos>", "<ans>46<eos>", "<ans>46<eos>"],
             ["<ans>100<eos>", "<ans>10<eos>", "<ans>10<eos>"]]
    correct = np.array([[0, 1, 1], [1, 0, 0]], dtype=float)
    tokens = np.array([[7 + 4, 7 + 4, 7 + 4], [7 + 5, 7 + 4, 7 + 4]], dtype=float)
    bank = FixedBank(Samples(texts, correct, tokens))
    policy = tiny_model(setting)
    options = {BANK: bank, SCORER: FixedScorer([0.0, 0.0, 1.0, 0.0, 2.0, 2.0])}

    def run(strategy, **spec):
        return strategy(policy, setting, problems, {**spec, **options}, None)

    accuracy, calls, checks = run(sample, n=3)
    assert accuracy.tolist() == pytest.approx([2 / 3, 1 / 3]) and calls.tolist() == [33, 34]
    accuracy, calls, checks = run(majority, n=3)
    assert accuracy.tolist() == [1, 0] and calls.tolist() == [33, 34]
    accuracy, calls, checks = run(best_of, n=2, by="verifier")
    assert accuracy.tolist() == [1, 1] and calls.tolist() == [22, 23]
    assert checks.tolist() == [2, 2]  # the oracle read two distinct responses of each problem
    assert run(best_of, n=3, by="verifier").verifier_checks.tolist() == [2, 2]  # a repeated text is one check
    assert run(majority, n=3).verifier_checks.tolist() == [0, 0]
    accuracy, calls, checks = run(best_of, n=3, by="reward-model")
    assert accuracy.tolist() == [1, 0] and calls.tolist() == [33 * 3, 34 * 3]   # argmax: the third; the second (first of a tie)
    accuracy, calls, checks = run(best_of, n=3, by="value")
    assert calls.tolist() == [66, 68]
    with pytest.raises(ConfigError, match="--reward-model"):
        best_of(policy, setting, problems, {"n": 3, "by": "reward-model", BANK: bank, SCORER: None}, None)
    with pytest.raises(ConfigError, match="mcts has no option 'mode'"):
        STRATEGIES["mcts"](policy, setting, problems, {"sims": 8, "mode": "x", **options}, None)
    with pytest.raises(ConfigError, match="top_k must be 0"):
        STRATEGIES["mcts"](policy, setting, problems, {"sims": 8, "top_k": -1, **options}, None)


def test_greedy_counts_the_prompt_and_the_response_up_to_eos(setting):
    policy = tiny_model(setting)
    with torch.no_grad():
        for p in policy.parameters():
            p.zero_()  # every logit equal: greedy picks the first legal token, EOS (PAD and BOS are masked)
    accuracy, calls, checks = greedy(policy, setting, [(12, 34), (5, 99)], {}, None)
    assert accuracy.tolist() == [0, 0]
    assert calls.tolist() == [7 + 1, 6 + 1]  # <bos>12+34<sep> <eos>; <bos>5+99<sep> <eos>


# ---- the value head --------------------------------------------------------------------------------------
def test_value_scores_read_the_value_head_at_the_last_token_before_eos(setting):
    policy = tiny_model(setting, seed=3)
    tok = setting.tokenizer
    problems = [(12, 34), (5, 99), (70, 80)]
    texts = ["<ans>46<eos>", "41,01,<ans>104<eos>", "0"]       # the last cut off before its EOS
    rows = [tok.prompt_ids(setting.task.prompt(p)) + tok.encode(t) for p, t in zip(problems, texts)]
    tokens, _ = right_pad(rows, [1] * len(rows), tok.pad_id)
    # where SFT trained it with the whole answer in view: the token before EOS (the last one
    # when there is no EOS)
    before_eos = [len(row) - 1 - text.endswith("<eos>") for row, text in zip(rows, texts)]
    with torch.no_grad():
        values = policy(tokens)[1]
        alone = [float(policy(torch.tensor([row[:i + 1]]))[1][0, -1]) for row, i in zip(rows, before_eos)]
    expected = [float(values[i, j]) for i, j in enumerate(before_eos)]
    scores = value_scores(policy, setting, problems, texts)
    assert scores.tolist() == pytest.approx(expected, abs=1e-6)
    assert scores.tolist() == pytest.approx(alone, abs=1e-5)
    assert len(set(expected)) == 3


# ---- the policy checkpoint -----------------------------------------------------------------------------
def test_policy_checkpoint_prefers_grpo_then_ppo_then_sft(tmp_path):
    for phase, step in (("sft", 5), ("sft", 40), ("ppo", 3)):
        (tmp_path / phase).mkdir(exist_ok=True)
        (tmp_path / phase / f"step-{step:08d}.pt").write_bytes(b"")
    assert policy_checkpoint(tmp_path) == tmp_path / "ppo" / "step-00000003.pt"
    (tmp_path / "grpo").mkdir()
    (tmp_path / "grpo" / "step-00000002.pt").write_bytes(b"")
    assert policy_checkpoint(tmp_path) == tmp_path / "grpo" / "step-00000002.pt"
    assert policy_checkpoint(tmp_path / "sft" / "step-00000005.pt") == tmp_path / "sft" / "step-00000005.pt"
    with pytest.raises(UserError, match="no policy checkpoint"):
        policy_checkpoint(tmp_path / "sft")
    with pytest.raises(UserError, match="does not exist"):
        policy_checkpoint(tmp_path / "missing")


# ---- the command -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("solve")
    assert main(["llm", "sft", SMOKE, "sft.steps=4", "eval.problems=8", "eval.samples=0",
                 "--runs", str(runs), "--name", "s"]) == 0
    return runs / "s"


def test_solve_reports_accuracy_intervals_and_calls(sft_run, capsys):
    capsys.readouterr()
    searches = ["greedy", "sample:n=4", "majority:n=4", "best-of:n=4,by=verifier", "best-of:n=4,by=value",
                "mcts:sims=4,top_k=4"]
    argv = ["llm", "solve", "--init", str(sft_run), "--problems", "8", "--seed", "3", "--json"]
    for spec in searches:
        argv += ["--search", spec]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["strategy"] for r in rows] == searches
    for row in rows:
        assert 0 <= row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"] <= 1
        assert row["problems"] == 8 and row["model_calls"] > 0 and row["seed"] == 3
    by_name = {r["strategy"]: r for r in rows}
    # shared samples: the oracle over four samples is at least their mean correctness
    assert by_name["best-of:n=4,by=verifier"]["accuracy"] >= by_name["sample:n=4"]["accuracy"]
    assert by_name["best-of:n=4,by=verifier"]["model_calls"] == by_name["sample:n=4"]["model_calls"]
    assert by_name["majority:n=4"]["model_calls"] == by_name["sample:n=4"]["model_calls"]
    assert by_name["best-of:n=4,by=value"]["model_calls"] == 2 * by_name["sample:n=4"]["model_calls"]
    assert by_name["mcts:sims=4,top_k=4"]["verifier_checks"] >= 1 and by_name["greedy"]["verifier_checks"] == 0
    # the figure: a line per family of strategies, greedy a point
    assert solve_family("best-of:n=4,by=value") == "best-of by=value" and solve_family("mcts:sims=4,top_k=4") == \
        "mcts top_k=4" and solve_family("majority:n=16") == "majority"
    assert main(argv + ["--plot", str(sft_run.parent / "ttc")]) == 0
    capsys.readouterr()
    assert (sft_run.parent / "ttc.png").stat().st_size > 0 and (sft_run.parent / "ttc.svg").is_file()
    # the table form, from the run directory alone
    assert main(["llm", "solve", str(sft_run), "--search", "greedy", "--problems", "2"]) == 0
    out = capsys.readouterr().out
    assert "greedy" in out and "95% interval" in out and "seed: 0" in out


def test_solve_refuses_bad_input_with_exit_code_2(sft_run, capsys):
    capsys.readouterr()
    assert main(["llm", "solve", str(sft_run), "--search", "best-of:n=4,by=reward-model"]) == 2
    assert "--reward-model" in capsys.readouterr().err
    assert main(["llm", "solve", str(sft_run), "--search", "majority"]) == 2
    assert "majority needs n=" in capsys.readouterr().err
    assert main(["llm", "solve", str(sft_run), "--search", "mcts:sims=4,depth=3", "--problems", "2"]) == 2
    assert "mcts has no option 'depth'" in capsys.readouterr().err
    assert main(["llm", "solve", SMOKE, "--search", "greedy"]) == 2  # a config alone names no policy
    assert "--init" in capsys.readouterr().err
