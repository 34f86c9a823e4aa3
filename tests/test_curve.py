"""`selfplay curve` end to end in a reduced form: expert games, SFT, RL from the SFT network,
ratings on one scale, the figure with both curves; and a rerun that resumes instead of redoing.
Go's form (GNU Go teaching and rated) runs behind the external marker."""

import json
import os
import shutil
from pathlib import Path

import pytest

from selfplay.cli import main
from selfplay.errors import UserError
from selfplay.rating.plots import load_curves
from selfplay.run.checkpoint import load_checkpoint
from selfplay.scaling import reference_pool
from selfplay.training.config import GameConfig
from selfplay.training.curve import (
    CONFIGS,
    PRESETS,
    CurveSummary,
    expert_of,
    preset_for,
    split_overrides,
)

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
REDUCED = ["--config", SMOKE, "--expert-games", "40", "--final-games", "4", "selfplay.workers=0", "rating.games=2",
           "rating.simulations=4", "sft:total_steps=20", "sft:checkpoint_every=10", "sft:eval.every_steps=10",
           "rl:total_steps=20", "rl:max_hours=0", "rl:checkpoint_every=10", "rl:eval.every_steps=10"]


@pytest.fixture(scope="module")
def curve_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("curve") / "c4"
    assert main(["curve", "--game", "connect4", "--preset", "quick", "--out", str(out), *REDUCED]) == 0
    return out


def test_reduced_curve_draws_both_runs_against_the_expert(curve_dir):
    png = curve_dir / "elo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (curve_dir / "elo.svg").is_file()
    assert len((curve_dir / "expert-games" / "games.txt").read_text().splitlines()) == 40
    summary = json.loads((curve_dir / "summary.json").read_text())
    assert summary["expert"] == "expert:depth=2"
    assert len(summary["sft_elo"]) == 2 and len(summary["rl_elo"]) == 2
    assert 0 <= summary["sft_move_accuracy"] <= 1
    data = load_curves([curve_dir / "sft", curve_dir / "rl"], expert="expert:depth=2")
    sft, rl = data.curves
    assert [p.step for p in sft.points] == [10, 20]
    assert [p.step for p in rl.points] == [20, 30, 40]  # RL continues the SFT curve from its last point
    assert rl.points[0] == sft.points[-1]
    assert rl.points[1].minutes > sft.points[-1].minutes


def test_rl_starts_from_the_sft_network_and_plays_it(curve_dir):
    payload = load_checkpoint(curve_dir / "rl" / "checkpoints" / "step-00000010.pt")
    assert payload["initial"]["source"] == str(curve_dir / "sft")  # checkpoints no longer hold the run config
    assert payload["initial"]["step"] == 20
    ratings = (curve_dir / "rl" / "ratings.csv").read_text()
    assert f"net:{curve_dir / 'sft' / 'checkpoints' / 'step-00000020.pt'},sims=4" in ratings


def test_the_last_checkpoints_are_topped_up_against_every_opponent(curve_dir):
    """Two rating games a pair as the runs go, then four for each run's last checkpoint (the
    verdict's intervals), against the pool, the expert and the previous checkpoint alike."""
    from collections import Counter

    from selfplay.arena.results import read_results
    for run, last in (("sft", 20), ("rl", 20)):
        me = f"net:{curve_dir / run / 'checkpoints' / f'step-{last:08d}.pt'},sims=4"
        games = Counter(r.second if r.first == me else r.first
                        for r in read_results(curve_dir / run / "ratings.csv") if me in (r.first, r.second))
        assert "expert:depth=2" in games and "random" in games
        assert set(games.values()) == {4}, games


def test_rerun_resumes_without_redoing_finished_stages(curve_dir, capsys):
    ratings = {run: (curve_dir / run / "ratings.csv").read_text() for run in ("sft", "rl")}
    assert main(["curve", "--game", "connect4", "--preset", "quick", "--out", str(curve_dir), *REDUCED]) == 0
    assert {run: (curve_dir / run / "ratings.csv").read_text() for run in ("sft", "rl")} == ratings
    assert "summary.json" in capsys.readouterr().out


def test_overrides_go_to_one_stage_or_both():
    assert split_overrides(["a=1", "sft:b=2", "rl:c.d=3"]) == (["a=1", "b=2"], ["a=1", "c.d=3"])
    with pytest.raises(UserError, match="stage prefix"):
        split_overrides(["eval:x=1"])
    with pytest.raises(UserError, match="KEY=VALUE"):
        split_overrides(["sft:oops"])


def test_unknown_game_or_preset_is_a_clear_error(capsys):
    with pytest.raises(UserError, match="no 'huge' preset"):
        preset_for("connect4", "huge")
    assert main(["curve", "--preset", "huge", "--out", "/nonexistent/x"]) == 2
    assert "no 'huge' preset" in capsys.readouterr().err


def test_verdict_reads_the_interval_of_the_difference():
    """The quick curve once printed "above the expert's line" for RL at 593 [410, 780] against
    the expert's 536 [362, 710]: the verdict holds only where the interval of the difference
    (from the joint fit) clears 0, and touching 0 is not clearing it."""
    summary = CurveSummary(expert="expert:depth=2", expert_elo=536, expert_interval=[362, 710],
                           sft_elo=[400, 500], sft_lower=[250, 350], sft_upper=[550, 650],
                           rl_elo=[500, 593], rl_lower=[330, 410], rl_upper=[670, 780],
                           sft_vs_expert=[[-136, -250, -20], [-36, -120, 48]],
                           rl_vs_expert=[[-36, -100, 28], [57, -10, 124]])
    assert summary.sft_at_or_below_expert and not summary.rl_above_expert
    lines = summary.verdict()
    assert lines[0] == "expert (expert:depth=2): Elo 536 [362, 710]"
    assert lines[1].endswith("Elo 400 [250, 550], 500 [350, 650]; minus the expert's -136 [-250, -20], "
                             "-36 [-120, +48]; at the expert's line (the difference's 95% interval holds 0)")
    assert "593 [410, 780]; minus the expert's +57 [-10, +124]; NOT separated from the expert's line" in lines[2]
    summary.rl_vs_expert[-1] = [131, 61, 201]  # the intervals of the two ratings may still overlap
    assert summary.rl_above_expert and "above the expert's line (the difference's 95% interval is above 0)" \
        in summary.verdict()[2]
    summary.rl_vs_expert[-1] = [70, 0, 140]  # touching is not separated
    assert not summary.rl_above_expert
    summary.sft_vs_expert = [[90, 5, 175], [120, 30, 210]]
    assert not summary.sft_at_or_below_expert and "ABOVE" in summary.verdict()[1]
    summary.sft_vs_expert[0] = [50, -20, 120]  # one of the two at the line: at the line
    assert summary.sft_position() == "at"
    summary.sft_vs_expert = [[-150, -240, -60], [-130, -200, -60]]
    assert summary.sft_position() == "below" and summary.sft_at_or_below_expert
    summary.rl_vs_expert[-1] = [-200, -300, -100]
    assert "BELOW" in summary.verdict()[2]


def test_the_difference_of_two_ratings_is_read_from_the_joint_fit():
    """A hand-checkable case: A and B play random (the anchor) and each other. The difference
    A - B has a narrower interval than either rating's own (their shared uncertainty about the
    anchor cancels), and it matches the head-to-head's own estimate closely."""
    import math

    from selfplay.rating.elo import fit_elo
    results = [("A", "random", 0.75)] * 40 + [("B", "random", 0.75)] * 40 + [("A", "B", 1.0)] * 60 \
        + [("A", "B", 0.0)] * 40
    fit = fit_elo(results, anchor="random")
    diff, low, high = fit.difference("A", "B")
    assert diff == pytest.approx(fit["A"].elo - fit["B"].elo)
    assert high - low < min(fit["A"].upper - fit["A"].lower, fit["B"].upper - fit["B"].lower)
    assert (low + high) / 2 == pytest.approx(diff)
    head_to_head = 400 * math.log10(0.6 / 0.4)  # 70.4 Elo from 60% over 100 games
    assert diff == pytest.approx(head_to_head, abs=15)
    with pytest.raises(UserError, match="no rating for 'C'"):
        fit.difference("A", "C")


def test_the_expert_follows_the_configs_game():
    spec, settings = expert_of(GameConfig(name="connect4"), 3)
    assert spec == "expert:depth=3" and (settings.game, settings.depth, settings.random_plies) == ("connect4", 3, 4)
    with pytest.raises(UserError, match="no expert plays tictactoe"):
        expert_of(GameConfig(name="tictactoe"), 3)


def test_go_without_gnugo_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("selfplay.gtp.client.KNOWN_LOCATIONS", {})
    with pytest.raises(UserError, match="gnugo"):
        expert_of(GameConfig(name="go", size=7, komi=9.0), 10)


def test_a_config_of_another_game_is_refused(tmp_path, capsys):
    assert main(["curve", "--game", "go", "--config", SMOKE, "--out", str(tmp_path / "c")]) == 2
    assert "--game go with a config of connect4" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


GO_REDUCED = ["--expert-games", "4", "network.channels=8", "network.blocks=1", "network.value_hidden=8",
              "selfplay.workers=0", "selfplay.parallel_games=4", "selfplay.simulations=4",
              "selfplay.cheap_simulations=2", "replay.min_positions=32", "optim.batch_size=16",
              "rating.games=2", "rating.simulations=4", "rating.pool=random", "sft:total_steps=10",
              "sft:checkpoint_every=5", "sft:eval.every_steps=5", "rl:total_steps=10", "rl:max_hours=0",
              "rl:checkpoint_every=5", "rl:eval.every_steps=5"]


@pytest.mark.external
@pytest.mark.skipif(not (shutil.which("gnugo") or os.access("/usr/games/gnugo", os.X_OK)),
                    reason="GNU Go is not installed (apt-get install gnugo)")
def test_reduced_go_curve_learns_from_and_is_rated_against_gnugo(tmp_path):
    out = tmp_path / "go"
    assert main(["curve", "--game", "go", "--preset", "quick", "--out", str(out), *GO_REDUCED]) == 0
    sgfs = sorted((out / "expert-games").glob("*.sgf"))
    assert len(sgfs) == 4 and b"SZ[7]" in sgfs[0].read_bytes() and b"KM[9" in sgfs[0].read_bytes()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["expert"] == "expert:level=10"
    assert len(summary["sft_elo"]) == 2 and len(summary["rl_elo"]) == 2
    assert (out / "elo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ratings = (out / "rl" / "ratings.csv").read_text()
    assert "expert:level=10" in ratings


def test_every_preset_names_a_shipped_config():
    assert all((CONFIGS / p.base).is_file() for presets in PRESETS.values() for p in presets.values())


def test_scaling_on_the_reduced_curve(curve_dir, tmp_path, capsys):
    """`selfplay scaling --boards SFT RL`: the newest RL network at each number of simulations
    against the run's rating pool, on the scale of the run's own ratings; rerun, it plays nothing."""
    out = tmp_path / "scaling"
    argv = ["scaling", "--boards", str(curve_dir / "sft"), str(curve_dir / "rl"), "--sims", "1,4", "--games", "2",
            "--out", str(out), "--json"]
    assert main(argv) == 0
    numbers = json.loads(capsys.readouterr().out)
    levels = numbers["boards"]["levels"]
    assert [level["simulations"] for level in levels] == [1, 4]
    newest = sorted((curve_dir / "rl" / "checkpoints").glob("step-*.pt"))[-1]
    pool = reference_pool(curve_dir / "rl", GameConfig().make())
    assert pool[-1] == "expert:depth=2" and any(p.startswith("net:") for p in pool)  # the SFT network
    assert levels[0]["games"] == 2 * len(pool)
    rated = (curve_dir / "rl" / "ratings.csv").read_text().count(f"net:{newest},sims=4")
    assert levels[1]["games"] == 2 * len(pool) + rated  # rated at 4 simulations: the same player, one scale
    rows = (out / "test_time.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 2 * len(pool)
    assert (out / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    assert main(argv) == 0 and (out / "test_time.csv").read_text().splitlines() == rows  # nothing replayed
