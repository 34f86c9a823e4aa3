"""Moves and targets from visit counts, and the root's random draws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from selfplay.mcts import MCTSConfigError
from selfplay.mcts.policy import (
    dirichlet_noise,
    mix_noise,
    sample_actions,
    select_actions,
    visit_policy,
)


def test_visit_policy_with_temperatures():
    visits = np.array([[0, 10, 30, 60]])
    assert visit_policy(visits, 1.0)[0] == pytest.approx([0, 0.1, 0.3, 0.6])
    squared = np.array([0, 100, 900, 3600]) / 4600
    assert visit_policy(visits, 0.5)[0] == pytest.approx(squared)
    assert visit_policy(visits, 0.0)[0].tolist() == [0, 0, 0, 1]
    assert visit_policy(np.array([[5, 0, 5]]), 0.0)[0].tolist() == [0.5, 0, 0.5]
    assert visit_policy(np.array([[10**6, 10**6 - 1]]), 0.01)[0].sum() == pytest.approx(1.0)  # no overflow
    assert visit_policy(np.array([[0, 0]]), 1.0)[0].tolist() == [0, 0]
    with pytest.raises(MCTSConfigError):
        visit_policy(visits, -1.0)


def test_temperature_zero_breaks_ties_at_random_but_never_picks_a_loser():
    rng = np.random.default_rng(0)
    visits = np.array([[3, 7, 0, 7, 1]] * 400)
    chosen = select_actions(visits, 0.0, rng)
    assert set(chosen.tolist()) == {1, 3}
    assert 150 < (chosen == 1).sum() < 250


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=2, max_size=8), st.integers(0, 1000))
def test_sampling_follows_the_probabilities(visits, seed):
    visits = np.array(visits)
    if visits.sum() == 0:
        visits[0] = 1
    rng = np.random.default_rng(seed)
    draws = select_actions(np.tile(visits, (2000, 1)), 1.0, rng)
    assert (visits[draws] > 0).all()
    frequencies = np.bincount(draws, minlength=len(visits)) / 2000
    assert frequencies == pytest.approx(visits / visits.sum(), abs=0.05)


def test_rows_without_visits_fall_back_on_the_priors():
    rng = np.random.default_rng(1)
    priors = np.array([[0.1, 0.0, 0.9]])
    assert select_actions(np.zeros((1, 3)), 0.0, rng, fallback=priors).tolist() == [2]
    with pytest.raises(MCTSConfigError, match="no visits"):
        select_actions(np.zeros((1, 3)), 0.0, rng)


def test_sample_actions_skips_zero_probability_actions():
    rng = np.random.default_rng(2)
    probabilities = np.array([[0.0, 0.5, 0.5, 0.0]] * 1000)
    assert set(sample_actions(probabilities, rng).tolist()) == {1, 2}


def test_dirichlet_noise_lives_on_legal_moves_and_mixes_into_priors():
    rng = np.random.default_rng(3)
    legal = np.array([[True, False, True, True], [False, True, False, False]])
    noise = dirichlet_noise(legal, 0.3, rng)
    assert (noise[~legal] == 0).all() and noise.sum(axis=1) == pytest.approx([1, 1])
    assert noise[1].tolist() == [0, 1, 0, 0]
    priors = np.array([[0.5, 0, 0.25, 0.25], [0, 1, 0, 0]], np.float32)
    mixed = mix_noise(priors, noise, 0.25)
    assert mixed.sum(axis=1) == pytest.approx([1, 1]) and (mixed[~legal] == 0).all()
    # Dirichlet(alpha) has mean 1/n: check the draws average out.
    many = dirichlet_noise(np.ones((4000, 3), np.bool_), 0.3, rng)
    assert many.mean(axis=0) == pytest.approx([1 / 3] * 3, abs=0.03)


def test_tiny_alpha_never_yields_nan():
    noise = dirichlet_noise(np.ones((50, 5), np.bool_), 1e-4, np.random.default_rng(4))
    assert np.isfinite(noise).all() and noise.sum(axis=1) == pytest.approx(np.ones(50))
