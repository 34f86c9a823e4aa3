"""`selfplay bench selfplay` end to end on a tiny setting: baseline and optimised rows, the
ratio between them, each optimisation alone, and the forward alone in each precision."""

import json

import pytest
import torch

from selfplay.benchmarks import selfplay as bench
from selfplay.cli import main
from selfplay.network import resolve_precision


def test_bench_selfplay_reports_each_path_against_its_baseline(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SETTINGS", ((4, 1),))
    monkeypatch.setattr(bench, "PARTS_AT", (4, 1))
    assert main(["bench", "selfplay", "--seconds", "0.2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    selfplay_rows = [r for r in rows if "sims/s" in r]
    baseline, optimised = selfplay_rows[:2]
    assert (baseline["precision"], baseline["cache"]) == ("fp32", 0) and "x baseline" not in baseline
    default = resolve_precision("auto", torch.device("cpu"))
    assert optimised["precision"] == default and optimised["cache"] > 0
    assert abs(optimised["x baseline"] - optimised["sims/s"] / baseline["sims/s"]) < 1e-9
    assert all(r["sims/s"] > 0 and 0 < r["network share"] <= 1 for r in selfplay_rows)
    alone = selfplay_rows[2:]
    assert {r["precision"] for r in alone if r["cache"] == 0} >= ({default} - {"fp32"})
    forward_rows = [r for r in rows if "forward batch" in r]
    if default != "fp32":
        assert {r["precision"] for r in forward_rows} >= {"fp32", default}
        assert all(r["x baseline"] > 0 for r in forward_rows if r["precision"] != "fp32")


def test_bench_selfplay_without_baseline_has_no_ratio(monkeypatch, capsys):
    monkeypatch.setattr(bench, "SETTINGS", ((2, 1),))
    assert main(["bench", "selfplay", "--seconds", "0.1", "--json", "--no-baseline"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows and all("x baseline" not in r for r in rows)


def test_bench_selfplay_measures_a_run_configs_game_and_network_at_the_batch_sizes_given(capsys):
    """configs/go7.yaml's 7x7 game and 6x64 network, shrunk by an override, at 2 and 3 games."""
    from selfplay.configio import load_config
    from selfplay.network import PolicyValueNet
    from selfplay.training.config import RunConfig

    assert main(["bench", "selfplay", "--config", "configs/go7.yaml", "network.blocks=1", "--parallel-games", "2,3",
                 "--seconds", "0.1", "--json", "--no-baseline"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "go-7x7-komi9" in result["title"] and "1x64 network" in result["title"]
    rows = [r for r in result["rows"] if "sims/s" in r]
    assert [r["parallel games"] for r in rows] == [2, 3] and all(r["device"] == "cpu" for r in rows)
    config = load_config(RunConfig, "configs/go7.yaml", ["network.blocks=1"])
    game = config.game.make()
    expected = PolicyValueNet(game.obs_shape, game.num_actions, config.network).num_parameters()
    assert all(r["params"] == expected and r["sims/s"] > 0 and r["moves/s"] > 0 for r in rows)


def test_bench_selfplay_option_errors_are_one_line(capsys):
    assert main(["bench", "selfplay", "network.blocks=1"]) == 2
    assert "give one with --config" in capsys.readouterr().err
    assert main(["bench", "mcts", "--device", "cpu"]) == 2
    assert "are options of bench selfplay" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "selfplay", "--parallel-games", "64,0"])
    assert "expected 1 or more, got 0" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(["bench", "selfplay", "--device", "cuda", "--seconds", "0.1"]) == 2
        assert "no CUDA GPU" in capsys.readouterr().err
