"""The run log the board trainer and the token mode's phases share: log.txt lines (a phase's
tagged), eval.csv rows with the union of the columns, TensorBoard events, one clock."""

from selfplay.llm.run import EVAL_FIELDS, Phase
from selfplay.run.directory import RunDir, read_rows
from selfplay.run.log import RunLog


def test_board_and_token_rows_share_eval_csv_and_log(tmp_path):
    run = RunDir(tmp_path)
    board = RunLog(run, run.tb, total_steps=10, echo=lambda m: None)
    board.record_eval(5, {"step": 5, "minutes": board.minutes(), "games": 40, "score_vs/random": 0.75},
                      {"score_vs/random": 0.75})
    board.close()
    phase = Phase("sft", tmp_path, 10, log=lambda m: None)
    phase.record_eval(10, 10, {"accuracy": 0.5, "mean_length": 12.0}, 0.6)
    phase.close()

    rows = read_rows(run.eval_csv)
    header = run.eval_csv.read_text().splitlines()[0].split(",")
    assert header[:len(EVAL_FIELDS)] == EVAL_FIELDS and {"games", "score_vs/random"} <= set(header)
    assert rows[0]["step"] == "5" and rows[0]["score_vs/random"] == "0.75" and rows[0]["phase"] == ""
    assert rows[1]["phase"] == "sft" and rows[1]["accuracy"] == "0.5" and rows[1]["games"] == ""
    lines = run.log.read_text().splitlines()
    assert lines[0].endswith(" eval: step 5  minutes 0.000  games 40  score_vs/random 0.750")
    assert " [sft] eval: step 10  curve_step 10" in lines[1] and "phase" not in lines[1]
    assert list((tmp_path / "tb").iterdir()) and list((tmp_path / "tb" / "sft").iterdir())


def test_step_lines_every_ten_seconds_and_at_the_end(tmp_path):
    run = RunDir(tmp_path)
    echoed = []
    log = RunLog(run, run.tb, total_steps=3, tag="grpo", echo=echoed.append)
    for step in (1, 2, 3):
        log.report(step, {"losses/loss": 1.0 / step, "nan": float("nan")}, f"loss {1.0 / step:.2f}")
    log.close()
    assert [m.split("  ")[0:2] for m in echoed] == [["step 1/3", "loss 1.00"], ["step 3/3", "loss 0.33"]]
    assert all(" [grpo] step " in line for line in run.log.read_text().splitlines())


def test_a_resumed_clock_goes_on(tmp_path):
    run = RunDir(tmp_path)
    log = RunLog(run, run.tb, total_steps=1, echo=lambda m: None)
    log.continue_clock(600.0)
    assert 600.0 <= log.elapsed_seconds() < 660.0 and log.minutes() >= 10.0
    log.close()


def test_the_remaining_time_names_the_budget_that_ends_the_run(tmp_path, monkeypatch):
    """A run that stops at max_hours once showed `step 377/100000` and no hint of when it ends."""
    now = [1000.0]
    monkeypatch.setattr("selfplay.run.log.time.monotonic", lambda: now[0])
    run = RunDir(tmp_path)
    log = RunLog(run, run.tb, total_steps=100_000, echo=lambda m: None, max_seconds=3600)
    log.start_progress(0)
    assert log.remaining(0) == ""  # no rate yet
    now[0] += 600  # 100 steps in 10 minutes: steps would take 166 hours, time runs out in 50 minutes
    assert log.remaining(100) == "0:50:00 to max_hours"
    short = RunLog(run, run.tb, total_steps=150, echo=lambda m: None, max_seconds=3600)
    short.start_progress(100)  # resumed at step 100
    now[0] += 60
    assert short.remaining(110) == "0:04:00 to step 150"  # 10 steps a minute, 40 to go
    log.close()
    short.close()
