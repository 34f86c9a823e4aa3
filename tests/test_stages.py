"""The stage clock against a hand computation on a fake clock: nested stages never count twice,
the network's seconds move out of self-play, ``other`` is the remainder, shares sum to 1."""

import pytest

from selfplay.training.stages import (
    FORWARD,
    LEARNER,
    OTHER,
    SEARCH,
    STARTUP,
    WAITING,
    StageClock,
    combine,
    read_stage_files,
    remove_stage_files,
    shares,
    stage_file,
    write_stage_file,
)


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_nested_stages_moved_seconds_and_the_remainder():
    t, cpu = FakeTime(), FakeTime()
    clock = StageClock(now=t, cpu_now=cpu)
    t.now += 1.0                      # 1 s before any stage: other
    with clock.stage(SEARCH):
        t.now += 2.0                  # 2 s of self-play...
        with clock.stage(WAITING):
            t.now += 0.5              # ... interrupted by 0.5 s in an inner stage
        t.now += 1.5                  # ... and 1.5 s more
    clock.move(SEARCH, FORWARD, 3.0)  # of self-play's 3.5 s, 3 were the network's
    with clock.stage(LEARNER):
        t.now += 4.0
    t.now += 1.0                      # other again
    cpu.now += 6.0
    snap = clock.snapshot()
    assert snap["wall_seconds"] == pytest.approx(10.0)
    assert snap["cpu_seconds"] == pytest.approx(6.0)
    assert snap["stages"] == pytest.approx({SEARCH: 0.5, FORWARD: 3.0, WAITING: 0.5, LEARNER: 4.0, OTHER: 2.0})
    assert shares(snap) == pytest.approx({SEARCH: 0.05, FORWARD: 0.3, WAITING: 0.05, LEARNER: 0.4, OTHER: 0.2})
    assert sum(shares(snap).values()) == pytest.approx(1.0)


def test_a_move_never_takes_more_than_the_stage_holds_and_an_open_stage_counts_so_far():
    t = FakeTime()
    clock = StageClock(now=t, cpu_now=FakeTime())
    with clock.stage(SEARCH):
        t.now += 1.0
    clock.move(SEARCH, FORWARD, 5.0)  # a forward timed across stages: capped at what SEARCH holds
    with clock.stage(LEARNER):
        t.now += 2.0
        assert clock.snapshot()["stages"] == pytest.approx({SEARCH: 0.0, FORWARD: 1.0, LEARNER: 2.0, OTHER: 0.0})
        t.now += 1.0
    assert clock.snapshot()["stages"][LEARNER] == pytest.approx(3.0)


def test_claim_credits_only_the_unattributed_time():
    t = FakeTime()
    clock = StageClock(now=t, cpu_now=FakeTime())
    t.now += 3.0                      # before any block: construction
    with clock.stage(LEARNER):
        t.now += 2.0
    t.now += 1.0
    clock.claim(STARTUP)              # the 4 s no stage held
    assert clock.snapshot()["stages"] == pytest.approx({LEARNER: 2.0, STARTUP: 4.0, OTHER: 0.0})


def test_backdate_restart_and_combine():
    t = FakeTime()
    clock = StageClock(now=t, cpu_now=FakeTime())
    clock.backdate(STARTUP, 2.0)  # the process started 2 s before the clock
    t.now += 2.0
    snap = clock.snapshot()
    assert snap["wall_seconds"] == pytest.approx(4.0) and snap["stages"] == pytest.approx({STARTUP: 2.0, OTHER: 2.0})
    both = combine([snap, {"wall_seconds": 6.0, "cpu_seconds": 1.0, "stages": {STARTUP: 1.0, OTHER: 5.0}}])
    assert both["wall_seconds"] == 10.0 and shares(both) == pytest.approx({STARTUP: 0.3, OTHER: 0.7})
    clock.restart()
    assert clock.snapshot()["wall_seconds"] == 0.0 and clock.snapshot()["stages"] == {OTHER: 0.0}


def test_stage_files_are_written_read_back_and_removed(tmp_path):
    t = FakeTime()
    clock = StageClock(now=t, cpu_now=FakeTime())
    with clock.stage(LEARNER):
        t.now += 1.0
    write_stage_file(tmp_path, "learner", clock, {"steps": 3})
    write_stage_file(tmp_path, "worker-1", clock, {"positions": 7})
    stage_file(tmp_path, "worker-2").write_text("{half a reco")  # damaged: skipped
    records = read_stage_files(tmp_path)
    assert set(records) == {"learner", "worker-1"}
    assert records["learner"]["counts"] == {"steps": 3} and records["learner"]["stages"][LEARNER] == 1.0
    remove_stage_files(tmp_path, "worker-")
    assert set(read_stage_files(tmp_path)) == {"learner"}
    assert read_stage_files(tmp_path / "no-run") == {}
