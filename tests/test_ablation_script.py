"""scripts/ablation.py end to end on the smoke config: runs, the evaluation rows, a rerun that
skips what is done."""

import csv
import importlib.util
from pathlib import Path

import pytest

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
    assert table[0].startswith("| lever") and table[2].startswith("| plain | 2 |")
    assert table[3].startswith("| cosine-lr | 2 |")
    assert ablation.main(args) == 0  # finished runs are resumed at once and not evaluated again
    assert len(list(csv.DictReader((tmp_path / "ablation.csv").open()))) == 4
