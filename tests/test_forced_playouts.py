"""KataGo's forced playouts and policy target pruning (selfplay/mcts): the pruning against a
hand computation, the forced visits in a real search, and the pruned target in self-play."""

import math

import numpy as np
import pytest

from games import make_game
from selfplay.mcts import MCTS, Evaluator, MCTSConfig
from selfplay.mcts.errors import MCTSConfigError
from selfplay.mcts.policy import prune_forced_visits
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig

C4 = make_game("connect4")


def test_pruning_by_hand():
    visits = np.array([[10, 6, 1, 0]])
    q = np.array([[0.5, 0.3, -0.2, np.nan]])
    priors = np.array([[0.4, 0.3, 0.2, 0.1]])
    # N = 17, c = 1: scale sqrt(17) = 4.1231; the most visited child's score 0.5 + 4.1231 * 0.4 / 11 = 0.64993.
    # Child 1: at or below it from 4.1231 * 0.3 / (0.64993 - 0.3) - 1 = 2.535 visits; its forced visits
    # sqrt(2 * 0.3 * 17) = 3.194 allow going down to 2.806: 3 kept.
    # Child 2: its score stays below from -0.03 visits, all of its 1 visit is forced (2.61): 0 kept.
    assert prune_forced_visits(visits, q, priors, 1.0, 0.0, 2.0).tolist() == [[10, 3, 0, 0]]
    # a child whose Q alone beats the best's score loses nothing; k = 0 removes nothing but single visits
    assert prune_forced_visits(np.array([[10, 4]]), np.array([[0.0, 0.9]]), np.array([[0.5, 0.5]]), 1.0, 0.0,
                               2.0).tolist() == [[10, 4]]
    assert prune_forced_visits(visits, q, priors, 1.0, 0.0, 0.0).tolist() == [[10, 6, 0, 0]]


class CentreFirst(Evaluator):
    """Prior 0.94 on the centre column, 0.01 elsewhere; a position is worth 0.5 to the player to
    move while the centre column is empty, else 0: a first move off the centre is bad."""

    def evaluate(self, batch):
        priors = np.where(batch.legal_mask, 0.01, 0.0)
        priors[:, 3] = np.where(batch.legal_mask[:, 3], 0.94, 0.0)
        centre_empty = [not batch.game.encode(s)[:2, :, 3].any() for s in batch.states]
        return (priors / priors.sum(axis=1, keepdims=True)).astype(np.float32), \
            np.where(centre_empty, 0.5, 0.0).astype(np.float32)


def search(forced: float, sims: int = 400):
    mcts = MCTS(C4, CentreFirst(), MCTSConfig(num_simulations=sims, forced_playouts=forced, seed=0))
    mcts.set_root(0, C4.initial_state())
    return mcts.search()


def test_forced_playouts_give_every_child_its_share_and_the_target_takes_them_back():
    plain, forced = search(0.0), search(2.0)
    assert plain.pruned_visits is None and plain.visit_counts[0].sum() == forced.visit_counts[0].sum() == 400
    others = [a for a in range(7) if a != 3]
    floor = math.sqrt(2.0 * 0.01 * 400) - 1
    assert all(forced.visit_counts[0, a] >= floor for a in others)
    assert forced.visit_counts[0, others].sum() > plain.visit_counts[0, others].sum()
    target = forced.policy()[0]
    assert target[3] > forced.visit_counts[0, 3] / 400  # the forced visits are not taught
    assert target[others].sum() < forced.visit_counts[0, others].sum() / 400


def test_selfplay_records_pruned_targets():
    config = SelfPlayConfig(parallel_games=2, simulations=64, cheap_simulations=64, full_search_prob=1.0,
                            forced_playouts=2.0, resign_threshold=-1.0)
    chunk, _ = SelfPlay(C4, CentreFirst(), config, seed=0).play(2)
    assert np.allclose(chunk.policy.sum(axis=1), 1.0)
    with pytest.raises(Exception, match="forced_playouts"):
        SelfPlayConfig(gumbel=True, simulations=32, cheap_simulations=32, forced_playouts=2.0).validate()
    with pytest.raises(MCTSConfigError, match="forced_playouts"):
        MCTSConfig(forced_playouts=-1.0)
