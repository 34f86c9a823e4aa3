"""How often a player's Connect Four moves are perfect, judged by the solver on a file of positions.

Two shares over the positions: moves that keep the game-theoretic outcome (a win stays a win, a
draw a draw; in a lost position every move keeps it) and moves with the exact best score (the
fastest win or the slowest loss), each with a Wilson 95% confidence interval.

The exact score of every move of every position is the expensive part, and it does not depend
on the player, so it is computed once per positions file and cached on disk, keyed by a hash of
the file's content: evaluating a hundred checkpoints costs one solver pass. The cache file is
written atomically (selfplay.atomic), grows when a later run asks for more positions, and is
recomputed when it cannot be read back or fails its checks.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from games import GameError
from games.connect4 import WIDTH, ConnectFour
from games.connect4_solver import ILLEGAL, MAX_SCORE, MIN_SCORE, Solver
from selfplay.atomic import atomic_path
from selfplay.errors import UserError
from selfplay.players import Player
from selfplay.rating.stats import mcnemar_p

CACHE_VERSION = 1
SAVE_EVERY_S = 30.0  # while computing, save progress this often so an interrupted run keeps it


class PositionsFileError(UserError):
    """A positions file is missing, empty or has a malformed line."""


@dataclass
class Positions:
    """The positions of a file: move strings, the scores the file gives (None where absent)."""
    path: Path
    moves: list[str]
    scores: list[int | None]
    digest: str  # sha256 of the file's bytes

    def __len__(self):
        return len(self.moves)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "selfplay" / "connect4"


def read_positions(path: str | Path, limit: int | None = None) -> Positions:
    """Read a file of lines "MOVES [SCORE]" (blank lines and lines starting with # skipped);
    keep the first ``limit`` positions. Errors name the file and the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise PositionsFileError(f"cannot read positions file {path}: {e.strerror}") from None
    game = ConnectFour()
    moves, scores = [], []
    for number, raw in enumerate(data.splitlines(), start=1):
        if limit is not None and len(moves) >= limit:
            break
        where = f"{path}:{number}"
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as e:
            raise PositionsFileError(f"{where}: not UTF-8 text (byte {e.object[e.start]:#04x} at column "
                                     f"{e.start + 1})") from None
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) > 2:
            raise PositionsFileError(f"{where}: expected 'MOVES [SCORE]', got {len(fields)} fields")
        try:
            state = game.state_from_moves(fields[0])
        except GameError as e:
            raise PositionsFileError(f"{where}: {e}") from None
        if game.is_terminal(state):
            raise PositionsFileError(f"{where}: the game is over after {fields[0]!r} ({game.result_string(state)})")
        score = None
        if len(fields) == 2:
            try:
                score = int(fields[1])
            except ValueError:
                raise PositionsFileError(f"{where}: score {fields[1]!r} is not an integer") from None
        moves.append(fields[0])
        scores.append(score)
    if not moves:
        raise PositionsFileError(f"{path}: no positions in the file")
    return Positions(path, moves, scores, hashlib.sha256(data).hexdigest())


def cache_path(positions: Positions, cache_dir: Path) -> Path:
    return Path(cache_dir) / f"move-scores-v{CACHE_VERSION}-{positions.digest[:32]}.npy"


def _legal_masks(positions: Positions, count: int) -> np.ndarray:
    game = ConnectFour()
    return np.array([game.legal_mask(game.state_from_moves(m)) for m in positions.moves[:count]])


def _load_cache(path: Path, positions: Positions) -> np.ndarray:
    """Rows of move scores cached for the first positions, or an empty array when the file is
    missing, unreadable or inconsistent with the positions (then it is recomputed)."""
    empty = np.zeros((0, WIDTH), dtype=np.int8)
    try:
        rows = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return empty
    if rows.dtype != np.int8 or rows.ndim != 2 or rows.shape[1] != WIDTH:
        return empty
    rows = rows[:len(positions)]
    legal = rows != ILLEGAL
    in_range = (rows >= MIN_SCORE) & (rows <= MAX_SCORE)
    if not np.array_equal(legal, _legal_masks(positions, rows.shape[0])) or not np.all(in_range | ~legal):
        return empty
    return rows


def _save_cache(path: Path, rows: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, rows)


def move_scores(positions: Positions, cache_dir: str | Path | None = None, solver: Solver | None = None,
                progress=None) -> np.ndarray:
    """int8 array (len(positions), WIDTH): the exact score of each column (ILLEGAL when full), read
    from the cache where it has them, computed (and cached) where not. ``progress(done, total)``
    is called as positions are solved."""
    path = cache_path(positions, cache_dir or default_cache_dir())
    rows = _load_cache(path, positions)
    if rows.shape[0] >= len(positions):
        return rows[:len(positions)]
    game = ConnectFour()
    solver = solver or Solver()
    computed = [rows]
    last_save = time.monotonic()
    for i in range(rows.shape[0], len(positions)):
        computed.append(solver.move_scores(game.state_from_moves(positions.moves[i])).astype(np.int8)[None])
        if progress is not None:
            progress(i + 1, len(positions))
        if time.monotonic() - last_save > SAVE_EVERY_S:
            _save_cache(path, np.concatenate(computed))
            last_save = time.monotonic()
    rows = np.concatenate(computed)
    _save_cache(path, rows)
    return rows


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (sound near 0 and 1, unlike p +- z*se)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class Share:
    count: int
    total: int
    low: float = field(init=False)
    high: float = field(init=False)

    def __post_init__(self):
        self.low, self.high = wilson_interval(self.count, self.total)

    @property
    def value(self) -> float:
        return self.count / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {"share": self.value, "count": self.count, "total": self.total, "ci95": [self.low, self.high]}


@dataclass
class Evaluation:
    positions: int
    outcome: Share  # moves that keep the game-theoretic outcome
    best: Share  # moves with the exact best score
    score_mismatches: int  # positions whose score in the file differs from the solver's
    kept_each: np.ndarray | None = None  # per position, in file order: the move kept the outcome
    best_each: np.ndarray | None = None  # per position: the move was an exact-best one

    def as_dict(self) -> dict:
        return {"positions": self.positions, "outcome_kept": self.outcome.as_dict(),
                "best_move": self.best.as_dict(), "score_mismatches": self.score_mismatches}


def evaluate(player: Player, positions: Positions, scores: np.ndarray) -> Evaluation:
    """Ask ``player`` for a move in each position (all at once: Player.select_moves) and judge
    it against the exact ``scores``."""
    game = ConnectFour()
    states = [game.state_from_moves(moves) for moves in positions.moves]
    actions = player.select_moves(game, states)
    kept_each, best_each = np.zeros(len(positions), bool), np.zeros(len(positions), bool)
    mismatches = 0
    for i, (moves, given, row, action) in enumerate(zip(positions.moves, positions.scores, scores, actions)):
        action = int(action)
        if not 0 <= action < WIDTH or row[action] == ILLEGAL:
            raise UserError(f"player {player.name} chose an illegal move {action} in position {moves!r}")
        top = int(row.max())
        kept_each[i] = np.sign(row[action]) == np.sign(top)
        best_each[i] = row[action] == top
        mismatches += int(given is not None and given != top)
    n = len(positions)
    return Evaluation(n, Share(int(kept_each.sum()), n), Share(int(best_each.sum()), n), mismatches,
                      kept_each, best_each)


def save_answers(path: str | Path, player: str, positions: Positions, result: Evaluation) -> None:
    """Which positions ``player`` kept the outcome of and played exact-best in, for a paired
    comparison with another player on the same positions (``compare_answers``)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, kept=result.kept_each, best=result.best_each, player=np.array(player),
                 digest=np.array(positions.digest), count=np.int64(len(positions)))


def compare_answers(path: str | Path, positions: Positions, result: Evaluation) -> dict:
    """Positions only this result got right / only the saved answers at ``path`` did (per measure),
    with McNemar's exact p: most positions both get right or both miss, so the pairs that differ
    say more than two shares' intervals do. The saved answers must be of the same positions."""
    try:
        with np.load(path, allow_pickle=False) as data:
            kept, best, player = data["kept"].astype(bool), data["best"].astype(bool), str(data["player"])
            same = str(data["digest"]) == positions.digest and int(data["count"]) == len(positions)
    except (OSError, KeyError, ValueError, EOFError) as e:
        raise UserError(f"{path}: not a readable answers file of eval-c4 --answers ({e})") from None
    if not same:
        raise UserError(f"{path}: its answers are of other positions (another file or --limit); compare on the same")
    out = {"other": player}
    for name, mine, theirs in (("outcome_kept", result.kept_each, kept), ("best_move", result.best_each, best)):
        only_mine, only_theirs = int(np.sum(mine & ~theirs)), int(np.sum(theirs & ~mine))
        out[name] = {"only_this": only_mine, "only_other": only_theirs, "p": mcnemar_p(only_mine, only_theirs)}
    return out
