"""The run directory: its paths, the resolved config, CSV rows, the chunk sequence rule and
checkpoint pruning."""

import subprocess
import sys

import pytest
import torch

from selfplay.configio import ConfigError
from selfplay.errors import UserError
from selfplay.run.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    prune_checkpoints,
    save_checkpoint,
)
from selfplay.run.directory import (
    RunDir,
    append_csv_row,
    chunk_path,
    list_chunks,
    load_run_config,
    next_sequence,
    next_sequences,
    prepare_run,
    read_rows,
)
from selfplay.training.config import RunConfig


def test_paths_of_a_run(tmp_path):
    run = RunDir(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in (run.config, run.checkpoints, run.replay, run.tb,
                                                          run.eval_csv, run.log, run.ratings, run.stop)}
    assert names == {"config.yaml", "checkpoints", "replay", "tb", "eval.csv", "log.txt", "ratings.csv", "STOP"}
    assert run.phase_checkpoints("sft") == tmp_path / "sft" and run.phase_tb("grpo") == tmp_path / "tb" / "grpo"
    assert chunk_path(run.replay, 3, 17).name == "chunk-003-00000017.npz"


def test_a_new_run_writes_its_config_and_a_started_one_must_be_resumed(tmp_path):
    config = prepare_run(RunConfig, tmp_path, None, ["total_steps=7"], resume=False)
    assert config.total_steps == 7 and load_run_config(RunConfig, tmp_path).total_steps == 7
    save_checkpoint(checkpoint_path(RunDir(tmp_path).checkpoints, 5), {"model": {}})
    with pytest.raises(UserError, match="already holds a run; use --resume"):
        prepare_run(RunConfig, tmp_path, None, [], resume=False)
    resumed = prepare_run(RunConfig, tmp_path, None, ["total_steps=9"], resume=True)
    assert resumed.total_steps == 9 and load_run_config(RunConfig, tmp_path).total_steps == 9
    with pytest.raises(UserError, match="has no config.yaml"):
        prepare_run(RunConfig, tmp_path / "none", None, [], resume=True)
    with pytest.raises(ConfigError, match="not a run directory"):
        load_run_config(RunConfig, tmp_path / "none")


def test_csv_rows_keep_the_first_columns_first(tmp_path):
    path = tmp_path / "eval.csv"
    append_csv_row(path, {"step": 1, "score": 0.5}, first_columns=["phase", "step"])
    append_csv_row(path, {"elo": 3.0, "step": 2})
    assert path.read_text().splitlines() == ["phase,step,score,elo", ",1,0.5,", ",2,,3.0"]
    assert read_rows(path)[1] == {"phase": "", "step": "2", "score": "", "elo": "3.0"}
    assert read_rows(tmp_path / "missing.csv") == []


def test_the_chunk_sequence_continues_past_every_name_seen(tmp_path):
    for writer, sequence in ((0, 0), (0, 1), (2, 4)):
        chunk_path(tmp_path, writer, sequence).write_bytes(b"")
    (tmp_path / "notes.txt").write_text("")
    assert [p.name for p in list_chunks(tmp_path)] == sorted(p.name for p in tmp_path.glob("chunk-*"))
    assert next_sequences([p.name for p in list_chunks(tmp_path)], [0, 1, 2]) == {0: 2, 1: 0, 2: 5}
    assert next_sequence(tmp_path, 0) == 2
    assert next_sequence(tmp_path, 2, known_names=["chunk-002-00000009.npz"]) == 10  # pruned since


def test_pruning_keeps_the_newest_and_every_named_step(tmp_path):
    for step in range(0, 100, 10):
        save_checkpoint(checkpoint_path(tmp_path, step), {"model": {"w": torch.zeros(1)}, "step": step})
    prune_checkpoints(tmp_path, 3, keep=lambda step: step % 40 == 0 or step == 30)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [0, 30, 40, 70, 80, 90]
    prune_checkpoints(tmp_path, 2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [80, 90]


def test_two_processes_never_run_one_directory_at_once(tmp_path):
    run_dir = tmp_path / "run"
    prepare_run(RunConfig, run_dir, None, [], resume=False)  # this process holds it now
    prepare_run(RunConfig, run_dir, None, [], resume=True)   # again, from the same process: fine
    (tmp_path / "other").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from selfplay.run.directory import hold_lock; hold_lock(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"), str(tmp_path / "other")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=f"in use by process {holder.pid}"):
            prepare_run(RunConfig, tmp_path / "other", None, [], resume=False)
        assert not (tmp_path / "other" / "config.yaml").exists()  # nothing written
    finally:
        holder.kill()
        holder.wait()
    prepare_run(RunConfig, tmp_path / "other", None, [], resume=False)  # the lock went with the process


def test_a_killed_runs_lock_is_taken_over_with_a_message(tmp_path, capfd):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    code = "import sys; from selfplay.run.directory import hold_lock; hold_lock(sys.argv[1])"
    killed = subprocess.run([sys.executable, "-c", code + "; import os; os._exit(0)", str(run_dir)])  # no atexit
    assert killed.returncode == 0 and (run_dir / ".lock").read_text().startswith("process ")
    finished = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True)
    assert "which is gone (killed?): the lock is taken over" in finished.stderr
    assert (run_dir / ".lock").read_text() == ""  # a normal exit leaves no name behind
    again = subprocess.run([sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True)
    assert again.stderr == ""
