import csv
import math
from pathlib import Path

import pytest

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.llm import compare
from selfplay.llm.config import LLMConfig

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "llm_compare_smoke.yaml")


def test_t_interval_by_hand():
    # two seeds: mean 0.6, s = sqrt(0.02) = 0.141421, t_{0.975,1} = 12.7062 -> half 12.7062 * 0.141421 / sqrt(2) = 1.27062
    mean, low, high = compare.t_interval([0.5, 0.7])
    assert mean == pytest.approx(0.6)
    assert low == pytest.approx(0.6 - 1.27062, abs=1e-4) and high == pytest.approx(0.6 + 1.27062, abs=1e-4)
    # three seeds: s = 0.1, t_{0.975,2} = 4.3027 -> half 4.3027 * 0.1 / sqrt(3) = 0.248417
    mean, low, high = compare.t_interval([0.6, 0.7, 0.8])
    assert mean == pytest.approx(0.7) and high - mean == pytest.approx(0.248417, abs=1e-5)
    mean, low, high = compare.t_interval([0.4])
    assert mean == 0.4 and math.isnan(low) and math.isnan(high)


def test_t_quantiles_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 30, 31, 60, 500):
        assert compare.t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-4)


def budget_config(*overrides):
    return load_config(LLMConfig, SMOKE, list(overrides))


@pytest.mark.parametrize("extra", [[], ["compare.responses_per_step=48"], ["grpo.group_size=4", "ppo.minibatches=4"]])
def test_the_budget_rule_gives_every_method_the_same_responses_and_steps(extra):
    base = budget_config(*extra)
    r = base.compare.responses_per_step or base.grpo.prompts_per_step * base.grpo.group_size
    for method in ("ppo", "grpo", "dr_grpo"):
        config = load_config(LLMConfig, SMOKE, [*extra, *compare.method_overrides(base, method, seed=3)])
        assert config.seed == 3
        if method == "ppo":
            assert (config.ppo.rollout_batch, config.ppo.steps, config.ppo.eval_every) == (r, 4, 2)
        else:
            assert config.grpo.prompts_per_step * config.grpo.group_size == r
            assert (config.grpo.steps, config.grpo.eval_every, config.grpo.loss_type) == (4, 2, method)
            assert config.grpo.dynamic_sampling is False


def test_responses_not_a_multiple_of_the_group_is_a_clear_error():
    with pytest.raises(ConfigError, match="multiple of grpo.group_size"):
        compare.responses_per_step(budget_config("compare.responses_per_step=30"))


@pytest.mark.parametrize("argv, message", [
    (["--methods", "ppo,a2c"], "methods: unknown method 'a2c'; choose from ppo, grpo, dr_grpo"),
    (["--seeds", ""], "seeds is empty"),
    (["--seeds", "0,x"], "seeds must be comma-separated integers"),
    (["compare.steps=0"], "steps must be positive"),
    (["compare.responses_per_step=30"], "multiple of grpo.group_size"),
])
def test_bad_compare_configs_are_one_clear_line(argv, message, capsys, tmp_path):
    assert main(["llm", "compare", SMOKE, *argv, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_compare_end_to_end_then_resumes_without_retraining(tmp_path, capsys, monkeypatch):
    assert main(["llm", "compare", SMOKE, "--runs", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    run = tmp_path / "llm_compare_smoke"
    assert "95% t interval" in out and "dr_grpo" in out
    with open(run / "compare.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["ppo", "grpo", "dr_grpo"]
    assert {r["responses"] for r in rows} == {str(4 * 32)}  # the same sampled responses for every method
    assert all(r["seeds"] == "2" and float(r["train seconds"]) > 0 and float(r["peak MiB"]) > 0 for r in rows)
    assert all(0 <= float(r["accuracy"]) <= 1 and r["pass@1"] != "" for r in rows)
    for name in ("compare.png", "compare.svg"):
        assert (run / name).stat().st_size > 0
    for method in ("ppo", "grpo", "dr_grpo"):
        assert (run / f"{method}-seed1" / "budget.json").is_file()
    # a rerun trains nothing: every seed's SFT and every method are finished on disk
    def refuse(*args, **kwargs):
        raise AssertionError("retrained")
    for trainer in ("SFTTrainer", "PPOTrainer", "GRPOTrainer"):
        monkeypatch.setattr(compare, trainer, refuse)
    (run / "compare.png").unlink()
    assert main(["llm", "compare", "--resume", str(run)]) == 0
    out = capsys.readouterr().out
    assert "finished before, not rerun" in out and (run / "compare.png").is_file()
    with open(run / "compare.csv", newline="") as f:
        assert list(csv.DictReader(f)) == rows  # redrawn from the runs on disk


def test_a_new_compare_on_an_existing_one_must_resume(tmp_path, capsys):
    (tmp_path / "llm_compare_smoke").mkdir()
    (tmp_path / "llm_compare_smoke" / "config.yaml").write_text("seed: 0\n")
    assert main(["llm", "compare", SMOKE, "--runs", str(tmp_path)]) == 2
    assert "use --resume" in capsys.readouterr().err


def test_a_method_given_more_steps_resumes_and_keeps_counting(tmp_path, capsys):
    one = ["--methods", "grpo", "--seeds", "0", "--runs", str(tmp_path)]
    assert main(["llm", "compare", SMOKE, "compare.steps=2", "sft.steps=20", "sft.eval_every=20", *one]) == 0
    run = tmp_path / "llm_compare_smoke"
    assert main(["llm", "compare", "--resume", str(run), "compare.steps=4"]) == 0
    log = (run / "grpo-seed0" / "log.txt").read_text()
    assert "resumed from step-00000002.pt at step 2" in log
    rows = compare.method_rows(run, "grpo", 0)
    assert [int(r["step"]) for r in rows] == [0, 2, 4]
    assert [int(r["responses"]) for r in rows] == [0, 2 * 32, 4 * 32]  # counted on from the step-2 row
    assert float(rows[2]["train_seconds"]) > float(rows[1]["train_seconds"])
