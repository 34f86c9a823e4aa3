"""Train-time and test-time compute, on boards and on tokens: the figure of OpenAI's o1 report
(``selfplay scaling``), one row per mode, two panels each.

Boards. Left: the Elo of a run's checkpoints against training time (its ``ratings.csv``, as in
``plot-elo``). Right: the Elo of one fixed network (the run's newest checkpoint) searching
1 to 1,600 simulations per move, from games against the run's own rating pool and expert, so
both panels lie on one scale: every game is fitted together, random = 0, and the network at the
rating's simulations is the same player as its point in the left panel.

Tokens. Left: held-out accuracy against training time (a token-mode run's eval.csv, SFT then
each RL phase after it). Right: held-out accuracy against model calls per problem for greedy
decoding, majority vote, best-of-n ranked by the verifier (the oracle), the value head and the
reward model, and MCTS over the token game (selfplay.llm.solve).

Everything measured is kept in the output folder (``test_time.csv``: the boards' games, appended
one row per game, so a stopped run resumes where it stopped; ``tokens.json``: the token rows,
reused while the settings are the same).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from selfplay.arena.results import read_results
from selfplay.arena.runner import run_arena
from selfplay.arena.schedule import Contestant, ScheduledGame
from selfplay.atomic import atomic_write_text
from selfplay.configio import load_config
from selfplay.errors import UserError
from selfplay.rating.elo import Rating
from selfplay.rating.plots import EloCurves, draw_elo, load_curves, save_figure
from selfplay.rating.rate import checkpoint_name, pool_with_expert
from selfplay.run.checkpoint import list_checkpoints
from selfplay.run.directory import RunDir, read_rows

DEFAULT_SEARCHES = ("greedy", "majority:n=4", "majority:n=16", "best-of:n=4,by=verifier", "best-of:n=16,by=verifier",
                    "best-of:n=4,by=value", "best-of:n=16,by=value", "mcts:sims=4", "mcts:sims=16")
RM_SEARCHES = ("best-of:n=4,by=reward-model", "best-of:n=16,by=reward-model")
TEST_TIME_CSV = "test_time.csv"
TOKENS_JSON = "tokens.json"
OPENING_PLIES = 2  # as the ratings: random openings, each played with both colours


class ScalingError(UserError):
    """A run that cannot give a panel (no checkpoints, no ratings, no eval.csv)."""


# ---- boards ---------------------------------------------------------------------------------------
@dataclass
class BoardScaling:
    curves: EloCurves            # every game fitted together: the runs' ratings and the test-time games
    network: str                 # the fixed network's checkpoint
    levels: list[tuple[int, Rating]]  # (simulations per move, its rating), fewest first
    games: int                   # test-time games behind the levels


def newest_checkpoint(run_dir: Path) -> Path:
    found = list_checkpoints(RunDir(run_dir).checkpoints)
    if not found:
        raise ScalingError(f"{run_dir} has no checkpoints/step-N.pt: train it first (selfplay train, selfplay curve)")
    return found[-1][1]


def reference_pool(run_dir: Path, game) -> list[str]:
    """The run's rating pool and expert (the players its checkpoints were rated against)."""
    from selfplay.training.config import RunConfig
    return pool_with_expert(load_config(RunConfig, RunDir(run_dir).config).rating, game)[0]


def test_time_schedule(levels: int, opponents: int, games: int, played: dict[tuple[int, int], int]
                       ) -> list[ScheduledGame]:
    """``games`` per (level, opponent) pair, colours alternating; contestants 0..levels-1 are the
    levels, the rest the opponents; ``played`` counts what an earlier, stopped run finished. One
    level after the other: the games in flight at once are then mostly one level's, whose
    searches share each network call (interleaved levels would call the network with a game or
    two each)."""
    out = []
    for i in range(levels):
        for n in range(games):
            for j in range(levels, levels + opponents):
                if n >= played.get((i, j), 0):
                    first, second = (i, j) if n % 2 == 0 else (j, i)
                    out.append(ScheduledGame(len(out), first, second, round=n))
    return out


def measure_boards(run_dirs: list[Path], out: Path, simulations: list[int], games: int, batch: int = 16,
                   seed: int = 0, network: Path | None = None, log=print) -> BoardScaling:
    """Play the fixed network at each number of simulations against the last run's reference
    pool (resuming the games of ``out/test_time.csv``), then fit everything together."""
    from selfplay.run.checkpoint import load_checkpoint, read_sections
    last = run_dirs[-1]
    network = network or newest_checkpoint(last)
    game, _ = read_sections(load_checkpoint(network), network)
    pool = reference_pool(last, game)
    levels = [Contestant(checkpoint_name(last, network, s), f"net:{network},sims={s}") for s in simulations]
    contestants = [*levels, *(Contestant.of(p) for p in pool)]
    index = {c.name: k for k, c in enumerate(contestants)}
    csv = out / TEST_TIME_CSV
    earlier = read_results(csv) if csv.exists() else []
    if any(r.game != game.label() for r in earlier):
        raise ScalingError(f"{csv} holds games other than {game.label()}: use another --out")
    played: dict[tuple[int, int], int] = {}
    for r in earlier:
        if r.first in index and r.second in index:
            pair = tuple(sorted((index[r.first], index[r.second])))
            played[pair] = played.get(pair, 0) + 1
    todo = test_time_schedule(len(levels), len(pool), games, played)
    log(f"test-time compute on boards: {network} at {', '.join(map(str, simulations))} simulations against "
        f"{', '.join(pool)}; {len(todo)} games to play ({sum(played.values())} played before)")
    if todo:
        run_arena(game, contestants, todo, batch=batch, seed=seed, results_path=csv, check=False,
                  opening_plies=OPENING_PLIES)
    results = [r for r in read_results(csv) if r.first in index and r.second in index]
    curves = load_curves(run_dirs, extra_results=results)
    rated = [(s, curves.fit[c.name]) for s, c in zip(simulations, levels)]
    return BoardScaling(curves, str(network), rated, len(results))


# ---- tokens ---------------------------------------------------------------------------------------
@dataclass
class TokenScaling:
    run: str
    policy: str                      # the checkpoint decoded at test time (RUN/PHASE/step-N.pt)
    training: dict[str, list[dict]]  # phase -> eval rows with cumulative minutes, oldest first
    rows: list[dict]                 # selfplay.llm.solve rows
    teacher: float | None            # the imperfect teacher's sampled accuracy (what SFT imitates)


def training_curves(run_dir: Path) -> tuple[dict[str, list[dict]], float | None]:
    """Accuracy against training minutes: SFT from minute 0, each RL phase from SFT's last minute."""
    rows = read_rows(RunDir(run_dir).eval_csv)
    by_phase: dict[str, list[dict]] = {}
    for row in rows:
        try:
            point = {k: float(row[k]) for k in ("minutes", "accuracy", "accuracy_low", "accuracy_high")}
            point["step"] = int(row["step"])
        except (KeyError, TypeError, ValueError):
            continue
        by_phase.setdefault(row.get("phase") or "?", []).append(point)
    if not by_phase:
        raise ScalingError(f"{run_dir} has no eval.csv rows with accuracy: train it first (selfplay llm curve)")
    offset = by_phase["sft"][-1]["minutes"] if "sft" in by_phase else 0.0
    for phase, points in by_phase.items():
        points.sort(key=lambda p: p["step"])
        if phase != "sft":
            for p in points:
                p["minutes"] += offset
    teacher = next((float(r["teacher_accuracy"]) for r in rows if r.get("teacher_accuracy") not in (None, "")), None)
    return by_phase, teacher


def measure_tokens(run_dir: Path, out: Path, searches: list[str], problems: int, seed: int,
                   reward_model: Path | None = None, checkpoint: Path | None = None, log=print) -> TokenScaling:
    """The solve rows of ``checkpoint`` (default: the run's newest RL policy; reused from
    ``out/tokens.json`` when the settings match) and the run's training curves."""
    from selfplay.llm import solve
    from selfplay.llm.rewards import make_scorer
    from selfplay.llm.run import Setting
    checkpoint = solve.policy_checkpoint(checkpoint or run_dir)
    settings = {"checkpoint": str(checkpoint), "searches": list(searches), "problems": problems, "seed": seed,
                "reward_model": str(reward_model) if reward_model else None}
    cache = out / TOKENS_JSON
    rows = None
    if cache.is_file():
        try:
            kept = json.loads(cache.read_text())
            rows = kept["rows"] if kept.get("settings") == settings else None
        except (ValueError, KeyError, TypeError):
            log(f"{cache} is unreadable: measuring again")
    if rows is None:
        strategies = [solve.parse_spec(s) for s in searches]
        setting = Setting.build(solve.read_config(str(run_dir), None, [f"eval.problems={problems}"]))
        scorer = make_scorer(setting, f"model:{reward_model}", where="--reward-model") if reward_model else None
        log(f"test-time compute on tokens: {checkpoint}, {problems} held-out problems, {len(searches)} strategies")
        rows = solve.solve(solve.load_policy(setting, checkpoint), setting, setting.eval_problems, strategies,
                           seed, scorer)
        atomic_write_text(cache, json.dumps({"settings": settings, "rows": rows}, indent=1))
    training, teacher = training_curves(run_dir)
    policy = f"{checkpoint.parent.parent.name}/{checkpoint.parent.name}/{checkpoint.name}"
    return TokenScaling(run_dir.resolve().name, policy, training, rows, teacher)


def token_searches(run_dir: Path, searches: list[str] | None, reward_model: Path | None) -> tuple[list[str], Path | None]:
    """The strategies (by default, with best-of by the reward model when there is one) and the
    reward model: the one named, else the run's own."""
    if reward_model is None and RunDir(run_dir).phase_checkpoints("reward_model").is_dir():
        reward_model = run_dir
    if searches:
        return searches, reward_model
    return [*DEFAULT_SEARCHES, *(RM_SEARCHES if reward_model else ())], reward_model


# ---- the figure -----------------------------------------------------------------------------------
def plot_scaling(boards: BoardScaling | None, tokens: TokenScaling | None, out: Path) -> list[Path]:
    """scaling.png / scaling.svg in ``out``: a row of two panels per mode measured."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from selfplay.llm.solve import draw_rows
    rows = [r for r in (boards, tokens) if r is not None]
    fig = Figure(figsize=(13, 4.8 * len(rows)), dpi=110)
    FigureCanvasAgg(fig)
    axes = np.atleast_2d(fig.subplots(len(rows), 2))
    for (left, right), mode in zip(axes, rows):
        if mode is boards:
            draw_elo(left, boards.curves)
            left.set_title("boards, train-time compute: Elo of checkpoints (95% bands)")
            draw_test_time_elo(right, boards)
        else:
            draw_token_training(left, tokens)
            draw_rows(right, tokens.rows)
            right.set_title(f"tokens, test-time compute: {tokens.policy}")
    fig.tight_layout()
    return save_figure(fig, out, "scaling")


def draw_test_time_elo(ax, boards: BoardScaling) -> None:
    sims = np.array([s for s, _ in boards.levels], dtype=float)
    elo = np.array([r.elo for _, r in boards.levels])
    low = elo - np.array([r.lower for _, r in boards.levels])
    high = np.array([r.upper for _, r in boards.levels]) - elo
    ax.errorbar(sims, elo, yerr=[low, high], marker="o", markersize=4, capsize=3,
                label=f"{Path(boards.network).parent.parent.name}/{Path(boards.network).name}")
    for r in boards.curves.experts:
        ax.axhline(r.elo, color="black", linestyle=":", linewidth=1.5, label=f"{r.player} ({r.elo:.0f})")
    for r in boards.curves.references:
        if math.isfinite(r.elo) and not r.player.startswith("net:"):
            ax.axhline(r.elo, color="grey", linestyle="-.", linewidth=0.6, alpha=0.6)
            ax.annotate(r.player, xy=(0, r.elo), xycoords=("axes fraction", "data"), xytext=(2, 2),
                        textcoords="offset points", fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_xlabel("simulations per move (log scale)")
    ax.set_ylabel(f"Elo ({boards.curves.fit.anchor} = 0)")
    ax.set_title(f"boards, test-time compute: one network, {boards.games} games (95% intervals)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def draw_token_training(ax, tokens: TokenScaling) -> None:
    for phase, points in tokens.training.items():
        x = [p["minutes"] for p in points]
        y = [p["accuracy"] for p in points]
        line, = ax.plot(x, y, marker="o", markersize=3, label=phase)
        ax.fill_between(x, [p["accuracy_low"] for p in points], [p["accuracy_high"] for p in points],
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if tokens.teacher is not None:
        ax.axhline(tokens.teacher, color="black", linestyle=":", linewidth=1.5,
                   label=f"teacher ({tokens.teacher:.3f})")
    ax.set_xlabel("training time (minutes)")
    ax.set_ylabel("held-out accuracy (95% bands)")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"tokens, train-time compute: {tokens.run}")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def summary(boards: BoardScaling | None, tokens: TokenScaling | None) -> dict:
    """The numbers behind the figure, for --json and summary.json."""
    out: dict = {}
    if boards is not None:
        out["boards"] = {"network": boards.network, "games": boards.games,
                         "levels": [{"simulations": s, "elo": r.elo, "elo_low": r.lower, "elo_high": r.upper,
                                     "games": r.games} for s, r in boards.levels],
                         "references": [{"player": r.player, "elo": r.elo, "elo_low": r.lower, "elo_high": r.upper}
                                        for r in [*boards.curves.experts, *boards.curves.references]]}
    if tokens is not None:
        out["tokens"] = {"run": tokens.run, "policy": tokens.policy, "rows": tokens.rows, "teacher_accuracy": tokens.teacher}
    return out
