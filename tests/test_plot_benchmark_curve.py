"""scripts/plot_benchmark_curve.py: a run's benchmark shares as a figure, and a clear error for a
run without them."""

import importlib.util
from pathlib import Path

from selfplay.configio import dump_config
from selfplay.run.checkpoint import checkpoint_path, save_checkpoint
from selfplay.training.config import RunConfig

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("plot_benchmark_curve", ROOT / "scripts" / "plot_benchmark_curve.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def test_the_shares_of_a_run_become_a_figure(tmp_path, capsys):
    config = RunConfig()
    config.eval.c4_positions, config.eval.c4_limit = "Test_L2_R2", 50
    dump_config(config, tmp_path / "config.yaml")
    (tmp_path / "eval.csv").write_text("step,minutes,c4/outcome_share,c4/best_share\n"
                                       "100,1.5,0.8,0.6\n200,3.0,0.9,0.7\n300,4.5,,\n")
    rows, read = script.benchmark_rows(tmp_path)
    assert [r["step"] for r in rows] == ["100", "200"] and read.eval.c4_limit == 50
    assert script.main([str(tmp_path), "--name", "b"]) == 0
    assert (tmp_path / "b.png").stat().st_size > 0 and (tmp_path / "b.svg").exists()


def test_a_run_without_benchmark_rows_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "eval.csv").write_text("step,minutes,elo\n100,1.5,300\n")
    assert script.main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no benchmark rows" in err and err.count("\n") == 1


def test_a_run_from_another_network_continues_its_training_time(tmp_path):
    config = RunConfig()
    config.eval.c4_limit = 10
    dump_config(config, tmp_path / "config.yaml")
    (tmp_path / "eval.csv").write_text("step,minutes,c4/outcome_share,c4/best_share\n100,1.5,0.8,0.6\n")
    assert script.run_initial(tmp_path) == {}
    (tmp_path / "checkpoints").mkdir()
    save_checkpoint(checkpoint_path(tmp_path / "checkpoints", 100), {"model": {}, "step": 100,
                                                                         "initial": {"elapsed_seconds": 600.0}})
    assert script.run_initial(tmp_path)["elapsed_seconds"] == 600.0
    assert script.main([str(tmp_path), "--name", "c"]) == 0
    assert "starts where that one" in (tmp_path / "c.svg").read_text()
    assert script.main([str(tmp_path), str(tmp_path), "--name", "two"]) == 0  # a chain of runs on one figure
    assert (tmp_path / "two.png").stat().st_size > 0
