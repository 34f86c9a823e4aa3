"""The scripted bad-input run (scripts/bad_input_audit.py): each command fed hostile input in a
process of its own, as users run it; no output may hold a traceback (issue 19). A few cases by
default, every case with -m slow."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bad_input_audit", ROOT / "scripts" / "bad_input_audit.py")
audit = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = audit  # its dataclasses look their module up
spec.loader.exec_module(audit)


def _check(cases, tmp_path):
    outcomes = audit.audit(cases, tmp_path / "out", log=lambda line: None)
    failed = [f"{o.case.name}: exit {o.status} (expected {o.case.status})\n{o.output[-1500:]}"
              for o in outcomes if not o.passed]
    assert not failed, "\n\n".join(failed)
    assert len(list((tmp_path / "out").iterdir())) == len(cases)  # every output kept


def test_one_case_of_each_kind(tmp_path):
    _check([c for c in audit.CASES if c.name in audit.QUICK], tmp_path)


@pytest.mark.slow
def test_every_case(tmp_path):
    _check(audit.CASES, tmp_path)


def test_the_audit_notices_a_traceback(tmp_path):
    """The check itself can fail: a traceback, or another exit status than expected, fails a case."""
    case = audit.Case("crash", ("train",), status=2)
    assert audit.Outcome(case, 2, "selfplay train: error: name a config file").passed
    assert not audit.Outcome(case, 2, "Traceback (most recent call last):\n  ...").passed
    assert not audit.Outcome(case, 1, "selfplay train: error: name a config file").passed
