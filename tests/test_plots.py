"""`selfplay plot-elo` on hand-made runs: images, TensorBoard scalars, the terminal chart, and
where a checkpoint's step and training time come from."""

import math
from pathlib import Path

import numpy as np
import pytest

from selfplay.arena.results import GameResult, ResultsWriter
from selfplay.cli import main
from selfplay.rating.elo import Rating, fit_elo
from selfplay.rating.plots import (
    CurvePoint,
    EloCurves,
    RunCurve,
    load_curves,
    run_minutes,
    sparkline,
    terminal_chart,
)
from selfplay.run.checkpoint import checkpoint_path, save_checkpoint


def make_run(root, name, strengths, minutes_per_step=0.1, expert=False):
    """A run directory with a checkpoint per step, an eval.csv of training times and a
    ratings.csv whose results make checkpoint scores follow ``strengths`` (step -> points out
    of 10 against random and against mcts:sims=50)."""
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    with open(run / "eval.csv", "w") as f:
        f.write("step,minutes,games\n")
        for step in strengths:
            f.write(f"{step},{step * minutes_per_step},100\n")
    with ResultsWriter(run / "ratings.csv") as w:
        def game(a, b, s):
            w.append(GameResult("2024-01-01T00:00:00Z", "connect4", a, b, s, 20, ""))
        for _ in range(5):  # the reference ladder: mcts beats random 4-1
            game("mcts:sims=50", "random", 1.0)
        game("random", "mcts:sims=50", 1.0)
        for step, points in strengths.items():
            save_checkpoint(checkpoint_path(run / "checkpoints", step), {"model": {}, "step": step})
            name_ = f"net:{run}/checkpoints/step-{step:08d}.pt,sims=20"
            for opponent in ("random", "mcts:sims=50"):
                for k in range(10):
                    game(name_, opponent, 1.0 if k < points else 0.0)
        if expert:
            for k in range(10):
                game("expert", "random", 1.0 if k < 9 else 0.0)
                game("expert", "mcts:sims=50", 1.0 if k < 6 else 0.0)
    return run


@pytest.fixture
def runs(tmp_path):
    sft = make_run(tmp_path, "sft", {100: 3, 200: 5, 300: 6, 400: 6}, expert=True)
    rl = make_run(tmp_path, "rl", {100: 3, 200: 6, 300: 8, 400: 9}, minutes_per_step=0.2)
    return sft, rl


def test_plot_elo_writes_images_tensorboard_and_a_terminal_chart(runs, capsys):
    sft, rl = runs
    assert main(["plot-elo", str(sft), str(rl)]) == 0
    out = capsys.readouterr().out
    png, svg = sft / "elo.png", sft / "elo.svg"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    text = svg.read_text()
    assert "<svg" in text and svg.stat().st_size > 10_000
    assert "● sft:" in out and "▲ rl:" in out and "┈ expert:" in out
    assert "hours" in out  # every checkpoint has a training time
    chart = [line for line in out.splitlines() if "┤" in line]
    assert len(chart) == 16 and any("●" in line for line in chart) and any("┈" in line for line in chart)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    for run in (sft, rl):
        events = EventAccumulator(str(run / "tb" / "elo"))
        events.Reload()
        scalars = events.Scalars(f"elo/{run.name}")
        assert [s.step for s in scalars] == [100, 200, 300, 400]
        fit = fit_elo_of(sft, rl)
        expected = [fit[f"net:{run}/checkpoints/step-{s:08d}.pt,sims=20"].elo for s in (100, 200, 300, 400)]
        assert [s.value for s in scalars] == pytest.approx(expected, abs=1e-3)
    assert main(["plot-elo", str(sft), str(rl), "--no-files"]) == 0  # a rerun replaces, never duplicates
    assert len(list((sft / "tb" / "elo").iterdir())) == 1


def fit_elo_of(*runs):
    from selfplay.arena.results import read_results
    rows = [r for run in runs for r in read_results(run / "ratings.csv")]
    return fit_elo([(r.first, r.second, r.result) for r in rows])


def test_curves_hold_each_runs_checkpoints_on_one_scale(runs):
    sft, rl = runs
    data = load_curves([sft, rl])
    fit = fit_elo_of(sft, rl)
    by_run = {c.run: c for c in data.curves}
    assert [p.step for p in by_run["sft"].points] == [100, 200, 300, 400]
    assert [p.step for p in by_run["rl"].points] == [100, 200, 300, 400]
    assert [p.minutes for p in by_run["rl"].points] == pytest.approx([20, 40, 60, 80])
    assert by_run["rl"].x("hours") == pytest.approx(np.array([20, 40, 60, 80]) / 60)
    for p in by_run["rl"].points:
        r = fit[p.player]
        assert (p.elo, p.lower, p.upper) == pytest.approx((r.elo, r.lower, r.upper))
    assert [r.player for r in data.experts] == ["expert"]
    assert {r.player for r in data.references} == {"random", "mcts:sims=50"}
    # the same score against the same opponents gives the same Elo, whichever run it is in
    assert by_run["sft"].points[0].elo == pytest.approx(by_run["rl"].points[0].elo, abs=1e-6)
    assert by_run["rl"].points[-1].elo > by_run["sft"].points[-1].elo


def test_training_time_from_eval_csv_survives_a_resume(tmp_path):
    (tmp_path / "eval.csv").write_text("step,minutes\n100,10\n200,20\n200,0.5\n300,10.5\n")
    steps, minutes = run_minutes(tmp_path)
    # the clock restarted at the resume (step 200 again): times continue from 20 minutes
    assert list(steps) == [0, 100, 200, 300] and list(minutes) == [0, 10, 20.5, 30.5]


def test_missing_times_fall_back_to_steps(runs, capsys):
    sft, _ = runs
    (sft / "eval.csv").unlink()
    assert main(["plot-elo", str(sft), "--no-files"]) == 0
    out = capsys.readouterr().out
    assert "x is steps" in out and "steps" in out.splitlines()[-3]
    assert all(math.isnan(p.minutes) for p in load_curves([sft]).curves[0].points)


def test_a_moved_run_or_a_deleted_checkpoint_still_plots(runs):
    sft, _ = runs
    moved = sft.parent / "elsewhere" / "sft"
    moved.parent.mkdir()
    sft.rename(moved)
    (moved / "checkpoints" / "step-00000100.pt").unlink()  # the step then comes from the name
    steps = [p.step for p in load_curves([moved]).curves[0].points]
    assert steps == [100, 200, 300, 400]


def test_a_deleted_checkpoint_of_a_run_from_another_keeps_its_place(tmp_path):
    """RL from SFT: every checkpoint counts SFT's 400 steps and 30 minutes; one pruned after it was
    rated (its time then read from eval.csv) must not fall back before SFT's end."""
    rl = make_run(tmp_path, "rl", {100: 3, 200: 6, 300: 8, 400: 9}, minutes_per_step=0.2)
    initial = {"source": "sft", "step": 400, "elapsed_seconds": 1800.0}
    for step in (100, 300, 400):
        save_checkpoint(checkpoint_path(rl / "checkpoints", step),
                        {"model": {}, "step": step, "elapsed_seconds": step * 12.0, "initial": initial})
    (rl / "checkpoints" / "step-00000200.pt").unlink()
    points = load_curves([rl]).curves[0].points
    assert [p.step for p in points] == [500, 600, 700, 800]
    assert [p.minutes for p in points] == pytest.approx([50, 70, 90, 110])


def test_plot_errors_are_one_line(tmp_path, capsys):
    assert main(["plot-elo", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no ratings.csv" in err and "Traceback" not in err
    with ResultsWriter(tmp_path / "ratings.csv") as w:
        w.append(GameResult("t", "connect4", "random", "mcts:sims=50", 0.0, 10, ""))
    assert main(["plot-elo", str(tmp_path)]) == 2
    assert "no rated checkpoint" in capsys.readouterr().err


def test_sparkline_and_chart_shape():
    assert sparkline([0, 1, 2, 3]) == "▁▃▆█"
    assert sparkline([5, 5]) == "▁▁"
    curve = RunCurve("r", Path("."), [CurvePoint("a", 0, 0.0, 0.0, -1, 1), CurvePoint("b", 10, 60.0, 100.0, 90, 110)])
    data = EloCurves([curve], [Rating("expert", 10, 5.0, 50.0, 40.0, 60.0)], [], None)
    lines = terminal_chart(data, x="steps", width=11, height=5).splitlines()
    plot = [line.split("┤", 1)[1] for line in lines[:5]]
    assert plot[0][10] == "●" and plot[4][0] == "●"  # (10 steps, 100 Elo) and (0, 0)
    line = {(4 - round(0.4 * c), c) for c in range(1, 10)}  # 10 Elo per column, 25 per row
    for r in range(5):
        for c in range(11):
            expected = "●" if (r, c) in ((0, 10), (4, 0)) else "·" if (r, c) in line else "┈" if r == 2 else " "
            assert plot[r][c] == expected, (r, c)  # the expert's level on row 2, crossed by the curve
    assert lines[0].startswith("100") and lines[4].startswith("  0")
    assert lines[-1] == "┈ expert: 50 Elo"
    assert lines[6].split() == ["0", "10", "steps"]
    big = RunCurve("r", Path("."), [CurvePoint("a", 2000, 4.0, 0.0, -1, 1), CurvePoint("b", 12000, 210.0, 9, 8, 10)])
    axis = terminal_chart(EloCurves([big], [], [], None), x="steps").splitlines()[17]
    assert axis.split() == ["2000", "12000", "steps"]  # not 1.2e+04
    axis = terminal_chart(EloCurves([big], [], [], None), x="hours").splitlines()[17]
    assert axis.split() == ["0.07", "3.50", "hours"]
