"""scripts/search_precision_agreement.py: the comparisons on hand-made targets, and a short run of
the shipped Go network on a saved game, where fp32 against itself is the identity."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from games.go.sgf import GoRecord, to_sgf

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("search_precision_agreement",
                                              ROOT / "scripts" / "search_precision_agreement.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def test_comparison_by_hand():
    reference = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    policy = np.array([[0.2, 0.6, 0.2], [0.0, 0.2, 0.8]])
    result = script.compare(reference, policy)
    assert result["agree"].tolist() == [False, True]
    # half the L1 distance: (0.3 + 0.3 + 0) / 2 and (0.1 + 0.1 + 0) / 2
    assert np.allclose(result["tv"], [0.3, 0.1])


def a_game(folder: Path, name: str, moves: list[int]) -> None:
    record = GoRecord(7, 9.0, moves, result="B+9", black="net:go7", white="expert:level=10", rules="Chinese")
    (folder / name).write_bytes(to_sgf(record))


def test_a_short_run_on_saved_games(tmp_path, capsys):
    # centre, then a few moves near it, then two passes (the last position, the game over, is not sampled)
    a_game(tmp_path, "g1.sgf", [24, 17, 25, 23, 31, 18, 49, 49])
    out_json = tmp_path / "out.json"
    assert script.main([str(tmp_path), "--positions", "5", "--opening-plies", "2", "--simulations", "8",
                        "--reference-simulations", "16", "--batch", "2", "--ladder", "4", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "5 positions of" in out and "| int8 |" in out
    report = json.loads(out_json.read_text())
    assert report["positions"] == 5 and report["reference_precision"] == "fp32"
    fp32 = report["rows"]["fp32"]
    assert fp32["agree_fp32"] == 5 and fp32["tv_fp32"] == 0.0  # a deterministic search is itself
    for precision in ("bf16", "int8"):
        row = report["rows"][precision]
        assert 0 <= row["agree_reference"] <= 5 and 0.0 <= row["tv_fp32"] <= 1.0
    assert set(report["pairs"]["int8 / fp32"]) == {"only_first", "only_second", "p"}
    assert "fp32, 4 sims" in report["rows"] and "int8 / fp32, 4 sims" in report["pairs"]


@pytest.mark.parametrize("args, words", [
    (["--positions", "0"], "must be at least 1"),
    ([], "no finished Go games"),
])
def test_bad_input_is_a_clear_error(tmp_path, capsys, args, words):
    assert script.main([str(tmp_path), *args]) == 2
    assert words in capsys.readouterr().err


def test_a_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert script.main([str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
