"""Self-play (selfplay/training/selfplay.py): playout cap randomisation, value targets,
resignation and the false-resign count, on tic-tac-toe and Connect Four.

The evaluators here are fixed (uniform priors, a value we choose), and the expected outcome of
each game is worked out from the recorded positions by the rules, not taken from the code under
test. Both games encode a position as planes (own stones, opponent's stones, ones when the first
player is to move), which is all the checks read.
"""

import numpy as np
import pytest

from games import make_game
from selfplay.configio import ConfigError, load_config
from selfplay.mcts import Evaluator, UniformEvaluator
from selfplay.training.config import RunConfig
from selfplay.training.replay import GameChunk
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig, policy_surprise, surprise_weights

TTT, C4 = make_game("tictactoe"), make_game("connect4")
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


class HopelessFor(Evaluator):
    """Uniform priors; value -0.99 when ``loser`` is to move at the leaf, +0.99 otherwise: every
    search believes ``loser`` is lost, whichever side it searches for."""

    def __init__(self, loser: int):
        self.loser = loser

    def evaluate(self, batch):
        legal = batch.legal_mask
        priors = legal / np.maximum(legal.sum(axis=1, keepdims=True), 1)
        to_play = np.array([batch.game.to_play(s) for s in batch.states])
        return priors.astype(np.float32), np.where(to_play == self.loser, -0.99, 0.99).astype(np.float32)


def config(**overrides) -> SelfPlayConfig:
    """One game at a time (so a call's chunk holds exactly the games it finished, in order), no
    root noise, every move recorded and no resignation unless a test says otherwise."""
    settings = dict(parallel_games=1, simulations=8, cheap_simulations=8, full_search_prob=1.0, c_puct=4.0,
                    dirichlet_fraction=0.0, temperature_moves=9, resign_threshold=-1.0, resign_moves=2,
                    resign_disabled_share=0.0)
    settings.update(overrides)
    c = SelfPlayConfig(**settings)
    c.validate()
    return c


def to_move(planes: np.ndarray) -> int:
    return 0 if planes[2].any() else 1


def stones(planes: np.ndarray) -> int:
    return int(planes[0].sum() + planes[1].sum())


def ttt_board(planes: np.ndarray) -> np.ndarray:
    """Cells 0-8: 1 for X (the first player), 2 for O, 0 empty."""
    mine, theirs = planes[0].reshape(9), planes[1].reshape(9)
    x, o = (mine, theirs) if to_move(planes) == 0 else (theirs, mine)
    return x * 1 + o * 2


def split_games(chunk, openings: tuple[int, ...] = (0,)) -> list[range]:
    """Row ranges of each game in a chunk where every move was recorded: a game starts on the
    empty board (or after one of ``openings``' numbers of stones), and each next row has one
    stone more."""
    starts = [i for i in range(len(chunk)) if stones(chunk.planes[i]) in openings
              and (i == 0 or stones(chunk.planes[i]) != stones(chunk.planes[i - 1]) + 1)]
    assert starts and starts[0] == 0
    games = [range(a, b) for a, b in zip(starts, starts[1:] + [len(chunk)])]
    for rows in games:
        first = stones(chunk.planes[rows[0]])
        assert [stones(chunk.planes[i]) for i in rows] == list(range(first, first + len(rows)))
    return games


def wins_now(planes: np.ndarray) -> bool:
    """Whether the player to move in tic-tac-toe can complete a line with one stone."""
    mine, empty = planes[0].reshape(9) > 0, (planes[0] + planes[1]).reshape(9) == 0
    return any(sum(mine[i] for i in line) == 2 and any(empty[i] for i in line) for line in LINES)


def ttt_returns(chunk, rows: range) -> tuple[float, float]:
    """The result of a tic-tac-toe game played to its end, from its recorded positions alone: a
    game that ended before its ninth move was won by the player who moved last; a nine-move game ends by
    X filling the one empty cell of the last recorded position."""
    last = chunk.planes[rows[-1]]
    if stones(last) < 8:
        winner = to_move(last)
    else:
        board = ttt_board(last)
        board[board == 0] = 1
        winner = 0 if any(board[a] == board[b] == board[c] == 1 for a, b, c in LINES) else None
    return (0.0, 0.0) if winner is None else (1.0, -1.0) if winner == 0 else (-1.0, 1.0)


def illegal_moves(game, planes: np.ndarray) -> np.ndarray:
    """Tic-tac-toe: the occupied cells; Connect Four: the full columns (a stone in the top row)."""
    stones_on = planes[0] + planes[1]
    return (stones_on.reshape(-1) if game.name == "tictactoe" else stones_on[0]) > 0


def check_policy_targets(game, chunk) -> None:
    """Each target is a visit distribution over the legal moves: non-negative, summing to 1."""
    assert chunk.policy.shape == (len(chunk), game.num_actions)
    assert (chunk.policy >= 0).all()
    np.testing.assert_allclose(chunk.policy.sum(axis=1), 1.0, atol=1e-5)
    for planes, target in zip(chunk.planes, chunk.policy):
        assert not target[illegal_moves(game, planes)].any()


@pytest.mark.parametrize("full_search_prob", [0.25, 0.7])
def test_only_the_full_searches_become_policy_targets(full_search_prob):
    selfplay = SelfPlay(TTT, UniformEvaluator(), config(cheap_simulations=2, full_search_prob=full_search_prob),
                        seed=3)
    chunk, stats = selfplay.play(150)
    assert stats.games == chunk.games == 150
    share = stats.positions / stats.moves
    assert len(chunk) == stats.positions and abs(share - full_search_prob) < 0.06, share
    check_policy_targets(TTT, chunk)
    full = stats.positions * 6  # simulations: 2 per move, 6 more on the recorded ones
    assert stats.simulations == 2 * stats.moves + full


def test_without_a_cap_every_move_is_a_target_and_z_is_the_result_for_the_player_to_move():
    selfplay = SelfPlay(TTT, HopelessFor(0), config(), seed=5)  # X looks lost, but -1 never resigns
    chunk, stats = selfplay.play(30)
    assert stats.positions == stats.moves == len(chunk) and stats.resigned == 0 and stats.resign_checks == 0
    check_policy_targets(TTT, chunk)
    outcomes = [0, 0, 0]
    for rows in split_games(chunk):
        returns = ttt_returns(chunk, rows)
        outcomes[0 if returns[0] > 0 else 2 if returns[0] < 0 else 1] += 1
        assert [chunk.value[i] for i in rows] == [returns[to_move(chunk.planes[i])] for i in rows]
        assert len(rows) == 9 or wins_now(chunk.planes[rows[-1]])  # the game ended by the rules
    assert stats.outcomes == outcomes and sum(outcomes) == 30
    assert outcomes[0] and outcomes[2]  # both sides win some: the values tested are not all one sign


def test_discounted_targets_are_the_result_times_the_discount_per_ply_to_the_end():
    selfplay = SelfPlay(TTT, HopelessFor(0), config(), seed=5, value_discount=0.9)
    assert selfplay.mcts.config.value_discount == 0.9  # the search backs up with the same discount
    chunk, _ = selfplay.play(20)
    decided = 0
    for rows in split_games(chunk):
        returns = ttt_returns(chunk, rows)
        expected = [returns[to_move(chunk.planes[i])] * 0.9 ** (len(rows) - k) for k, i in enumerate(rows)]
        assert [chunk.value[i] for i in rows] == pytest.approx(expected)
        decided += returns[0] != 0
    assert decided  # some games end in a win: the discounted values are not all zero
    _, stats = SelfPlay(C4, HopelessFor(0), config(resign_threshold=-0.5, resign_moves=3), seed=1,
                        value_discount=0.9).play(1)
    assert stats.resigned == 1


@pytest.mark.parametrize("weight", [0.5, 1.0])
def test_a_q_weight_mixes_the_search_value_into_the_result(weight):
    """HopelessFor(0) makes every non-terminal leaf worth -0.99 to X, so the root value of an
    8-simulation search from a position with at most two stones (no line can end within its
    reach) is -0.99 where X is to move and +0.99 where O is: the target is (1 - w) z + w q."""
    chunk, _ = SelfPlay(TTT, HopelessFor(0), config(value_q_weight=weight), seed=5).play(20)
    checked = 0
    for rows in split_games(chunk):
        returns = ttt_returns(chunk, rows)
        for i in rows:
            if stones(chunk.planes[i]) <= 2:
                mover = to_move(chunk.planes[i])
                q = -0.99 if mover == 0 else 0.99
                assert chunk.value[i] == pytest.approx((1 - weight) * returns[mover] + weight * q)
                checked += 1
            assert -1 <= chunk.value[i] <= 1
    assert checked == 60


def test_targets_of_connect_four_games_sum_to_one_over_legal_moves():
    chunk, stats = SelfPlay(C4, UniformEvaluator(), config(cheap_simulations=4, full_search_prob=0.5),
                            seed=2).play(4)
    assert 0 < len(chunk) < stats.moves
    check_policy_targets(C4, chunk)


def test_max_rounds_returns_after_that_many_moves_of_every_game():
    """Connect Four lasts at least 7 plies: 3 rounds finish no game and play 3 moves in each."""
    selfplay = SelfPlay(C4, UniformEvaluator(), config(parallel_games=5, cheap_simulations=4), seed=2)
    chunk, stats = selfplay.play(1, max_rounds=3)
    assert (stats.moves, stats.games, len(chunk)) == (15, 0, 0)
    assert all(C4.encode(selfplay.mcts.root_states[b])[:2].sum() == 3 for b in range(5))  # 3 stones each
    _, stats = selfplay.play(1)  # on from there until a game ends
    assert stats.games >= 1 and stats.moves >= 5 * 4


@pytest.mark.parametrize("loser, plies", [(0, 5), (1, 6)])
def test_a_hopeless_player_resigns_after_resign_moves_own_moves_and_loses(loser, plies):
    """Connect Four, resign_moves=3: no line of four can be near before the sixth move, so the
    root value stays the evaluator's -0.99 and the loser resigns at its third own move."""
    selfplay = SelfPlay(C4, HopelessFor(loser), config(resign_threshold=-0.5, resign_moves=3), seed=1)
    chunk, stats = selfplay.play(1)
    assert (stats.games, stats.resigned, stats.resign_checks) == (1, 1, 0)
    assert stats.moves == plies - 1  # the resigning move is searched, recorded, not played
    assert len(chunk) == plies and to_move(chunk.planes[-1]) == loser
    assert stats.outcomes == ([0, 0, 1] if loser == 0 else [1, 0, 0])
    assert [chunk.value[i] for i in range(plies)] == [-1.0 if i % 2 == loser else 1.0 for i in range(plies)]


def test_a_threshold_of_minus_one_or_a_long_streak_never_resigns():
    for overrides in (dict(resign_threshold=-1.0), dict(resign_threshold=-0.5, resign_moves=6)):
        chunk, stats = SelfPlay(TTT, HopelessFor(0), config(**overrides), seed=4).play(10)
        assert stats.resigned == 0 and stats.games == 10 and stats.positions == stats.moves  # X moves 5 times at most
        for rows in split_games(chunk):  # each game went on to its end by the rules
            assert len(rows) == 9 or wins_now(chunk.planes[rows[-1]])


def test_false_resigns_count_the_would_be_resigners_who_did_not_lose():
    """Resignation disabled in every game: X would resign at its second move each time (its
    root value is -0.99), the game goes on, and each game X wins or draws is a false resign."""
    selfplay = SelfPlay(TTT, HopelessFor(0), config(resign_threshold=-0.5, resign_disabled_share=1.0), seed=7)
    chunk, stats = selfplay.play(40)
    assert stats.resigned == 0 and stats.resign_checks == 40
    results = [ttt_returns(chunk, rows)[0] for rows in split_games(chunk)]
    assert len(results) == 40
    assert stats.false_resigns == sum(result >= 0 for result in results)
    assert 0 < stats.false_resigns < 40  # both kinds occur, so the count is not trivially all or none


def test_where_resignation_is_allowed_no_check_is_counted():
    chunk, stats = SelfPlay(TTT, HopelessFor(0), config(resign_threshold=-0.5), seed=7).play(5)
    assert stats.resigned == 5 and stats.resign_checks == 0 and stats.false_resigns == 0
    assert stats.outcomes == [0, 0, 5] and len(chunk) == 5 * 3  # X resigns at its second move, ply 2


class Favours(Evaluator):
    """Priors 0.99 on the lowest legal cell, value 0: the search plays that cell every time, so
    any other stone on the board came from the random opening."""

    def evaluate(self, batch):
        legal = batch.legal_mask.astype(np.float32)
        first = np.argmax(legal, axis=1)
        priors = legal * 0.01 / np.maximum(legal.sum(axis=1, keepdims=True), 1)
        priors[np.arange(len(first)), first] += 0.99
        return priors, np.zeros(len(first), np.float32)


def test_random_openings_start_a_share_of_games_from_uniformly_random_unrecorded_moves():
    c = config(temperature_moves=0, random_opening_share=0.5, random_opening_plies=2)
    chunk, stats = SelfPlay(TTT, Favours(), c, seed=11).play(200)
    games = split_games(chunk, openings=(0, 2))
    assert len(games) == 200 and stats.positions == len(chunk) == stats.moves  # the opening moves are not searched
    opened = [rows for rows in games if stones(chunk.planes[rows[0]]) == 2]
    assert 70 <= len(opened) <= 130  # half of 200: outside this is p < 1e-4
    cells = np.zeros((2, 9), int)  # X's and O's opening cells over the opened games
    for rows in opened:
        board = ttt_board(chunk.planes[rows[0]])
        cells[0] += board == 1
        cells[1] += board == 2
    assert cells.sum() == 2 * len(opened) and (cells > 0).all()  # every cell, though the search plays only one
    plain = [rows for rows in games if stones(chunk.planes[rows[0]]) == 0]
    assert all(ttt_board(chunk.planes[rows[1]])[0] == 1 for rows in plain)  # unopened games: X takes cell 0


def test_after_a_random_opening_targets_are_discounted_over_the_plies_the_game_really_had():
    c = config(random_opening_share=1.0, random_opening_plies=2)
    chunk, _ = SelfPlay(TTT, HopelessFor(0), c, seed=5, value_discount=0.9).play(20)
    decided = 0
    for rows in split_games(chunk, openings=(2,)):
        returns = ttt_returns(chunk, rows)
        plies = stones(chunk.planes[rows[-1]]) + 1  # the game's length, opening included
        expected = [returns[to_move(chunk.planes[i])] * 0.9 ** (plies - stones(chunk.planes[i])) for i in rows]
        assert [chunk.value[i] for i in rows] == pytest.approx(expected)
        decided += returns[0] != 0
    assert decided


@pytest.mark.parametrize("overrides, message", [
    (["selfplay.random_opening_share=1.5"], "random_opening_share must be 0 (off) to 1"),
    (["selfplay.random_opening_plies=0"], "random_opening_plies must be positive"),
    (["selfplay.value_q_weight=-0.1"], "value_q_weight must be 0 (z alone) to 1"),
    (["selfplay.policy_surprise_weight=1.5"], "policy_surprise_weight must be 0 (off) to 1"),
    (["selfplay.random_opening_share=0.5", "selfplay.random_opening_plies=9"],
     "selfplay.random_opening_plies: no opening of 9 random moves leaves a tictactoe game going"),
])
def test_bad_opening_and_value_target_settings_are_refused_by_name(overrides, message):
    with pytest.raises(ConfigError) as info:
        load_config(RunConfig, None, ["game.name=tictactoe", *overrides])
    assert message in str(info.value)


def test_policy_surprise_is_the_kl_divergence_from_the_priors_to_the_target():
    # by hand: target (1/2, 1/2, 0) against priors (1/4, 1/4, 1/2) is 2 * 1/2 * ln 2
    assert policy_surprise(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])) == pytest.approx(np.log(2))
    assert policy_surprise(np.array([0.0, 1.0]), np.array([0.3, 0.7])) == pytest.approx(-np.log(0.7))
    assert policy_surprise(np.array([0.2, 0.8]), np.array([0.2, 0.8])) == 0.0


def test_surprise_weights_keep_a_games_total_and_split_it_by_hand():
    # share 0.5 over surprises (0, 1, 3): 0.5 each, and 1.5 split 0 : 1/4 : 3/4
    np.testing.assert_allclose(surprise_weights(np.array([0.0, 1.0, 3.0]), 0.5), [0.5, 0.875, 1.625])
    np.testing.assert_allclose(surprise_weights(np.array([0.0, 1.0, 3.0]), 1.0), [0.0, 0.75, 2.25])
    np.testing.assert_allclose(surprise_weights(np.zeros(4), 0.5), np.ones(4))  # nothing surprised: even
    assert len(surprise_weights(np.zeros(0), 0.5)) == 0


def test_a_chunk_repeats_every_target_of_a_position_together():
    chunk = GameChunk(planes=np.arange(3, dtype=np.uint8).reshape(3, 1, 1, 1), policy=np.eye(3, dtype=np.float32),
                      value=np.array([1, 0, -1], np.float32), games=1, model_step=4,
                      ownership=np.array([1, 0, -1], np.int8).reshape(3, 1, 1), score=np.array([2, np.nan, -2]))
    out = chunk.repeated(np.array([2, 0, 1]))
    assert out.planes.ravel().tolist() == [0, 0, 2] and out.value.tolist() == [1, 1, -1]
    assert out.policy.argmax(axis=1).tolist() == [0, 0, 2] and out.ownership.ravel().tolist() == [1, 1, -1]
    assert out.score.tolist() == [2, 2, -2] and (out.games, out.model_step) == (1, 4)


def test_surprise_weighting_writes_the_same_games_positions_as_often_as_they_surprised_the_search():
    """The same seed plays the same games with the weighting on or off (its copies have a
    generator of their own). Uniform priors without noise make each position's surprise the KL
    from uniform over its empty cells to its target, computed here from the plain chunk alone; each
    position must then be written floor(w) or ceil(w) times, w its weight worked out by hand."""
    plain, plain_stats = SelfPlay(TTT, UniformEvaluator(), config(), seed=7).play(40)
    weighted, stats = SelfPlay(TTT, UniformEvaluator(), config(policy_surprise_weight=0.5), seed=7).play(40)
    assert stats.moves == plain_stats.moves and stats.outcomes == plain_stats.outcomes
    assert stats.positions == len(weighted) and weighted.games == plain.games == 40
    weights = []
    for rows in split_games(plain):
        kl = []
        for i in rows:
            target = plain.policy[i][plain.policy[i] > 0]
            kl.append(float(np.sum(target * np.log(target * (9 - stones(plain.planes[i]))))))
        weights += list(0.5 + 0.5 * len(kl) * np.array(kl) / sum(kl))
    j, copies = 0, []
    for i, w in enumerate(weights):  # walk both: consecutive positions of the plain chunk differ
        k = 0
        while (j < len(weighted) and (weighted.planes[j] == plain.planes[i]).all()
               and (weighted.policy[j] == plain.policy[i]).all() and weighted.value[j] == plain.value[i]):
            j, k = j + 1, k + 1
        assert np.floor(w) <= k <= np.ceil(w), (i, w, k)
        copies.append(k)
    assert j == len(weighted)  # nothing else was written
    copies, weights = np.array(copies), np.array(weights)
    assert weights.min() < 0.8 and weights.max() > 1.5  # the surprises differ: the check above has teeth
    assert copies[weights > 1.2].mean() > 1.2 > 0.8 > copies[weights < 0.8].mean()
