"""The search driver: convergence to exact values on small games (against brute force written
here), the contracts of visit counts, determinism, node budgets, tree reuse, root noise, the
step-by-step API, and Go tactics."""

from functools import lru_cache

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.go import GoGame
from games.tictactoe import TicTacToe
from selfplay.mcts import (
    MCTS,
    Evaluator,
    EvaluatorError,
    MCTSConfig,
    MCTSError,
    NetworkEvaluator,
    NodeBudgetError,
    RolloutEvaluator,
    TerminalRootError,
    UniformEvaluator,
)
from selfplay.mcts.errors import MCTSConfigError
from selfplay.mcts.tree import UNEXPANDED

TTT, C4 = TicTacToe(), ConnectFour()


def exact_action_values(game, state):
    """Negamax value of every legal action for the player to move (memoised brute force)."""

    @lru_cache(maxsize=None)
    def value(key):
        s = np.array(key, dtype=np.int64)
        if game.is_terminal(s):
            return game.terminal_value(s)
        return max(-value(tuple(game.step(s, a))) for a in game.legal_actions(s))

    return {int(a): -value(tuple(game.step(state, a))) for a in game.legal_actions(state)}


def random_positions(game, rng, plies, want, keep):
    """Non-terminal positions after a random number of random plies in ``plies``, kept when
    ``keep(exact action values)`` holds, until ``want`` of them."""
    found = []
    while len(found) < want:
        state = game.initial_state()
        for _ in range(rng.integers(*plies)):
            state = game.step(state, rng.choice(game.legal_actions(state)))
            if game.is_terminal(state):
                break
        if not game.is_terminal(state):
            values = exact_action_values(game, state)
            if keep(values):
                found.append((state, values))
    return found


def searched(game, states, evaluator=None, **config):
    states = [states] if isinstance(states, np.ndarray) else list(states)
    mcts = MCTS(game, evaluator or UniformEvaluator(), MCTSConfig(**config), batch_size=len(states))
    mcts.set_roots(states)
    return mcts, mcts.search()


def tree_invariant_holds(mcts, b=0):
    """Every expanded node has one more visit than its children together (its own evaluation)."""
    t = mcts.tree
    for node in range(t.num_nodes[b]):
        start = t.first_child[b, node]
        if start >= 0 and t.visits[b, node] != 1 + t.visits[b, start:start + t.num_children[b, node]].sum():
            return False
    return True


# ---- convergence on solved games ---------------------------------------------------------------
@pytest.mark.parametrize("evaluator, sims", [(UniformEvaluator(), 5000), (RolloutEvaluator(), 20000)],
                         ids=["uniform", "rollout"])
def test_tictactoe_search_converges_to_minimax(evaluator, sims):
    rng = np.random.default_rng(0)
    decided = random_positions(TTT, rng, (2, 6), 6, lambda v: max(v.values()) != 0)
    drawn = random_positions(TTT, rng, (0, 5), 4, lambda v: max(v.values()) == 0)
    assert {max(v.values()) for _, v in decided} == {-1.0, 1.0}  # wins and losses both tested
    for state, values in decided + drawn:
        _, result = searched(TTT, state, evaluator, num_simulations=sims, seed=1)
        best = max(values.values())
        chosen = int(np.argmax(result.visit_counts[0]))
        assert values[chosen] == best, TTT.render(state)
        assert abs(result.root_value[0] - best) < 0.15, TTT.render(state)


def test_connect4_endgames_match_brute_force_negamax():
    rng = np.random.default_rng(3)
    mattering = random_positions(C4, rng, (30, 35), 5, lambda v: len(set(v.values())) > 1)
    even = random_positions(C4, rng, (30, 37), 3, lambda v: max(v.values()) < 1)
    assert any(max(v.values()) < 1 for _, v in even)
    for state, values in mattering + even:
        _, result = searched(C4, state, RolloutEvaluator(), num_simulations=20000, seed=2)
        best = max(values.values())
        chosen = int(np.argmax(result.visit_counts[0]))
        assert values[chosen] == best, C4.render(state)
        assert abs(result.root_value[0] - best) < 0.2, C4.render(state)


@pytest.mark.parametrize("moves, answer", [("112233", 3), ("11223", 3), ("12131", 0)])
def test_connect4_plays_the_win_or_the_only_block(moves, answer):
    state = C4.state_from_moves(moves)
    for fused in (True, False):
        _, result = searched(C4, state, RolloutEvaluator(), num_simulations=3000, seed=0, fused=fused)
        assert int(np.argmax(result.visit_counts[0])) == answer
        assert result.pv(0)[0] == answer


# ---- contracts of the output -------------------------------------------------------------------
@pytest.mark.parametrize("fused, leaves", [(True, 1), (False, 1), (False, 4)])
def test_visit_counts_sum_to_simulations_and_avoid_illegal_moves(fused, leaves):
    roots = [C4.state_from_moves(m) for m in ("", "444444", "4444443333337")]  # full columns: illegal moves
    mcts, result = searched(C4, roots, RolloutEvaluator(), num_simulations=300, seed=0, fused=fused,
                            leaves_per_round=leaves)
    assert result.visit_counts.sum(axis=1).tolist() == [300, 300, 300]
    for b, state in enumerate(roots):
        legal = C4.legal_mask(state)
        assert (result.legal_mask[b] == legal).all()
        assert (result.visit_counts[b][~legal] == 0).all()
        assert (result.priors[b][~legal] == 0).all()
        assert np.isnan(result.q_values[b][~legal]).all()
        if leaves == 1:
            assert tree_invariant_holds(mcts, b)
        assert all(C4.legal_mask(state)[a] for a in result.pv(b)[:1])


def test_terminal_root_is_a_clear_error():
    mcts = MCTS(C4, RolloutEvaluator(), MCTSConfig(num_simulations=10))
    mcts.set_roots([C4.state_from_moves("1212121")])
    with pytest.raises(TerminalRootError, match="game is over"):
        mcts.search()
    # an inactive tree may sit on a finished game
    two = MCTS(C4, RolloutEvaluator(), MCTSConfig(num_simulations=10), batch_size=2)
    two.set_roots([C4.state_from_moves("1212121"), C4.initial_state()])
    result = two.search(active=[False, True])
    assert result.visit_counts.sum(axis=1).tolist() == [0, 10]


def test_bad_calls_are_clear_errors():
    mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=10))
    with pytest.raises(MCTSError, match="no root"):
        mcts.search()
    with pytest.raises(MCTSError, match="int64 of shape"):
        mcts.set_root(0, np.zeros(3))
    mcts.set_roots([C4.initial_state()])
    with pytest.raises(MCTSError, match="num_simulations"):
        mcts.search(-1)
    with pytest.raises(MCTSError, match="outside a search"):
        mcts.next_leaves()


@pytest.mark.parametrize("evaluator, fused, leaves", [
    (RolloutEvaluator(), True, 1), (RolloutEvaluator(), False, 4), (UniformEvaluator(), False, 8)])
def test_same_seed_gives_identical_searches(evaluator, fused, leaves):
    def run(seed):
        config = dict(num_simulations=400, seed=seed, fused=fused, leaves_per_round=leaves, dirichlet_fraction=0.25)
        mcts, first = searched(C4, [C4.initial_state(), C4.state_from_moves("44")], evaluator, **config)
        mcts.advance(first.select_actions(1.0, mcts.rng))
        return first.visit_counts, mcts.search().visit_counts

    a, b, other = run(7), run(7), run(8)
    assert all((x == y).all() for x, y in zip(a, b))
    assert any((x != y).any() for x, y in zip(a, other))


@pytest.mark.parametrize("evaluator", [RolloutEvaluator(), UniformEvaluator()])
@pytest.mark.parametrize("tuning", [{}, {"fpu_mode": "scaled", "fpu_value": 0.2, "cpuct_stdev_scale": 0.85}])
def test_fused_and_batched_paths_search_the_same_tree(evaluator, tuning):
    # Same seed, one tree, one walk per round: the same random draws in the same order.
    state = C4.state_from_moves("4433")
    fused = searched(C4, state, evaluator, num_simulations=1500, seed=5, **tuning)[1]
    batched = searched(C4, state, evaluator, num_simulations=1500, seed=5, fused=False, **tuning)[1]
    assert (fused.visit_counts == batched.visit_counts).all()
    assert fused.root_value == pytest.approx(batched.root_value)


# ---- node budget -------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [True, False])
def test_node_budget_grows_without_changing_the_search(fused):
    state = C4.state_from_moves("44")
    mcts, small = searched(C4, state, RolloutEvaluator(), num_simulations=500, seed=3, fused=fused, initial_nodes=30)
    big = searched(C4, state, RolloutEvaluator(), num_simulations=500, seed=3, fused=fused)[1]
    assert mcts.tree.prior.shape[1] > 30
    assert (small.visit_counts == big.visit_counts).all()
    assert tree_invariant_holds(mcts)


@pytest.mark.parametrize("fused", [True, False])
def test_node_budget_exhausted_without_growth_is_a_clear_error(fused):
    config = MCTSConfig(num_simulations=500, seed=3, fused=fused, initial_nodes=30, grow_nodes=False)
    mcts = MCTS(C4, RolloutEvaluator(), config)
    mcts.set_roots([C4.initial_state()])
    with pytest.raises(NodeBudgetError, match="budget is 30"):
        mcts.search()
    # Nothing was overwritten and the finished simulations are intact: the tree is consistent.
    assert mcts.tree.num_nodes[0] <= 30
    assert tree_invariant_holds(mcts)
    with pytest.raises(NodeBudgetError):
        mcts.search()  # a new search can start (and fails the same way)


def test_a_budget_too_small_for_the_root_is_a_clear_error():
    mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=5, initial_nodes=4, grow_nodes=False))
    mcts.set_roots([C4.initial_state()])
    with pytest.raises(NodeBudgetError, match="needs 8 nodes but its budget is 4"):
        mcts.search()
    grown = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=5, initial_nodes=4))
    grown.set_roots([C4.initial_state()])
    assert grown.search().visit_counts.sum() == 5


# ---- tree reuse --------------------------------------------------------------------------------
@pytest.mark.parametrize("fused", [True, False])
def test_tree_reuse_keeps_the_childs_statistics(fused):
    mcts, first = searched(C4, C4.initial_state(), RolloutEvaluator(), num_simulations=2000, seed=4, fused=fused)
    t = mcts.tree
    action = int(np.argmax(first.visit_counts[0]))
    child = next(k for k in range(t.first_child[0, 0], t.first_child[0, 0] + 7) if t.action[0, k] == action)
    start = t.first_child[0, child]
    grandchildren = {int(t.action[0, k]): (int(t.visits[0, k]), float(t.value_sum[0, k]))
                     for k in range(start, start + t.num_children[0, child])}
    child_visits, child_value = int(t.visits[0, child]), t.value_sum[0, child] / t.visits[0, child]

    mcts.advance([action])
    visits, q, _, _, root_value = mcts.root_statistics()
    assert root_value[0] == pytest.approx(child_value)
    for a, (n, value_sum) in grandchildren.items():
        assert visits[0, a] == n
        if n:
            assert q[0, a] == pytest.approx(-value_sum / n)  # the new root's view of its children
    assert tree_invariant_holds(mcts)
    # Visit counts after reuse: the kept child visits (the child's own evaluation excluded) plus the new ones.
    second = mcts.search(300)
    assert second.visit_counts.sum() == child_visits - 1 + 300
    assert tree_invariant_holds(mcts)


def test_without_reuse_the_tree_restarts():
    mcts, first = searched(C4, C4.initial_state(), RolloutEvaluator(), num_simulations=500, seed=4,
                           tree_reuse=False)
    mcts.advance([3])
    assert mcts.tree.num_nodes[0] == 1 and mcts.tree.first_child[0, 0] == UNEXPANDED
    assert mcts.search(200).visit_counts.sum() == 200
    assert (mcts.root_states[0] == C4.state_from_moves("4")).all()


def test_advance_rejects_illegal_moves():
    from games import IllegalMoveError
    mcts = searched(C4, C4.state_from_moves("444444"), UniformEvaluator(), num_simulations=20)[0]
    with pytest.raises(IllegalMoveError):
        mcts.advance([3])


# ---- priors: noise, illegal moves --------------------------------------------------------------
class HashPriors(Evaluator):
    """Deterministic, position-dependent priors with mass on illegal moves too, and NaN there."""

    def evaluate(self, batch):
        weights = (np.abs(batch.states * 2654435761) % 97 + 1).sum(axis=1, keepdims=True)
        priors = (np.arange(batch.legal_mask.shape[1]) * weights % 13 + 1).astype(np.float32)
        priors[~batch.legal_mask] = np.nan  # ignored: illegal
        return priors, np.zeros(len(batch), np.float32)

    @staticmethod
    def expected(game, state):
        p, _ = HashPriors().evaluate(_one(game, state))
        p = np.where(game.legal_mask(state), p[0], 0.0)
        return p / p.sum()


def _one(game, state):
    from selfplay.mcts.evaluators import LeafBatch
    return LeafBatch(game, state[None], game.legal_mask(state)[None], None, np.zeros(1, np.int64))


def node_state(mcts, node, b=0):
    """Replay the moves from the root to ``node``."""
    path = []
    while node > 0:
        path.append(int(mcts.tree.action[b, node]))
        node = mcts.tree.parent[b, node]
    state = mcts.root_states[b].copy()
    for a in reversed(path):
        state = mcts.game.step(state, a)
    return state


def test_dirichlet_noise_changes_priors_only_at_the_root():
    state = C4.state_from_moves("44")
    mcts, result = searched(C4, state, HashPriors(), num_simulations=300, seed=0, dirichlet_fraction=0.25,
                            dirichlet_alpha=0.3)
    clean = HashPriors.expected(C4, state)
    legal = C4.legal_mask(state)
    assert not np.allclose(result.priors[0], clean, atol=1e-3)  # the search used noisy root priors
    assert result.priors[0].sum() == pytest.approx(1.0) and (result.priors[0][~legal] == 0).all()
    t = mcts.tree
    checked = 0
    for node in range(t.num_nodes[0]):
        start = t.first_child[0, node]
        if start < 0:
            continue
        priors = np.zeros(C4.num_actions)
        priors[t.action[0, start:start + t.num_children[0, node]]] = t.prior[0, start:start + t.num_children[0, node]]
        assert priors == pytest.approx(HashPriors.expected(C4, node_state(mcts, node)), abs=1e-6)
        checked += 1
    assert checked > 50  # the root too: its clean priors are back once the search is over


def test_illegal_moves_never_get_prior_mass_or_visits():
    def cheat(planes, legal):  # all the mass, and huge logits, on illegal moves
        logits = np.where(legal, -50.0, 50.0).astype(np.float32)
        return logits, np.full(len(legal), 0.5, np.float32)

    state = C4.state_from_moves("4444445555556")
    mcts, result = searched(C4, state, NetworkEvaluator(cheat), num_simulations=300, leaves_per_round=4, seed=0)
    legal = C4.legal_mask(state)
    assert (result.visit_counts[0][~legal] == 0).all() and result.visit_counts.sum() == 300
    t = mcts.tree
    for node in range(1, t.num_nodes[0]):
        parent_state = node_state(mcts, t.parent[0, node])
        assert C4.legal_mask(parent_state)[t.action[0, node]]


def test_evaluator_errors_are_clear_and_leave_the_searcher_usable():
    def nan_values(planes, legal):
        return np.zeros(legal.shape, np.float32), np.full(len(legal), np.nan, np.float32)

    mcts = MCTS(C4, NetworkEvaluator(nan_values), MCTSConfig(num_simulations=50))
    mcts.set_roots([C4.initial_state()])
    with pytest.raises(EvaluatorError, match="values must be finite"):
        mcts.search()
    mcts.evaluator = NetworkEvaluator(lambda planes, legal: (np.zeros(legal.shape), np.zeros(len(legal))))
    assert mcts.search().visit_counts.sum() == 50


# ---- the step-by-step API ----------------------------------------------------------------------
def test_step_by_step_search_matches_search():
    roots = [C4.initial_state(), C4.state_from_moves("4")]
    reference = searched(C4, roots, UniformEvaluator(), num_simulations=200, fused=False, leaves_per_round=3,
                         seed=9)[1]
    mcts = MCTS(C4, UniformEvaluator(), MCTSConfig(num_simulations=200, leaves_per_round=3, seed=9), batch_size=2)
    mcts.set_roots(roots)
    mcts.begin()
    rounds = 0
    while (batch := mcts.next_leaves()) is not None:
        assert batch.planes is None  # the uniform evaluator does not ask for planes
        for i in range(len(batch)):
            assert (batch.legal_mask[i] == C4.legal_mask(batch.states[i])).all()
        legal = batch.legal_mask
        mcts.feed(legal / legal.sum(axis=1, keepdims=True), np.zeros(len(batch)))
        rounds += 1
    result = mcts.finish()
    assert rounds >= 200 // 3
    assert (result.visit_counts == reference.visit_counts).all()


def test_network_evaluator_receives_encoded_planes_and_masks():
    seen = []

    def network(planes, legal):
        seen.append((planes.copy(), legal.copy()))
        return np.zeros(legal.shape, np.float32), np.zeros(len(legal), np.float32)

    mcts, _ = searched(C4, [C4.initial_state(), C4.state_from_moves("4")], NetworkEvaluator(network),
                       num_simulations=20, leaves_per_round=2)
    assert len(seen) > 1 and all(p.dtype == np.float32 and p.shape[1:] == C4.obs_shape for p, _ in seen)
    # The first batch holds the two roots: their planes are exactly the game's encoding.
    planes, legal = seen[0]
    assert (planes[0] == C4.encode(C4.initial_state())).all()
    assert (planes[1] == C4.encode(C4.state_from_moves("4"))).all()
    assert legal.all()


# ---- Go ----------------------------------------------------------------------------------------
def go_game():
    return GoGame(size=5, komi=0.5)


def board_from_rows(rows):
    """Rows of text top (highest row) first: X Black, O White, . empty -> board[row, col], row 0 at the bottom."""
    codes = {".": 0, "X": 1, "O": 2}
    return np.array([[codes[c] for c in row] for row in reversed(rows)], dtype=np.int8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_go_captures_a_group_in_atari(seed):
    game = go_game()
    board = board_from_rows([
        ".....",
        ".XX..",
        ".OOX.",
        ".XX..",
        ".....",
    ])  # the two white stones have one liberty left, A3
    state = game.from_board(board, to_play=0)
    _, result = searched(game, state, RolloutEvaluator(), num_simulations=400, seed=seed)
    move = int(np.argmax(result.visit_counts[0]))
    assert game.format_move(move) == "A3"
    assert game.captures(game.step(state, move))[0] == 2


def test_go_avoids_self_atari():
    """Black at B3 would have one liberty (B2) and be captured at once. Random playouts punish
    it only when White finds B2, so in a single 400-simulation search it can still draw an
    average share of visits (in about a quarter of seeds); what holds in every search is that
    it is never the choice and never the best value, and over several searches it draws well
    under the average share."""
    game = go_game()
    board = board_from_rows([
        ".....",
        ".O...",
        "O.O..",
        ".....",
        ".....",
    ])
    state = game.from_board(board, to_play=0)
    self_atari = game.parse_move("B3")
    total = 0
    for seed in range(8):
        _, result = searched(game, state, RolloutEvaluator(), num_simulations=400, seed=seed)
        visits = result.visit_counts[0].astype(np.float64)
        assert int(np.argmax(visits)) != self_atari
        assert result.q_values[0, self_atari] < np.nanmax(result.q_values[0])
        total = total + visits
    assert total[self_atari] < 0.5 * total[result.legal_mask[0]].mean()


class _TwoMoves(Evaluator):
    """Connect Four priors 0.64 on column 0 and 0.36 on column 1 (nothing elsewhere), as
    probabilities or as their logits."""

    def __init__(self, logits):
        self.returns_logits = logits

    def evaluate(self, batch):
        p = np.zeros(batch.legal_mask.shape, np.float32)
        p[:, 0], p[:, 1] = 0.64, 0.36
        if self.returns_logits:
            p = np.log(np.maximum(p, 1e-30))
        return p, np.zeros(len(batch), np.float32)


@pytest.mark.parametrize("logits", [False, True])
def test_policy_temperature_takes_the_root_of_the_priors(logits):
    game = C4
    mcts = MCTS(game, _TwoMoves(logits), MCTSConfig(num_simulations=1, policy_temperature=2.0, seed=0))
    mcts.set_root(0, game.initial_state())
    priors = mcts.search().priors[0]
    assert priors[:2] == pytest.approx([0.8 / 1.4, 0.6 / 1.4], abs=1e-5)  # sqrt(0.64), sqrt(0.36)
    assert priors[2:].sum() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(MCTSConfigError, match="policy_temperature"):
        MCTSConfig(policy_temperature=0.0)
