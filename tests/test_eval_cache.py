"""The network-evaluation cache against the uncached network: same answers, same searches.

A real PolicyValueNet's float results depend slightly on the batch a row is computed in
(1e-8), so exact comparisons of whole searches use a network that computes every row alone
(``RowwiseNet``: the same answer for a position whatever batch it is in); the real network is
compared within 1e-6."""

import numpy as np
import pytest
import torch
from torch import nn

from games import make_game
from selfplay.configio import ConfigError
from selfplay.mcts import MCTS, MCTSConfig
from selfplay.mcts.eval_cache import EvalCache, symmetry_permutations
from selfplay.network import (
    ILLEGAL_LOGIT,
    NetworkConfig,
    NetworkEvaluator,
    PolicyValueNet,
)
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig

GAME = make_game("connect4")


class RowwiseNet(nn.Module):
    """A policy-value function whose every output depends on its own row only, bit for bit;
    ``mirror_symmetric``: a position's mirror image gets exactly the mirrored policy."""

    def __init__(self, mirror_symmetric: bool = False, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        features = int(np.prod(GAME.obs_shape))
        self.num_actions = GAME.num_actions
        self.policy = nn.Parameter(torch.randn(GAME.num_actions, features, generator=g))
        self.value = nn.Parameter(torch.randn(features, generator=g) * 0.3)
        self.mirror_symmetric = mirror_symmetric

    def _one(self, planes):
        x = planes.flatten(1)
        logits = (x[:, None, :] * self.policy[None]).sum(-1)
        return logits, torch.tanh((x * self.value).sum(-1))

    def forward(self, planes, legal_mask=None):
        logits, values = self._one(planes)
        if self.mirror_symmetric:  # average with the mirror image's answer: exactly equivariant
            mirror_logits, mirror_values = self._one(planes.flip(-1))
            logits, values = (logits + mirror_logits.flip(-1)) / 2, (values + mirror_values) / 2
        if legal_mask is not None:
            logits = logits.masked_fill(~legal_mask, ILLEGAL_LOGIT)
        return logits, values


def random_positions(count, seed=0):
    rng = np.random.default_rng(seed)
    states = []
    while len(states) < count:
        state = GAME.initial_state()
        for _ in range(rng.integers(0, 12)):
            legal = np.flatnonzero(GAME.legal_mask(state))
            state = GAME.step(state, int(rng.choice(legal)))
            if GAME.is_terminal(state):
                break
        if not GAME.is_terminal(state):
            states.append(state)
    planes = np.stack([GAME.encode(s) for s in states])
    legal = np.stack([GAME.legal_mask(s) for s in states])
    return states, planes, legal


def evaluate(evaluator, planes, legal):
    """The evaluator as the search calls it."""
    from selfplay.mcts.evaluators import LeafBatch
    batch = LeafBatch(GAME, np.zeros((len(planes), 1), np.int64), legal, planes, np.zeros(len(planes), np.int64))
    return evaluator.evaluate(batch)


def play_selfplay(evaluator, moves_seed=3, games=6):
    config = SelfPlayConfig(parallel_games=4, simulations=24, cheap_simulations=8, full_search_prob=0.5,
                            resign_threshold=-1.0)
    chunk, stats = SelfPlay(GAME, evaluator, config, seed=moves_seed).play(games)
    return chunk, stats


def test_cached_self_play_is_the_uncached_one():
    """Same seed, same network: every recorded position, visit distribution and outcome agree,
    while most leaves are answered from the cache."""
    net = RowwiseNet()
    plain, _ = play_selfplay(NetworkEvaluator(net, "cpu"))
    cached_evaluator = NetworkEvaluator(net, "cpu", cache_entries=1 << 12)
    cached, stats = play_selfplay(cached_evaluator)
    np.testing.assert_array_equal(cached.planes, plain.planes)
    np.testing.assert_array_equal(cached.policy, plain.policy)
    np.testing.assert_array_equal(cached.value, plain.value)
    assert stats.cache_lookups > 0 and stats.cache_hits > 0.2 * stats.cache_lookups
    assert cached_evaluator.positions_evaluated == stats.cache_lookups - stats.cache_hits


def test_a_tiny_cache_replaces_entries_and_stays_exact():
    """Four slots for thousands of positions: constant replacement, never a wrong answer."""
    net = RowwiseNet(seed=1)
    plain, _ = play_selfplay(NetworkEvaluator(net, "cpu"), games=4)
    evaluator = NetworkEvaluator(net, "cpu", cache_entries=3)
    assert evaluator.cache.entries == 4  # one bucket
    cached, _ = play_selfplay(evaluator, games=4)
    np.testing.assert_array_equal(cached.policy, plain.policy)
    np.testing.assert_array_equal(cached.value, plain.value)


def test_mirror_fold_with_a_symmetric_network_is_exact():
    """Folding the mirror only changes which orientation the network sees; with a network that
    is exactly mirror-equivariant the search cannot tell, and mirror images share entries."""
    net = RowwiseNet(mirror_symmetric=True, seed=2)
    plain, _ = play_selfplay(NetworkEvaluator(net, "cpu"))
    folded, stats = play_selfplay(NetworkEvaluator(net, "cpu", cache_entries=1 << 12, cache_fold=True))
    np.testing.assert_array_equal(folded.policy, plain.policy)
    np.testing.assert_array_equal(folded.value, plain.value)
    _, unfolded_stats = play_selfplay(NetworkEvaluator(net, "cpu", cache_entries=1 << 12))
    assert stats.cache_hits / stats.cache_lookups >= unfolded_stats.cache_hits / unfolded_stats.cache_lookups


def test_a_mirror_image_hits_and_gets_the_mirrored_policy():
    _, planes, legal = random_positions(20, seed=4)
    evaluator = NetworkEvaluator(RowwiseNet(mirror_symmetric=True), "cpu", cache_entries=1 << 10, cache_fold=True)
    logits, values = evaluate(evaluator, planes, legal)
    before = evaluator.cache.hits
    mirror_logits, mirror_values = evaluate(evaluator, planes[..., ::-1].copy(), legal[:, ::-1].copy())
    assert evaluator.cache.hits - before == len(planes)
    np.testing.assert_array_equal(mirror_logits, logits[:, ::-1])
    np.testing.assert_array_equal(mirror_values, values)


def test_real_network_cached_matches_uncached():
    """A PolicyValueNet through the cache (first as misses, then as hits, duplicates in the
    batch) against the plain forward: logits and values within 1e-6, illegal moves masked."""
    torch.manual_seed(0)
    net = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=16, blocks=1, value_hidden=16))
    _, planes, legal = random_positions(40)
    planes, legal = np.concatenate([planes, planes[:10]]), np.concatenate([legal, legal[:10]])
    truth_logits, truth_values = NetworkEvaluator(net, "cpu").forward(planes, legal)
    evaluator = NetworkEvaluator(net, "cpu", cache_entries=1 << 14)
    for _ in range(2):
        logits, values = evaluate(evaluator, planes, legal)
        np.testing.assert_allclose(logits[legal], truth_logits[legal], atol=1e-6)
        assert np.all(logits[~legal] == np.float32(ILLEGAL_LOGIT))
        np.testing.assert_allclose(values, truth_values, atol=1e-6)
    unique = len(np.unique(planes.reshape(len(planes), -1), axis=0))
    assert evaluator.positions_evaluated == unique
    assert evaluator.cache.lookups == 2 * len(planes) and evaluator.cache.hits == 2 * len(planes) - unique


def test_real_network_search_visits_match():
    """Whole searches with a real network, cached and not: root priors within 1e-6 and the
    same visit counts (a tie flipped by 1e-8 would show here; the seed has none)."""
    torch.manual_seed(0)
    net = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=16, blocks=1, value_hidden=16))
    states, _, _ = random_positions(16, seed=5)
    results = []
    for entries in (0, 1 << 12):
        mcts = MCTS(GAME, NetworkEvaluator(net, "cpu", cache_entries=entries),
                    MCTSConfig(num_simulations=64, dirichlet_fraction=0.0, seed=7), batch_size=len(states))
        mcts.set_roots(states)
        results.append(mcts.search())
    np.testing.assert_allclose(results[1].priors, results[0].priors, atol=1e-6)
    np.testing.assert_array_equal(results[1].visit_counts, results[0].visit_counts)


def test_new_weights_empty_the_cache():
    """An optimizer step or load_state_dict changes the weights in place: the next evaluation
    must be the new network's, not a stale entry."""
    torch.manual_seed(0)
    net = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=8, blocks=1, value_hidden=8))
    _, planes, legal = random_positions(8)
    evaluator = NetworkEvaluator(net, "cpu", cache_entries=1 << 8)
    evaluate(evaluator, planes, legal)
    other = PolicyValueNet(GAME.obs_shape, GAME.num_actions, NetworkConfig(channels=8, blocks=1, value_hidden=8))
    net.load_state_dict(other.state_dict())
    logits, values = evaluate(evaluator, planes, legal)
    truth_logits, truth_values = NetworkEvaluator(other.eval(), "cpu").forward(planes, legal)
    np.testing.assert_allclose(values, truth_values, atol=1e-6)
    np.testing.assert_allclose(logits[legal], truth_logits[legal], atol=1e-6)

    hits = evaluator.cache.hits
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    net.train()
    loss = sum(o.sum() for o in net(torch.from_numpy(planes)))
    loss.backward()
    optimizer.step()
    net.eval()
    evaluate(evaluator, planes, legal)
    twins = len(planes) - len(np.unique(planes.reshape(len(planes), -1), axis=0))
    assert evaluator.cache.hits == hits + twins  # nothing answered from before the step


def test_connect4_mirror_is_found_and_non_permutations_are_not_folded():
    cells, actions = symmetry_permutations(GAME, fold=True)
    assert cells.shape == (2, 3 * 6 * 7) and actions.tolist() == [list(range(7)), list(range(6, -1, -1))]
    assert symmetry_permutations(GAME, fold=False)[0].shape[0] == 1


def test_cache_size_is_bounded_and_checked():
    cache = EvalCache(1000, GAME.num_actions)
    assert cache.entries == 1024 and cache.nbytes == 1024 * (8 + 8 + 8 + 8 + 4 * 7 + 4)
    with pytest.raises(ValueError):
        EvalCache(0, GAME.num_actions)


@pytest.mark.parametrize("field, value", [("eval_cache", -1), ("eval_cache", 1 << 40),
                                          ("inference_precision", "int4")])
def test_bad_config_values_are_one_line_errors(field, value):
    config = SelfPlayConfig(**{field: value})
    with pytest.raises(ConfigError, match=field):
        config.validate()


def test_rows_sharing_only_the_first_key_stay_apart():
    from selfplay.mcts.eval_cache import _distinct
    key1 = np.array([1, 2, 1, 3, 1], np.uint64)
    first, which = _distinct(key1, np.array([5, 6, 5, 7, 5], np.uint64))
    assert which.tolist() == [0, 1, 0, 2, 0] and first.tolist() == [0, 1, 3]
    key2 = np.array([5, 6, 9, 7, 5], np.uint64)
    first, which = _distinct(key1, key2)
    pairs = list(zip(key1.tolist(), key2.tolist()))
    assert len(first) == 4 and all(pairs[first[which[i]]] == pairs[i] for i in range(5))
