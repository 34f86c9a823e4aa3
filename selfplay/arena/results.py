"""The results file: one CSV row per finished game, which a kill never corrupts.

The columns are ``RESULT_COLUMNS``: ``time`` (UTC, ISO 8601), ``game`` (the game's label, such
as ``connect4`` or ``go-9x9-komi7``), ``first`` and ``second`` (the players' names, their specs
unless the caller names them), ``result`` for the first player (1, 0.5 or 0), ``moves`` and
``record`` (the saved game's path, empty when games are not saved). Each row goes to the file
in a single ``write`` on a file opened for appending, so a killed arena leaves whole rows; a
reader skips a last line without its newline, and the next writer cuts it off before appending.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from selfplay.arena.errors import ArenaError

RESULT_COLUMNS = ["time", "game", "first", "second", "result", "moves", "record"]


@dataclass
class GameResult:
    """One row of a results CSV."""

    time: str
    game: str
    first: str
    second: str
    result: float  # for the first player: 1 win, 0.5 draw, 0 loss
    moves: int
    record: str = ""

    def row(self) -> list[str]:
        return [self.time, self.game, self.first, self.second, f"{self.result:g}", str(self.moves), self.record]


def _csv_line(fields: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


class ResultsWriter:
    """Appends rows to a results CSV, one ``write`` per row (see the module docstring)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.parent.is_dir():  # a typo in the path should not grow a tree of folders
            raise ArenaError(f"cannot write the results file {self.path}: the folder {self.path.parent} does not exist")
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise ArenaError(f"cannot open the results file {self.path}: {e.strerror}") from None
        size = os.fstat(self.fd).st_size
        if size == 0:
            os.write(self.fd, _csv_line(RESULT_COLUMNS).encode())
            return
        with open(self.path, "rb") as f:
            data = f.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):  # a torn last row (a writer killed mid-write, or an editor)
            os.ftruncate(self.fd, keep)
        header = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
        if header != ",".join(RESULT_COLUMNS):
            os.close(self.fd)
            raise ArenaError(f"{self.path} is not a results file: its header is {header!r}, "
                             f"expected {','.join(RESULT_COLUMNS)!r}")

    def append(self, result: GameResult) -> None:
        os.write(self.fd, _csv_line(result.row()).encode())

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_results(path: str | Path) -> list[GameResult]:
    """Rows of a results CSV; a last line without its newline (a torn write) is skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArenaError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ArenaError(f"cannot read results file {path}: {e}") from None
    if text and not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    if rows[0] != RESULT_COLUMNS:
        raise ArenaError(f"{path} is not a results file: expected the header {','.join(RESULT_COLUMNS)}")
    results = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            if len(row) != len(RESULT_COLUMNS):
                raise ValueError(f"{len(row)} fields instead of {len(RESULT_COLUMNS)}")
            result = float(row[4])
            if result not in (0.0, 0.5, 1.0):
                raise ValueError(f"result {row[4]!r} is not 1, 0.5 or 0")
            results.append(GameResult(row[0], row[1], row[2], row[3], result, int(row[5]), row[6]))
        except ValueError as e:
            raise ArenaError(f"{path}, line {line}: {e}") from None
    return results
