"""scripts/go_arena_openings.py: SGF games written here, tallied by colour and by the line of the
two opening moves, counted by hand."""

import importlib.util
from pathlib import Path

from games.go.sgf import GoRecord, to_sgf

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("go_arena_openings", ROOT / "scripts" / "go_arena_openings.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)

A1, B2, D4, PASS = 0, 8, 24, 49  # 7x7: the corner (line 1), line 2, the centre (line 4), a pass


def game(moves: list[int], black: str, white: str, result: str) -> bytes:
    return to_sgf(GoRecord(7, 9.0, moves, (), (), 0, result, black, white, "Chinese"))


def test_lines():
    assert [script.line(a, 7) for a in (A1, B2, D4, 6, 48, 16, PASS)] == [1, 2, 4, 1, 1, 3, 0]
    assert script.line(4 * 9 + 4, 9) == 5  # 9x9: tengen is on the fifth line


def test_games_are_tallied_by_colour_and_opening(tmp_path, capsys):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    (one / "1.sgf").write_bytes(game([A1, B2, PASS, PASS], "net:go7", "expert", "W+5"))  # lost as B, 1-2
    (one / "2.sgf").write_bytes(game([D4, A1, PASS, PASS], "expert", "net:go7", "W+3"))  # won as W, 4-1
    (one / "3.sgf").write_bytes(game([A1, B2, PASS, PASS], "expert", "random", "B+2"))   # not the player's
    (two / "1.sgf").write_bytes(game([A1, B2, PASS, PASS], "net:go7", "expert", "Draw"))  # drawn as B, 1-2
    (two / "2.sgf").write_bytes(game([PASS, D4, PASS], "net:go7", "expert", "B+1"))      # won as B, 0-4
    by_colour, by_opening = script.tallies([one, two], "net:")
    assert (by_colour[0].wins, by_colour[0].draws, by_colour[0].losses) == (1, 1, 1)
    assert (by_colour[1].wins, by_colour[1].draws, by_colour[1].losses) == (1, 0, 0)
    assert {k: (t.wins, t.draws, t.losses) for k, t in by_opening.items()} == {
        (0, 1, 2): (0, 1, 1), (1, 4, 1): (1, 0, 0), (0, 0, 4): (1, 0, 0)}
    assert script.main([str(one), str(two), "--player", "net:"]) == 0
    out = capsys.readouterr().out
    assert "as Black  B on 1, W on 2      2   25.0%" in out
    assert "all                             4   62.5%" in out


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert script.main([str(tmp_path / "nowhere"), "--player", "net:"]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "1.sgf").write_bytes(game([A1, B2], "expert", "random", "B+2"))
    assert script.main([str(tmp_path), "--player", "net:"]) == 2
    assert "no finished game of a player named net:" in capsys.readouterr().err
