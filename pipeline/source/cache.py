"""An untracked warm-run cache of per-file scan results, keyed by (path, size, mtime_ns).

It only saves work: a miss, a corrupt cache file or a missing state folder just means
files are read again. Entries for files not seen in this run are dropped on save.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline import __version__
from pipeline.fsutil import CACHE_MAX, atomic_write, read_regular

# Bump when what `discover` stores per file changes shape or meaning.
FORMAT = f"scan-9/{__version__}"


class ScanCache:
    def __init__(self, path: Path | None):
        self.path = path
        self._old: dict[str, dict] = {}
        self._new: dict[str, dict] = {}
        self.hits = 0
        self.misses = 0
        if path is None:
            return
        try:
            # A regular file only: a FIFO or /dev/zero planted here must not hang or fill memory.
            data = json.loads(read_regular(path, CACHE_MAX).decode("utf-8"))
            if data.get("format") == FORMAT:
                self._old = data.get("entries", {})
        except (OSError, ValueError, AttributeError):
            pass

    @staticmethod
    def _key(kind: str, rel: str) -> str:
        return f"{kind}:{rel}"

    def get(self, kind: str, rel: str, st: os.stat_result) -> dict | None:
        entry = self._old.get(self._key(kind, rel))
        if entry and entry.get("size") == st.st_size and entry.get("mtime") == st.st_mtime_ns:
            self._new[self._key(kind, rel)] = entry
            self.hits += 1
            return entry["data"]
        self.misses += 1
        return None

    def put(self, kind: str, rel: str, st: os.stat_result, data: dict) -> None:
        self._new[self._key(kind, rel)] = {
            "size": st.st_size,
            "mtime": st.st_mtime_ns,
            "data": data,
        }

    def save(self) -> None:
        if self.path is None or (not self.misses and len(self._new) == len(self._old)):
            return
        payload = json.dumps(
            {"format": FORMAT, "entries": self._new}, separators=(",", ":"), default=str
        )
        try:
            # Like .pytest_cache: the folder ignores itself, so running `status` on a site
            # that has not adopted us leaves nothing for git to see.
            atomic_write(self.path.parent / ".gitignore", b"*\n")
            atomic_write(self.path, payload.encode("utf-8"))
        except OSError:
            pass  # a read-only checkout still gets a correct (cold) result
