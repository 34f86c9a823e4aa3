"""KataGo's auxiliary targets for Go: the final owner of each point and the score margin, from
the rules (checked against a hand count and the independent score breakdown) through self-play
chunks, the replay buffer's symmetries, the losses, to a training run."""

import math

import numpy as np
import pytest
import torch

from games import make_game
from games.go.scoring import area_difference
from selfplay.cli import main
from selfplay.mcts import UniformEvaluator
from selfplay.network import NetworkConfig, PolicyValueNet
from selfplay.training.learner import losses
from selfplay.training.replay import GameChunk, ReplayBuffer, ReplayConfig, read_chunk, write_chunk
from selfplay.training.selfplay import SelfPlay, SelfPlayConfig
from selfplay.training.trainer import run_training
from tests.test_train import SMOKE

GO5 = make_game("go", size=5, komi=0.5)


def test_ownership_of_walls_by_hand():
    board = np.zeros((5, 5), np.int64)
    board[2], board[1] = 1, 2  # a Black wall on row 3, a White one on row 2 (GTP rows)
    owners, margin = GO5.final_ownership(GO5.from_board(board))
    assert (owners[2:] == 1).all() and (owners[:2] == -1).all()  # the top reaches only Black
    assert margin == pytest.approx((15 - 10 - 0.5) / 25)
    board[4, 4] = 2  # a White stone in Black's area: that region now reaches both colours
    owners, _ = GO5.final_ownership(GO5.from_board(board))
    assert owners[4, 4] == -1 and (owners[3] == 0).all() and (owners[4, :4] == 0).all()


def test_ownership_agrees_with_the_score_breakdown_on_random_positions():
    game, rng = make_game("go", size=7), np.random.default_rng(0)
    for _ in range(100):
        state = game.initial_state()
        for _ in range(rng.integers(0, 120)):
            if game.is_terminal(state):
                break
            state = game.step(state, int(rng.choice(game.legal_actions(state))))
        owners, margin = game.final_ownership(state)
        counts = game.score_breakdown(state)
        assert (owners == 1).sum() == counts.black_stones + counts.black_territory
        assert (owners == -1).sum() == counts.white_stones + counts.white_territory
        assert owners.sum() == area_difference(state) and margin * 49 == pytest.approx(game.score(state))


def test_connect_four_has_no_ownership():
    c4 = make_game("connect4")
    assert c4.final_ownership(c4.initial_state()) is None


def test_selfplay_records_the_final_board_for_the_player_to_move():
    config = SelfPlayConfig(parallel_games=1, simulations=4, cheap_simulations=4, full_search_prob=1.0,
                            dirichlet_fraction=0.0, resign_threshold=-1.0)
    chunk, stats = SelfPlay(GO5, UniformEvaluator(), config, seed=3).play(1)
    assert stats.games == 1 and len(chunk) == stats.moves and chunk.ownership.shape == (len(chunk), 5, 5)
    black = chunk.planes[:, 8, 0, 0] == 1  # plane 8: ones when Black is to move
    assert black[0] and (black[1:] != black[:-1]).all()
    first = chunk.ownership[0]
    assert all((own == (first if b else -first)).all() for own, b in zip(chunk.ownership, black))
    # the margin is the final area difference less komi, per point, for the player to move
    assert chunk.score[0] * 25 == pytest.approx(first.sum() - 0.5)
    assert np.allclose(chunk.score, np.where(black, 1, -1) * chunk.score[0])
    assert all(np.sign(v) == np.sign(s) for v, s in zip(chunk.value, chunk.score))  # komi 0.5: no draws


def test_a_resigned_game_has_no_auxiliary_target():
    config = SelfPlayConfig(parallel_games=1, simulations=4, cheap_simulations=4, full_search_prob=1.0,
                            resign_threshold=-0.0, resign_moves=1, resign_disabled_share=0.0)

    class Hopeless(UniformEvaluator):
        def evaluate(self, batch):
            priors, _ = super().evaluate(batch)
            return priors, np.full(len(priors), -0.99, np.float32)

    chunk, stats = SelfPlay(GO5, Hopeless(), config, seed=0).play(1)
    assert stats.resigned == 1 and np.isnan(chunk.score).all() and not chunk.ownership.any()


def aux_chunk(n=6):
    """Positions whose plane 0 marks exactly the points the player to move owns at the end:
    after any symmetry, ownership and plane 0 must still agree."""
    rng = np.random.default_rng(1)
    ownership = rng.integers(-1, 2, size=(n, 5, 5)).astype(np.int8)
    planes = np.zeros((n, *GO5.obs_shape), np.uint8)
    planes[:, 0] = ownership == 1
    policy = np.zeros((n, GO5.num_actions), np.float32)
    policy[:, 0] = 1
    return GameChunk(planes, policy, np.ones(n, np.float32), 1, 0, ownership, np.linspace(-1, 1, n).astype(np.float32))


def test_ownership_turns_with_the_board_and_round_trips(tmp_path):
    write_chunk(tmp_path, 0, 0, aux_chunk())
    write_chunk(tmp_path, 0, 1, GameChunk(*(lambda c: (c.planes, c.policy, c.value))(aux_chunk(2)), 1, 0))  # no targets
    assert read_chunk(next(tmp_path.glob("*"))).ownership is not None
    buffer = ReplayBuffer(GO5, ReplayConfig(capacity=100, min_positions=1), tmp_path, auxiliary=True)
    assert buffer.ingest_new() == 8
    planes, policy, value, ownership, score = buffer.sample(256, np.random.default_rng(0))
    assert planes.shape == (256, *GO5.obs_shape) and ownership.shape == (256, 5, 5)
    known = np.isfinite(score)
    assert ((ownership[known] == 1) == (planes[known, 0] == 1)).all()
    assert 0 < known.sum() < 256 and not ownership[~known].any()  # the chunk without targets has none
    plain = ReplayBuffer(GO5, ReplayConfig(capacity=100, min_positions=1), tmp_path)
    plain.ingest_new()
    assert len(plain.sample(4, np.random.default_rng(0))) == 3


class FixedHeads(torch.nn.Module):
    """Known outputs: ownership logits 0 (a half for every point), score 0.5, a perfect value."""

    config = NetworkConfig(ownership_head=True)

    def training_outputs(self, planes):
        n = len(planes)
        return {"logits": torch.zeros(n, 2), "values": torch.ones(n), "value_outputs": torch.ones(n),
                "ownership": torch.zeros(n, 2, 2), "score": torch.full((n,), 0.5)}


def test_auxiliary_losses_by_hand_and_masked_where_unknown():
    planes, policy, value = torch.zeros(2, 1), torch.tensor([[0.5, 0.5]] * 2), torch.ones(2)
    ownership = torch.tensor([[[1.0, -1.0], [0.0, 1.0]]] * 2)
    _, metrics = losses(FixedHeads(), planes, policy, value, ownership=ownership,
                        score=torch.tensor([1.0, math.nan]), ownership_weight=2.0, score_weight=3.0)
    assert metrics["losses/ownership"] == pytest.approx(math.log(2))  # any target against p = 1/2
    assert metrics["losses/score"] == pytest.approx(0.25)  # (0.5 - 1)^2, the NaN row left out
    assert metrics["losses/total"] == pytest.approx(math.log(2) + 2 * math.log(2) + 3 * 0.25)
    _, metrics = losses(FixedHeads(), planes, policy, value, ownership=ownership, score=torch.full((2,), math.nan))
    assert "losses/ownership" not in metrics and metrics["losses/total"] == pytest.approx(math.log(2))


def test_the_heads_have_the_board_shape():
    model = PolicyValueNet(GO5.obs_shape, GO5.num_actions, NetworkConfig(channels=8, blocks=1, ownership_head=True))
    heads = model.training_outputs(torch.zeros(3, *GO5.obs_shape))
    assert heads["ownership"].shape == (3, 5, 5) and heads["score"].shape == (3,)


GO_RUN = ["game.name=go", "game.size=5", "game.komi=0.5", "total_steps=10", "eval.every_steps=0",
          "replay.min_positions=16", "selfplay.resign_threshold=-1"]


def test_a_go_run_with_the_heads_trains_them_and_a_plain_run_starts_it(tmp_path):
    plain = run_training(tmp_path / "plain", SMOKE, GO_RUN, log=lambda m: None)
    messages = []
    run = run_training(tmp_path / "own", SMOKE, GO_RUN + ["network.ownership_head=true",
                                                          f"init_from={tmp_path / 'plain'}"], log=messages.append)
    assert run.step == 10 and "losses/ownership" in run.metrics and "losses/score" in run.metrics
    assert any("ownership and score heads start untrained" in m for m in messages)
    trunk = {k: v for k, v in run.model.state_dict().items() if k.startswith("stem")}
    assert trunk.keys() and plain.model.state_dict()["stem.0.weight"].shape == trunk["stem.0.weight"].shape


def test_self_play_can_search_on_the_score_utility(tmp_path, capsys):
    run = run_training(tmp_path / "score", SMOKE, GO_RUN + ["network.ownership_head=true", "total_steps=3",
                                                            "selfplay.score_utility=0.3"], log=lambda m: None)
    assert run.step == 3 and run.source.player.evaluator.score_utility == 0.3
    code = main(["train", SMOKE, "--runs", str(tmp_path), *GO_RUN, "selfplay.score_utility=0.3"])
    err = capsys.readouterr().err
    assert code != 0 and "score_utility needs the score head" in err and "Traceback" not in err


def test_connect_four_with_an_ownership_head_is_one_clear_line(tmp_path, capsys):
    code = main(["train", SMOKE, "--runs", str(tmp_path), "network.ownership_head=true"])
    err = capsys.readouterr().err
    assert code != 0 and "ownership_head needs a game with territory" in err and "Traceback" not in err
