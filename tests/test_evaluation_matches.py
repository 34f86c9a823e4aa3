"""Evaluation matches play through the arena's lock-step loop: the same scores as one game at a
time with deterministic players, colours alternating, and deterministic for a seed."""

import zlib
from dataclasses import dataclass

import pytest

from games import make_game
from selfplay.arena.match import play_game
from selfplay.evaluation.matches import evaluate_checkpoint, match_score
from selfplay.mcts import MCTSConfig, MCTSPlayer, UniformEvaluator
from selfplay.players import Player
from selfplay.training.config import EvalConfig


class _Ranked(Player):
    """Deterministic, and not trivially so: the legal move whose (position, move) ranks first."""
    name = "ranked"

    def select_move(self, game, state):
        legal = [int(a) for a in game.legal_actions(state)]
        return min(legal, key=lambda a: zlib.crc32(state.tobytes() + bytes([a])))


@dataclass(frozen=True)
class _Lineup:
    game: object
    sims: tuple[int, int | None]  # None: the ranked player

    names = ("a", "b")

    def build(self, index, seed):
        sims = self.sims[index]
        if sims is None:
            return _Ranked()
        config = MCTSConfig(num_simulations=sims, gumbel=True, gumbel_scale=0.0, seed=seed)  # deterministic
        return MCTSPlayer(self.game, UniformEvaluator(), config, name=f"mcts{sims}")


def one_game_at_a_time(game, player, opponent, games):
    """The evaluation's former loop: one game after another, colours alternating."""
    total = 0.0
    for i in range(games):
        seats = (player, opponent) if i % 2 == 0 else (opponent, player)
        returns = play_game(game, seats).returns
        total += (returns[i % 2] + 1) / 2
    return total / max(games, 1)


@pytest.mark.parametrize("name", ["tictactoe", "connect4"])
@pytest.mark.parametrize("sims", [(24, None), (None, 24), (40, 4)])
def test_lock_step_scores_equal_one_game_at_a_time(name, sims):
    game = make_game(name)
    lineup = _Lineup(game, sims)
    old = one_game_at_a_time(game, lineup.build(0, 1), lineup.build(1, 2), 6)
    assert match_score(game, lineup, 6, seed=3) == old


def test_colours_alternate_and_the_score_is_contestant_zeros():
    """One deterministic player on both sides: over an even count of games it scores exactly
    1/2 only if it played each colour equally; a single game is the first mover's result."""
    game = make_game("tictactoe")
    lineup = _Lineup(game, (None, None))
    first_wins = (play_game(game, (_Ranked(), _Ranked())).returns[0] + 1) / 2
    assert match_score(game, lineup, 4, seed=0) == pytest.approx(0.5)
    assert match_score(game, lineup, 1, seed=0) == first_wins


def test_network_evaluation_is_deterministic_for_a_seed():
    torch = pytest.importorskip("torch")
    from selfplay.network import NetworkConfig, PolicyValueNet
    game = make_game("tictactoe")
    torch.manual_seed(0)
    model = PolicyValueNet(game.obs_shape, game.num_actions, NetworkConfig(channels=8, blocks=1, value_hidden=8))
    model.eval()
    config = EvalConfig(games=4, simulations=8, opponents="random; mcts:sims=4", c4_positions="", c4_limit=1)
    first = evaluate_checkpoint(game, model, "cpu", config, seed=5)
    assert set(first) == {"score_vs/random", "score_vs/mcts:sims=4"}
    assert all(0.0 <= v <= 1.0 for v in first.values())
    assert evaluate_checkpoint(game, model, "cpu", config, seed=5) == first
