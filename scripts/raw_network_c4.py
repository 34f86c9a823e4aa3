#!/usr/bin/env python
"""What a Connect Four network knows without search, on the benchmark positions: the sign of its
value against the game-theoretic outcome (decisive positions only: a value of exactly 0 is
never right), its policy's top move against the exact move scores (keeps the outcome, exact
best), and how far it disagrees with itself on the position's mirror image (the board is
symmetric and training augments with the mirror, so every disagreement is an error of one of
the two). Shares come with 95% Wilson intervals; the move scores are eval-c4's, cached.

    python scripts/raw_network_c4.py c4 runs/c4-strong2 --limit 200

Why it exists: search at 800 simulations hides how far off the value is on positions that
self-play rarely visits (the benchmark positions come from random play), which is where RL
alone plateaus and the solver's labels help.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from games.connect4 import ConnectFour  # noqa: E402
from games.connect4_solver import ILLEGAL  # noqa: E402
from selfplay.errors import UserError  # noqa: E402
from selfplay.evaluation import c4_positions  # noqa: E402
from selfplay.evaluation.c4_positions import Share  # noqa: E402
from selfplay.players.net import load_network  # noqa: E402

FILES = ["Test_L3_R1", "Test_L2_R1", "Test_L2_R2", "Test_L1_R1"]
DATA = ROOT.parent / "shared" / "data" / "connect4"


def raw_outputs(model, planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Policy probabilities [N, 7] and values [N] of the network, in fp32, in one batch."""
    with torch.no_grad():
        logits, values = model(torch.from_numpy(planes.astype(np.float32)))
    return torch.softmax(logits, -1).numpy(), values.numpy()


def load_c4(network: str) -> tuple[ConnectFour, torch.nn.Module]:
    game, model, _ = load_network(network)
    if not isinstance(game, ConnectFour):
        raise UserError(f"{network} plays {game.name}, not Connect Four")
    return game, model


def measure(game: ConnectFour, model: torch.nn.Module, positions_file: Path, limit: int | None) -> dict:
    positions = c4_positions.read_positions(positions_file, limit=limit)
    scores = c4_positions.move_scores(positions).astype(np.int64)  # int8 on disk
    planes = np.stack([game.encode(game.state_from_moves(m)) for m in positions.moves])
    policy, value = raw_outputs(model, planes)
    mirror_policy, mirror_value = raw_outputs(model, planes[..., ::-1].copy())
    mirror_policy = mirror_policy[:, ::-1]
    legal = scores != ILLEGAL
    top = np.where(legal, scores, -1000).max(axis=1)
    choice = np.where(legal, policy, -1).argmax(axis=1)
    chosen = scores[np.arange(len(choice)), choice]
    decisive = top != 0
    n = len(positions)
    return {
        "file": positions_file.name, "positions": n,
        "value_sign": Share(int((np.sign(value) == np.sign(top))[decisive].sum()), int(decisive.sum())),
        "policy_keeps": Share(int((np.sign(chosen) == np.sign(top)).sum()), n),
        "policy_best": Share(int((chosen == top).sum()), n),
        "mirror_value_gap": float(np.abs(value - mirror_value).mean()),
        "mirror_policy_tv": float(0.5 * np.abs(policy - mirror_policy).sum(axis=1).mean()),
        "mirror_top_agrees": float((policy.argmax(1) == mirror_policy.argmax(1)).mean()),
    }


def pct(share: Share) -> str:
    return f"{100 * share.value:.1f}% [{100 * share.low:.1f}, {100 * share.high:.1f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="+", help="shipped names, run directories or checkpoints")
    parser.add_argument("--positions", nargs="*", type=Path, default=None,
                        help="positions files (default: the four Test_* files of ../shared/data/connect4)")
    parser.add_argument("--limit", type=int, default=200, help="first positions of each file (default 200)")
    args = parser.parse_args(argv)
    files = args.positions or [DATA / name for name in FILES]
    print("| network | positions | value sign (decisive) | policy keeps the outcome | policy exact-best "
          "| mirror: mean value gap / policy TV / same top move |")
    print("|---|---|---|---|---|---|")
    try:
        for network in args.networks:
            game, model = load_c4(network)
            for path in files:
                r = measure(game, model, path, args.limit)
                print(f"| {network} | {r['file']} ({r['positions']}) | {pct(r['value_sign'])} | "
                      f"{pct(r['policy_keeps'])} | {pct(r['policy_best'])} | {r['mirror_value_gap']:.3f} / "
                      f"{r['mirror_policy_tv']:.3f} / {100 * r['mirror_top_agrees']:.0f}% |", flush=True)
    except UserError as e:
        print(f"raw_network_c4: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
