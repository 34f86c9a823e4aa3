"""argparse types shared by the subcommands: a number that is not finite is refused where it is typed."""

from __future__ import annotations

import argparse
import math


def finite_float(text: str) -> float:
    """A float option: ``nan`` and ``inf`` parse as floats and then poison every result."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def whole_number(text: str, minimum: int, expected: str = "a whole number") -> int:
    """``text`` as an int of at least ``minimum``, or argparse's error saying what was expected."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {minimum} or more, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    return whole_number(text, 0)


def positive_int_list(text: str) -> list[int]:
    """``64,256,1024``: whole numbers of at least 1, comma-separated."""
    return [whole_number(item, 1, f"whole numbers separated by commas in {text!r}") for item in text.split(",")]
