"""scripts/ablation.py end to end on the smoke config: runs, the evaluation rows, a rerun that
skips what is done."""

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from selfplay.rating.stats import mcnemar_p

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ablation.py"
POSITIONS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "connect4" / "Test_L2_R2"


def _load():
    spec = importlib.util.spec_from_file_location("ablation", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not POSITIONS.exists(), reason="no benchmark positions in ../shared/data/connect4")
def test_two_levers_two_seeds_then_a_rerun(tmp_path, capsys):
    ablation = _load()
    args = ["--minutes", "0.01", "--seeds", "0", "1", "--levers", "plain", "cosine-lr", "--config",
            "configs/smoke.yaml", "--out", str(tmp_path), "--positions-file", str(POSITIONS),
            "--positions", "6", "--sims", "4"]
    assert ablation.main(args) == 0
    rows = list(csv.DictReader((tmp_path / "ablation.csv").open()))
    assert sorted((r["lever"], r["seed"]) for r in rows) == [("cosine-lr", "0"), ("cosine-lr", "1"),
                                                            ("plain", "0"), ("plain", "1")]
    assert all(r["positions"] == "6" and 0 <= int(r["best"]) <= int(r["outcome"]) <= 6 for r in rows)
    table = capsys.readouterr().out.strip().splitlines()[-4:]
    assert table[0].startswith("| lever") and "p vs plain" in table[0] and table[2].startswith("| plain | 2 |")
    assert table[3].startswith("| cosine-lr | 2 |")
    # the same-positions column: per seed, (only cosine) - (only plain) is the difference of the counts
    by_run = {(r["lever"], r["seed"]): r for r in rows}
    kept = {run: np.load(tmp_path / f"{run[0]}-s{run[1]}" / "ablation-positions.npz")["kept"] for run in by_run}
    assert all(int(kept[run].sum()) == int(by_run[run]["outcome"]) for run in by_run)
    only_cosine = sum(int((kept["cosine-lr", s] & ~kept["plain", s]).sum()) for s in "01")
    only_plain = sum(int((kept["plain", s] & ~kept["cosine-lr", s]).sum()) for s in "01")
    assert only_cosine - only_plain == sum(int(by_run["cosine-lr", s]["outcome"]) - int(by_run["plain", s]["outcome"])
                                           for s in "01")
    assert f"| {only_cosine} / {only_plain}, " in table[3]
    best = {run: np.load(tmp_path / f"{run[0]}-s{run[1]}" / "ablation-positions.npz")["best"] for run in by_run}
    assert all(int(best[run].sum()) == int(by_run[run]["best"]) for run in by_run)
    best_cosine = sum(int((best["cosine-lr", s] & ~best["plain", s]).sum()) for s in "01")
    best_plain = sum(int((best["plain", s] & ~best["cosine-lr", s]).sum()) for s in "01")
    assert table[3].split("|")[-2].strip().startswith(f"{best_cosine} / {best_plain}, ")
    assert ablation.main(args) == 0  # finished runs are resumed at once and not evaluated again
    assert list(csv.DictReader((tmp_path / "ablation.csv").open())) == rows
    (tmp_path / "plain-s1" / "ablation-positions.npz").unlink()  # measured before answers were kept
    assert ablation.main(args) == 0
    again = list(csv.DictReader((tmp_path / "ablation.csv").open()))
    assert [(r["lever"], r["seed"]) for r in again] == [(r["lever"], r["seed"]) for r in rows]  # in place
    assert (tmp_path / "plain-s1" / "ablation-positions.npz").exists()


TINY_GO = """seed: 0
device: cpu
checkpoint_every: 10
torch_threads: 1
game: {name: go, size: 7, komi: 9.0}
network: {channels: 8, blocks: 1, value_hidden: 8}
selfplay: {parallel_games: 8, simulations: 8, cheap_simulations: 4, full_search_prob: 0.5, resign_threshold: -1.0}
replay: {capacity: 5000, min_positions: 32}
optim: {batch_size: 16}
"""


def test_the_go_study_plays_its_games_and_pools_the_score(tmp_path, capsys):
    ablation = _load()
    config = tmp_path / "go.yaml"
    config.write_text(TINY_GO)
    args = ["--game", "go7", "--minutes", "0.02", "--seeds", "0", "--levers", "plain", "ownership", "--config",
            str(config), "--out", str(tmp_path / "out"), "--games", "2", "--sims", "4", "--opponent", "mcts:sims=4"]
    assert ablation.main(args) == 0
    rows = list(csv.DictReader((tmp_path / "out" / "ablation.csv").open()))
    assert [r["lever"] for r in rows] == ["plain", "ownership"]
    assert all(r["games"] == "2" and int(r["wins"]) + int(r["draws"]) + int(r["losses"]) == 2 for r in rows)
    table = capsys.readouterr().out.strip().splitlines()[-4:]
    assert table[0].startswith("| lever | seeds | score") and table[3].startswith("| ownership | 1 |")
    # same seed, same schedule: the games pair up by the net's colour and the two opening moves,
    # read from the SGF by hand, and the last column counts the pairs that differ
    assert "same openings" in table[0]
    points = {}
    for lever in ("plain", "ownership"):
        files = (tmp_path / "out" / f"{lever}-s0" / "ablation-games").glob("*.sgf")
        points[lever] = dict(_net_points(f.read_text()) for f in files)
    assert len(points["plain"]) == 2 and points["plain"].keys() == points["ownership"].keys()
    more = sum(points["ownership"][k] > points["plain"][k] for k in points["plain"])
    less = sum(points["ownership"][k] < points["plain"][k] for k in points["plain"])
    assert table[3].rstrip(" |").endswith(f"| {more} / {less}, {ablation.format_p(mcnemar_p(more, less))}")
    with pytest.raises(SystemExit):
        ablation.main(["--game", "go7", "--minutes", "1", "--levers", "cosine-lr"])  # a Connect Four lever


def _net_points(sgf: str) -> tuple[tuple[str, str], float]:
    """(the net's colour and the two opening moves, its points) of one SGF, read by hand."""
    field = {key: sgf.split(f"{key}[", 1)[1].split("]", 1)[0] for key in ("PB", "PW", "RE")}
    colour = "B" if field["PB"].startswith("net:") else "W"
    opening = "".join(sgf.split(";")[2:4])
    points = 0.5 if field["RE"] in ("0", "Draw") else float(field["RE"].startswith(colour + "+"))
    return (colour, opening), points


def test_p_value_by_hand():
    ablation = _load()
    # 89.8% against 87.5% of 2,000: pooled 0.8865, se sqrt(0.8865 * 0.1135 / 1000) = 0.01003, z = 2.293
    assert ablation.p_value(1796, 2000, 1750, 2000) == pytest.approx(0.0218, abs=5e-4)
    assert ablation.p_value(10, 20, 10, 20) == 1.0 and ablation.p_value(5, 5, 5, 5) == 1.0


def test_mcnemar_by_hand():
    ablation = _load()
    assert mcnemar_p(0, 5) == pytest.approx(2 / 32)  # five discordant, all one way
    assert mcnemar_p(10, 2) == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert mcnemar_p(3, 3) == 1.0 and mcnemar_p(0, 0) == 1.0
    assert 0 < mcnemar_p(700, 600) < 0.01  # big counts: exact integers, no overflow
