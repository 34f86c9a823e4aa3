"""scripts/paired_arenas.py: two arenas' SGF folders written here, paired by colour and opening,
the counts checked by hand."""

import importlib.util
from pathlib import Path

from games.go.game import GoGame
from games.go.sgf import GoRecord, to_sgf

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("paired_arenas", ROOT / "scripts" / "paired_arenas.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)
PASS = GoGame(7, 9.0).pass_action


def write_game(folder: Path, name: str, opening: tuple[int, int], net_black: bool, result: str) -> None:
    """A game of the opening's two moves then two passes, the net on one side, the result as given."""
    players = ("net:x,sims=4", "expert:level=10") if net_black else ("expert:level=10", "net:x,sims=4")
    folder.mkdir(exist_ok=True)
    record = GoRecord(7, 9.0, [*opening, PASS, PASS], (), (), 0, result, *players, "Chinese")
    (folder / name).write_bytes(to_sgf(record))


def test_games_pair_by_colour_and_opening(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    # opening (24, 10): the net wins as Black in A, draws in B (A better); as White it loses in both
    write_game(a, "1.sgf", (24, 10), True, "B+3")
    write_game(b, "1.sgf", (24, 10), True, "0")
    write_game(a, "2.sgf", (24, 10), False, "B+3")
    write_game(b, "2.sgf", (24, 10), False, "B+1")
    # opening (0, 48): the net loses as Black in A and wins in B (B better), twice (the opening came
    # up twice: paired in name order)
    for name in ("3.sgf", "4.sgf"):
        write_game(a, name, (0, 48), True, "W+2")
        write_game(b, name, (0, 48), True, "B+5")
    write_game(b, "5.sgf", (0, 48), False, "W+5")  # no partner in A
    assert script.main([str(a), str(b), "--player", "net:", "--opening-plies", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "4 paired games (same colour and opening); 1 without a partner left out"
    assert out[1].startswith(f"A {a}: 25.0% [") and out[1].endswith("(1 / 0 / 3)")
    assert out[2].startswith(f"B {b}: 62.5% [") and out[2].endswith("(2 / 1 / 1)")
    assert out[3] == "A scored more in 1 pairs, B in 2; sign test p = 1"  # 2 * P(Bin(3, 1/2) <= 1) = 1
    assert out[4] == "A openings (1 played with both colours): 1 won as B and lost as W"
    assert out[5] == "B openings (2 played with both colours): 1 drawn as B and lost as W; 1 won as B and won as W"


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert script.main([str(tmp_path / "nowhere"), str(tmp_path), "--player", "net:"]) == 2
    assert "no such folder" in capsys.readouterr().err
    write_game(tmp_path / "a", "1.sgf", (24, 10), True, "B+3")
    write_game(tmp_path / "b", "1.sgf", (0, 48), True, "B+3")
    assert script.main([str(tmp_path / "a"), str(tmp_path / "b"), "--player", "gnugo"]) == 2
    assert "no finished game of a player named gnugo" in capsys.readouterr().err
    assert script.main([str(tmp_path / "a"), str(tmp_path / "b"), "--player", "net:", "--opening-plies", "2"]) == 2
    assert "has a partner" in capsys.readouterr().err
