import math
from pathlib import Path

import numpy as np
import pytest
import torch

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.preferences import (
    erroneous_variant,
    gold_scores,
    label,
    labeller_agreement,
    preference_probability,
)
from selfplay.llm.reward_model import RewardModelTrainer, bradley_terry_loss, normalisation, train_reward_models
from selfplay.llm.rewards import combine, make_scorer
from selfplay.llm.run import Setting
from selfplay.run.checkpoint import save_checkpoint

ROOT = Path(__file__).resolve().parents[1]
RM_SMOKE = str(ROOT / "configs" / "llm_reward_model_smoke.yaml")
SMOKE = str(ROOT / "configs" / "llm_smoke.yaml")


def setting(*overrides: str) -> Setting:
    return Setting.build(load_config(LLMConfig, RM_SMOKE, list(overrides)))


# ---- the pieces against hand computations ----------------------------------------------------------
def test_bradley_terry_loss_by_hand():
    r_chosen, r_rejected = torch.tensor([2.0, 0.0, -1.0]), torch.tensor([1.0, 0.0, 1.0])
    # -log sigmoid(d) = log(1 + exp(-d)) for d = 1, 0, -2
    expected = (math.log(1 + math.exp(-1)) + math.log(2) + math.log(1 + math.exp(2))) / 3
    assert bradley_terry_loss(r_chosen, r_rejected).item() == pytest.approx(expected, rel=1e-6)


def test_normalisation_by_hand():
    mean, std = normalisation(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert mean == pytest.approx(3.0)
    assert std == pytest.approx(math.sqrt((4 + 1 + 0 + 9) / 4))  # the population std
    assert normalisation(torch.tensor([5.0, 5.0]))[1] > 0  # a constant reference cannot divide by zero


def test_the_labeller_prefers_as_bradley_terry_says():
    rng = np.random.default_rng(0)
    n = 20000
    for delta, noise in ((0.5, 1.0), (1.0, 0.5), (-0.3, 0.2), (0.0, 1.0)):
        a, b = np.full(n, delta), np.zeros(n)
        rate = label(a, b, noise, rng).mean()
        expected = 1 / (1 + math.exp(-delta / noise))
        assert abs(rate - expected) < 4 * math.sqrt(expected * (1 - expected) / n)
    noiseless = label(np.array([1.0, 0.0, 0.2]), np.array([0.0, 1.0, 0.1]), 0.0, rng)
    assert noiseless.tolist() == [True, False, True]
    assert preference_probability(np.array([0.3]), np.array([0.3]), 0.0).tolist() == [0.5]  # a tie: coin flip
    # the ceiling: sigmoid(|delta| / noise) per pair, and 1 or 1/2 when noiseless
    assert labeller_agreement(np.array([1.0, 0.0]), np.array([0.0, 0.5]), 0.5) == pytest.approx(
        (1 / (1 + math.exp(-2)) + 1 / (1 + math.exp(-1))) / 2)
    assert labeller_agreement(np.array([1.0, 0.2]), np.array([0.0, 0.2]), 0.0) == pytest.approx(0.75)


def test_gold_score_is_correctness_then_brevity():
    s = setting("reward_model.brevity_weight=0.5")
    problem = (58, 67)                       # 125, two carries
    right = s.task.response(problem) + "<eos>"
    wrong = erroneous_variant(s.task, problem, np.random.default_rng(0)) + "<eos>"
    assert s.task.reward(problem, right) == 1 and s.task.reward(problem, wrong) == 0
    longest = s.task.max_response_tokens()
    gold = gold_scores(s.task, s.tokenizer, [problem, problem], [right, wrong], s.config.reward_model)
    assert gold.tolist() == pytest.approx([1 - 0.5 * len(s.tokenizer.encode(right)) / longest,
                                           -0.5 * len(s.tokenizer.encode(wrong)) / longest])
    no_carry = (12, 34)
    assert s.task.reward(no_carry, erroneous_variant(s.task, no_carry, np.random.default_rng(1)) + "<eos>") == 0


# ---- a trained reward model --------------------------------------------------------------------------
def opposite_pairs(s: Setting, rng: np.random.Generator):
    """A response source whose two calls on the same problems give one right and one wrong
    response each (in random order), so every pair differs in correctness."""
    state = {}

    def respond(problems):
        if "right_first" not in state or len(state["right_first"]) != len(problems) or state.get("second"):
            state["right_first"], state["second"] = rng.random(len(problems)) < 0.5, False
            right = state["right_first"]
        else:
            state["second"] = True
            right = ~state["right_first"]
        return [(s.task.response(p) if r else erroneous_variant(s.task, p, rng)) + "<eos>"
                for p, r in zip(problems, right)]
    return respond


def train_reward_model(run_dir: Path, noise: float) -> dict[str, float]:
    s = setting("reward_model.pairs=1000", "reward_model.heldout_fraction=0.4", "reward_model.steps=200",
                "reward_model.eval_every=200", "reward_model.brevity_weight=0.0", f"reward_model.noise={noise}",
                "reward_model.normalisation_samples=50")
    trainer = RewardModelTrainer(s, run_dir, log=lambda message: None)
    trainer.respond = opposite_pairs(s, np.random.default_rng(3))
    trainer.train()
    return trainer.results


@pytest.fixture(scope="module")
def noiseless(tmp_path_factory):
    return train_reward_model(tmp_path_factory.mktemp("rm") / "noiseless", 0.0)


def test_a_reward_model_ranks_held_out_pairs_well_above_chance(noiseless):
    assert noiseless["heldout_pairs"] == 400 and noiseless["labeller_agreement"] == 1.0
    assert noiseless["pairwise_accuracy_low"] > 0.8  # the lower end of the 95% Wilson interval
    assert noiseless["pairwise_accuracy_low"] < noiseless["pairwise_accuracy"] < noiseless["pairwise_accuracy_high"]


def test_label_noise_lowers_accuracy_to_the_labellers_own_agreement(noiseless, tmp_path):
    noise = 0.5
    noisy = train_reward_model(tmp_path / "noisy", noise)
    ceiling = 1 / (1 + math.exp(-1 / noise))  # every pair: gold 1 against gold 0
    assert noisy["labeller_agreement"] == pytest.approx(ceiling)
    assert noisy["pairwise_accuracy"] < noiseless["pairwise_accuracy"]
    # it still learned the gold order from noisy labels, and agrees with the labels as Bradley-Terry
    # predicts for a model with that gold-order accuracy g: g c + (1 - g)(1 - c), at most the ceiling c
    g = noisy["gold_order_accuracy"]
    assert g > 0.8
    predicted = g * ceiling + (1 - g) * (1 - ceiling)
    assert noisy["pairwise_accuracy_low"] <= predicted <= noisy["pairwise_accuracy_high"]
    assert noisy["pairwise_accuracy_low"] <= ceiling


# ---- bad configs and the scorer ------------------------------------------------------------------------
def test_zero_pairs_and_unknown_rewards_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="pairs must be positive"):
        setting("reward_model.pairs=0")
    with pytest.raises(ConfigError, match="reward must be 'verifier' or 'model:RUN_DIR'"):
        load_config(LLMConfig, SMOKE, ["grpo.reward=gold"])
    s = setting()
    with pytest.raises(ConfigError, match="unknown reward 'human'"):
        make_scorer(s, "human")
    with pytest.raises(ConfigError, match="does not exist"):
        make_scorer(s, f"model:{tmp_path / 'missing'}")
    with pytest.raises(ConfigError, match="holds no reward model"):
        make_scorer(s, f"model:{tmp_path}")
    (tmp_path / "sft").mkdir()
    save_checkpoint(tmp_path / "sft" / "step-00000001.pt", {"model": {}, "phase": "sft", "vocab": s.tokenizer.vocab})
    with pytest.raises(ConfigError, match="is not a reward model"):
        make_scorer(s, f"model:{tmp_path / 'sft' / 'step-00000001.pt'}")


def test_the_verifier_scorer_is_the_task_reward():
    s = setting()
    scorer = make_scorer(s, "verifier")
    problems = [(12, 34), (58, 67)]
    texts = [s.task.response(problems[0]) + "<eos>", "<ans>115<eos>"]
    assert not scorer.is_model and scorer(problems, texts).tolist() == [1.0, 0.0]


def test_reward_model_then_grpo_on_it_from_the_cli(tmp_path, capsys):
    runs = ["--runs", str(tmp_path)]
    tiny = ["eval.problems=8", "eval.samples=0"]
    assert main(["llm", "sft", SMOKE, "sft.steps=4", "sft.eval_every=4", *tiny, *runs]) == 0
    assert main(["llm", "reward-model", RM_SMOKE, "reward_model.pairs=40", "reward_model.steps=4",
                 "reward_model.eval_every=2", "reward_model.normalisation_samples=20", *tiny,
                 "--init", str(tmp_path / "llm_smoke"), "--name", "rm", *runs]) == 0
    out = capsys.readouterr().out
    assert "pairwise_accuracy" in out and "rm/reward_model/step-00000004.pt" in out
    log = (tmp_path / "rm" / "log.txt").read_text()
    assert "32 training and 8 held-out pairs from samples of" in log
    assert main(["llm", "grpo", SMOKE, f"grpo.reward=model:{tmp_path / 'rm'}", "grpo.steps=2", "grpo.eval_every=2",
                 "grpo.prompts_per_step=2", "grpo.group_size=2", *tiny, *runs]) == 0
    rows = (tmp_path / "llm_smoke" / "eval.csv").read_text()
    assert "proxy_reward" in rows.splitlines()[0]
    payload = torch.load(tmp_path / "rm" / "reward_model" / "step-00000004.pt", weights_only=True)
    assert payload["phase"] == "reward_model" and payload["reward_std"] > 0
    assert main(["llm", "grpo", SMOKE, f"grpo.reward=model:{tmp_path / 'rm'}", "task.scratchpad=false",
                 "--init", str(tmp_path / "llm_smoke"), "--name", "other", *runs]) == 2
    assert "was trained on another task" in capsys.readouterr().err


def test_a_reward_model_scores_are_normalised_on_the_reference(tmp_path):
    s = setting("reward_model.pairs=40", "reward_model.steps=2", "reward_model.eval_every=2",
                "reward_model.normalisation_samples=30")
    trainer = RewardModelTrainer(s, tmp_path, log=lambda message: None)
    trainer.train()
    scorer = make_scorer(s, f"model:{tmp_path}")
    rewards = scorer(trainer.reference_problems, trainer.reference_texts)
    assert rewards.mean().item() == pytest.approx(0.0, abs=1e-4)
    assert rewards.std(unbiased=False).item() == pytest.approx(1.0, abs=1e-3)


# ---- ensembles (Coste et al. 2024) -----------------------------------------------------------------
def test_ensemble_combinations_by_hand():
    scores = torch.tensor([[1.0, -2.0], [3.0, 0.0], [2.0, 2.0]])  # 3 members, 2 responses
    assert combine(scores, "mean", 1.0).tolist() == pytest.approx([2.0, 0.0])
    assert combine(scores, "worst", 1.0).tolist() == pytest.approx([1.0, -2.0])
    # population variances: (1 + 1 + 0) / 3 and (4 + 0 + 4) / 3
    assert combine(scores, "uncertainty", 0.5).tolist() == pytest.approx([2.0 - 0.5 * 2 / 3, 0.0 - 0.5 * 8 / 3])
    with pytest.raises(ConfigError, match="ensemble_combine"):
        combine(scores, "median", 1.0)


def test_an_ensemble_is_members_from_different_starts_on_the_same_pairs(tmp_path):
    s = setting("reward_model.pairs=100", "reward_model.steps=6", "reward_model.eval_every=6",
                "reward_model.normalisation_samples=20", "reward_model.ensemble=3", "eval.problems=8")
    trainers = train_reward_models(s, tmp_path, log=lambda message: None)
    assert [t.phase.directory.name for t in trainers] == ["reward_model", "reward_model-1", "reward_model-2"]
    assert all(t.heldout_pairs.chosen == trainers[0].heldout_pairs.chosen for t in trainers)  # the same pairs
    first = [t.model.value_head.weight.detach() for t in trainers]
    assert not torch.equal(first[0], first[1]) and not torch.equal(first[1], first[2])  # different starts
    # a lone model of the same seed is member 0 exactly
    lone = train_reward_models(setting("reward_model.pairs=100", "reward_model.steps=6", "reward_model.eval_every=6",
                                       "reward_model.normalisation_samples=20", "eval.problems=8"),
                               tmp_path / "lone", log=lambda message: None)
    assert torch.equal(lone[0].model.value_head.weight, first[0])
    # RL reads every member of the directory, each normalised on its own, combined as configured
    problems = s.task.sample_many(5, np.random.default_rng(1))
    texts = [s.task.response(p) + "<eos>" for p in problems]
    members = make_scorer(s, f"model:{tmp_path}").member_scores(problems, texts)
    assert members.shape == (3, 5)
    for how in ("mean", "worst", "uncertainty"):
        scorer = make_scorer(setting("reward_model.ensemble_combine=" + how, "reward_model.uncertainty_weight=2"),
                             f"model:{tmp_path}")
        assert len(scorer.models) == 3
        assert scorer(problems, texts).tolist() == pytest.approx(combine(members, how, 2.0).tolist(), abs=1e-5)
    # a checkpoint file is one model
    assert len(make_scorer(s, f"model:{next((tmp_path / 'reward_model-2').glob('step-*.pt'))}").models) == 1


@pytest.mark.parametrize("override, message", [
    ("reward_model.ensemble=0", "ensemble must be between 1 and 64"),
    ("reward_model.uncertainty_weight=-1", "uncertainty_weight must be 0 or more"),
    ("reward_model.ensemble_combine=median", "ensemble_combine"),
    ("grpo.no_eos_score=0.5", "no_eos_score must be 0 or negative"),
])
def test_bad_ensemble_and_penalty_configs_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        setting(override)
