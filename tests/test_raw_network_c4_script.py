"""scripts/raw_network_c4.py: a network's unsearched answers judged by the solver, checked with a
stand-in network whose answers are known, on three end-game positions scored by hand."""

import importlib.util
from pathlib import Path

import numpy as np
import torch

from games.connect4 import ConnectFour

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("raw_network_c4", ROOT / "scripts" / "raw_network_c4.py")
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)

# Pascal Pons's Test_L3_R1, first three lines. Exact scores of columns 1-7 ("-" full):
# - - - - - -1 -2 (lost, 6 best); -3 1 - - -4 1 - (won by 2 or 6); - - 0 - -2 - - (a draw by 3).
POSITIONS = "2252576253462244111563365343671351441 -1\n7422341735647741166133573473242566 1\n" \
            "23163416124767223154467471272416755633 0\n"
PREFERENCE = torch.tensor([[1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0]])  # column 6, else 3, else 1


class Stub(torch.nn.Module):
    """Always the same: this policy (whatever the board) and a value of +0.5."""

    def forward(self, planes):
        return PREFERENCE.log().expand(len(planes), -1), torch.full((len(planes),), 0.5)


def test_the_shares_are_those_of_a_hand_count(tmp_path, monkeypatch):
    path = tmp_path / "positions"
    path.write_text(POSITIONS)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(script, "load_network", lambda name: (ConnectFour(), Stub(), {}))
    r = script.measure(*script.load_c4("stub"), path, None)
    # value +0.5: wrong in the lost position, right in the won one; the draw is not counted
    assert (r["value_sign"].count, r["value_sign"].total) == (1, 2)
    # column 6 where legal (best in the first two), else column 3 (the drawing move)
    assert (r["policy_keeps"].count, r["policy_best"].count, r["positions"]) == (3, 3, 3)
    # the same policy for the mirrored board, read back mirrored: total variation of p and p[::-1]
    p = (PREFERENCE / PREFERENCE.sum()).numpy()[0]
    assert np.isclose(r["mirror_policy_tv"], 0.5 * np.abs(p - p[::-1]).sum())
    assert r["mirror_value_gap"] == 0 and r["mirror_top_agrees"] == 0


def test_a_network_for_another_game_is_a_clear_error(tmp_path, capsys, monkeypatch):
    from games.go import GoGame
    monkeypatch.setattr(script, "load_network", lambda name: (GoGame(5), Stub(), {}))
    assert script.main(["stub", "--positions", str(tmp_path / "none")]) == 2
    assert "plays go" in capsys.readouterr().err
