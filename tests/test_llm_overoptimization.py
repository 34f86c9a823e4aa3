import csv
import math
from pathlib import Path

import numpy as np
import pytest

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm.config import LLMConfig
from selfplay.llm.overoptimization_sweep import gold_at
from selfplay.llm.overoptimization import (
    best_of_n_expectation,
    best_of_n_form,
    best_of_n_kl,
    best_of_n_peak,
    fit_best_of_n,
    fit_rl,
    rl_form,
    rl_peak,
    run_overoptimization,
)

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_overoptimization_smoke.yaml")


# ---- the formulas against hand computations ----------------------------------------------------
def test_best_of_n_kl_by_hand():
    assert best_of_n_kl(1) == 0.0
    assert best_of_n_kl(2) == pytest.approx(math.log(2) - 0.5)
    assert best_of_n_kl(4) == pytest.approx(math.log(4) - 0.75)


def test_best_of_n_expectation_by_hand():
    # one prompt, three samples; the proxy ranks them 1 < 2 < 3, gold 10, 20, 30 in that order
    proxy = np.array([[1.0, 3.0, 2.0]])
    gold = np.array([[10.0, 30.0, 20.0]])
    assert best_of_n_expectation(proxy, gold, 1) == pytest.approx(20.0)  # the mean
    # pairs {10, 30} -> 30, {10, 20} -> 20, {30, 20} -> 30
    assert best_of_n_expectation(proxy, gold, 2) == pytest.approx(80 / 3)
    assert best_of_n_expectation(proxy, gold, 3) == pytest.approx(30.0)  # the proxy's favourite
    # averaged over prompts
    two = best_of_n_expectation(np.array([[1.0, 3.0, 2.0], [0.0, 1.0, 2.0]]),
                                np.array([[10.0, 30.0, 20.0], [5.0, 5.0, 8.0]]), 3)
    assert two == pytest.approx((30.0 + 8.0) / 2)


def test_the_fits_recover_known_alpha_and_beta():
    d = np.array([0.0, 0.3, 0.7, 1.0, 1.6, 2.5, 4.0])
    bon = d * (0.4 - 0.1 * d)                                  # best-of-n: d (alpha - beta d)
    assert fit_best_of_n(d, bon) == pytest.approx((0.4, 0.1), abs=1e-10)
    rl = np.where(d > 0, d * (0.5 - 0.25 * np.log(np.where(d > 0, d, 1))), 0.0)  # RL: d (alpha - beta log d)
    assert fit_rl(d, rl) == pytest.approx((0.5, 0.25), abs=1e-10)
    assert np.allclose(best_of_n_form(d, 0.4, 0.1), bon) and np.allclose(rl_form(d, 0.5, 0.25), rl)
    # peaks: best-of-n at alpha / 2 beta = 2 with 0.4^2 / 0.4 = 0.4; RL at exp(0.5 / 0.25 - 1) = e with 0.25 e
    assert best_of_n_peak(0.4, 0.1) == pytest.approx((2.0, 0.4))
    assert rl_peak(0.5, 0.25) == pytest.approx((math.e, 0.25 * math.e))
    grid = np.linspace(0.01, 6, 60001)
    assert grid[np.argmax(rl_form(grid, 0.5, 0.25))] == pytest.approx(math.e, abs=1e-3)
    assert all(math.isnan(x) for x in best_of_n_peak(0.4, -0.1) + rl_peak(0.5, 0.0))  # no peak
    assert all(math.isnan(x) for x in fit_rl(np.array([0.0, 1.0]), np.array([0.0, 0.2])))  # one point: no fit


# ---- configs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ("overoptimization.algorithm=trpo", "algorithm"),
    ("overoptimization.best_of_n=6", "best_of_n must be a power of 2"),
    ("overoptimization.best_of_n=0", "best_of_n must be a power of 2"),
    ("overoptimization.steps=0", "steps must be positive"),
    ("overoptimization.eval_every=0", "eval_every must be positive"),
    ("overoptimization.problems=0", "problems must be positive"),
])
def test_bad_configs_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(LLMConfig, SMOKE, [override])


def test_more_problems_than_held_out_ones_is_a_clear_error(tmp_path):
    config = load_config(LLMConfig, SMOKE, ["overoptimization.problems=64", "eval.problems=32"])
    with pytest.raises(ConfigError, match=r"overoptimization.problems \(64\) must be at most eval.problems \(32\)"):
        run_overoptimization(tmp_path, config)


# ---- the command end to end --------------------------------------------------------------------
def read_points(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_the_command_writes_its_figure_and_points(tmp_path, capsys):
    runs = ["--runs", str(tmp_path)]
    # the proxy (SFT policy and reward model) built in the run itself, then GRPO against it
    assert main(["llm", "overoptimization", SMOKE, "--name", "own", *runs]) == 0
    own = tmp_path / "own"
    assert (own / "overoptimization.png").stat().st_size > 0 and (own / "overoptimization.svg").is_file()
    assert list((own / "sft").glob("step-*.pt")) and list((own / "reward_model").glob("step-*.pt"))
    points = read_points(own / "overoptimization.csv")
    bon = [p for p in points if p["method"] == "best_of_n"]
    rl = [p for p in points if p["method"] == "rl"]
    assert [int(p["n"]) for p in bon] == [1, 2, 4, 8]
    assert float(bon[1]["kl"]) == pytest.approx(math.log(2) - 0.5)
    assert [int(p["step"]) for p in rl] == [0, 2, 4]
    assert float(rl[0]["d"]) == pytest.approx(0.0, abs=1e-3)  # the initial policy is pi_init
    assert float(rl[-1]["d"]) > 0
    assert all(math.isfinite(float(p[key])) for p in points for key in ("kl", "d", "proxy", "gold"))
    out = capsys.readouterr().out
    assert "rl_peak_gold" in out and "best_of_n_alpha" in out
    # the same proxy again, by its run directory, optimised with PPO instead: nothing rebuilt
    assert main(["llm", "overoptimization", SMOKE, f"overoptimization.proxy={own}", "overoptimization.algorithm=ppo",
                 "overoptimization.steps=2", "ppo.rollout_batch=8", "ppo.minibatches=2", "ppo.epochs=1",
                 "--name", "ppo", *runs]) == 0
    assert not (tmp_path / "ppo" / "sft").exists() and not (tmp_path / "ppo" / "reward_model").exists()
    assert [p["step"] for p in read_points(tmp_path / "ppo" / "overoptimization.csv") if p["method"] == "rl"] == ["0", "2"]
    # a run that already holds its RL phase is not silently mixed with a second one
    config_text = (own / "config.yaml").read_text()
    assert main(["llm", "overoptimization", SMOKE, "overoptimization.steps=3", "--name", "own", *runs]) == 2
    assert "already holds a grpo run" in capsys.readouterr().err
    assert (own / "config.yaml").read_text() == config_text  # refused before anything was written
    # the two runs side by side: a row each, read back from their points and their proxy
    assert main(["llm", "plot-overoptimization", str(own), str(tmp_path / "ppo"), "--out", str(tmp_path / "sweep")]) == 0
    rows = read_points(tmp_path / "sweep" / "overoptimization-sweep.csv")
    assert [r["run"] for r in rows] == ["own", "ppo"] and (tmp_path / "sweep" / "overoptimization-sweep.png").is_file()
    own_rl = [p for p in points if p["method"] == "rl"]
    assert float(rows[0]["peak_gold"]) == pytest.approx(max(float(p["gold"]) for p in own_rl))
    assert float(rows[0]["end_gold"]) == pytest.approx(float(own_rl[-1]["gold"]))
    se = float(own_rl[-1]["gold_se"])
    assert float(rows[0]["end_gold_high"]) == pytest.approx(float(own_rl[-1]["gold"]) + 1.96 * se)
    assert rows[0]["members"] == "1" and rows[0]["train_pairs"] == "160"  # 200 pairs, a fifth held out
    capsys.readouterr()
    assert main(["llm", "plot-overoptimization", str(tmp_path / "sweep")]) == 2
    assert "no RL points" in capsys.readouterr().err


def test_an_ensemble_proxy_is_built_and_optimised_by_its_worst_member(tmp_path, capsys):
    runs = ["--runs", str(tmp_path)]
    assert main(["llm", "overoptimization", SMOKE, "reward_model.ensemble=2", "reward_model.ensemble_combine=worst",
                 "overoptimization.steps=2", "--name", "ens", *runs]) == 0
    run = tmp_path / "ens"
    assert list((run / "reward_model").glob("step-*.pt")) and list((run / "reward_model-1").glob("step-*.pt"))
    assert "2 reward models combined by worst" in capsys.readouterr().out
    rl = [p for p in read_points(run / "overoptimization.csv") if p["method"] == "rl"]
    assert [p["step"] for p in rl] == ["0", "2"]
    assert all(float(p["spread"]) > 0 for p in rl)  # two members from different starts disagree somewhere


def test_gold_at_a_given_d_is_interpolated_where_d_first_reaches_it():
    d = np.array([0.0, 1.0, 3.0, 1.5, 4.0])
    gold = np.array([0.5, 0.7, 0.1, 0.9, 0.0])
    assert gold_at(d, gold, 2.0) == pytest.approx(0.7 + 0.5 * (0.1 - 0.7))
    assert gold_at(d, gold, 0.0) == 0.5 and gold_at(d, gold, 1.0) == 0.7
    assert math.isnan(gold_at(d, gold, 5.0))
