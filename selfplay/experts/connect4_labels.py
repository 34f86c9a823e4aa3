"""Connect Four positions labelled by the perfect solver: a teacher that knows the exact value of
every position and of every move in it. Leela Chess Zero rescores its training games with
endgame tablebases; in Connect Four the solver (games.connect4_solver) is a tablebase of the
whole game, so the value target is the game-theoretic outcome rather than one noisy game result,
and the policy target the set of exact-best moves rather than a search's visit counts.

Output directory (selfplay.experts.store): meta.json (the settings, checked on a rerun) and
positions.txt, a line per position "MOVES S1 ... S7": the played columns (1-7, first move
first) and a field per column: the exact score for the side to move at each best column (the
benchmark files' convention: 22 minus the mover's stones when it connects four, 0 a draw,
negative a loss), "<" at a legal column that scores less (its exact score is not searched: the
targets need the best moves only, and one probe a column costs the solver several times less
than every exact score) and "-" where the column is full. Lines with every column's exact score
(the first format) read the same. Resumable and never half-written like the expert games.

The games that visit the positions start with ``random_plies`` uniformly random moves; after
that each game plays a random legal move with its own probability ``epsilon`` (drawn uniformly
from [0, 1] per game) and otherwise one of the solver's best moves, so the positions range from
those of random play (where Pascal Pons's benchmark positions come from) to those of perfect
play. Positions with fewer than ``min_ply`` stones are played the same way but not labelled
(the shipped opening book answers the first plies at once; without it their search takes
minutes; ``random_plies = min_ply`` plays them at random instead, as this module did before
2026-12-05; meta.json's ``unlabelled_moves`` says which games a folder holds), a game
stops after its last position of at most ``max_ply`` stones (so the labels can be aimed at the
middle game, where Pons's medium positions lie and the networks err), and the
positions of the benchmark files (and their mirror images) are never labelled, so those files
stay a held-out test.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

import numpy as np

from games import GameError
from games.connect4 import MASK, MOVES, POSITION, WIDTH, ConnectFour
from games.connect4_solver import CELLS, ILLEGAL, Solver, book_key
from selfplay.atomic import atomic_path
from selfplay.connect4_book import DEFAULT_DEPTH, positions_at
from selfplay.evaluation.c4_positions import read_positions
from selfplay.experts.games import fill_store
from selfplay.experts.settings import ExpertGamesError
from selfplay.experts.store import GameStore, LinesFile

POSITIONS_FILE = "positions.txt"
BATCH = 200  # positions a worker labels per batch (a few hundred games' worth of seconds)
MIN_PLY = 1  # every position but the empty board (its move string would be empty)
MAX_PLY = CELLS - 1  # every position up to the last move
#: A legal column scoring less than the best ("<" in positions.txt; below every real score).
BELOW = ILLEGAL + 1
OPENING_MAX = DEFAULT_DEPTH  # --opening's deepest level: the shipped book's depth
BENCHMARK_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "connect4"


@dataclass(frozen=True)
class LabelSettings:
    """What a labelled-positions directory is made with (its meta.json)."""
    game: str = "connect4-solver-labels"
    random_plies: int = 0
    min_ply: int = MIN_PLY
    max_ply: int = MAX_PLY
    held_out: list[str] = field(default_factory=list)  # sha-256 digests (16 hex digits) of the files kept out
    # How the moves from random_plies to min_ply are played: "best" (the solver's, as label_batch
    # does since 2026-12-05) or "random" (before; the same games when random_plies >= min_ply).
    # Derived, and recorded so that a folder of the earlier games (no such key: "random") is not
    # continued with the other kind.
    unlabelled_moves: str = field(default="random", init=False)

    def __post_init__(self):
        object.__setattr__(self, "unlabelled_moves", "best" if self.random_plies < self.min_ply else "random")

    def check(self) -> None:
        if self.random_plies < 0:
            raise ExpertGamesError(f"random opening moves must be >= 0, got {self.random_plies}")
        if not 1 <= self.min_ply < 42:
            raise ExpertGamesError(f"--min-ply must be in 1..41, got {self.min_ply}")
        if not self.min_ply <= self.max_ply < 42:
            raise ExpertGamesError(f"--max-ply must be in {self.min_ply}..41 (at least --min-ply), got {self.max_ply}")


def held_out_keys(paths: list[Path]) -> np.ndarray:
    """Sorted mirror-folded keys (games.connect4_solver.book_key) of every position in the
    benchmark files ``paths`` (lines "MOVES [SCORE]")."""
    game = ConnectFour()
    keys = [position_key(game, moves) for path in paths for moves in read_positions(path).moves]
    return np.unique(np.array(keys, dtype=np.int64))


def is_held_out(excluded: np.ndarray, state: np.ndarray) -> bool:
    """Whether the position (or its mirror image) is among the sorted keys ``excluded``."""
    key = book_key(state[POSITION], state[MASK])
    i = np.searchsorted(excluded, key)
    return bool(i < excluded.size and excluded[i] == key)


def default_held_out() -> list[Path]:
    """The benchmark files beside the repository (../shared/data/connect4), when present."""
    return sorted(BENCHMARK_DIR.glob("Test_*")) if BENCHMARK_DIR.is_dir() else []


def position_key(game: ConnectFour, moves: str) -> int:
    """The mirror-folded key (games.connect4_solver.book_key) of the position after ``moves``:
    a position and its mirror image share it."""
    state = game.state_from_moves(moves)
    return int(book_key(state[POSITION], state[MASK]))


def format_line(moves: str, scores: np.ndarray) -> str:
    return moves + " " + " ".join("-" if s == ILLEGAL else "<" if s == BELOW else str(int(s)) for s in scores)


def best_move_scores(solver: Solver, state: np.ndarray, legal: np.ndarray) -> np.ndarray:
    """The row of positions.txt: the position's exact score at its best columns, BELOW at the
    other legal ones, ILLEGAL at the full ones."""
    scores = np.where(legal, BELOW, ILLEGAL).astype(np.int64)
    scores[solver.best_moves(state)] = solver.solve(state)  # a table hit after best_moves
    return scores


_SOLVER: Solver | None = None  # one per worker process: its table stays warm across batches


def label_batch(settings: LabelSettings, excluded: np.ndarray, seed: int, count: int) -> list[tuple[str, str]]:
    """At least ``count`` labelled positions from new games: (key, line) pairs, the key the move string."""
    global _SOLVER
    if _SOLVER is None:
        _SOLVER = Solver(log_size=24)
    rng = np.random.default_rng(seed)
    game, out = ConnectFour(), []
    while len(out) < count:
        state, actions = game.initial_state(), []
        epsilon = rng.random()
        while not game.is_terminal(state) and len(actions) <= settings.max_ply:
            mask = game.legal_mask(state)
            scores = None
            if int(state[MOVES]) >= settings.min_ply:
                scores = best_move_scores(_SOLVER, state, mask)
                if not is_held_out(excluded, state):
                    moves = game.moves_to_string(actions)
                    out.append((moves, format_line(moves, scores)))
            if len(actions) < settings.random_plies or rng.random() < epsilon:
                action = int(rng.choice(np.flatnonzero(mask)))
            else:  # a best move, also before min_ply (unlabelled there; the book answers the first plies)
                if scores is None:
                    scores = best_move_scores(_SOLVER, state, mask)
                action = int(rng.choice(np.flatnonzero(scores == scores.max())))
            state = game.step(state, action)
            actions.append(action)
    return out


def generate_labels(out: str | Path, target: int, workers: int = 1, seed: int | None = None,
                    random_plies: int = 0, min_ply: int = MIN_PLY, max_ply: int = MAX_PLY,
                    held_out: list[Path] | None = None,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """Label positions until ``out`` holds ``target``; returns how many were added. ``held_out``
    defaults to the benchmark files beside the repository (../shared/data/connect4) when present."""
    if held_out is None:
        held_out = default_held_out()
    digests = list(hashlib.sha256(Path(p).read_bytes()).hexdigest()[:16] for p in held_out)
    settings = LabelSettings(random_plies=random_plies, min_ply=min_ply, max_ply=max_ply, held_out=digests)
    settings.check()
    excluded = held_out_keys(held_out)
    store = GameStore(out, settings, partial(LinesFile, name=POSITIONS_FILE))
    return fill_store(store, partial(label_batch, settings, excluded), target, workers, BATCH, seed, progress,
                      what="position")


def opening_labels(out: str | Path, stones: int, held_out: list[Path] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> int:
    """Label every distinct position (mirror images folded; the SFT loader adds them back) with 1
    to ``stones`` stones into a new folder ``out`` (positions.txt, written at once and atomically);
    returns how many. Games from random to perfect play reach the openings of strong play rarely
    and unevenly, and that is where a network's early mistakes lose whole games; below the opening
    book's depth every move's score is a book lookup, so up to 7 stones all of them cost seconds
    (8 stones: 91,295 positions, each a search, about 10 hours on a core)."""
    if not 1 <= stones <= OPENING_MAX:
        raise ExpertGamesError(f"--opening must be in 1..{OPENING_MAX} stones, got {stones} (past the opening "
                               "book's depth the positions multiply and each is a search)")
    path = Path(out) / POSITIONS_FILE
    if path.exists():
        raise ExpertGamesError(f"{out} already holds labelled positions: --opening writes a new folder")
    excluded = held_out_keys(default_held_out() if held_out is None else held_out)
    every = [m for n in range(1, stones + 1) for m in positions_at(n, immediate_wins=True)]
    game, solver, lines = ConnectFour(), Solver(log_size=24), []
    for done, moves in enumerate(every, 1):
        state = game.state_from_moves(moves)
        if not is_held_out(excluded, state):
            lines.append(format_line(moves, best_move_scores(solver, state, game.legal_mask(state))) + "\n")
        if progress is not None:
            progress(done, len(every))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Path(tmp).write_text("".join(lines), encoding="utf-8")
    return len(lines)


def read_labelled_positions(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The move strings and the (N, 7) int8 move scores (ILLEGAL where full, BELOW for '<') of a positions.txt
    (or of the folder holding one). A bad line is an error naming the file and line."""
    path = Path(path)
    if path.is_dir():
        path = path / POSITIONS_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ExpertGamesError(f"cannot read labelled positions {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ExpertGamesError(f"{path} is not UTF-8 text (byte {e.object[e.start]:#04x} at offset {e.start})") \
            from None
    game, moves, rows = ConnectFour(), [], []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        where = f"{path}:{number}"
        if len(fields) != 1 + WIDTH:
            raise ExpertGamesError(f"{where}: expected 'MOVES' and {WIDTH} scores, got {len(fields)} fields")
        try:
            state = game.state_from_moves(fields[0])
        except GameError as e:
            raise ExpertGamesError(f"{where}: {e}") from None
        if game.is_terminal(state):
            raise ExpertGamesError(f"{where}: the game is over after {fields[0]!r}")
        legal = game.legal_mask(state)
        try:
            row = [ILLEGAL if f == "-" else BELOW if f == "<" else int(f) for f in fields[1:]]
        except ValueError:
            raise ExpertGamesError(f"{where}: scores must be integers, '<' or '-', got {' '.join(fields[1:])!r}") \
                from None
        if any((s == ILLEGAL) == bool(ok) or not -22 <= s <= 22 and s not in (ILLEGAL, BELOW)
               for s, ok in zip(row, legal)):
            raise ExpertGamesError(f"{where}: a score per legal column (-22..22, or '<') and '-' for each full "
                                   f"one expected")
        known = {s for s in row if s not in (ILLEGAL, BELOW)}
        if not known or BELOW in row and len(known) > 1:
            raise ExpertGamesError(f"{where}: with '<' columns, the others must all be the best score")
        moves.append(fields[0])
        rows.append(row)
    if not moves:
        raise ExpertGamesError(f"{path}: no labelled positions in the file")
    return moves, np.array(rows, dtype=np.int8)


def solver_targets(scores: np.ndarray, stones=None, value_discount: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The training targets of move scores (N, 7): the policy shared equally by the exact-best
    moves, the value the game-theoretic outcome for the side to move (+1 win, 0 draw, -1 loss),
    times ``value_discount`` per ply to the end of perfect play (the score says when it ends;
    ``stones``: each position's stone count, needed when the discount is below 1)."""
    masked = masked_scores(scores)
    best = masked.max(axis=1, keepdims=True)
    policy = (masked == best).astype(np.float32)
    policy /= policy.sum(axis=1, keepdims=True)
    value = np.sign(best[:, 0]).astype(np.float64)
    if value_discount != 1:
        plies = np.array([plies_to_end(int(n), int(s)) for n, s in zip(stones, best[:, 0])])
        value *= value_discount ** plies
    return policy, value.astype(np.float32)


def masked_scores(scores: np.ndarray) -> np.ndarray:
    """Move scores (N, 7) as int64 with full columns and '<' ones far below every real score, so
    that a row's max is the position's exact score and its argmax the best columns."""
    return np.where((scores == ILLEGAL) | (scores == BELOW), -1000, scores.astype(np.int64))


def plies_to_end(stones: int, score: int) -> int:
    """Plies from a position with ``stones`` stones and exact score ``score`` (Pons's: 22 minus
    the winner's stones at the win) to the end of perfect play: the winning stone, or a full
    board for a draw."""
    if score == 0:
        return CELLS - stones
    mover_first = stones % 2 == 0
    winner_first = mover_first if score > 0 else not mover_first
    winner_stones = (CELLS + 2) // 2 - abs(score)  # its stones once it has connected four
    return (2 * winner_stones - 1 if winner_first else 2 * winner_stones) - stones
