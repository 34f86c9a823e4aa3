"""Scores: the Wilson interval and the tally of one side."""

import pytest

from selfplay.rating.stats import Tally, wilson_interval


def test_wilson_interval_against_known_values():
    # Textbook values (Newcombe 1998, 95%): 5/10 -> 0.2366-0.7634; 0/10 -> 0-0.2775.
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    t = Tally(wins=3, draws=2, losses=1)
    assert t.points == 4 and t.rate == pytest.approx(4 / 6)
    assert t.interval() == wilson_interval(4, 6)
