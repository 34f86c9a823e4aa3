"""scripts/c4_arena_losses.py: every lost game judged by the solver, on games built by hand: one
whose opening was already lost, one thrown away by missing a win in one, one not lost."""

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


def test_a_missing_record_is_a_clear_error(tmp_path, capsys):
    csv = write_games(tmp_path, [("net:c4", "mcts", 0.0, "12121232")])
    (tmp_path / "game-0.txt").unlink()
    assert script.main([str(csv), "--player", "net:c4"]) == 2
    assert "missing or unreadable" in capsys.readouterr().err
