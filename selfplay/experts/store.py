"""The output directory of expert games: meta.json (the settings, checked on a rerun) and the
games, kept in one of two layouts that the games' readers (``Game.read_records``) read:

- ``LinesFile``: one text file, a game per line whose first field is its key, appended a batch
  at a time; a torn last line (the run was killed inside a write) is cut off on opening;
- ``FilePerGame``: one file per game named by its key, written to a temporary name and renamed.

Only the parent process writes; worker processes only play.
"""

from __future__ import annotations

import json
import os
from dataclasses import MISSING, asdict, fields
from pathlib import Path
from typing import Callable, Protocol

from selfplay.atomic import atomic_write_bytes, atomic_write_text
from selfplay.experts.settings import ExpertGamesError, Settings

META_FILE = "meta.json"


class Records(Protocol):
    """Where the games of one output directory are kept."""

    def keys(self) -> set[str]:
        """The keys of the games already there (cleaning up what a kill left half-written)."""

    def write(self, games: list[tuple[str, object]]) -> None:
        """Add (key, record) pairs, none of them there yet."""


class LinesFile:
    """Games as the lines of ``out/name``; a record is its line without the newline."""

    def __init__(self, out: Path, name: str):
        self.path = out / name

    def keys(self) -> set[str]:
        if not self.path.exists():
            return set()
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):  # a torn last record: keep only whole lines
            with open(self.path, "r+b") as f:
                f.truncate(cut)
        text = data[:cut].decode("utf-8", errors="replace")
        return {line.split()[0] for line in text.splitlines() if line.split() and not line.startswith("#")}

    def write(self, games):
        data = "".join(line + "\n" for _, line in games).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)


class FilePerGame:
    """Games as files ``out/<key><suffix>``; a record is the file's bytes."""

    def __init__(self, out: Path, suffix: str):
        self.out, self.suffix = out, suffix

    def keys(self) -> set[str]:
        for stray in self.out.glob(".*.tmp"):  # a write cut short by a kill
            stray.unlink()
        return {p.name[:-len(self.suffix)] for p in self.out.glob(f"*{self.suffix}")}

    def write(self, games):
        for key, payload in games:
            atomic_write_bytes(self.out / f"{key}{self.suffix}", payload)


class GameStore:
    """The games already in ``out`` (their keys) and the way to add more, kept by the layout
    ``records(out)`` makes."""

    def __init__(self, out: str | Path, settings: Settings, records: Callable[[Path], Records]):
        self.out = Path(out)
        self.settings = settings
        self.out.mkdir(parents=True, exist_ok=True)
        self._check_meta()
        self.records = records(self.out)
        self.keys = self.records.keys()

    def __len__(self) -> int:
        return len(self.keys)

    def _check_meta(self) -> None:
        path = self.out / META_FILE
        wanted = asdict(self.settings)
        if path.exists():
            try:
                found = json.loads(path.read_text())
            except (OSError, ValueError) as e:
                raise ExpertGamesError(f"{path} cannot be read ({e}); remove it or choose another --out") from None
            if not isinstance(found, dict):
                raise ExpertGamesError(f"{path} holds no settings (a JSON object expected); remove it or choose "
                                       "another --out")
            # a setting added after the directory was made reads as its default, which it was made with
            defaults = {f.name: f.default for f in fields(self.settings) if f.default is not MISSING}
            found = {**{k: v for k, v in defaults.items() if k not in found}, **found}
            if found != wanted:
                diff = ", ".join(f"{k}={found.get(k)!r} (now {v!r})" for k, v in wanted.items() if found.get(k) != v)
                raise ExpertGamesError(f"{self.out} holds games made with other settings: {diff}; "
                                       "use the same options or another --out")
        else:
            atomic_write_text(path, json.dumps(wanted, indent=2) + "\n")

    def add(self, batch: list[tuple[str, object]], limit: int) -> int:
        """Store the games of ``batch`` that are new, at most ``limit``; returns how many."""
        fresh = []
        for key, payload in batch:
            if len(fresh) >= limit:
                break
            if key not in self.keys:
                self.keys.add(key)
                fresh.append((key, payload))
        if fresh:
            self.records.write(fresh)
        return len(fresh)
