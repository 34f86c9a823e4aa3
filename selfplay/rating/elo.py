"""Maximum-likelihood Elo ratings from game results, with confidence intervals.

The model is Bradley-Terry on the Elo scale: player i scores against player j with expected
score ``1 / (1 + 10 ** ((r_j - r_i) / 400))``. A draw counts as half a win and half a loss (the
approach of BayesElo and Ordo), so each game contributes ``s log p + (1 - s) log(1 - p)`` to the
log-likelihood, with s = 1, 1/2 or 0.

Players who won (or lost) every game have no finite maximum-likelihood rating. As BayesElo
does, every pair of players who met gets ``prior_draws`` virtual draws (1 by default): the
maximum then exists whenever the players are connected by games, it pulls a pair's difference
towards 0 by about what one extra drawn game would, and it is negligible after a few dozen
games per pair. Reported games and scores are the real ones.

The fit is Newton's method on the log-likelihood with the anchor's rating held at 0 (a concave
problem: a few iterations). Intervals are normal ones from the inverse of the observed Fisher
information (minus the Hessian at the maximum), so they describe each rating relative to the
anchor, whose interval is [0, 0]. Counting a draw as half a win overstates a draw's variance,
which makes the intervals conservative when there are many draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Iterable

import numpy as np

from selfplay.errors import UserError

ELO_PER_NAT = 400 / math.log(10)  # Elo points per unit of the logistic scale


class EloError(UserError):
    """The results cannot be rated as asked (no games, unknown anchor, disconnected players)."""


@dataclass
class Rating:
    player: str
    games: int
    points: float  # real games only
    elo: float
    lower: float
    upper: float

    @property
    def score(self) -> float:
        return self.points / self.games if self.games else float("nan")


@dataclass
class EloFit:
    ratings: list[Rating]  # best first
    anchor: str
    confidence: float
    prior_draws: float
    covariance: np.ndarray  # of the Elo ratings in ``players`` order, the anchor's row and column 0
    players: list[str]

    def __getitem__(self, player: str) -> Rating:
        for r in self.ratings:
            if r.player == player:
                return r
        raise EloError(f"no rating for {player!r}: it has played no game in these results")

    def __contains__(self, player: str) -> bool:
        return any(r.player == player for r in self.ratings)

    def difference(self, player: str, other: str) -> tuple[float, float, float]:
        """``player``'s Elo minus ``other``'s with its interval (at the fit's confidence), from
        the joint covariance: what decides whether one is above the other. Each rating's own
        interval is relative to the anchor and carries the scale's uncertainty, which the two
        share; comparing those intervals for overlap is needlessly blunt."""
        a, b = self[player], self[other]  # named errors for unknown players
        i, j = self.players.index(player), self.players.index(other)
        c = self.covariance
        spread = math.sqrt(max(c[i, i] + c[j, j] - 2 * c[i, j], 0.0))
        half = NormalDist().inv_cdf(0.5 + self.confidence / 2) * spread
        diff = a.elo - b.elo
        return diff, diff - half, diff + half


def resolve_anchor(anchor: str, players: Iterable[str]) -> str:
    """The player named ``anchor``: exactly, or the only player whose spec is of that kind
    (``random`` finds ``random:seed=3``)."""
    players = sorted(set(players))
    if anchor in players:
        return anchor
    of_kind = [p for p in players if p.split(":", 1)[0] == anchor]
    if len(of_kind) == 1:
        return of_kind[0]
    if of_kind:
        raise EloError(f"anchor {anchor!r} is ambiguous: {', '.join(of_kind)}; name one exactly with --anchor")
    raise EloError(f"the anchor {anchor!r} has played no game in these results; choose one of: "
                   f"{', '.join(players)} (--anchor)")


def fit_elo(results: Iterable[tuple[str, str, float]], anchor: str = "random", prior_draws: float = 1.0,
            confidence: float = 0.95) -> EloFit:
    """Ratings from (player, opponent, score of player) triples, the anchor at exactly 0."""
    if not (math.isfinite(prior_draws) and prior_draws >= 0) or not 0 < confidence < 1:
        raise EloError("prior_draws must be >= 0 and confidence in (0, 1)")
    results = list(results)
    if not results:
        raise EloError("no results to rate")
    players = sorted({p for a, b, _ in results for p in (a, b)})
    index = {p: i for i, p in enumerate(players)}
    n = len(players)
    points = np.zeros((n, n))  # points[i, j]: what i scored against j
    games = np.zeros((n, n))
    for a, b, s in results:
        if a == b:
            raise EloError(f"a game of {a!r} against itself cannot be rated")
        i, j = index[a], index[b]
        points[i, j] += s
        points[j, i] += 1 - s
        games[i, j] += 1
        games[j, i] += 1
    real_points, real_games = points.sum(1), games.sum(1)
    anchor = resolve_anchor(anchor, players)
    _check_connected(players, games, index[anchor])
    met = games > 0
    points = points + met * prior_draws / 2
    games = games + met * prior_draws
    theta = _newton(points, games, index[anchor])
    information = _information(theta, games)
    free = np.arange(n) != index[anchor]
    covariance = np.zeros((n, n))
    covariance[np.ix_(free, free)] = np.linalg.inv(information[np.ix_(free, free)]) * ELO_PER_NAT ** 2
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    elo = theta * ELO_PER_NAT
    half = z * np.sqrt(np.diag(covariance))
    ratings = [Rating(p, int(real_games[i]), float(real_points[i]), float(elo[i]), float(elo[i] - half[i]),
                      float(elo[i] + half[i])) for i, p in enumerate(players)]
    ratings.sort(key=lambda r: (-r.elo, r.player))
    return EloFit(ratings, anchor, confidence, prior_draws, covariance, players)


def _check_connected(players: list[str], games: np.ndarray, start: int) -> None:
    seen = {start}
    frontier = [start]
    while frontier:
        i = frontier.pop()
        for j in np.flatnonzero(games[i]):
            if int(j) not in seen:
                seen.add(int(j))
                frontier.append(int(j))
    apart = [p for i, p in enumerate(players) if i not in seen]
    if apart:
        raise EloError(f"{', '.join(apart)} never met the anchor {players[start]!r} or anyone who did "
                       "(directly or through other players): their ratings are not comparable")


def log_likelihood(theta: np.ndarray, points: np.ndarray, games: np.ndarray) -> float:
    diff = theta[:, None] - theta[None, :]
    # A game where i scores s enters as s log p_ij (i's side) plus (1 - s) log p_ji (j's side).
    return float(np.sum(points * -np.logaddexp(0.0, -diff)))


def _information(theta: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Minus the Hessian of the log-likelihood: a weighted graph Laplacian."""
    p = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
    w = games * p * (1 - p)
    return np.diag(w.sum(1)) - w


def _newton(points: np.ndarray, games: np.ndarray, anchor: int, iterations: int = 100) -> np.ndarray:
    n = len(points)
    theta = np.zeros(n)
    free = np.arange(n) != anchor
    current = log_likelihood(theta, points, games)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
        gradient = (points - games * p).sum(1)
        step = np.zeros(n)
        step[free] = np.linalg.solve(_information(theta, games)[np.ix_(free, free)], gradient[free])
        scale = 1.0
        while True:  # Newton's step on a concave function; halve it in the rare overshoot
            candidate = theta + scale * step
            value = log_likelihood(candidate, points, games)
            if value >= current - 1e-12 or scale < 1e-6:
                break
            scale /= 2
        theta, current = candidate, value
        if np.max(np.abs(scale * step)) < 1e-10:
            break
    return theta
