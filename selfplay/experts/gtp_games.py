"""Go's expert games: a GTP engine (GNU Go unless told otherwise) against itself, each game an
SGF file keyed by a hash of its board, komi and moves."""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

from games import GameError
from games.go import GoGame
from games.go.sgf import GoRecord, to_sgf
from selfplay.experts.settings import ExpertGamesError, Settings
from selfplay.gtp.client import CommandFailedError, EngineTimeoutError, GTPClient


def play_gtp_games(settings: Settings, seed: int, count: int, timeout: float) -> list[tuple[str, bytes]]:
    """``count`` games of the engine against itself: (key, SGF bytes) pairs. A game in which
    the engine plays a move our rules forbid (an engine with other ko or suicide rules) is
    dropped. ``timeout``: seconds the engine may take for one command; when it takes longer (on
    a busy machine a niced engine can wait that long for a core) the game in progress is dropped
    and the batch ends early with the games finished so far, said on stderr; a timeout before
    any game is finished is still an error (an engine that never answers)."""
    rng = np.random.default_rng(seed)
    game = GoGame(settings.size, settings.komi)
    command = settings.engine
    if os.path.basename(command.split()[0]) == "gnugo":
        command += f" --seed {int(rng.integers(1, 2 ** 31))}"
    out = []
    with GTPClient(command, timeout=timeout) as engine:
        engine.name = f"{engine.engine_name()} {engine.version()}".strip()
        engine.boardsize(settings.size)
        engine.komi(settings.komi)
        can_seed = engine.known_command("set_random_seed")
        for _ in range(count):
            try:
                engine.clear_board()
                if can_seed:
                    engine.send(f"set_random_seed {int(rng.integers(1, 2 ** 31))}")
                record = _play_game(game, engine, rng, settings.random_plies)
            except EngineTimeoutError as e:
                if not out:
                    raise
                print(f"expert games: {e}; the batch ends early, keeping its {len(out)} finished game(s)", file=sys.stderr)
                break
            if record is not None:
                out.append((_key(settings, record.moves), to_sgf(record)))
    return out


def _play_game(game: GoGame, engine: GTPClient, rng: np.random.Generator, random_plies: int) -> GoRecord | None:
    """One game: ``random_plies`` random points, then the engine's moves for both sides."""
    state, moves = game.initial_state(), []
    result = None
    while not game.is_terminal(state):
        colour = game.to_play(state)
        if len(moves) < random_plies:
            points = game.legal_actions(state)[:-1]  # no pass in the opening
            if points.size == 0:
                return None
            action = int(rng.choice(points))
            try:
                engine.play(colour, game.format_move(action))
            except CommandFailedError:
                return None
        else:
            reply = engine.genmove(colour)
            if reply == "resign":
                result = f"{'WB'[colour]}+R"
                break
            try:
                action = game.parse_move(reply)
            except GameError:
                raise ExpertGamesError(f"{engine.name} answered genmove with {reply!r}, not a move") from None
            if not game.legal_mask(state)[action]:
                return None  # legal for the engine, not by our rules (superko)
        moves.append(action)
        state = game.step(state, action)
    return GoRecord.from_game(game, moves, result=result, black=engine.name, white=engine.name)


def _key(settings: Settings, moves: list[int]) -> str:
    text = f"{settings.size} {settings.komi} " + " ".join(map(str, moves))
    return f"go{settings.size}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"
