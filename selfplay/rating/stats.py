"""Scores of finished games: wins, draws and losses of one side, the Wilson interval of its
score, and the Elo difference a score implies (the fitted ratings of many players are elo.py's)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Iterable

from selfplay.arena.results import GameResult


@dataclass
class Tally:
    """Wins, draws and losses of one side; intervals are Wilson score intervals on the score with
    a draw counted as half a win (conservative with draws, whose variance is below a coin's)."""

    wins: int = 0
    draws: int = 0
    losses: int = 0

    def add(self, result: float) -> None:
        if result > 0.5:
            self.wins += 1
        elif result < 0.5:
            self.losses += 1
        else:
            self.draws += 1

    @property
    def games(self) -> int:
        return self.wins + self.draws + self.losses

    @property
    def points(self) -> float:
        return self.wins + 0.5 * self.draws

    @property
    def rate(self) -> float:
        return self.points / self.games if self.games else float("nan")

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        return wilson_interval(self.points, self.games, confidence)


def wilson_interval(points: float, games: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a success rate: inside [0, 1] and sensible at 0 or all wins."""
    if games <= 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = points / games
    centre = (p + z * z / (2 * games)) / (1 + z * z / games)
    half = z / (1 + z * z / games) * math.sqrt(p * (1 - p) / games + z * z / (4 * games * games))
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar (sign test) p-value of paired trials: under 'no difference' each
    discordant pair (one side did better) is a fair coin, so the smaller count is a
    Binomial(n, 1/2) tail, doubled. Sharper than comparing two shares when most pairs agree."""
    n, k = only_first + only_second, min(only_first, only_second)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / (1 << n))


def elo_difference(rate: float) -> float:
    """Elo difference implied by an expected score (infinite at 0 and 1)."""
    if rate <= 0:
        return -math.inf
    if rate >= 1:
        return math.inf
    return 400 * math.log10(rate / (1 - rate))


def tallies(results: Iterable[GameResult]) -> dict[tuple[str, str], Tally]:
    """Tally of every pair (a, b) with a < b by name, from a's side."""
    out: dict[tuple[str, str], Tally] = {}
    for r in results:
        a, b, score = (r.first, r.second, r.result) if r.first <= r.second else (r.second, r.first, 1 - r.result)
        out.setdefault((a, b), Tally()).add(score)
    return out
