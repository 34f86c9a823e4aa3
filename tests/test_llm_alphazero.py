"""AlphaZero on tokens (selfplay/llm/alphazero.py): the loss by hand, the search's targets
aligned with the tokens they were searched for, and a reduced run that learns."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm.alphazero import AlphaZeroTrainer, alphazero_loss
from selfplay.llm.config import LLMConfig
from selfplay.llm.run import Setting
from selfplay.llm.search import mcts_decode
from selfplay.mcts import UniformEvaluator
from selfplay.run.directory import read_rows

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_alphazero_smoke.yaml")


def test_the_loss_by_hand():
    vocab = 18  # PAD BOS SEP (0, 1, 3) are never legal in a response: masked out of the softmax
    logits = torch.zeros(1, 2, vocab)
    logits[0, 1, 5] = math.log(3.0)  # position 1: token 5 three times as likely as each other legal one
    targets = torch.zeros(1, 2, vocab)
    targets[0, 0, 5], targets[0, 0, 6] = 0.5, 0.5
    targets[0, 1, 5] = 1.0
    values, outcome = torch.tensor([[0.2, 0.6]]), torch.tensor([1.0])
    mask = torch.tensor([[True, True]])
    legal = vocab - 3
    ce0 = math.log(legal)                # uniform over the legal tokens
    ce1 = -math.log(3.0 / (legal - 1 + 3.0))
    loss, metrics = alphazero_loss(logits, values, targets, outcome, mask, value_weight=0.5)
    expected_value = ((0.2 - 1) ** 2 + (0.6 - 1) ** 2) / 2
    assert metrics["losses/policy_loss"] == pytest.approx((ce0 + ce1) / 2, rel=1e-5)
    assert metrics["losses/value_loss"] == pytest.approx(expected_value, rel=1e-5)
    assert loss.item() == pytest.approx((ce0 + ce1) / 2 + 0.5 * expected_value, rel=1e-5)
    assert metrics["losses/target_entropy"] == pytest.approx(math.log(2) / 2, rel=1e-5)
    # a position outside the mask counts for nothing
    _, masked = alphazero_loss(logits, values, targets, outcome, torch.tensor([[True, False]]), 0.5)
    assert masked["losses/policy_loss"] == pytest.approx(ce0, rel=1e-5)


def test_decoding_records_one_visit_distribution_per_token():
    from games import make_game
    game = make_game("tokens", task="addition", digits=1, scratchpad=False)
    policies = [[], []]
    finished = mcts_decode(game, [game.start((3, 4)), game.start((9, 9))], UniformEvaluator(), 16,
                           policies=policies, temperature=1.0, rng=np.random.default_rng(0))
    for state, moves in zip(finished, policies):
        assert len(moves) == len(game.response(state).replace("<ans>", "A").replace("<eos>", "E"))
        assert all(m.sum() == pytest.approx(1.0) for m in moves)


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("az")
    assert main(["llm", "sft", SMOKE, "--runs", str(runs), "--name", "a"]) == 0
    return runs / "a"


def test_the_searched_targets_belong_to_the_tokens_played(sft_run):
    setting = Setting.build(load_config(LLMConfig, SMOKE, ["alphazero.problems_per_step=8"]))
    trainer = AlphaZeroTrainer(setting, sft_run / "az-targets", next((sft_run / "sft").glob("step-*.pt")),
                               log=lambda m: None)
    batch = trainer.search(setting.task.sample_many(8, np.random.default_rng(3)))
    tok = setting.tokenizer
    for i, problem in enumerate(batch.problems):
        columns = torch.nonzero(batch.mask[i]).flatten()
        assert len(columns) == len(tok.encode(batch.texts[i])) == int(batch.lengths[i])
        played = batch.tokens[i, columns + 1]  # the token each target was searched for
        targets = batch.policy_targets[i, columns]
        assert torch.allclose(targets.sum(-1), torch.ones(len(columns)))
        assert (targets[torch.arange(len(columns)), played] > 0).all()  # drawn from the visits
        assert batch.policy_targets[i][~batch.mask[i]].sum() == 0
        assert batch.outcomes[i].item() == setting.task.reward(problem, batch.texts[i])
    assert trainer.model_calls > 0


def test_a_reduced_run_learns_past_its_start_and_resumes(sft_run, capsys):
    runs = ["--runs", str(sft_run.parent)]
    assert main(["llm", "alphazero", SMOKE, "alphazero.steps=4", "alphazero.eval_every=4", "--init", str(sft_run),
                 "--name", "learn", *runs]) == 0
    rows = read_rows(sft_run.parent / "learn" / "eval.csv")
    start, end = rows[0], rows[-1]
    assert int(end["step"]) == 4 and float(end["accuracy"]) > float(start["accuracy_high"])  # past its interval
    assert float(start["model_calls"]) == 0 < float(end["model_calls"])
    # overrides may follow the options
    assert main(["llm", "alphazero", "--resume", str(sft_run.parent / "learn"), *runs, "alphazero.steps=6"]) == 0
    rows = read_rows(sft_run.parent / "learn" / "eval.csv")
    assert int(rows[-1]["step"]) == 6 and float(rows[-1]["model_calls"]) > float(end["model_calls"])


@pytest.mark.parametrize("override, message", [
    ("alphazero.simulations=0", "simulations must be positive"),
    ("alphazero.reward=model:runs/x", "reward must be 'verifier'"),
    ("alphazero.temperature=-1", "temperature must be 0"),
])
def test_bad_configs_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LLMConfig, SMOKE, [override])
