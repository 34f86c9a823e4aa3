"""MCTSPlayer: specs and options, whole games through play_game, tree reuse through observe,
the analysis for the terminal UI."""

import zlib

import numpy as np
import pytest

from games.connect4 import ConnectFour
from games.tictactoe import TicTacToe
from selfplay.arena.match import play_game
from selfplay.mcts import (
    Evaluator,
    MCTSConfig,
    MCTSConfigError,
    MCTSPlayer,
    RolloutEvaluator,
    UniformEvaluator,
)
from selfplay.players import PlayerSpecError, RandomPlayer, make_player

TTT, C4 = TicTacToe(), ConnectFour()


def test_spec_options():
    player = make_player("mcts:sims=50,c=2.5,eval=uniform,temp=0.5,seed=3,gumbel=1,reuse=0", C4)
    assert isinstance(player, MCTSPlayer) and isinstance(player.evaluator, UniformEvaluator)
    c = player.config
    assert (c.num_simulations, c.c_puct, c.gumbel, c.tree_reuse, c.seed) == (50, 2.5, True, False, 3)
    assert player.temperature == 0.5
    rollout = make_player("mcts:rollouts=4", C4)
    assert rollout.evaluator.num_rollouts == 4 and rollout.config.num_simulations == 800


@pytest.mark.parametrize("spec, message", [
    ("mcts:eval=network", "eval='network' is not one of"),
    ("mcts:sims=-5", "mcts: sims must be >= 0"),
    ("mcts:c=-1", "mcts: c must be >= 0"),
    ("mcts:sims=many", "sims='many' is not a valid int"),
    ("mcts:depth=3", "unknown option 'depth'"),
    ("mcts:rollouts=0", "rollouts must be an integer >= 1"),
    ("mcts:eval=uniform,rollouts=3", "rollouts only applies to eval=rollout"),
    ("mcts:temp=-1", r"temp=-1 must be 0 \(best move\) or more"),
])
def test_bad_specs_are_one_line_errors(spec, message):
    with pytest.raises((PlayerSpecError, MCTSConfigError), match=message):
        make_player(spec, C4)


def test_never_loses_at_tictactoe_against_random_play():
    mcts = make_player("mcts:sims=400,seed=1", TTT)
    for g in range(8):
        players = [mcts, RandomPlayer(seed=g)] if g % 2 == 0 else [RandomPlayer(seed=g), mcts]
        record = play_game(TTT, players)
        assert record.returns[g % 2] >= 0


def test_beats_random_play_at_connect4_with_and_without_reuse():
    for reuse in (1, 0):
        mcts = make_player(f"mcts:sims=300,seed=2,reuse={reuse}", C4)
        for g in range(2):
            players = [mcts, RandomPlayer(seed=g)] if g == 0 else [RandomPlayer(seed=g), mcts]
            assert play_game(C4, players).returns[g] == 1.0


def test_observe_advances_the_tree_and_keeps_its_statistics():
    player = MCTSPlayer(C4, RolloutEvaluator(), MCTSConfig(num_simulations=500, seed=0))
    player.reset(C4)
    state = C4.initial_state()
    move = player.select_move(C4, state)
    t = player.mcts.tree
    child = next(k for k in range(1, 8) if t.action[0, k] == move)
    start = t.first_child[0, child]
    reply_slot = max(range(start, start + t.num_children[0, child]), key=lambda k: t.visits[0, k])
    kept, reply, reply_kept = int(t.visits[0, child]), int(t.action[0, reply_slot]), int(t.visits[0, reply_slot])
    player.observe(C4, state, move)
    state = C4.step(state, move)
    assert player.mcts.tree.visits[0, 0] == kept
    player.observe(C4, state, reply)  # the opponent's move: the tree follows it too
    state = C4.step(state, reply)
    assert player.mcts.tree.visits[0, 0] == reply_kept > 1
    assert (player.mcts.root_states[0] == state).all()
    player.select_move(C4, state)
    assert player.last_result.visit_counts.sum() == reply_kept - 1 + 500


def test_an_unexpected_position_restarts_the_tree():
    player = MCTSPlayer(C4, RolloutEvaluator(), MCTSConfig(num_simulations=100, seed=0))
    player.select_move(C4, C4.initial_state())
    elsewhere = C4.state_from_moves("1234")
    player.observe(C4, C4.state_from_moves("12"), 2)  # a move from a position the tree is not at
    player.select_move(C4, elsewhere)
    assert (player.mcts.root_states[0] == elsewhere).all()
    assert player.last_result.visit_counts.sum() == 100


def test_analysis_reports_value_top_moves_and_pv():
    player = MCTSPlayer(C4, RolloutEvaluator(), MCTSConfig(num_simulations=2000, seed=0))
    assert player.analysis() is None
    state = C4.state_from_moves("112233")
    move = player.select_move(C4, state)
    report = player.analysis(top=3)
    assert move == 3 and report.moves[0].action == 3 and report.moves[0].move == "4"
    assert len(report.moves) == 3 and report.moves[0].share > 0.5
    assert report.value > 0.5 and report.pv[0] == "4" and report.player == "X"
    assert sum(m.visits for m in report.moves) <= report.visits == 2000
    text = str(report)
    assert text.startswith("X to move: value +") and "pv: 4" in text
    player.observe(C4, state, move)  # the analysis still describes the searched position
    assert player.analysis().player == "X"


def test_temperature_samples_other_moves():
    player = MCTSPlayer(C4, UniformEvaluator(), MCTSConfig(num_simulations=50, seed=0), temperature=1.0)
    moves = {player.select_move(C4, C4.initial_state()) for _ in range(20)}
    assert len(moves) > 1


class _StateHashEvaluator(Evaluator):
    """Priors and value a fixed function of each leaf's position (not of the batch it came in),
    counting its calls: a network stand-in whose answers cannot depend on batching."""

    def __init__(self):
        self.calls = 0

    def evaluate(self, batch):
        self.calls += 1
        priors = np.empty(batch.legal_mask.shape, dtype=np.float32)
        values = np.empty(len(batch), dtype=np.float32)
        for i, state in enumerate(batch.states):
            rng = np.random.default_rng(zlib.crc32(state.tobytes()))
            priors[i] = rng.dirichlet(np.ones(batch.legal_mask.shape[1]))
            values[i] = rng.uniform(-0.9, 0.9)
        return priors, values


@pytest.mark.parametrize("solve", [False, True])
def test_select_moves_searches_many_positions_as_select_move_does_each(solve):
    rng = np.random.default_rng(5)
    states = []
    for _ in range(11):
        state = C4.initial_state()
        for _ in range(int(rng.integers(0, 20))):
            if C4.is_terminal(state):
                break
            state = C4.step(state, int(rng.choice(C4.legal_actions(state))))
        if not C4.is_terminal(state):
            states.append(state)
    config = MCTSConfig(num_simulations=60, solver=solve, seed=0)
    one_by_one = MCTSPlayer(C4, _StateHashEvaluator(), config)
    expected = []
    for state in states:
        one_by_one.reset(C4)
        expected.append(one_by_one.select_move(C4, state.copy()))
    batched = MCTSPlayer(C4, _StateHashEvaluator(), config)
    assert batched.select_moves(C4, states, batch_size=4).tolist() == expected
    # one evaluator call per round of a chunk of 4 trees, not one per tree
    assert batched.evaluator.calls < one_by_one.evaluator.calls / 2
