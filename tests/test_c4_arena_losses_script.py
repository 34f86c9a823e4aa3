"""scripts/c4_arena_losses.py: every lost or drawn game judged by the solver, on games built by
hand: one whose opening was already lost, one thrown away by missing a win in one, one not lost,
and two draws of random play, one after a drawn opening, one after a won one (Allis: the centre
wins for the first player, the column beside it draws)."""

import importlib.util
from pathlib import Path

from selfplay.arena.results import GameResult, ResultsWriter

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("c4_arena_losses", ROOT / "scripts" / "c4_arena_losses.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def write_games(tmp_path, games):
    csv = tmp_path / "results.csv"
    with ResultsWriter(csv) as writer:
        for i, (first, second, result, moves) in enumerate(games):
            record = tmp_path / f"game-{i}.txt"
            record.write_text(moves + "\n")
            writer.append(GameResult("2026-12-03T00:00:00Z", "connect4", first, second, result, len(moves),
                                     str(record)))
    return csv


def test_losses_are_blamed_on_the_opening_or_on_the_move(tmp_path, capsys):
    csv = write_games(tmp_path, [
        # X opens on the edge (column 1 loses with best play: Pons's table), then O connects in column 2
        ("net:c4", "mcts", 0.0, "12121232"),
        # X opens in the centre (a win), has three in column 4 but plays 3, and O connects in column 1
        ("net:c4", "mcts", 0.0, "41414131"),
        # the player second, winning: not a loss
        ("mcts", "net:c4", 0.0, "12121232"),
        # a game without the player
        ("random", "mcts", 1.0, "1212121"),
    ])
    assert script.main([str(csv), "--player", "net:c4", "--opening-plies", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "lost to mcts as first player: lost after the opening 1"
    assert out[1].startswith("lost to mcts as first player: ply 7 (column 3) turned a won position lost")
    assert out[2] == "3 games of net:c4: 2 lost, 1 of them lost by the opening, 1 by a move of its own"
    assert out[3] == "3 games of net:c4: 0 drawn, 0 of them drawn by the opening, 0 by a move of its own"


DRAW_AFTER_3 = "366645561362272772434577125235375134146114"  # full boards of random play, no four
DRAW_AFTER_4 = "454315635766553526227264243177631773412411"


def test_draws_are_blamed_on_the_opening_or_on_the_move(tmp_path, capsys):
    csv = write_games(tmp_path, [("net:c4", "mcts", 0.5, DRAW_AFTER_3), ("net:c4", "mcts", 0.5, DRAW_AFTER_4)])
    assert script.main([str(csv), "--player", "net:c4", "--opening-plies", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "drew with mcts as first player: drawn after the opening 3"
    ply = int(out[1].split("ply ")[1].split()[0])
    assert out[1].startswith("drew with mcts as first player: ply ") and "turned a won position drawn" in out[1]
    assert ply % 2 == 1 and f"({DRAW_AFTER_4[:ply - 1]} | {DRAW_AFTER_4[ply - 1]})" in out[1]  # its own move
    assert out[-1] == "2 games of net:c4: 2 drawn, 1 of them drawn by the opening, 1 by a move of its own"


def test_a_missing_record_is_a_clear_error(tmp_path, capsys):
    csv = write_games(tmp_path, [("net:c4", "mcts", 0.0, "12121232")])
    (tmp_path / "game-0.txt").unlink()
    assert script.main([str(csv), "--player", "net:c4"]) == 2
    assert "missing or unreadable" in capsys.readouterr().err
