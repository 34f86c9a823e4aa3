"""The Ray backend: config checks and the missing-Ray error (default suite); self-play actors
feeding a training run, one killed mid-run, a resumed driver, and arena slices (marker ray:
a local Ray cluster on loopback)."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from selfplay.cli import main
from selfplay.configio import ConfigError, load_config
from selfplay.distributed.ray_selfplay import chunk_seed
from selfplay.run.directory import CHUNK_NAME, list_chunks, next_sequences
from selfplay.training.config import RunConfig
from selfplay.training.replay import read_chunk

ROOT = Path(__file__).resolve().parents[1]
SMOKE = str(ROOT / "configs" / "smoke.yaml")
RAY_RUN = ["backend=ray", "selfplay.workers=2", "ray.address=local", "replay.capacity=100000",
           "eval.every_steps=0"]


# ---- default suite: no Ray needed --------------------------------------------------------------
def test_backend_ray_without_ray_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    assert main(["train", SMOKE, *RAY_RUN, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "backend: ray needs Ray" in err and "pip install 'selfplay[ray]'" in err and "Traceback" not in err


def test_arena_on_ray_without_ray_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["arena", "random", "mcts:sims=4", "--games", "2", "--backend", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'selfplay[ray]'" in err and "Traceback" not in err


def test_local_backend_never_imports_ray():
    code = ("import sys; from selfplay.training.trainer import Trainer; from selfplay.configio import load_config; "
            "from selfplay.training.config import RunConfig; "
            f"c = load_config(RunConfig, {SMOKE!r}); assert c.backend == 'local'; "
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


@pytest.mark.parametrize("overrides, message", [
    (["backend=ray"], "backend: ray needs selfplay.workers >= 1"),
    (["backend=cluster"], "'cluster' is not one of 'local', 'ray'"),
    (["ray.address=http://head:8265"], "is not auto, local, ray://host:port or host:port"),
    (["ray.address=ray://head"], "is not auto, local, ray://host:port or host:port"),
    (["ray.num_cpus_per_actor=0"], "num_cpus_per_actor or num_gpus_per_actor must be positive"),
    (["ray.num_gpus_per_actor=-0.5"], "must be 0 or more"),
    (["ray.max_restarts=-2"], "max_restarts must be -1"),
    (["ray.adress=auto"], "did you mean 'address'?"),
])
def test_bad_ray_settings_are_named(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(RunConfig, SMOKE, overrides)


@pytest.mark.parametrize("address", ["auto", "local", "ray://10.0.0.5:10001", "head.example:6379"])
def test_good_ray_addresses_load(address):
    config = load_config(RunConfig, SMOKE, ["backend=ray", "selfplay.workers=3", f"ray.address={address}",
                                            "ray.num_gpus_per_actor=0.25"])
    assert (config.backend, config.ray.address, config.ray.num_gpus_per_actor) == ("ray", address, 0.25)


def test_sequences_continue_past_every_name_the_run_has_seen():
    seen = ["chunk-001-00000004.npz", "chunk-001-00000002.npz", "chunk-002-00000000.npz",
            "chunk-000-00000009.npz", "chunk-003-00000007.npz", "notes.txt"]
    assert next_sequences(seen, [1, 2, 3, 4]) == {1: 5, 2: 1, 3: 8, 4: 0}


def test_chunk_seeds_differ_across_workers_and_chunks():
    seeds = {chunk_seed(1, w, s) for w in range(1, 5) for s in range(50)}
    assert len(seeds) == 200


# ---- marker ray: a local cluster ---------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


def chunks_by_key(run_dir):
    """(worker, sequence) -> (games, content digest) of every chunk file (each must read)."""
    out = {}
    for path in list_chunks(Path(run_dir) / "replay"):
        m = CHUNK_NAME.match(path.name)
        chunk = read_chunk(path)
        digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes()
                                         for a in (chunk.planes, chunk.policy, chunk.value))).hexdigest()
        out[int(m.group(1)), int(m.group(2))] = (chunk.games, digest)
    return out


def make_killing_trainer(ray, total_steps):
    from selfplay.training.trainer import Trainer

    class KillingTrainer(Trainer):
        """Kills actor 1 (Ray restarts it) once it has delivered a chunk, and holds the last
        step until the restarted actor has delivered again, so the test sees both lives."""
        killed_after = None  # worker 1's chunks written before the kill

        def _worker1_chunks(self):
            return self.source.pool.written[1]

        def _kill_once_delivered(self):
            if self.killed_after is None and self._worker1_chunks() >= 1:
                self.source.pool.collect()  # anything finished is written first: the kill hits a game in progress
                self.killed_after = self._worker1_chunks()
                ray.kill(self.source.pool.actors[1], no_restart=False)

        def _after_step(self):
            self._kill_once_delivered()

        def _may_train(self):
            # also while the last step waits: actor 2 alone may have fed every step before it
            self._kill_once_delivered()
            if self.step >= total_steps - 1 and (self.killed_after is None
                                                 or self._worker1_chunks() <= self.killed_after):
                return False
            return super()._may_train()

    return KillingTrainer


@pytest.mark.ray
@pytest.mark.timeout(900)  # a safety net should the restarted actor never deliver; no timing is asserted
def test_killed_actor_is_restarted_and_no_game_is_lost_or_repeated(ray_cluster, tmp_path):
    from selfplay.run.checkpoint import load_latest_good
    from selfplay.run.directory import prepare_run
    from selfplay.training.trainer import run_training

    run_dir, messages = tmp_path / "run", []
    config = prepare_run(RunConfig, run_dir, SMOKE, [*RAY_RUN, "total_steps=40"], resume=False)
    trainer = make_killing_trainer(ray_cluster, 40)(config, run_dir, log=messages.append)
    trainer.train()
    assert trainer.step == 40
    assert trainer.killed_after is not None
    assert any(m.startswith("self-play actor 1 died") for m in messages)

    chunks = chunks_by_key(run_dir)
    assert {w for w, _ in chunks} == {1, 2}  # only the actors played
    for w in (1, 2):  # every chunk under its own name: nothing overwritten, no gap
        assert sorted(s for v, s in chunks if v == w) == list(range(sum(1 for v, _ in chunks if v == w)))
    assert max(s for w, s in chunks if w == 1) >= trainer.killed_after  # the restarted actor played on
    digests = [d for _, d in chunks.values()]
    assert len(set(digests)) == len(digests)  # no chunk's games recorded twice
    trainer.buffer.ingest_new()  # chunks written while the actors stopped
    assert trainer.buffer.games == sum(g for g, _ in chunks.values())

    # a new driver resumes the run, with more steps than the games on disk allow (replay ratio 2,
    # batch 16): earlier chunks untouched, numbering continues, every game counted once
    total = 40 + 2 * trainer.buffer.positions_total // 16 + 10
    resumed = run_training(run_dir, None, [f"total_steps={total}"], resume=True, log=messages.append)
    assert resumed.step == total
    after = chunks_by_key(run_dir)
    assert chunks.items() <= after.items()
    assert len(after) > len(chunks)
    for w in (1, 2):
        assert sorted(s for v, s in after if v == w) == list(range(sum(1 for v, _ in after if v == w)))
    digests = [d for _, d in after.values()]
    assert len(set(digests)) == len(digests)
    resumed.buffer.ingest_new()
    assert resumed.buffer.games == sum(g for g, _ in after.values())
    _, payload = load_latest_good(run_dir / "checkpoints")
    assert payload["step"] == total and payload["replay"]["games"] <= resumed.buffer.games


@pytest.mark.ray
@pytest.mark.timeout(600)
def test_arena_slices_on_ray_match_the_same_slices_played_here(ray_cluster):
    from games import make_game
    from selfplay.arena.lockstep import SpecLineup, play_games
    from selfplay.arena.runner import run_arena
    from selfplay.arena.schedule import Contestant, schedule
    from selfplay.distributed.ray_arena import RayActors
    from selfplay.distributed.ray_cluster import RayConfig

    game = make_game("connect4")
    contestants = [Contestant.of("random"), Contestant.of("mcts:sims=8")]
    games = schedule(2, 10)  # slices of 4, 4 and 2 games
    results = run_arena(game, contestants, games, batch=4, seed=7, executor=RayActors(2, 4, RayConfig()))
    assert len(results) == 10

    expected = []
    for k, start in enumerate(range(0, len(games), 4)):  # slices of `batch` games, seeded by index
        play_games(game, SpecLineup(game, tuple(contestants)), games[start:start + 4], k,
                   lambda o: expected.append(o) or True, seed=7, batch=4)
    names = {g.index: (contestants[g.first].name, contestants[g.second].name) for g in games}
    assert sorted((r.first, r.second, r.result, r.moves) for r in results) == \
        sorted((*names[o.index], o.result, len(o.actions)) for o in expected)


def test_bench_rate_leaves_out_each_workers_warm_up_chunk():
    from selfplay.benchmarks.scaleout import _rate
    arrivals = {1: [(10.0, 999, 9), (12.0, 100, 4), (14.0, 60, 2)],   # 160 positions in 4 s
                2: [(11.0, 999, 9), (16.0, 50, 1)]}                   # 50 in 5 s
    positions, games, chunks = _rate(arrivals)
    assert positions == pytest.approx(160 / 4 + 50 / 5)
    assert games == pytest.approx(6 / 4 + 1 / 5)
    assert chunks == 3
