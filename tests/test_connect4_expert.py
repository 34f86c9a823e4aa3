"""The Connect Four expert: tactics, its search against a brute-force negamax of the same
evaluation written here on a plain grid, and its strength between random's and the solver's."""

import numpy as np
import pytest

from games import GameError, make_game
from games.connect4_solver import Solver
from selfplay.evaluation import c4_positions
from selfplay.experts import connect4_expert as ex
from selfplay.experts.connect4_expert import ConnectFourExpert
from selfplay.players import PlayerSpecError, RandomPlayer, make_player

GAME = make_game("connect4")
W, H = 7, 6
# Every window of four cells in a line: (col, row) tuples.
WINDOWS = [[(c + i * dc, r + i * dr) for i in range(4)]
           for c in range(W) for r in range(H) for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1))
           if 0 <= c + 3 * dc < W and 0 <= r + 3 * dr < H]


# ---- a plain-grid reference: grid[col][row] is 0 empty, 1 X, 2 O --------------------------
def grid_of(moves: str):
    grid = [[0] * H for _ in range(W)]
    for i, ch in enumerate(moves):
        col = int(ch) - 1
        grid[col][grid[col].index(0)] = 1 + i % 2
    return grid


def threats(grid, p):
    """Empty cells that complete a window of four for player p."""
    cells = set()
    for window in WINDOWS:
        values = [grid[c][r] for c, r in window]
        if values.count(p) == 3 and values.count(0) == 1:
            cells.add(window[values.index(0)])
    return cells


def side_score(grid, p):
    good_parity = 0 if p == 1 else 1  # X wants rows 1, 3, 5 (1-based), O rows 2, 4, 6
    score = sum(ex.CENTRE[c] * grid[c].count(p) for c in range(W))
    for c, r in threats(grid, p):
        score += ex.THREAT_GOOD if r % 2 == good_parity else ex.THREAT_OTHER
        score += ex.THREAT_CENTRE * ex.CENTRE[c]
    return score


def reference_eval(grid, me):
    return max(-ex.EVAL_BOUND, min(ex.EVAL_BOUND, side_score(grid, me) - side_score(grid, 3 - me)))


def reference_negamax(grid, me, stones, depth):
    """Full-width negamax, no pruning: a win now is seen at any depth, else depth 0 evaluates."""
    legal = [c for c in range(W) if grid[c][H - 1] == 0]
    mine = threats(grid, me)
    if any((c, grid[c].index(0)) in mine for c in legal):
        return ex.WIN - stones
    if stones == W * H:
        return 0
    if depth == 0:
        return reference_eval(grid, me)
    return max(-reference_child(grid, me, stones, depth, c) for c in legal)


def reference_child(grid, me, stones, depth, col):
    row = grid[col].index(0)
    grid[col][row] = me
    try:
        return reference_negamax(grid, 3 - me, stones + 1, depth - 1)
    finally:
        grid[col][row] = 0


def reference_scores(moves, depth):
    grid = grid_of(moves)
    me = 1 + len(moves) % 2
    out = []
    for col in range(W):
        if grid[col][H - 1]:
            out.append(ex.ILLEGAL)
        elif (col, grid[col].index(0)) in threats(grid, me):
            out.append(ex.WIN - len(moves))
        else:
            out.append(-reference_child(grid, me, len(moves), depth, col))
    return out


def random_positions(count, seed, low=4, high=30):
    """Unfinished positions after random moves (no immediate-win filter: those matter too)."""
    rng = np.random.default_rng(seed)
    positions = []
    while len(positions) < count:
        state, moves = GAME.initial_state(), ""
        for _ in range(int(rng.integers(low, high))):
            col = int(rng.choice(GAME.legal_actions(state)))
            state = GAME.step(state, col)
            moves += str(col + 1)
            if GAME.is_terminal(state):
                break
        if not GAME.is_terminal(state):
            positions.append(moves)
    return positions


# ---- tactics --------------------------------------------------------------------------------
@pytest.mark.parametrize("moves, wins", [
    ("445566", {2, 6}),   # X has D1 E1 F1: C1 or G1 connects four
    ("121212", {0}),      # X has three stones in column A
    ("172737", {3}),      # X wins at D1 rather than block O's G4
])
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_takes_an_immediate_win(moves, wins, depth):
    state = GAME.state_from_moves(moves)
    expert = ConnectFourExpert(depth=depth, seed=0)
    assert {expert.select_move(GAME, state) for _ in range(10)} <= wins


@pytest.mark.parametrize("moves, block", [
    ("17273", 3),   # O must take D1 or X connects A1-D1
    ("21212", 1),   # O must cover column B, where X has three stones
])
@pytest.mark.parametrize("depth", [1, 2, 5])
def test_blocks_an_immediate_threat(moves, block, depth):
    state = GAME.state_from_moves(moves)
    assert ConnectFourExpert(depth=depth, seed=0).select_move(GAME, state) == block


@pytest.mark.parametrize("moves, losing", [("3361713414", 1), ("1131223614664", 4), ("563466514526632", 6)])
def test_never_hands_the_opponent_an_immediate_win(moves, losing):
    # Found by search: the move in column ``losing`` lets the opponent connect four next.
    state = GAME.state_from_moves(moves)
    after = GAME.step(state, losing)
    assert any(GAME.winner(GAME.step(after, c)) is not None for c in GAME.legal_actions(after))
    scores = ConnectFourExpert(depth=1).scores(GAME, state)
    assert scores[losing] == -(ex.WIN - len(moves) - 1)
    assert all(ConnectFourExpert(depth=1, seed=s).select_move(GAME, state) != losing for s in range(10))


def test_a_lost_position_still_gets_a_legal_move():
    state = GAME.state_from_moves("445566")  # X to move wins: from O's side, after any O move...
    state = GAME.step(state, 0)  # X plays A1 instead of winning; now O faces two threats
    expert = ConnectFourExpert(depth=3, seed=0)
    scores = expert.scores(GAME, state)
    assert (scores[GAME.legal_mask(state)] < -ex.EVAL_BOUND).all()
    assert GAME.legal_mask(state)[expert.select_move(GAME, state)]


# ---- the search against the reference -------------------------------------------------------
@pytest.mark.parametrize("depth, count, seed", [(1, 25, 1), (2, 12, 2), (3, 3, 3)])
def test_scores_match_a_brute_force_negamax(depth, count, seed):
    expert = ConnectFourExpert(depth=depth)
    for moves in random_positions(count, seed):
        state = GAME.state_from_moves(moves)
        reference = reference_scores(moves, depth)
        assert expert.scores(GAME, state).tolist() == reference, moves
        best = max(reference)
        assert set(expert.best_moves(GAME, state)) == {c for c, v in enumerate(reference) if v == best}, moves


def test_evaluation_matches_the_grid_reference():
    for moves in random_positions(200, 4, low=0, high=40):
        state = GAME.state_from_moves(moves)
        grid = grid_of(moves)
        assert ex.evaluate(state[0], state[1], len(moves)) == reference_eval(grid, 1 + len(moves) % 2), moves


def test_ties_are_broken_at_random_and_seedable():
    expert = ConnectFourExpert(depth=2)
    moves = next(m for m in random_positions(100, 6) if len(expert.best_moves(GAME, GAME.state_from_moves(m))) > 1)
    state = GAME.state_from_moves(moves)
    picks = [ConnectFourExpert(depth=2, seed=s).select_move(GAME, state) for s in range(30)]
    assert set(picks) == set(expert.best_moves(GAME, state))
    assert picks == [ConnectFourExpert(depth=2, seed=s).select_move(GAME, state) for s in range(30)]


# ---- strength --------------------------------------------------------------------------------
def test_strength_is_between_random_and_the_solver(tmp_path):
    """Outcome-keeping share on positions from varied games: random < expert < 1 (the solver's
    share, by the exact move scores the judge uses)."""
    rng = np.random.default_rng(5)
    mixer = ConnectFourExpert(depth=1, seed=5)
    lines = set()
    while len(lines) < 150:
        state, moves = GAME.initial_state(), ""
        stop = int(rng.integers(16, 28))
        while len(moves) < stop and not GAME.is_terminal(state):
            col = int(rng.choice(GAME.legal_actions(state))) if rng.random() < 0.3 else mixer.select_move(GAME, state)
            state = GAME.step(state, col)
            moves += str(col + 1)
        if not GAME.is_terminal(state):
            lines.add(moves)
    path = tmp_path / "positions.txt"
    path.write_text("\n".join(sorted(lines)) + "\n")
    positions = c4_positions.read_positions(path)
    scores = c4_positions.move_scores(positions, tmp_path / "cache", solver=Solver(log_size=20))
    share = {name: c4_positions.evaluate(player, positions, scores).outcome.value for name, player in [
        ("random", RandomPlayer(seed=0)), ("expert", ConnectFourExpert(seed=0)),
        ("deeper expert", ConnectFourExpert(depth=6, seed=0))]}
    assert share["random"] < share["expert"] <= share["deeper expert"] < 1.0, share


# ---- the player kind ------------------------------------------------------------------------
def test_player_spec():
    player = make_player("expert:depth=3,seed=1", GAME)
    assert isinstance(player, ConnectFourExpert) and player.depth == 3
    assert make_player("expert", GAME).depth == ex.DEFAULT_DEPTH
    with pytest.raises(PlayerSpecError, match="depth"):
        make_player("expert:depth=0", GAME)
    with pytest.raises(PlayerSpecError, match="unknown option"):
        make_player("expert:level=3", GAME)
    with pytest.raises(PlayerSpecError, match="connect4 and go"):
        make_player("expert", make_game("tictactoe"))


def test_wrong_game_and_finished_game_are_clear_errors():
    with pytest.raises(GameError, match="connect4 only"):
        ConnectFourExpert().select_move(make_game("tictactoe"), make_game("tictactoe").initial_state())
    with pytest.raises(GameError, match="over"):
        ConnectFourExpert().select_move(GAME, GAME.state_from_moves("1212121"))
    with pytest.raises(ValueError, match="depth"):
        ConnectFourExpert(depth=0)
