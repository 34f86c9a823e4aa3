"""Fault injection: a training run killed at a random moment, random files of its run directory
damaged (truncated, a byte flipped, emptied, deleted), then resumed. Each trial checks that the
run goes on to its last step (or, when every checkpoint was damaged, stops with the error that
says so), and that the only finished games lost are those inside damaged files.

The default suite runs 2 trials; ``pytest -m slow tests/test_fault_injection.py`` runs 100."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from selfplay.cli import main
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import list_chunks
from selfplay.errors import UserError
from selfplay.training.replay import GameChunk, read_chunk, write_chunk

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
STEPS = 40
SETTINGS = [f"total_steps={STEPS}", "replay.capacity=100000", "eval.every_steps=0"]
DAMAGES = ("truncate", "flip", "empty", "delete")


def finished_games(run_dir: Path) -> dict[str, int]:
    """Games in each readable chunk of the run."""
    games = {}
    for path in list_chunks(run_dir / "replay"):
        try:
            games[path.name] = read_chunk(path).games
        except Exception:  # noqa: BLE001 - a chunk torn by the kill itself is simply not finished
            continue
    return games


def damage(path: Path, how: str, rng: np.random.Generator) -> None:
    data = bytearray(path.read_bytes())
    if how == "delete":
        path.unlink()
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "truncate":
        path.write_bytes(bytes(data[:int(rng.integers(0, max(len(data), 1)))]))
    elif data:
        data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(data))


def kill_at_random(run_dir: Path, tmp_path: Path, rng: np.random.Generator) -> None:
    """Start the run in a subprocess and SIGKILL it at a random moment after its first chunk."""
    cmd = [sys.executable, "-m", "selfplay.cli", "train", SMOKE, *SETTINGS, "--runs", str(tmp_path),
           "--name", run_dir.name]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list_chunks(run_dir / "replay"):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no game within the time limit"
        time.sleep(0.05)
    time.sleep(float(rng.uniform(0.0, 4.0)))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def trial(tmp_path: Path, seed: int, capsys) -> None:
    rng = np.random.default_rng(seed)
    run_dir = tmp_path / f"run{seed}"
    kill_at_random(run_dir, tmp_path, rng)
    before = finished_games(run_dir)
    files = [p for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name not in ("config.yaml", ".lock")
             and "tb" not in p.relative_to(run_dir).parts]
    damaged = set()
    for path in rng.choice(files, size=min(len(files), int(rng.integers(1, 4))), replace=False):
        damage(path, DAMAGES[int(rng.integers(len(DAMAGES)))], rng)
        damaged.add(path.name)
    readable = [p for _, p in list_checkpoints(run_dir / "checkpoints")
                if p.name not in damaged]  # an undamaged checkpoint can always be resumed from
    code = main(["train", "--resume", str(run_dir)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 2:
        assert "every checkpoint in" in err and not readable, err
        return
    assert code == 0, err
    assert max(s for s, _ in list_checkpoints(run_dir / "checkpoints")) == STEPS
    after = finished_games(run_dir)
    lost = {name for name, games in before.items() if after.get(name) != games}
    assert lost <= damaged, f"finished games lost outside the damaged files: {lost - damaged}"


@pytest.mark.parametrize("seed", [0, 1])
def test_a_killed_and_damaged_run_resumes_losing_only_what_was_damaged(tmp_path, seed, capsys):
    trial(tmp_path, seed, capsys)


@pytest.mark.slow
def test_a_hundred_random_faults(tmp_path, capsys):
    for seed in range(100, 200):
        trial(tmp_path, seed, capsys)


def test_the_damage_is_real(tmp_path):
    """Each kind of damage changes the file (so the trials test something); a truncated or
    emptied chunk no longer reads."""
    rng = np.random.default_rng(0)
    chunk = GameChunk(np.zeros((4, 3, 6, 7), np.uint8), np.full((4, 7), 1 / 7, np.float32),
                      np.zeros(4, np.float32), 2, 0)
    for how in DAMAGES:
        path = write_chunk(tmp_path / how, 0, 0, chunk)
        original = path.read_bytes()
        damage(path, how, rng)
        assert not path.exists() if how == "delete" else path.read_bytes() != original
        if how in ("truncate", "empty"):
            with pytest.raises(UserError, match="unreadable"):
                read_chunk(path)
