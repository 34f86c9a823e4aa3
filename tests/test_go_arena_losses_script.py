"""scripts/go_arena_losses.py: the verdict on hand-written value traces, and a run on SGF games
written here: one lost from a position no Go player could save, one won, one without the player."""

import importlib.util
from pathlib import Path

from games.go.game import GoGame
from games.go.sgf import GoRecord, to_sgf

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("go_arena_losses", ROOT / "scripts" / "go_arena_losses.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def test_the_verdict_reads_the_trace():
    behind = script.judge([(2, -0.8), (4, -0.3), (6, -0.9)])
    assert behind.kind == "opening" and "-0.80 at ply 3" in behind.words
    # ahead at ply 5 (+0.90), then +0.60 at ply 7 and -0.70 at ply 9: the largest fall is the last
    let_go = script.judge([(2, 0.1), (4, 0.9), (6, 0.6), (8, -0.7), (10, -0.8)])
    assert let_go.kind == "let-go"
    assert let_go.words.endswith("+0.60 at ply 7 to -0.70 at ply 9")
    assert script.judge([(2, 0.1), (4, 0.3), (6, -0.2)]).kind == "never-ahead"
    assert script.judge([]).kind == "never-ahead"


def hopeless_for_black(black: str, white: str, result: str) -> bytes:
    """7x7, komi 9: White's wall fills the lowest four rows (two eyes in them), Black has nothing
    and is to move; Black passes, White passes: White wins by the whole board."""
    game = GoGame(7, 9.0)
    white_points = tuple(p for p in range(28) if p not in (8, 12))  # row 1, columns B and F: eyes
    record = GoRecord(7, 9.0, [game.pass_action, game.pass_action], (), white_points, 0, result, black, white,
                      "Chinese")
    return to_sgf(record)


def test_lost_and_won_games_are_told_apart(tmp_path, capsys):
    (tmp_path / "a.sgf").write_bytes(hopeless_for_black("net:go7,sims=16", "expert:level=10", "W+49"))
    (tmp_path / "b.sgf").write_bytes(hopeless_for_black("expert:level=10", "net:go7,sims=16", "W+49"))
    (tmp_path / "c.sgf").write_bytes(hopeless_for_black("random", "expert:level=10", "W+49"))
    assert script.main([str(tmp_path), "--player", "net:go7"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("lost as B (W+49, 2 plies): behind from the opening (-")
    assert out[-1].startswith("2 games of net:go7: 1 lost and 0 drawn; of those, 1 behind from the opening, "
                              "0 let a position")


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert script.main([str(tmp_path / "nowhere"), "--player", "net:go7"]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "a.sgf").write_bytes(hopeless_for_black("net:go7,sims=16", "gnugo", "W+49"))
    assert script.main([str(tmp_path), "--player", "net:go7", "--judge", "net:nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err
