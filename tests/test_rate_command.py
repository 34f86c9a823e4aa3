"""`selfplay rate RUN_DIR`: a trained run's checkpoints rated after the fact, oldest first, as
training would have; a rerun resumes; --restart keeps the old file aside."""

import shutil
from pathlib import Path

import pytest

from selfplay.arena.results import read_results
from selfplay.cli import main
from selfplay.commands.rate import checkpoints_to_rate
from selfplay.errors import UserError
from selfplay.rating.rate import checkpoint_name
from selfplay.training.trainer import run_training

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"
FAST = ["games=2", "simulations=4", "pool=random", "opening_plies=1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = tmp_path_factory.mktemp("rate") / "run"
    run_training(run, str(SMOKE), ["eval.rate=false"], log=lambda message: None)  # steps 10, 20, 30
    return run


def test_rates_every_nth_checkpoint_and_the_last_oldest_first(run, capsys):
    assert main(["rate", str(run), "--every", "20", *FAST]) == 0
    rows = read_results(run / "ratings.csv")
    names = [checkpoint_name(run, f"step-{s:08d}.pt", 4) for s in (20, 30)]
    assert [r.first if r.first in names else r.second for r in rows[:2]] == [names[0]] * 2
    # step 30 plays random and step 20 (the previous rated checkpoint), 2 games each
    assert sum(names[1] in (r.first, r.second) for r in rows) == 4 and len(rows) == 6
    out = capsys.readouterr().out
    assert "step 20: Elo" in out and "step 30: Elo" in out and "2 checkpoints rated" in out

    assert main(["rate", str(run), "--every", "20", *FAST]) == 0  # nothing left to play
    assert len(read_results(run / "ratings.csv")) == 6

    assert main(["rate", str(run), "--every", "10", "--restart", *FAST]) == 0
    assert len(list(run.glob("ratings-*.csv"))) == 1
    assert len(read_results(run / "ratings.csv")) == 2 + 4 + 4


def test_choice_of_checkpoints(run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run / "checkpoints", copy / "checkpoints")
    shutil.copy(copy / "checkpoints" / "step-00000010.pt", copy / "checkpoints" / "step-00000000.pt")
    assert [s for s, _ in checkpoints_to_rate(copy, 15)] == [30]
    assert [s for s, _ in checkpoints_to_rate(copy, 0)] == [30]
    assert [s for s, _ in checkpoints_to_rate(copy, 10)] == [10, 20, 30]  # never step 0, the initial network
    with pytest.raises(UserError, match="no checkpoints"):
        checkpoints_to_rate(tmp_path, 10)


def test_bad_input_is_a_clear_error(run, tmp_path, capsys):
    assert main(["rate", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
    assert main(["rate", str(run), "games=0"]) == 2
    assert "games must be at least 1" in capsys.readouterr().err
    assert main(["rate", str(run), "colour=red"]) == 2
    assert "colour" in capsys.readouterr().err
