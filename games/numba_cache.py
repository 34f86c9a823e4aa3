"""Point Numba's on-disk cache at a folder named after a fingerprint of every kernel source.

Numba decides whether a cached function is stale from its own file only, not from the files of
the kernels it calls (and inlines): after an edit to games/connect4.py, a cached MCTS kernel
would go on running the old rules without a word. Keying the whole cache on all kernel
sources makes any edit recompile everything that could depend on it. Must run before Numba
compiles or loads anything; ``games/__init__.py`` calls it first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

KEEP = 3  # fingerprint folders kept, newest first; older ones are removed


def kernel_sources(root: Path) -> list[Path]:
    files = []
    for package in ("games", "selfplay"):
        for path in sorted((root / package).rglob("*.py")):
            if "njit" in path.read_text(encoding="utf-8", errors="replace"):
                files.append(path)
    return files


def configure() -> None:
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha1()
    for path in kernel_sources(root):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "selfplay" / "numba"
    cache_dir = base / digest.hexdigest()[:16]
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        os.utime(cache_dir)
        stale = sorted((p for p in base.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stale[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return  # an unwritable home: Numba falls back to its default locations
    os.environ["NUMBA_CACHE_DIR"] = str(cache_dir)
    if "numba" in sys.modules:  # imported before us: make it read the variable again
        from numba.core import config
        config.reload_config()
