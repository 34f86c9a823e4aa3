"""The curve's presets: which configs, how many expert games, how long each run trains. Kept
apart from the curve itself so that the command line can list them without loading torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from selfplay.errors import UserError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # the repository's configs/


@dataclass(frozen=True)
class Preset:
    base: str                      # the run config both runs start from (in configs/)
    expert_games: int              # games the expert plays for SFT
    expert_level: int              # Connect Four: the expert's search depth; Go: GNU Go's level
    sft: tuple[str, ...]           # overrides of the SFT run
    rl: tuple[str, ...]            # overrides of the RL run
    benchmark_positions: int = 0   # Connect Four: benchmark positions scored at the end (0 = none)
    expert_workers: int = 1        # processes making the expert games (Go: one GNU Go each)
    final_games: int = 0           # rating games per opponent for the last SFT and RL checkpoints (0: no top-up)
    note: str = ""


# Both runs: no match-based evaluation (the ratings are the curve), ratings every few hundred
# steps against random, two rollout-MCTS levels and the expert (added per game below).
_RATED = ("eval.games=0", "eval.c4_positions=", "rating.previous=1")

PRESETS: dict[str, dict[str, Preset]] = {
    "connect4": {
        "quick": Preset(
            base="curve_connect4.yaml", expert_games=3000, expert_level=2,
            sft=(*_RATED, "total_steps=900", "checkpoint_every=150", "eval.every_steps=150"),
            rl=(*_RATED, "total_steps=100000", "max_hours=0.15", "checkpoint_every=100", "eval.every_steps=200"),
            benchmark_positions=200, final_games=60,
            note="about 15 minutes on 2 CPU cores"),
        "full": Preset(
            base="curve_connect4.yaml", expert_games=20000, expert_level=2,
            sft=(*_RATED, "total_steps=4000", "checkpoint_every=500", "eval.every_steps=500", "rating.games=20"),
            rl=(*_RATED, "total_steps=100000", "max_hours=1.75", "checkpoint_every=250", "eval.every_steps=500",
                "rating.games=20"),
            benchmark_positions=1000, final_games=60,
            note="about 2.3 hours on 2 CPU cores"),
    },
    # 7x7 (configs/curve_go7.yaml; 9x9 with game.size=9 game.komi=7, on a GPU). GNU Go at level 10
    # is both the teacher and the line to cross; one 7x7 game of it against itself costs ~3 s of CPU.
    "go": {
        "quick": Preset(
            base="curve_go7.yaml", expert_games=300, expert_level=10, expert_workers=2,
            sft=(*_RATED, "total_steps=1000", "checkpoint_every=250", "eval.every_steps=250"),
            rl=(*_RATED, "total_steps=100000", "max_hours=0.5", "checkpoint_every=250", "eval.every_steps=500"),
            note="about an hour on 2 CPU cores (estimated); shows the pipeline, too short for RL to pass GNU Go"),
        "full": Preset(
            base="curve_go7.yaml", expert_games=5000, expert_level=10, expert_workers=2,
            sft=(*_RATED, "total_steps=6000", "checkpoint_every=1000", "eval.every_steps=1000", "rating.games=20"),
            rl=(*_RATED, "total_steps=1000000", "max_hours=24", "checkpoint_every=1000", "eval.every_steps=2000",
                "rating.games=20"),
            note="a day and more on 2 CPU cores (estimated; GNU Go's games alone ~2 hours); meant for a GPU"),
    },
}


def preset_for(game: str, preset: str) -> Preset:
    if game not in PRESETS:
        raise UserError(f"no curve presets for {game!r}; known: {', '.join(PRESETS)}")
    if preset not in PRESETS[game]:
        raise UserError(f"no {preset!r} preset for {game}; known: {', '.join(PRESETS[game])}")
    return PRESETS[game][preset]
