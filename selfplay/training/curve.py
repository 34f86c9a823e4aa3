"""The AlphaGo curve in one command: expert games -> imitation (SFT) -> self-play RL from the
SFT network -> every checkpoint rated on one Elo scale -> the figure.

The output directory holds one stage each, and every stage resumes where a killed run left it:

    expert-games/   the expert against itself (selfplay.experts.games)
    sft/            the imitation run (selfplay.training.imitation); its checkpoints are rated as it goes
    rl/             the RL run, init_from sft/ (selfplay.training.trainer); rated against the same pool
                    plus the final SFT checkpoint, so both curves share one scale
    elo.png/.svg    the figure (selfplay.rating.plots); the RL curve continues the SFT curve's steps
                    and time, the expert is the dotted line
    summary.json    the measured numbers behind the verdict printed at the end

Both runs rate their checkpoints with the same search (``rating.simulations``) against the
same players, the expert that made the games among them; at the end the last checkpoint of
each run plays more games against each of its opponents (the preset's ``final_games``), since
the verdict compares 95% intervals. What the figure should show: SFT
flattening at or below the expert's line (imitation cannot beat its teacher by much), RL
rising above it. The summary says whether it did, with the numbers, not assuming it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from selfplay.atomic import atomic_write_text
from selfplay.configio import load_config
from selfplay.errors import UserError
from selfplay.evaluation.matches import connect4_benchmark
from selfplay.experts.games import expert_settings, generate
from selfplay.experts.registry import EXPERTS
from selfplay.experts.settings import Settings
from selfplay.rating.plots import load_curves, plot_elo, terminal_chart
from selfplay.rating.rate import checkpoint_name, rate_checkpoint
from selfplay.run.checkpoint import checkpoint_path
from selfplay.run.directory import RunDir
from selfplay.training.config import GameConfig, RunConfig
from selfplay.training.imitation import run_imitation
from selfplay.training.presets import CONFIGS, PRESETS, Preset, preset_for  # noqa: F401 (also this module's API)
from selfplay.training.trainer import run_training

@dataclass
class CurveSummary:
    """The numbers of the verdict (summary.json). A verdict holds only where the 95% intervals
    say so, and the interval that says whether a checkpoint is above the expert is the one of
    their difference (from the joint fit's covariance): RL is above the expert when the
    difference's lower bound is above 0, "not separated" while the interval holds 0. Each
    rating's own interval is relative to random (rated 0, beaten by everyone), so most of its
    width is the whole scale's uncertainty, shared by the checkpoint and the expert alike."""
    expert: str
    expert_elo: float
    sft_elo: list[float] = field(default_factory=list)     # per rated SFT checkpoint, in order
    rl_elo: list[float] = field(default_factory=list)      # per rated RL checkpoint, in order
    sft_move_accuracy: float = math.nan                    # on held-out expert games
    expert_interval: list[float] = field(default_factory=list)  # the expert's 95% interval
    sft_lower: list[float] = field(default_factory=list)   # the SFT checkpoints' 95% intervals
    sft_upper: list[float] = field(default_factory=list)
    rl_lower: list[float] = field(default_factory=list)    # the RL checkpoints' 95% intervals
    rl_upper: list[float] = field(default_factory=list)
    sft_vs_expert: list[list[float]] = field(default_factory=list)  # per SFT checkpoint: [Elo - expert's, 95% low, high]
    rl_vs_expert: list[list[float]] = field(default_factory=list)   # the same per RL checkpoint
    benchmark: dict[str, float] = field(default_factory=dict)  # Connect Four outcome/best shares
    figure: list[str] = field(default_factory=list)

    def _expert_bounds(self) -> tuple[float, float]:
        return tuple(self.expert_interval) if len(self.expert_interval) == 2 else (self.expert_elo, self.expert_elo)

    @staticmethod
    def _side(difference: list[float]) -> str:
        _, low, high = difference
        return "above" if low > 0 else "below" if high < 0 else "at"

    def sft_position(self) -> str:
        """"above" or "below" the expert when the last two SFT checkpoints both are (their
        difference's interval clear of 0 on that side), else "at"."""
        sides = {self._side(d) for d in self.sft_vs_expert[-2:]}
        return sides.pop() if len(sides) == 1 and sides != {"at"} else "at"

    def rl_position(self) -> str:
        """The same for the last RL checkpoint ("none" when none was rated)."""
        return self._side(self.rl_vs_expert[-1]) if self.rl_vs_expert else "none"

    @property
    def sft_at_or_below_expert(self) -> bool:
        return bool(self.sft_elo) and self.sft_position() != "above"

    @property
    def rl_above_expert(self) -> bool:
        return self.rl_position() == "above"

    def verdict(self) -> list[str]:
        def interval(values, lows, highs, sign=""):
            return ", ".join(f"{e:{sign}.0f} [{lo:{sign}.0f}, {hi:{sign}.0f}]" for e, lo, hi in zip(values, lows, highs))

        def against_expert(differences):
            return "minus the expert's " + interval(*zip(*differences), sign="+") if differences else "no difference"

        low, high = self._expert_bounds()
        sft = {"above": "ABOVE the expert's line (the difference's 95% interval is above 0)",
               "below": "below the expert's line (the difference's 95% interval is below 0)",
               "at": "at the expert's line (the difference's 95% interval holds 0)"}[self.sft_position()]
        rl = {"above": "above the expert's line (the difference's 95% interval is above 0)",
              "below": "BELOW the expert's line",
              "at": "NOT separated from the expert's line (the difference's 95% interval holds 0: more "
                    "rating games or more training would tell)",
              "none": "none rated"}[self.rl_position()]
        return [
            f"expert ({self.expert}): Elo {self.expert_elo:.0f} [{low:.0f}, {high:.0f}]",
            f"SFT, last two rated checkpoints: Elo "
            f"{interval(self.sft_elo[-2:], self.sft_lower[-2:], self.sft_upper[-2:])}; "
            f"{against_expert(self.sft_vs_expert[-2:])}; {sft}",
            f"RL, last rated checkpoint: Elo {interval(self.rl_elo[-1:], self.rl_lower[-1:], self.rl_upper[-1:])}; "
            f"{against_expert(self.rl_vs_expert[-1:])}; {rl}",
            "(Elo intervals are relative to random = 0; whether a checkpoint is above the expert is read "
            "from the interval of their difference in the joint fit)",
        ]


def split_overrides(items: list[str]) -> tuple[list[str], list[str]]:
    """``KEY=VALUE`` applies to both runs, ``sft:KEY=VALUE`` / ``rl:KEY=VALUE`` to one."""
    sft, rl = [], []
    for item in items:
        stage, _, rest = item.partition(":") if item.split("=", 1)[0].count(":") == 1 else ("", "", item)
        if "=" not in rest:
            raise UserError(f"override {item!r}: expected KEY=VALUE, sft:KEY=VALUE or rl:KEY=VALUE")
        if stage not in ("", "sft", "rl"):
            raise UserError(f"override {item!r}: the stage prefix must be sft: or rl:")
        if stage in ("", "sft"):
            sft.append(rest)
        if stage in ("", "rl"):
            rl.append(rest)
    return sft, rl


def reproduce_curve(game: str, preset: str, out: str | Path, config: str | None = None,
                    expert_games: int | None = None, overrides: list[str] = (), log=print,
                    final_games: int | None = None) -> CurveSummary:

    p = preset_for(game, preset)
    out = Path(out)
    base = str(config or CONFIGS / p.base)
    sft_extra, rl_extra = split_overrides(list(overrides))
    expert, settings = expert_of(load_config(RunConfig, base, sft_extra).game, p.expert_level)
    if settings.game != game:
        raise UserError(f"--game {game} with a config of {settings.game} ({base})")
    out.mkdir(parents=True, exist_ok=True)

    games_dir = out / "expert-games"
    count = expert_games or p.expert_games
    final_games = p.final_games if final_games is None else final_games
    stages = 5 if final_games else 4
    log(f"[1/{stages}] {count} expert games ({expert}) in {games_dir}")
    generate(settings, games_dir, count, workers=p.expert_workers, seed=0)

    sft_dir = out / "sft"
    log(f"[2/{stages}] imitation (SFT) in {sft_dir}")
    sft_overrides = [*p.sft, f"rating.expert={expert}", *sft_extra]
    sft = run_imitation(sft_dir, games_dir, base, sft_overrides, resume=_started(sft_dir), log=_indent(log))
    accuracy = sft.validate()["val/move_accuracy"]

    rl_dir = out / "rl"
    log(f"[3/{stages}] self-play RL from the SFT network in {rl_dir}")
    final_sft = checkpoint_name(sft_dir, checkpoint_path(sft.run.checkpoints, sft.step), sft.config.rating.simulations)
    rl_overrides = [*p.rl, f"init_from={sft_dir}", f"rating.expert={expert}",
                    f"rating.pool={sft.config.rating.pool};{final_sft}", *rl_extra]
    rl = run_training(rl_dir, base, rl_overrides, resume=_started(rl_dir), log=_indent(log))

    if final_games:
        log(f"[4/{stages}] the last SFT and RL checkpoints topped up to {final_games} rating games per opponent")
        for trainer, run_dir in ((sft, sft_dir), (rl, rl_dir)):
            _top_up(trainer, run_dir, final_games, log=_indent(log))
    log(f"[{stages}/{stages}] the figure")
    summary = summarise(out, [sft_dir, rl_dir], expert, accuracy)
    if p.benchmark_positions:  # set by Connect Four's presets only: the positions are Connect Four's
        summary.benchmark = _benchmark(sft, rl, p.benchmark_positions, log)
    atomic_write_text(out / "summary.json", json.dumps(summary.__dict__, indent=2) + "\n")
    for line in summary.verdict():
        log(line)
    return summary


def expert_of(game: GameConfig, level: int) -> tuple[str, Settings]:
    """The expert's player spec (rated with every checkpoint) and the settings of the games it
    plays for SFT at strength ``level`` on the config's board (selfplay.experts.registry: the
    Connect Four alpha-beta expert at depth ``level``, GNU Go at level ``level`` under our rules)."""
    expert = EXPERTS.get(game.name)
    if expert is None:
        raise UserError(f"no expert plays {game.name}: the curve needs {' or '.join(EXPERTS)}")
    board = {name: value for name, value in game.params().items() if name in ("size", "komi")}
    # expert_settings looks for the engine: no GNU Go is said here, before anything starts
    return f"expert:{expert.strength}={level}", expert_settings(game.name, **board, **expert.settings_at(level))


def summarise(out: Path, runs: list[Path], expert: str, accuracy: float) -> CurveSummary:

    data = load_curves(runs, expert=expert)
    experts = [r for r in data.experts if r.player == expert]
    if not experts:
        raise UserError(f"the ratings hold no games of {expert}: nothing to compare the curves with")
    x = "hours" if data.has_times() else "steps"
    figure = plot_elo(data, out, x=x)
    print(terminal_chart(data, x=x))
    sft, rl = data.curves
    rl_points = [pt for pt in rl.points if pt not in sft.points]  # the RL line starts at SFT's last point
    return CurveSummary(expert=expert, expert_elo=experts[0].elo, sft_elo=[pt.elo for pt in sft.points],
                        rl_elo=[pt.elo for pt in rl_points], sft_move_accuracy=accuracy,
                        expert_interval=[experts[0].lower, experts[0].upper],
                        sft_lower=[pt.lower for pt in sft.points], sft_upper=[pt.upper for pt in sft.points],
                        rl_lower=[pt.lower for pt in rl_points], rl_upper=[pt.upper for pt in rl_points],
                        sft_vs_expert=[list(data.fit.difference(pt.player, expert)) for pt in sft.points],
                        rl_vs_expert=[list(data.fit.difference(pt.player, expert)) for pt in rl_points],
                        figure=[str(f) for f in figure])


def _benchmark(sft, rl, limit: int, log) -> dict[str, float]:
    """Outcome-keeping and best-move shares of the final SFT and RL networks (with the rating
    search) on the middle-medium benchmark positions, where the data is present."""
    path = CONFIGS.parent.parent / "shared" / "data" / "connect4" / "Test_L2_R2"
    if not path.is_file():
        log(f"no benchmark positions at {path}: optimal-move shares skipped")
        return {}
    results = {}
    for name, trainer in (("sft", sft), ("rl", rl)):
        shares = connect4_benchmark(trainer.model, trainer.device, str(path), limit,
                                    trainer.config.rating.simulations, seed=0)
        results.update({f"{name}/{k.split('/')[1]}": v for k, v in shares.items()})
    log("optimal-move shares: " + "  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return results


def _top_up(trainer, run_dir: Path, games: int, log) -> None:
    """More games for a run's last checkpoint against its rating opponents (the pool, the
    expert, the previous checkpoint), in the run's ratings.csv: the verdict compares intervals,
    and ten games a pair leave them too wide to separate players 100 Elo apart. Games already
    played count, so a resumed curve plays only the rest; the cores are free by now."""
    config = replace(trainer.config.rating, parallel=max(trainer.config.rating.parallel, os.cpu_count() or 1))
    rated = rate_checkpoint(run_dir, checkpoint_path(trainer.run.checkpoints, trainer.step), games=games,
                            config=config, seed=1)
    log(f"{rated.player}: Elo {rated.elo:.0f} [{rated.lower:.0f}, {rated.upper:.0f}] over {rated.games} games")


def _started(run_dir: Path) -> bool:
    return RunDir(run_dir).config.is_file()


def _indent(log):
    return lambda message: log(f"    {message}")
