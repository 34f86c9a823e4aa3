"""Rating checkpoints during training: each new checkpoint plays a fixed reference pool and
the last rated checkpoints of its run, the games go to RUN_DIR/ratings.csv (the arena's
columns), and everyone's Elo is refitted from the whole file (selfplay.rating.elo, random = 0).

The pool: ``RatingConfig.pool`` (random and rollout MCTS levels), the expert when one can be
built for the game (its player kind is registered and it starts, e.g. GNU Go is installed),
and the ``previous`` most recently rated checkpoints of the run whose files still exist.
A checkpoint plays under the name ``net:RUN_DIR/checkpoints/step-00001000.pt,sims=N``; an
earlier checkpoint is played from the run's checkpoints/ folder under the name it was rated
with, so a moved run directory keeps its ratings. A rating is resumable: games the checkpoint
already has against an opponent in ratings.csv count, and only the missing ones are played.
Given a seed, the games are the same on every call (for the same ``parallel`` and ``batch``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from games import Game, GameError
from selfplay.arena.results import GameResult, read_results
from selfplay.arena.runner import run_arena
from selfplay.arena.schedule import Contestant, schedule
from selfplay.configio import require
from selfplay.errors import UserError
from selfplay.players import PLAYER_FACTORIES, PlayerSpecError, make_player, parse_spec, require_specs
from selfplay.rating.elo import fit_elo
from selfplay.run.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    read_sections,
)
from selfplay.run.directory import RunDir


@dataclass
class RatingConfig:
    """How checkpoints are rated: small enough to run every few hundred steps on a CPU."""

    games: int = 10                                   # per opponent, colours alternating
    simulations: int = 50                             # the checkpoint's search per move
    pool: str = "random;mcts:sims=50;mcts:sims=200"   # fixed reference players, ';'-separated
    expert: str = "expert"                            # added when it can be built; '' = never
    previous: int = 2                                 # earlier rated checkpoints of the run
    parallel: int = 1                                 # worker processes
    batch: int = 16                                   # games each process plays at once
    anchor: str = "random"                            # rated 0
    opening_plies: int = 2                            # random moves opening each colour-swapped pair

    def validate(self):
        require_specs("pool", self.pool_specs())
        require_specs("expert", [self.expert] if self.expert.strip() else [])
        require_specs("anchor", [self.anchor])
        require(self.games >= 1, "games must be at least 1")
        require(self.simulations >= 1, "simulations must be at least 1")
        require(self.previous >= 0, "previous must be 0 or more")
        require(self.parallel >= 1 and self.batch >= 1, "parallel and batch must be at least 1")
        require(self.opening_plies >= 0, "opening_plies must be 0 or more")
        require(bool(self.pool_specs()) or self.previous > 0, "pool is empty and previous is 0: no opponent")

    def pool_specs(self) -> list[str]:
        return [s.strip() for s in self.pool.split(";") if s.strip()]


@dataclass
class CheckpointRating:
    player: str     # the checkpoint's name in ratings.csv
    step: int
    elo: float
    lower: float    # 95% interval
    upper: float
    games: int      # all its games in ratings.csv
    score: float    # its mean score in them
    opponents: list[str]
    notes: list[str]  # for the run's log, e.g. why the expert was left out


def checkpoint_name(run_dir: str | Path, checkpoint: str | Path, simulations: int) -> str:
    return f"net:{RunDir(run_dir).checkpoints / Path(checkpoint).name},sims={simulations}"


def checkpoint_of(player: str) -> tuple[str, str] | None:
    """(run directory name, checkpoint file name) of a ``net:.../checkpoints/step-N.pt`` player."""
    try:
        kind, options = parse_spec(player)
    except PlayerSpecError:
        return None
    path = options.get("") or options.get("path")
    if kind != "net" or not path:
        return None
    p = Path(path)
    if not CHECKPOINT_NAME.match(p.name):
        return None
    return p.parent.parent.name, p.name


def rated_checkpoints(results: list[GameResult], run_dir: Path) -> list[tuple[int, str]]:
    """(step, name) of this run's checkpoints in ``results``, oldest first."""
    run_name = run_dir.resolve().name
    found = {}
    for r in results:
        for name in (r.first, r.second):
            c = checkpoint_of(name)
            if c is not None and c[0] == run_name:
                found[name] = int(CHECKPOINT_NAME.match(c[1]).group(1))
    return sorted((step, name) for name, step in found.items())


def _playable(name: str, run_dir: Path) -> str | None:
    """The spec that plays a rated checkpoint from this run's folder, None if its file is gone."""
    _, options = parse_spec(name)
    file_name = Path(options.get("") or options.get("path")).name
    path = RunDir(run_dir).checkpoints / file_name
    if not path.is_file():
        return None
    rest = ",".join(f"{k}={v}" for k, v in options.items() if k not in ("", "path"))
    return f"net:{path}" + (f",{rest}" if rest else "")


def expert_unavailable(spec: str, game: Game) -> str | None:
    """Why the expert cannot play this game here (None when it can)."""
    kind = parse_spec(spec)[0]
    if kind not in PLAYER_FACTORIES:
        return f"no player kind {kind!r} is registered"
    try:
        player = make_player(spec, game)
    except (UserError, GameError, OSError, ImportError) as e:
        return str(e) or type(e).__name__
    close = getattr(player, "close", None)
    if callable(close):
        close()
    return None


def pool_with_expert(config: RatingConfig, game: Game, pool: list[str] | None = None) -> tuple[list[str], list[str]]:
    """The reference players (``pool``, else the config's) and the expert where it can play
    here; the notes say why it was left out."""
    specs = config.pool_specs() if pool is None else list(pool)
    notes = []
    if config.expert and config.expert not in specs:
        why = expert_unavailable(config.expert, game)
        if why is None:
            specs.append(config.expert)
        else:
            notes.append(f"expert {config.expert!r} left out of the pool: {why}")
    return specs, notes


def rate_checkpoint(run_dir: str | Path, checkpoint_path: str | Path, pool: list[str] | None = None,
                    games: int | None = None, config: RatingConfig | None = None, seed: int = 0,
                    on_result: Callable[[GameResult], None] | None = None) -> CheckpointRating:
    """Play the checkpoint against the pool, append the games to RUN_DIR/ratings.csv, refit and
    return its Elo. ``pool`` and ``games`` override the config's."""
    config = config or RatingConfig()
    config.validate()
    games = config.games if games is None else games
    if games < 1:
        raise UserError(f"rating games must be at least 1, got {games}")
    run_dir = Path(run_dir)
    checkpoint_path = Path(checkpoint_path)
    match = CHECKPOINT_NAME.match(checkpoint_path.name)
    if match is None or not checkpoint_path.is_file():
        raise CheckpointError(f"{checkpoint_path} is not a checkpoint file (checkpoints/step-N.pt)")
    game, _ = read_sections(load_checkpoint(checkpoint_path), checkpoint_path)  # the game it was trained for
    ratings = RunDir(run_dir).ratings
    earlier = read_results(ratings) if ratings.exists() else []
    label = game.label()
    if any(r.game != label for r in earlier):
        raise UserError(f"{ratings} holds games other than {label}: not this run's ratings")

    me = Contestant(checkpoint_name(run_dir, checkpoint_path, config.simulations),
                    f"net:{checkpoint_path},sims={config.simulations}")
    specs, notes = pool_with_expert(config, game, pool)
    opponents = [Contestant.of(s) for s in specs]
    previous = [(s, n) for s, n in rated_checkpoints(earlier, run_dir) if n != me.name]
    for _, name in reversed(previous):
        if len(opponents) - len(specs) >= config.previous:
            break
        spec = _playable(name, run_dir)
        if spec is not None:
            opponents.append(Contestant(name, spec))
    if not opponents:
        raise UserError("no opponent to rate the checkpoint against: give a pool")

    contestants = [me, *opponents]
    played = {}
    for j, other in enumerate(opponents, start=1):
        played[(0, j)] = sum(1 for r in earlier if {r.first, r.second} == {me.name, other.name})
    todo = schedule(len(contestants), games, gauntlet=True, played=played)
    step = int(match.group(1))
    seed = int(np.random.SeedSequence([seed, step]).generate_state(1)[0] % 2**31)
    if todo:
        run_arena(game, contestants, todo, parallel=config.parallel, batch=config.batch, seed=seed,
                  results_path=ratings, on_result=on_result, check=False, opening_plies=config.opening_plies)
    everything = read_results(ratings)
    fit = fit_elo([(r.first, r.second, r.result) for r in everything], anchor=config.anchor)
    r = fit[me.name]
    return CheckpointRating(me.name, step, r.elo, r.lower, r.upper, r.games, r.score, [o.name for o in opponents],
                            notes)
