"""MCTS-Solver (MCTSConfig.solver): every value the search proves is the game-theoretic one
(tic-tac-toe against brute-force negamax written here, Connect Four against the perfect
solver), on the fused and the batched paths and across tree reuse; a proven win is played
and a proven loss avoided even where the visits say otherwise."""

from functools import lru_cache

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.connect4_solver import Solver
from games.tictactoe import TicTacToe
from selfplay.mcts import MCTS, Evaluator, MCTSConfig, UniformEvaluator
from selfplay.mcts.errors import MCTSConfigError
from selfplay.mcts.policy import proof_moves
from selfplay.players import make_player

TTT, C4 = TicTacToe(), ConnectFour()


@lru_cache(maxsize=None)
def negamax(key):
    """Tic-tac-toe's exact value for the player to move (+1 win, 0 draw, -1 loss)."""
    s = np.array(key, dtype=np.int64)
    if TTT.is_terminal(s):
        return TTT.terminal_value(s)
    return max(-negamax(tuple(TTT.step(s, a))) for a in TTT.legal_actions(s))


class PythonUniform(Evaluator):
    """The uniform evaluator outside a kernel, so that the search takes the batched path."""

    def evaluate(self, batch):
        return UniformEvaluator().evaluate(batch)


def _search(game, state, evaluator, sims, **config):
    mcts = MCTS(game, evaluator, MCTSConfig(num_simulations=sims, solver=True, seed=0, **config))
    mcts.set_root(0, state)
    return mcts, mcts.search()


@pytest.mark.parametrize("path", ["fused", "batched"])
@pytest.mark.parametrize("moves", [[], [4], [0, 4], [4, 0, 8], [0, 1, 3]])
def test_tictactoe_proofs_are_negamax(path, moves):
    state = TTT.initial_state()
    for a in moves:
        state = TTT.step(state, a)
    evaluator = UniformEvaluator() if path == "fused" else PythonUniform()
    extra = {} if path == "fused" else {"fused": False, "leaves_per_round": 4}
    _, result = _search(TTT, state, evaluator, 4000, **extra)
    proven = result.proven_values[0]
    for a in TTT.legal_actions(state):
        if not np.isnan(proven[a]):
            assert proven[a] == -negamax(tuple(TTT.step(state, a))), (moves, a)
    if len(moves) >= 3:  # six empty squares: 4,000 simulations prove every move
        assert not np.isnan(proven[TTT.legal_actions(state)]).any()
        best = max(-negamax(tuple(TTT.step(state, a))) for a in TTT.legal_actions(state))
        action = result.select_actions(0.0, np.random.default_rng(0))[0]
        assert -negamax(tuple(TTT.step(state, int(action)))) == best


def _balanced_position(rng, solver, stones):
    """A Connect Four position after ``stones`` moves, random for 8 then perfect (a random move
    of those keeping the outcome): no one-move wins lying about, so proofs need depth."""
    state = C4.initial_state()
    for i in range(stones):
        moves = C4.legal_actions(state) if i < 8 else solver.best_moves(state, weak=True)
        state = C4.step(state, int(rng.choice(moves)))
        if C4.is_terminal(state):
            return _balanced_position(rng, solver, stones)
    return state


@pytest.mark.parametrize("path", ["fused", "batched"])
def test_connect4_proofs_agree_with_the_perfect_solver_over_a_reused_tree(path):
    rng, solver = np.random.default_rng(3), Solver()
    evaluator = UniformEvaluator() if path == "fused" else PythonUniform()
    extra = {} if path == "fused" else {"fused": False, "leaves_per_round": 8}
    checked = 0
    for _ in range(4):
        state = _balanced_position(rng, solver, 24)
        mcts = MCTS(C4, evaluator, MCTSConfig(num_simulations=1500, solver=True, seed=1, **extra))
        mcts.set_root(0, state)
        while not C4.is_terminal(state):  # play the game out with the tree kept between moves
            result = mcts.search()
            truth = solver.move_scores(state)
            proven = result.proven_values[0]
            for a in np.flatnonzero(~np.isnan(proven)):
                assert np.sign(proven[a]) == np.sign(truth[a]), (state, a, proven[a], truth[a])
                checked += 1
            action = int(result.select_actions(0.0, mcts.rng)[0])
            if (proven > 0).any():
                assert truth[action] > 0  # a proven win is played
            if proven[action] < 0:  # a proven loss only when every legal move is one
                assert (proven[C4.legal_mask(state)] < 0).all()
            mcts.advance([action])
            state = C4.step(state, action)
    assert checked > 30


def test_a_proven_win_is_played_and_a_proven_loss_avoided_against_the_visits():
    # proven: move 0 loses, move 1 wins, move 2 open with the most visits
    legal = np.array([[True, True, True]])
    decided, lost = proof_moves(np.array([[-1.0, 0.5, np.nan]]), legal)
    assert decided.tolist() == [1] and lost.tolist() == [[True, False, False]]
    decided, lost = proof_moves(np.array([[-1.0, np.nan, 0.0]]), legal)
    assert decided.tolist() == [-1]  # no win, move 1 still open: the visits decide, without move 0
    decided, _ = proof_moves(np.array([[-1.0, -0.9, 0.0]]), legal)
    assert decided.tolist() == [2]  # all settled: the draw
    decided, _ = proof_moves(np.array([[-1.0, -0.9, np.nan]]), np.array([[True, True, False]]))
    assert decided.tolist() == [1]  # all legal ones lost: the slowest loss (value discounted)


class MisleadingPriors(Evaluator):
    """Nearly all prior mass on column 0, a little on column 3, and every leaf valued -0.5 for
    its player to move (so the root's moves all look good): at 200 simulations plain PUCT
    keeps more visits on column 0 than on column 3, which wins at once."""

    def evaluate(self, batch):
        priors = np.where(batch.legal_mask, 1e-3, 0.0).astype(np.float32)
        priors[:, 0] = np.where(batch.legal_mask[:, 0], 1.0, 0.0)
        priors[:, 3] = np.where(batch.legal_mask[:, 3], 0.03, 0.0)
        return priors, np.full(len(batch), -0.5, np.float32)


def test_an_immediate_win_behind_on_visits_is_played_and_the_search_stops():
    # X (first player) has three in column 3 and wins by playing it again
    state = C4.initial_state()
    for a in [3, 4, 3, 4, 3, 5]:
        state = C4.step(state, a)
    plain = MCTS(C4, MisleadingPriors(), MCTSConfig(num_simulations=200, seed=0))
    plain.set_root(0, state)
    result = plain.search()
    assert result.visit_counts[0, 0] > result.visit_counts[0, 3] > 0
    assert int(result.select_actions(0.0, plain.rng)[0]) == 0  # the visits miss the win
    solving = MCTS(C4, MisleadingPriors(), MCTSConfig(num_simulations=200, solver=True, seed=0))
    solving.set_root(0, state)
    result = solving.search()
    assert int(result.select_actions(0.0, solving.rng)[0]) == 3 and result.proven_values[0, 3] == 1.0
    assert solving.tree.proven[0, 0] == 1 and result.visit_counts[0].sum() < 200  # proven: stopped early


def test_with_a_discount_the_faster_of_two_wins_is_proven_better():
    # X wins at once in column 3 (three stacked) or later; with a discount the proof prefers now
    state = C4.initial_state()
    for a in [3, 4, 3, 4, 3, 5]:
        state = C4.step(state, a)
    _, result = _search(C4, state, UniformEvaluator(), 3000, value_discount=0.9)
    proven = result.proven_values[0]
    assert proven[3] == 1.0
    others = proven[~np.isnan(proven) & (np.arange(7) != 3)]
    assert (others < 1.0).all()


def test_the_solver_needs_two_players_and_the_specs_take_it():
    with pytest.raises(MCTSConfigError, match="two-player"):
        MCTSConfig(solver=True, two_player=False)
    player = make_player("mcts:sims=50,solve=true,seed=1", C4)
    assert player.mcts.config.solver and "solve" in player.name
    assert not make_player("mcts:sims=50", C4).mcts.config.solver
