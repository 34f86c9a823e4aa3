"""The search driver: a batch of trees, one per root, searched together.

``MCTS.search`` runs a whole search. Callers that batch leaves across several searches (or
evaluate them elsewhere) drive the same steps themselves::

    mcts.begin()
    while (batch := mcts.next_leaves()) is not None:
        mcts.feed(*evaluate(batch))      # priors [n, A], values [n]
    result = mcts.finish()

The first batch of a search may hold the roots themselves when they have no children yet
(a fresh tree, or a reused subtree whose root was never expanded); evaluating them is not a
simulation. ``advance`` plays a move in every tree, keeping the chosen child's subtree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from games import Game, kernels
from selfplay.mcts import tree as trees
from selfplay.mcts.config import SIGN, MCTSConfig
from selfplay.mcts.errors import MCTSError, TerminalRootError
from selfplay.mcts.evaluators import (
    Evaluator,
    LeafBatch,
    UniformEvaluator,
    checked_outputs,
)
from selfplay.mcts.gumbel import considered_visits_table, decide
from selfplay.mcts.policy import (
    dirichlet_noise,
    gumbel_noise,
    mix_noise,
    proof_moves,
    prune_forced_visits,
    select_actions,
    visit_policy,
)
from selfplay.mcts.simulate import (
    cancel_round,
    contempt_signs,
    expand_and_backup,
    expand_roots,
    prepare_roots,
    run_fused,
    select_leaves,
)

AUTO_NODES = 1 << 16


@dataclass
class SearchResult:
    """What one search found, per root ``b`` and action ``a`` (arrays [B, A] unless noted).

    Visit counts include the visits a reused subtree brought from earlier searches, so a row
    sums to the kept visits plus ``num_simulations`` (less with the solver, which stops a
    search once its root is proven). Values and Q are from the point of view
    of the player to move at the root.
    """

    visit_counts: np.ndarray         # int32
    q_values: np.ndarray             # float32, NaN for unvisited or illegal actions
    priors: np.ndarray               # float32, the root priors this search used (noise included)
    legal_mask: np.ndarray           # bool
    root_value: np.ndarray           # float32 [B]
    principal_variation: np.ndarray  # int32 [B, pv_length], -1 after the line ends
    num_simulations: int
    improved_policy: np.ndarray | None = None  # Gumbel only: softmax(logit + sigma(completed Q))
    gumbel_action: np.ndarray | None = None    # Gumbel only: the action sequential halving chose
    pruned_visits: np.ndarray | None = None    # forced playouts only: the visits the target counts
    proven_values: np.ndarray | None = None    # solver only: each move's proven value, NaN when open
    lower_bounds: np.ndarray | None = None     # lcb only: each move's lower confidence bound, -inf unranked

    def pv(self, b: int = 0) -> np.ndarray:
        line = self.principal_variation[b]
        return line[line >= 0]

    def policy(self, temperature: float = 1.0) -> np.ndarray:
        """The search's policy target: the improved policy under Gumbel, otherwise visits ** (1 / T)
        (with forced playouts, the visits left after pruning the forced ones)."""
        if self.improved_policy is not None:
            return self.improved_policy
        visits = self.pruned_visits if self.pruned_visits is not None else self.visit_counts
        return visit_policy(visits, temperature).astype(np.float32)

    def rows(self, mask: np.ndarray) -> SearchResult:
        """The result of the roots where ``mask`` is set (a boolean mask or indices)."""
        return SearchResult(**{name: value[mask] if isinstance(value, np.ndarray) else value
                               for name, value in vars(self).items()})

    def select_actions(self, temperature: float, rng: np.random.Generator) -> np.ndarray:
        """The move of every root: the Gumbel choice, or visits with a temperature (0 = most
        visited, ties broken at random, or with ``lower_bounds`` the best bound); a root without
        visits falls back on its priors. With the solver, a proven win (or, every move settled,
        the best of them) is played, and a proven loss never while another move is open."""
        if self.proven_values is None:
            if self.gumbel_action is not None:
                return self.gumbel_action.copy()
            return self._by_visits(self.visit_counts, temperature, rng, self.priors, np.zeros_like(self.legal_mask))
        decided, lost = proof_moves(self.proven_values, self.legal_mask)
        visits = np.where(lost, 0, self.visit_counts)
        actions, open_rows = decided.copy(), decided < 0
        if self.gumbel_action is not None:
            actions[open_rows] = self.gumbel_action[open_rows]
            rows = open_rows & lost[np.arange(len(actions)), actions]  # Gumbel chose a proven loss
            open_score = np.where(lost | ~self.legal_mask, -1.0, visits + self.priors)  # priors break ties
            actions[rows] = open_score[rows].argmax(axis=-1)
        elif open_rows.any():
            actions[open_rows] = self.rows(open_rows)._by_visits(visits[open_rows], temperature, rng,
                                                                 np.where(lost, 0, self.priors)[open_rows],
                                                                 lost[open_rows])
        return actions

    def _by_visits(self, visits, temperature, rng, fallback, excluded) -> np.ndarray:
        actions = select_actions(visits, temperature, rng, fallback=fallback)
        if self.lower_bounds is not None and temperature == 0:
            bounds = np.where(excluded, -np.inf, self.lower_bounds)
            ranked = np.isfinite(bounds).any(axis=-1)
            actions[ranked] = bounds[ranked].argmax(axis=-1)
        return actions


def tempered(policy: np.ndarray, temperature: float, are_logits: bool) -> np.ndarray:
    """The policy at a softmax temperature: logits / T, or probabilities ** (1 / T) (the tree
    renormalises them over the legal moves)."""
    policy = np.asarray(policy, dtype=np.float32)
    if are_logits:
        return policy / np.float32(temperature)
    return np.power(np.maximum(policy, 0.0), np.float32(1.0 / temperature))


@njit(cache=True)
def seed_kernels(seed):
    """Seed Numba's generator (one per thread, shared by every kernel) for rollouts and kernels."""
    np.random.seed(seed)


class MCTS:
    """``batch_size`` independent trees over ``game``, searched with ``evaluator``."""

    def __init__(self, game: Game, evaluator: Evaluator | None = None, config: MCTSConfig | None = None,
                 batch_size: int = 1):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise MCTSError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        self.game = game
        self.evaluator = evaluator if evaluator is not None else UniformEvaluator()
        self.config = config if config is not None else MCTSConfig()
        if self.config.contempt > 0 and not self.evaluator.reports_draws:
            raise MCTSError(f"contempt needs an evaluator that reports draws (a win/draw/loss network); "
                            f"{type(self.evaluator).__name__} does not")
        self.batch_size = batch_size
        self.rng = np.random.default_rng(self.config.seed)
        self._params = self.config.params()
        num_actions = game.num_actions
        state_size = game.initial_state().size
        self.root_states = np.zeros((batch_size, state_size), dtype=np.int64)
        self.has_root = np.zeros(batch_size, dtype=np.bool_)
        # Auto: room for one search from an empty tree (each expansion allocates all legal
        # children), capped so that long searches start small and grow as they need.
        capacity = self.config.initial_nodes or min(1 + num_actions * (self.config.num_simulations + 1), AUTO_NODES)
        self.tree = trees.allocate(batch_size, capacity)
        rows = batch_size * self.config.leaves_per_round
        self._states = np.zeros((rows, state_size), dtype=np.int64)
        self._legal = np.zeros((rows, num_actions), dtype=np.bool_)
        self._tree_index = np.zeros(rows, dtype=np.int64)
        planes_rows = rows if self.evaluator.needs_planes else 1
        self._planes = np.zeros((planes_rows, *game.obs_shape), dtype=np.float32)
        self._leaf_node = np.zeros((batch_size, self.config.leaves_per_round), dtype=np.int32)
        self._leaf_row = np.zeros((batch_size, self.config.leaves_per_round), dtype=np.int64)
        self._leaf_count = np.zeros(batch_size, dtype=np.int64)
        self._needed = np.zeros(batch_size, dtype=np.int64)
        self._noise = np.zeros((batch_size, num_actions), dtype=np.float64)
        self._base_visits = np.zeros((batch_size, num_actions), dtype=np.int32)
        self._num_considered = np.zeros(batch_size, dtype=np.int32)
        self._table = np.zeros((1, 1), dtype=np.int32)
        self._phase = None  # None, "roots" or "rounds" while a search runs
        self._num_rows = None

    # ---- roots ---------------------------------------------------------------------------------
    def set_roots(self, states) -> None:
        """Start fresh trees from ``states`` (one per tree)."""
        if len(states) != self.batch_size:
            raise MCTSError(f"set_roots got {len(states)} states for {self.batch_size} trees")
        for b, state in enumerate(states):
            self.set_root(b, state)

    def set_root(self, b: int, state: np.ndarray) -> None:
        """Start a fresh tree ``b`` from ``state``."""
        self._idle("set_root")
        if not 0 <= b < self.batch_size:
            raise MCTSError(f"tree {b} does not exist: the batch has {self.batch_size} trees")
        state = np.asarray(state)
        if state.dtype != np.int64 or state.shape != self.root_states.shape[1:]:
            raise MCTSError(f"a {self.game.name} state is int64 of shape {self.root_states.shape[1:]}, "
                            f"got {state.dtype} of shape {state.shape}")
        self.root_states[b] = state
        self.has_root[b] = True
        trees.reset_tree(self.tree, b)

    def advance(self, actions) -> None:
        """Play ``actions[b]`` in every tree ``b`` (-1: leave that tree as it is). With tree reuse
        the child's subtree and statistics become the new tree; otherwise the tree restarts."""
        self._idle("advance")
        actions = np.asarray(actions, dtype=np.int64).reshape(-1)
        if actions.shape[0] != self.batch_size:
            raise MCTSError(f"advance got {actions.shape[0]} actions for {self.batch_size} trees")
        for b, action in enumerate(actions):
            if action < 0:
                continue
            if not self.has_root[b]:
                raise MCTSError(f"tree {b} has no root position; call set_root first")
            next_state = self.game.step(self.root_states[b], int(action))  # raises IllegalMoveError
            if self.config.tree_reuse:
                trees.reroot(self.tree, b, int(action))
            else:
                trees.reset_tree(self.tree, b)
            self.root_states[b] = next_state

    # ---- a whole search -----------------------------------------------------------------------------
    def search(self, num_simulations: int | None = None, active=None) -> SearchResult:
        """Run ``num_simulations`` (default: the config's) in every active tree."""
        self.begin(num_simulations, active)
        fused = self.config.fused and self.evaluator.kernel_kind >= 0
        try:
            while True:
                if fused and self._phase == "rounds":
                    self._run_fused()
                    break
                batch = self.next_leaves()
                if batch is None:
                    break
                self.feed(*self.evaluator.evaluate(batch),
                          draws=self.evaluator.last_draws if self.config.contempt > 0 else None)
        except BaseException:
            self.abort()
            raise
        return self.finish()

    # ---- a search step by step --------------------------------------------------------------------
    def begin(self, num_simulations: int | None = None, active=None) -> None:
        """Start a search of ``num_simulations`` per active tree (default: all trees)."""
        self._idle("begin")
        n = self.config.num_simulations if num_simulations is None else num_simulations
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise MCTSError(f"num_simulations must be an integer >= 0, got {n!r}")
        active = np.ones(self.batch_size, dtype=np.bool_) if active is None else \
            np.asarray(active, dtype=np.bool_).reshape(-1)
        if active.shape[0] != self.batch_size:
            raise MCTSError(f"active has {active.shape[0]} entries for {self.batch_size} trees")
        for b in np.flatnonzero(active):
            if not self.has_root[b]:
                raise MCTSError(f"tree {b} has no root position; call set_root first")
            if kernels.is_terminal(self.game.kernel_id, self.root_states[b]):
                raise TerminalRootError(
                    f"tree {b}: the {self.game.name} game is over ({self.game.result_string(self.root_states[b])}); "
                    f"there is no move to search for")
        seed_kernels(int(self.rng.integers(2**31)))
        self._active = active
        self._num_simulations = int(n)
        self._remaining = np.where(active, int(n), 0).astype(np.int64)
        self._clean_priors = None
        roots_waiting = active & (self.tree.first_child[:, 0] == trees.UNEXPANDED)
        if roots_waiting.any():
            self._phase = "roots"
        else:
            self._start_rounds()

    def next_leaves(self) -> LeafBatch | None:
        """The next positions to evaluate, or None when the search has all its simulations."""
        if self._phase is None:
            raise MCTSError("next_leaves called outside a search; call begin first")
        if self._phase == "roots":
            n = prepare_roots(self.game.kernel_id, self.tree, self.root_states, self._active, self._states,
                              self._legal, self._tree_index, self._planes, self.evaluator.needs_planes)
            return self._batch(n)
        while self._remaining.any():
            n = self._select()
            if n > 0:
                return self._batch(n)
            self._backup(self._legal[:0], np.zeros((0, self.game.num_actions), np.float32), np.zeros(0, np.float32))
        return None

    def feed(self, policy, values, draws=None) -> None:
        """Give the search the evaluation of the batch ``next_leaves`` returned (with contempt,
        also each row's draw probability)."""
        if self._phase is None or self._num_rows is None:
            raise MCTSError("feed called without a batch from next_leaves")
        batch = self._batch(self._num_rows)
        policy, values = checked_outputs(self.evaluator, batch, (policy, values))
        if self.config.contempt > 0:
            values = self._with_contempt(batch, values, draws)
        if self.config.policy_temperature != 1.0:
            policy = tempered(policy, self.config.policy_temperature, self.evaluator.returns_logits)
        n = self._num_rows
        self._num_rows = None
        if self._phase == "roots":
            needed = np.zeros(self.batch_size, dtype=np.int64)
            needed[self._tree_index[:n]] = self._legal[:n].sum(axis=1)
            self._grow(needed)
            expand_roots(self.tree, self._tree_index[:n], self._legal[:n], policy, self.evaluator.returns_logits,
                         values)
            self._start_rounds()
        else:
            self._backup(self._legal[:n], policy, values)

    def _with_contempt(self, batch: LeafBatch, values: np.ndarray, draws) -> np.ndarray:
        """The values with each draw's share counted at -contempt for the root's player."""
        draws = None if draws is None else np.asarray(draws, dtype=np.float32)
        if draws is None or draws.shape != values.shape or not ((draws >= 0) & (draws <= 1)).all():
            raise MCTSError("a search with contempt needs each leaf's draw probability in [0, 1] "
                            "(an evaluator that reports draws: a win/draw/loss network)")
        signs = np.empty(len(values), dtype=np.float64)
        contempt_signs(self.game.kernel_id, batch.states, self.root_states, batch.tree_index, signs)
        return np.clip(values - self.config.contempt * draws * signs, -1.0, 1.0).astype(np.float32)

    def finish(self) -> SearchResult:
        """End the search (every simulation must be backed up) and report it."""
        if self._phase != "rounds" or self._remaining.any() or self._num_rows is not None:
            raise MCTSError("finish called before the search ran all its simulations")
        result = self._result()
        self._end()
        return result

    def abort(self) -> None:
        """Drop the search in progress (between rounds), leaving the trees consistent."""
        if self._phase == "rounds" and self._num_rows is not None:
            cancel_round(self.tree, self._leaf_node, self._leaf_count, self._params)
        self._end()

    # ---- reporting ---------------------------------------------------------------------------------
    def root_statistics(self):
        """(visit_counts, q_values, priors, legal_mask, root_value) of every root, as in SearchResult."""
        b, a = self.batch_size, self.game.num_actions
        visits, legal = np.zeros((b, a), np.int32), np.zeros((b, a), np.bool_)
        q, priors, value = np.zeros((b, a), np.float32), np.zeros((b, a), np.float32), np.zeros(b, np.float32)
        trees.root_statistics(self.tree, self._params[SIGN], visits, q, priors, legal, value)
        return visits, q, priors, legal, value

    # ---- internals ---------------------------------------------------------------------------------
    def _idle(self, what: str) -> None:
        if self._phase is not None:
            raise MCTSError(f"{what} called while a search is running; finish or abort it first")

    def _batch(self, n: int) -> LeafBatch:
        self._num_rows = n
        planes = self._planes[:n] if self.evaluator.needs_planes else None
        return LeafBatch(self.game, self._states[:n], self._legal[:n], planes, self._tree_index[:n])

    def _start_rounds(self) -> None:
        """Roots are expanded: add root noise, set up the Gumbel schedule, start simulating."""
        self._phase = "rounds"
        self._num_rows = None
        visits, _, priors, legal, _ = self.root_statistics()
        config = self.config
        if config.dirichlet_fraction > 0:
            noise = dirichlet_noise(legal, config.dirichlet_alpha, self.rng)
            noisy = np.where(self._active[:, None], mix_noise(priors, noise, config.dirichlet_fraction), priors)
            self._clean_priors = priors
            trees.set_root_priors(self.tree, noisy)
        if config.gumbel:
            self._noise[:] = gumbel_noise(self._noise.shape, config.gumbel_scale, self.rng)
            self._base_visits[:] = visits
            self._num_considered[:] = np.minimum(config.gumbel_considered, legal.sum(axis=1))
            self._table = considered_visits_table(config.gumbel_considered, self._num_simulations)

    def _select(self) -> int:
        n = select_leaves(self.game.kernel_id, self.tree, self.root_states, self._remaining,
                          self.config.leaves_per_round, self._params, self._noise, self._base_visits, self._table,
                          self._num_considered, self._leaf_node, self._leaf_row, self._leaf_count, self._states,
                          self._legal, self._tree_index, self._planes, self.evaluator.needs_planes, self._needed)
        self._num_rows = n
        self._grow(self._needed)
        return n

    def _grow(self, needed) -> None:
        """Room for ``needed[b]`` more nodes in each tree, or abort the search and raise."""
        try:
            self.tree = trees.ensure_capacity(self.tree, needed, self.config.grow_nodes)
        except MCTSError:
            self.abort()
            raise

    def _backup(self, legal, policy, values) -> None:
        expand_and_backup(self.tree, self._leaf_node, self._leaf_row, self._leaf_count, legal, policy,
                          self.evaluator.returns_logits, values, self._params)
        self._remaining -= self._leaf_count
        self._num_rows = None

    def _run_fused(self) -> None:
        kind, rollouts = self.evaluator.kernel_kind, self.evaluator.num_rollouts
        while True:
            b = run_fused(self.game.kernel_id, self.tree, self.root_states, self._remaining, self._params, self._noise,
                          self._base_visits, self._table, self._num_considered, kind, rollouts)
            if b < 0:
                return
            needed = np.zeros(self.batch_size, dtype=np.int64)
            needed[b] = self.game.num_actions
            self._grow(needed)

    def _result(self) -> SearchResult:
        visits, q, priors, legal, value = self.root_statistics()  # root noise still in place
        pv = np.zeros((self.batch_size, self.config.pv_length), dtype=np.int32)
        trees.principal_variations(self.tree, pv)
        result = SearchResult(visits, q, priors, legal, value, pv, self._num_simulations)
        config = self.config
        if config.forced_playouts > 0 and not config.gumbel:
            result.pruned_visits = prune_forced_visits(visits, q, priors, config.c_puct, config.c_base,
                                                       config.forced_playouts)
        if config.lcb > 0 and not config.gumbel:
            result.lower_bounds = np.zeros((self.batch_size, self.game.num_actions), dtype=np.float64)
            trees.root_lower_bounds(self.tree, self._params[SIGN], config.lcb, config.lcb_min_share,
                                    result.lower_bounds)
        if config.solver:
            result.proven_values = np.zeros((self.batch_size, self.game.num_actions), dtype=np.float32)
            trees.root_proofs(self.tree, self._params[SIGN], result.proven_values)
        if self.config.gumbel:
            result.gumbel_action = np.zeros(self.batch_size, dtype=np.int64)
            result.improved_policy = np.zeros((self.batch_size, self.game.num_actions), dtype=np.float32)
            decide(self.tree, self._params, self._noise, self._base_visits, result.gumbel_action,
                   result.improved_policy)
        return result

    def _end(self) -> None:
        if self._clean_priors is not None and self._phase is not None:
            trees.set_root_priors(self.tree, self._clean_priors)
        self._clean_priors = None
        self._phase = None
        self._num_rows = None
