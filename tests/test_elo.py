"""Maximum-likelihood Elo: recovery of known ratings, anchoring, unbeaten players, an independent
optimiser on the same likelihood, and `selfplay elo` on a results file."""

import math

import numpy as np
import pytest

from selfplay.arena.results import GameResult, ResultsWriter
from selfplay.cli import main
from selfplay.rating.elo import EloError, fit_elo

TRUE = {"random": 0.0, "a": 150.0, "b": 300.0, "c": 450.0, "d": 700.0}


def expected(ra, rb):
    return 1 / (1 + 10 ** ((rb - ra) / 400))


def simulate(rng, ratings, games_per_pair, draw_share=0.3):
    """Round-robin results whose expected score follows the Elo model, with draws: a game is
    drawn with probability draw_share * 2 * min(e, 1 - e), won with e minus half of that."""
    names = list(ratings)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            e = expected(ratings[a], ratings[b])
            d = draw_share * 2 * min(e, 1 - e)
            u = rng.random(games_per_pair)
            scores = np.where(u < e - d / 2, 1.0, np.where(u < e + d / 2, 0.5, 0.0))
            out += [(a, b, float(s)) if k % 2 else (b, a, 1 - float(s)) for k, s in enumerate(scores)]
    return out


def test_recovers_known_ratings_within_their_intervals_over_many_seeds():
    covered = total = 0
    errors = []
    for seed in range(40):
        fit = fit_elo(simulate(np.random.default_rng(seed), TRUE, 60))
        for name, true in TRUE.items():
            if name == "random":
                continue
            r = fit[name]
            covered += r.lower <= true <= r.upper
            total += 1
            errors.append(r.elo - true)
    # 95% intervals; draws make them conservative, one virtual draw per pair biases little.
    assert covered / total >= 0.88, covered / total
    assert abs(np.mean(errors)) < 25  # little systematic bias (the prior shrinks by ~10 here)


def test_draws_contain_information_the_intervals_shrink_with_games():
    rng = np.random.default_rng(1)
    small = fit_elo(simulate(rng, TRUE, 20))["c"]
    large = fit_elo(simulate(rng, TRUE, 320))["c"]
    # the standard error falls like 1/sqrt(games): 4x narrower for 16x the games
    assert (large.upper - large.lower) == pytest.approx((small.upper - small.lower) / 4, rel=0.25)


def test_anchor_is_exactly_zero_with_a_zero_interval():
    results = simulate(np.random.default_rng(2), TRUE, 10)
    for anchor in ("random", "b"):
        fit = fit_elo(results, anchor=anchor)
        r = fit[anchor]
        assert r.elo == 0.0 and r.lower == 0.0 and r.upper == 0.0
    # moving the anchor shifts every rating by the same amount
    by_random, by_b = fit_elo(results, anchor="random"), fit_elo(results, anchor="b")
    shift = by_random["b"].elo
    for name in TRUE:
        assert by_b[name].elo == pytest.approx(by_random[name].elo - shift, abs=1e-6)


def test_anchor_by_kind_and_clear_errors():
    fit = fit_elo([("random:seed=3", "mcts:sims=50", 0.0)] * 3)
    assert fit.anchor == "random:seed=3"
    with pytest.raises(EloError, match="anchor 'random' has played no game"):
        fit_elo([("a", "b", 1.0)])
    with pytest.raises(EloError, match="never met the anchor"):
        fit_elo([("random", "a", 0.0), ("b", "c", 1.0)])
    with pytest.raises(EloError, match="no results"):
        fit_elo([])


def test_unbeaten_and_winless_players_get_finite_ordered_ratings():
    results = [("random", "a", 0.0)] * 10 + [("a", "b", 0.5)] * 10 + [("b", "c", 0.0)] * 10
    fit = fit_elo(results)
    for name in ("random", "a", "b", "c"):
        r = fit[name]
        assert all(math.isfinite(v) for v in (r.elo, r.lower, r.upper))
    assert fit["c"].elo > fit["b"].elo > 0
    assert fit["a"].elo == pytest.approx(fit["b"].elo, abs=1e-6)  # only draws between them
    assert fit["c"].games == 10 and fit["c"].points == 10.0  # real games, not the virtual draws


def negative_log_likelihood(theta, results, names):
    """The Bradley-Terry likelihood written out game by game, independently of selfplay.rating.elo."""
    index = {n: i for i, n in enumerate(names)}
    total = 0.0
    for a, b, s in results:
        p = 1 / (1 + math.exp(-(theta[index[a]] - theta[index[b]])))
        total -= s * math.log(p) + (1 - s) * math.log(1 - p)
    return total


@pytest.mark.parametrize("prior_draws", [0.0, 1.0])
def test_matches_scipy_minimize_of_the_same_likelihood(prior_draws):
    optimize = pytest.importorskip("scipy.optimize")
    # a table where every player has won and lost, so the plain MLE exists too
    results = ([("random", "a", 1.0)] * 2 + [("random", "a", 0.0)] * 5 + [("a", "b", 0.5)] * 3
               + [("a", "b", 0.0)] * 4 + [("b", "a", 0.0)] + [("b", "random", 1.0)] * 6 + [("random", "b", 1.0)])
    names = ["random", "a", "b"]
    padded = list(results)
    for pair in {tuple(sorted((a, b))) for a, b, _ in results}:
        padded += [(pair[0], pair[1], 0.5)] * int(prior_draws)

    def objective(free):
        return negative_log_likelihood(np.concatenate([[0.0], free]), padded, names)

    best = optimize.minimize(objective, np.zeros(2), method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    fit = fit_elo(results, prior_draws=prior_draws)
    scale = 400 / math.log(10)
    for i, name in enumerate(names[1:]):
        assert fit[name].elo == pytest.approx(best.x[i] * scale, abs=1e-3)
    # the interval is 1.96 standard errors from the inverse Hessian: check it by finite differences
    h = 1e-4
    hessian = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            e_i, e_j = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (objective(best.x + e_i + e_j) - objective(best.x + e_i - e_j)
                             - objective(best.x - e_i + e_j) + objective(best.x - e_i - e_j)) / (4 * h * h)
    se = np.sqrt(np.diag(np.linalg.inv(hessian))) * scale
    for i, name in enumerate(names[1:]):
        assert (fit[name].upper - fit[name].elo) == pytest.approx(1.959964 * se[i], rel=1e-3)


def write_results(path, triples, game="connect4"):
    with ResultsWriter(path) as w:
        for a, b, s in triples:
            w.append(GameResult("2024-01-01T00:00:00Z", game, a, b, s, 20, ""))


def test_elo_command_prints_the_table(tmp_path, capsys):
    path = tmp_path / "results.csv"
    write_results(path, simulate(np.random.default_rng(3), {"random": 0, "mcts:sims=50": 300}, 30))
    assert main(["elo", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "anchor random = 0" in lines[0]
    assert lines[1].split() == ["player", "games", "score", "Elo", "-", "+"]
    rows = {line.split()[0]: line.split() for line in lines[3:]}
    assert rows["random"][3] == "0" and int(rows["mcts:sims=50"][3]) > 100
    assert rows["random"][1] == "30"


def test_elo_command_errors_are_one_line(tmp_path, capsys):
    path = tmp_path / "results.csv"
    write_results(path, [("a", "b", 1.0)])
    assert main(["elo", str(path)]) == 2
    err = capsys.readouterr().err
    assert "anchor 'random' has played no game" in err and "Traceback" not in err
    write_results(path, [("random", "b", 1.0)], game="go-9x9-komi7")
    assert main(["elo", str(path)]) == 2
    assert "mix games" in capsys.readouterr().err
    assert main(["elo", str(path), "--game", "go-9x9-komi7", "--anchor", "b"]) == 0
    assert main(["elo", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
