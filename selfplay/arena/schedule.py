"""Who plays whom, with which colours, from which opening: round-robin and gauntlet schedules
whose colours alternate within every pair, and random openings each played with both colours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from games import Game
from selfplay.arena.errors import ArenaError


@dataclass(frozen=True)
class Contestant:
    """A player in an arena: ``name`` is what the results record, ``spec`` what is built."""

    name: str
    spec: str

    @classmethod
    def of(cls, spec: str) -> Contestant:
        return cls(spec.strip(), spec.strip())


@dataclass(frozen=True)
class ScheduledGame:
    index: int
    first: int   # contestant indices; ``first`` moves first (owns the first mover's colour)
    second: int
    round: int = 0                   # the pair's n-th game; rounds 2k and 2k+1 swap colours
    opening: tuple[int, ...] = ()    # moves played before the players take over (with_openings)


def pairings(count: int, gauntlet: bool = False) -> list[tuple[int, int]]:
    """Pairs of contestant indices: all pairs (round-robin) or the first against each other."""
    if gauntlet:
        return [(0, j) for j in range(1, count)]
    return [(i, j) for i in range(count) for j in range(i + 1, count)]


def schedule(count: int, games_per_pair: int, gauntlet: bool = False,
             played: dict[tuple[int, int], int] | None = None) -> list[ScheduledGame]:
    """``games_per_pair`` games for every pair, colours alternating within a pair (its first
    named player starts its even games), interleaved round by round so that an arena stopped
    early has played every pair about equally. ``played`` counts games a pair already has:
    only the missing ones are scheduled, their colours continuing the alternation."""
    played = played or {}
    games: list[ScheduledGame] = []
    for n in range(games_per_pair):
        for a, b in pairings(count, gauntlet):
            if n >= played.get((a, b), 0):
                games.append(ScheduledGame(len(games), *((a, b) if n % 2 == 0 else (b, a)), round=n))
    return games


def with_openings(game: Game, games: Sequence[ScheduledGame], plies: int, seed: int) -> list[ScheduledGame]:
    """Start every game from ``plies`` uniformly random moves (never a pass, never a finished
    position), the same opening for both colours of a round pair (rounds 2k, 2k+1 of a pair).

    Without them two deterministic players (a network at temperature 0, the Connect Four expert)
    play the same game again and again, and a rating counts one game as many. A random opening
    gives one side an edge, so each opening is played with both colours."""
    if plies < 0:
        raise ArenaError(f"opening plies must be 0 or more, got {plies}")
    if plies == 0:
        return list(games)
    out = []
    for g in games:
        a, b = sorted((g.first, g.second))
        rng = np.random.default_rng(np.random.SeedSequence([seed, a, b, g.round // 2]))
        out.append(ScheduledGame(g.index, g.first, g.second, g.round, random_opening(game, plies, rng)))
    return out


def random_opening(game: Game, plies: int, rng: np.random.Generator, tries: int = 100) -> tuple[int, ...]:
    """``plies`` random moves from the initial position that leave the game going."""
    for _ in range(tries):
        state, moves = game.initial_state(), []
        while len(moves) < plies and not game.is_terminal(state):
            legal = [int(a) for a in game.legal_actions(state) if a != getattr(game, "pass_action", -1)]
            if not legal:
                break
            moves.append(int(rng.choice(legal)))
            state = game.step(state, moves[-1])
        if len(moves) == plies and not game.is_terminal(state):
            return tuple(moves)
    raise ArenaError(f"no opening of {plies} random moves leaves a {game.name} game going: use fewer")
