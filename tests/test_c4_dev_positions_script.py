"""scripts/c4_dev_positions.py: a development set in a benchmark file's ranges, none of it in
training, checked on hand-made label files whose stones and plies-to-the-end are counted by hand."""

import importlib.util
from pathlib import Path

from selfplay.evaluation.c4_positions import read_positions

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("c4_dev_positions", ROOT / "scripts" / "c4_dev_positions.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)

# Pascal Pons's Test_L3_R1, first two lines: 37 stones, score -1 (the opponent, first player, wins
# with its 21st stone, the 41st: 4 plies left); 34 stones, score 1 (the mover, first player, wins
# with its 21st stone: 7 plies left). So the ranges are 34-37 stones and 4-7 plies left.
LIKE = "2252576253462244111563365343671351441 -1\n7422341735647741166133573473242566 1\n"
KEPT = ["22525762534622441115633653436713514", "74223417356477411661335734732425666"]
LABELS = "\n".join([
    f"{KEPT[0]} < - - < - -2 <",                              # 35 stones, 4 plies left: kept
    "22525762534622441115633653436713511 - - - 4 - < <",     # 35 stones, wins at once: 1 ply left
    "74223417356477411661335734732425662 < -1 - - < < -",    # in range, its mirror image excluded
    "7422341735647741166133573473242566 < 1 - - < 1 -",      # the benchmark file's own position
    f"{KEPT[1]} -1 -1 - - < - -",                             # 35 stones, 6 plies left: kept
    "2252576253462244111563365343671 < - < 6 < < <",         # 31 stones
]) + "\n"
EXCLUDED = "14665471532411477227553154156463226 - < < - - -1 <\n"  # the third label, mirrored


def test_only_unseen_positions_in_range_are_kept(tmp_path):
    like, labels, excluded, out = (tmp_path / n for n in ("like", "labels.txt", "excluded.txt", "dev.txt"))
    like.write_text(LIKE)
    labels.write_text(LABELS)
    excluded.write_text(EXCLUDED)
    assert script.span(like) == ((34, 37), (4, 7))
    assert script.main([str(labels), "--like", str(like), "--exclude", str(excluded), "--out", str(out)]) == 0
    positions = read_positions(out)
    assert sorted(zip(positions.moves, positions.scores)) == [(KEPT[0], -2), (KEPT[1], -1)]


def test_nothing_in_range_is_an_error(tmp_path, capsys):
    like, labels = tmp_path / "like", tmp_path / "labels.txt"
    like.write_text(LIKE)
    labels.write_text("2252576253462244111563365343671 < - < 6 < < <\n")
    assert script.main([str(labels), "--like", str(like), "--out", str(tmp_path / "dev.txt")]) == 2
    assert "no position" in capsys.readouterr().err
