"""Batched Monte Carlo tree search over the games' Numba kernels (see docs in each module).

    mcts = MCTS(game, RolloutEvaluator(), MCTSConfig(num_simulations=800), batch_size=16)
    mcts.set_roots([state] * 16)
    result = mcts.search()                  # visit counts, root values, principal variations
    actions = result.select_actions(temperature=0.0, rng=mcts.rng)
    mcts.advance(actions)                   # reuse the chosen subtrees
"""

from selfplay.mcts.config import MCTSConfig
from selfplay.mcts.errors import (
    EvaluatorError,
    MCTSConfigError,
    MCTSError,
    NodeBudgetError,
    TerminalRootError,
)
from selfplay.mcts.evaluators import (
    Evaluator,
    LeafBatch,
    NetworkEvaluator,
    RolloutEvaluator,
    UniformEvaluator,
)
from selfplay.mcts.player import MCTSPlayer, SearchAnalysis
from selfplay.mcts.policy import select_actions, visit_policy
from selfplay.mcts.search import MCTS, SearchResult

__all__ = [
    "MCTS", "MCTSConfig", "MCTSConfigError", "MCTSError", "MCTSPlayer", "EvaluatorError", "Evaluator", "LeafBatch",
    "NetworkEvaluator", "NodeBudgetError", "RolloutEvaluator", "SearchAnalysis", "SearchResult",
    "TerminalRootError", "UniformEvaluator", "select_actions", "visit_policy",
]
