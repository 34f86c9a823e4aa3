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


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def positive_int_list(text: str) -> list[int]:
    """``64,256,1024``: whole numbers of at least 1, comma-separated."""
    values = []
    for item in text.split(","):
        try:
            value = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected whole numbers separated by commas, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"expected numbers of at least 1, got {value} in {text!r}")
        values.append(value)
    return values
