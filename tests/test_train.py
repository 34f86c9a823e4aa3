"""The training loop end to end: a smoke run, SIGKILL and resume, broken checkpoints, config errors."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from selfplay.cli import main
from selfplay.errors import UserError
from selfplay.run.checkpoint import list_checkpoints, load_checkpoint, load_latest_good
from selfplay.run.directory import list_chunks
from selfplay.training.replay import read_chunk
from selfplay.training.trainer import run_training

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
NO_PRUNE = ["replay.capacity=100000", "eval.every_steps=0"]


def games_on_disk(run_dir):
    return sum(read_chunk(p).games for p in list_chunks(Path(run_dir) / "replay"))


def test_smoke_run_trains_checkpoints_and_evaluates(tmp_path):
    trainer = run_training(tmp_path / "run", SMOKE, [], log=lambda m: None)
    assert trainer.step == 30
    steps = [s for s, _ in list_checkpoints(tmp_path / "run" / "checkpoints")]
    assert steps == [10, 15, 20, 30]  # 15: an evaluation step is checkpointed to be rated
    rows = (tmp_path / "run" / "eval.csv").read_text().splitlines()
    assert rows[0].startswith("step,minutes,games,score_vs/random") and len(rows) == 3
    assert rows[0].endswith("elo,elo_low,elo_high")
    ratings = (tmp_path / "run" / "ratings.csv").read_text().splitlines()
    assert len(ratings) == 1 + 2 * 2 + 2 * 2 + 2  # step 15: 2 opponents; step 30: 2 + the previous checkpoint
    assert list((tmp_path / "run" / "tb").iterdir())
    payload = load_checkpoint(tmp_path / "run" / "checkpoints" / "step-00000030.pt")
    assert payload["replay"]["games"] == games_on_disk(tmp_path / "run")


def test_sigkill_then_resume_loses_no_finished_game(tmp_path):
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "selfplay.cli", "train", SMOKE, "total_steps=80", *NO_PRUNE,
           "--runs", str(tmp_path), "--name", "run"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not any(s >= 20 for s, _ in list_checkpoints(run_dir / "checkpoints")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint within the time limit"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(s for s, _ in list_checkpoints(run_dir / "checkpoints"))
    assert killed_at < 80
    chunks_before = {p.name: read_chunk(p).games for p in list_chunks(run_dir / "replay")}
    elapsed_before = load_checkpoint(run_dir / "checkpoints" / f"step-{killed_at:08d}.pt")["elapsed_seconds"]

    trainer = run_training(run_dir, None, [], resume=True, log=lambda m: None)
    assert trainer.step == 80
    chunks_after = {p.name: read_chunk(p).games for p in list_chunks(run_dir / "replay")}
    assert chunks_before.items() <= chunks_after.items()  # every finished game is still there
    _, payload = load_latest_good(run_dir / "checkpoints")
    assert payload["step"] == 80
    assert payload["elapsed_seconds"] > elapsed_before  # training time continues across the restart
    assert payload["replay"]["games"] == sum(chunks_after.values())  # counted once each
    assert sorted(payload["replay"]["ingested"]) == sorted(chunks_after)


def test_resume_skips_a_truncated_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=20", *NO_PRUNE], log=lambda m: None)
    newest = run_dir / "checkpoints" / "step-00000020.pt"
    newest.write_bytes(newest.read_bytes()[:100])
    messages = []
    trainer = run_training(run_dir, None, ["total_steps=30"], resume=True, log=messages.append)
    assert any("skipping a broken checkpoint" in m and "step-00000020.pt" in m for m in messages)
    assert any("resumed from step-00000010.pt" in m for m in messages)
    assert trainer.step == 30


def test_a_run_carried_without_its_replay_resumes_and_says_so(tmp_path):
    """What a fresh machine holds of a long run committed to the repository: its config and newest
    checkpoint, not the replay window; the run goes on at its step and counters, the window refilling."""
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=20", *NO_PRUNE], log=lambda m: None)
    before = load_checkpoint(run_dir / "checkpoints" / "step-00000020.pt")["replay"]
    for path in list_chunks(run_dir / "replay"):
        path.unlink()
    messages = []
    trainer = run_training(run_dir, None, ["total_steps=30"], resume=True, log=messages.append)
    window = min(100000, before["positions_total"])
    assert any(f"only 0 of the {window} positions of the checkpoint's window" in m for m in messages)
    assert trainer.step == 30
    after = load_checkpoint(run_dir / "checkpoints" / "step-00000030.pt")["replay"]
    assert after["games"] == before["games"] + games_on_disk(run_dir)  # counted on from the checkpoint's


def test_resume_with_no_readable_checkpoint_stops_instead_of_starting_again(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=10", *NO_PRUNE], log=lambda m: None)
    for _, path in list_checkpoints(run_dir / "checkpoints"):
        path.write_bytes(b"")
    assert main(["train", "--resume", str(run_dir), "total_steps=20"]) == 2
    assert "every checkpoint in" in capsys.readouterr().err
    assert [p.stat().st_size for _, p in list_checkpoints(run_dir / "checkpoints")] == [0]  # nothing overwritten


def test_an_override_that_changes_the_network_is_refused_before_the_config_is_written(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=10", *NO_PRUNE], log=lambda m: None)
    config_text = (run_dir / "config.yaml").read_text()
    assert main(["train", "--resume", str(run_dir), "network.channels=16"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "network.channels changed" in err
    assert (run_dir / "config.yaml").read_text() == config_text
    trainer = run_training(run_dir, None, ["total_steps=20"], resume=True, log=lambda m: None)  # still resumable
    assert trainer.step == 20


def test_resume_takes_the_learning_rate_of_the_config(tmp_path):
    """The optimizer's saved state holds the old rate; resuming with a lower one anneals the run."""
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    assert load_checkpoint(run_dir / "checkpoints" / "step-00000010.pt")["optimizer"]["param_groups"][0]["lr"] == 2e-3
    messages = []
    trainer = run_training(run_dir, None, ["total_steps=20", "optim.learning_rate=0.0005"], resume=True,
                           log=messages.append)
    assert trainer.step == 20
    assert any("optimizer from the config: lr 0.002 -> 0.0005" in m for m in messages)
    saved = load_checkpoint(run_dir / "checkpoints" / "step-00000020.pt")["optimizer"]["param_groups"]
    assert all(group["lr"] == 5e-4 for group in saved)


def test_a_run_out_of_time_resumes_to_an_immediate_stop(tmp_path):
    """The last checkpoint of a run stopped by max_hours holds the time spent, even when its step
    was saved before the clock ran out (here: step 10's, then self-play only, the replay ratio
    holding the learner back): resuming it plays and trains no further."""
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    spent = load_checkpoint(run_dir / "checkpoints" / "step-00000010.pt")["elapsed_seconds"]
    hours = (spent + 0.5) / 3600
    first = run_training(run_dir, None, [f"max_hours={hours}", "total_steps=1000", "optim.replay_ratio=0.0001"],
                         resume=True, log=lambda m: None)
    assert first.step == 10
    payload = load_checkpoint(run_dir / "checkpoints" / "step-00000010.pt")
    assert payload["elapsed_seconds"] >= hours * 3600
    games = games_on_disk(run_dir)
    again = run_training(run_dir, None, [], resume=True, log=lambda m: None)
    assert again.step == 10 and games_on_disk(run_dir) == games


def test_a_scheduled_learning_rate_is_not_reported_as_a_config_change(tmp_path):
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=10", "eval.every_steps=0", "optim.lr_schedule=cosine"],
                 log=lambda m: None)
    messages = []
    run_training(run_dir, None, ["total_steps=12"], resume=True, log=messages.append)
    assert not any("optimizer from the config" in m for m in messages)


def test_an_evaluated_end_off_the_grid_is_kept(tmp_path):
    """A run stopped at step 17 is rated there; the newest-five pruning of the resumed run keeps it."""
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=17", "eval.rate=false"], log=lambda m: None)
    run_training(run_dir, None, ["total_steps=50", "checkpoint_every=5"], resume=True, log=lambda m: None)
    steps = [s for s, _ in list_checkpoints(run_dir / "checkpoints")]
    assert steps == [17, 30, 35, 40, 45, 50]  # 10, 20 and 25 pruned


def test_keep_checkpoints_keeps_more_for_averaging(tmp_path):
    run_dir = tmp_path / "run"
    run_training(run_dir, SMOKE, ["total_steps=40", "checkpoint_every=5", "eval.every_steps=0",
                                  "keep_checkpoints=7"], log=lambda m: None)
    assert [s for s, _ in list_checkpoints(run_dir / "checkpoints")] == [10, 15, 20, 25, 30, 35, 40]
    with pytest.raises(UserError, match="keep_checkpoints must be positive, got 0"):
        run_training(tmp_path / "bad", SMOKE, ["keep_checkpoints=0"], log=lambda m: None)


def test_identical_runs_from_one_seed(tmp_path):
    a = run_training(tmp_path / "a", SMOKE, ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    b = run_training(tmp_path / "b", SMOKE, ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert np.allclose(pa.cpu().numpy(), pb.cpu().numpy()), name


@pytest.mark.parametrize("argv, message", [
    (["train", SMOKE, "optim.lerning_rate=0.1"], "unknown key 'lerning_rate'; did you mean 'learning_rate'?"),
    (["train", SMOKE, "selfplay.simulations=0"], "need 1 <= cheap_simulations <= simulations"),
    (["train", SMOKE, "game.name=chess"], "'chess' is not one of"),
    (["train"], "name a config file"),
    (["train", "--resume", "/nonexistent/run"], "has no config.yaml"),
    (["play", "connect4", "--o", "net:/nonexistent"], "does not exist"),
])
def test_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    assert main([*argv, "--runs", str(tmp_path)] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_existing_run_needs_resume(tmp_path, capsys):
    run_training(tmp_path / "smoke", SMOKE, ["total_steps=10", "eval.every_steps=0"], log=lambda m: None)
    assert main(["train", SMOKE, "--runs", str(tmp_path)]) == 2
    assert "use --resume" in capsys.readouterr().err


def test_worker_processes_feed_the_learner(tmp_path):
    run_dir = tmp_path / "run"
    trainer = run_training(run_dir, SMOKE, ["total_steps=20", "selfplay.workers=2", *NO_PRUNE], log=lambda m: None)
    assert trainer.step == 20
    writers = {p.name.split("-")[1] for p in list_chunks(run_dir / "replay")}
    assert writers <= {"001", "002"} and writers  # only the workers played
    assert not (run_dir / "STOP").exists()
    _, payload = load_latest_good(run_dir / "checkpoints")
    assert payload["replay"]["games"] <= games_on_disk(run_dir)  # chunks after the last step may follow


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "configs").glob("*.yaml") if not p.name.startswith("llm_")),
                         ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    from selfplay.configio import load_config
    from selfplay.training.config import RunConfig
    config = load_config(RunConfig, path)
    game = config.game.make()
    assert game.num_actions > 0


def test_go_smoke_run(tmp_path):
    overrides = ["game.name=go", "game.size=5", "game.komi=0.5", "total_steps=10", "eval.every_steps=10",
                 "eval.games=2", "replay.min_positions=16"]
    trainer = run_training(tmp_path / "go", SMOKE, overrides, log=lambda m: None)
    assert trainer.step == 10 and trainer.buffer.games >= 8
    assert trainer.buffer.planes.shape[1:] == trainer.game.obs_shape


def test_a_worker_writes_surprise_weighted_go_chunks_with_their_auxiliary_targets(tmp_path):
    overrides = ["game.name=go", "game.size=5", "game.komi=0.5", "total_steps=6", "eval.every_steps=0",
                 "replay.min_positions=16", "network.ownership_head=true", "selfplay.workers=1",
                 "selfplay.policy_surprise_weight=0.5", *NO_PRUNE]
    trainer = run_training(tmp_path / "go", SMOKE, overrides, log=lambda m: None)
    assert trainer.step == 6
    chunks = [read_chunk(p) for p in list_chunks(tmp_path / "go" / "replay")]
    assert chunks and all(len(c.ownership) == len(c.score) == len(c.value) for c in chunks)


def test_eval_csv_keeps_columns_aligned_when_new_ones_appear(tmp_path):
    from selfplay.run.directory import append_csv_row
    path = tmp_path / "eval.csv"
    append_csv_row(path, {"step": 1, "score": 0.5})
    append_csv_row(path, {"step": 2, "score": 0.7, "elo": 120.0})
    assert path.read_text().splitlines() == ["step,score,elo", "1,0.5,", "2,0.7,120.0"]


def test_overrides_after_options_reach_the_config(tmp_path, capsys):
    """`selfplay train CONFIG --name N key=value`: the override after the options is not lost."""
    assert main(["train", SMOKE, "--runs", str(tmp_path), "--name", "r", "total_steps=oops"]) == 2
    assert "total_steps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", SMOKE, "--runs", str(tmp_path), "--bogus"])
