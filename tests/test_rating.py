"""rate_checkpoint on a tiny trained run (configs/smoke.yaml): rows appended, the rating is the
refit of the whole file, earlier checkpoints join the pool, resumable and deterministic."""

import shutil
from pathlib import Path

import pytest

from selfplay.arena.results import read_results
from selfplay.rating.elo import fit_elo
from selfplay.rating.rate import RatingConfig, checkpoint_name, rate_checkpoint
from selfplay.run.checkpoint import CheckpointError
from selfplay.training.trainer import run_training

SMOKE = Path(__file__).resolve().parents[1] / "configs" / "smoke.yaml"
FAST = RatingConfig(games=2, simulations=4, pool="random;mcts:sims=8", expert="")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("rating") / "run"
    run_training(run, str(SMOKE), ["eval.rate=false"], log=lambda message: None)  # rated by hand below
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def ckpt(run, step):
    return run / "checkpoints" / f"step-{step:08d}.pt"


def test_rate_checkpoint_appends_rows_and_returns_the_refit(run):
    first = rate_checkpoint(run, ckpt(run, 10), config=FAST, seed=1)
    rows = read_results(run / "ratings.csv")
    assert len(rows) == 4  # 2 games against each of the 2 pool players
    me = checkpoint_name(run, ckpt(run, 10), 4)
    assert first.player == me and first.step == 10 and first.games == 4
    assert all(me in (r.first, r.second) for r in rows)
    assert sorted(first.opponents) == ["mcts:sims=8", "random"]
    fit = fit_elo([(r.first, r.second, r.result) for r in rows])
    assert (first.elo, first.lower, first.upper) == pytest.approx((fit[me].elo, fit[me].lower, fit[me].upper))
    assert first.lower < first.elo < first.upper

    second = rate_checkpoint(run, ckpt(run, 20), config=FAST, seed=1)
    assert second.opponents[-1] == me  # the previous checkpoint joins the pool
    rows = read_results(run / "ratings.csv")
    assert len(rows) == 4 + 6
    assert sum(1 for r in rows if {r.first, r.second} == {me, second.player}) == 2

    again = rate_checkpoint(run, ckpt(run, 20), config=FAST, seed=1)
    assert len(read_results(run / "ratings.csv")) == 10  # nothing left to play: no new games
    assert again.elo == pytest.approx(second.elo)
    more = rate_checkpoint(run, ckpt(run, 20), games=3, config=FAST, seed=1)
    assert len(read_results(run / "ratings.csv")) == 13 and more.games == 9  # only the missing game per opponent


def test_same_seed_same_games(run, tmp_path):
    other = tmp_path / "other" / "run"
    shutil.copytree(run, other)
    config = RatingConfig(games=2, simulations=4, pool="random;mcts:sims=8", expert="", previous=0)
    rate_checkpoint(run, ckpt(run, 30), config=config, seed=5)
    rate_checkpoint(other, ckpt(other, 30), config=config, seed=5)

    def games(r):
        return [(x.first.replace(str(r), "RUN"), x.second.replace(str(r), "RUN"), x.result, x.moves)
                for x in read_results(r / "ratings.csv")]
    assert games(run) == games(other)


def test_expert_joins_the_pool_when_it_can_be_built(run):
    config = RatingConfig(games=2, simulations=4, pool="random", expert="expert")
    rating = rate_checkpoint(run, ckpt(run, 10), config=config, seed=2)
    assert "expert" in rating.opponents
    expert = "gtp:no-such-engine-here"  # an engine not installed here: left out, and said so
    config = RatingConfig(games=2, simulations=4, pool="random", expert=expert)
    rating = rate_checkpoint(run, ckpt(run, 20), config=config, seed=2)
    assert rating.opponents == ["random", checkpoint_name(run, ckpt(run, 10), 4)]
    assert rating.notes and rating.notes[0].startswith(f"expert {expert!r} left out of the pool")
    from selfplay.configio import ConfigError, from_dict
    with pytest.raises(ConfigError, match="expert: unknown player 'alphago'"):  # not a player kind: a typo
        from_dict(RatingConfig, {"expert": "alphago"}, "rating")


def test_bad_checkpoint_and_config_are_clear_errors(run):
    with pytest.raises(CheckpointError, match="not a checkpoint file"):
        rate_checkpoint(run, run / "checkpoints" / "step-00000099.pt", config=FAST)
    from selfplay.configio import ConfigError
    with pytest.raises(ConfigError, match="games must be at least 1"):
        rate_checkpoint(run, ckpt(run, 10), config=RatingConfig(games=0))
