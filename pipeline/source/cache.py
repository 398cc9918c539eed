"""An untracked warm-run cache of per-file scan results, keyed by (path, size, mtime_ns),
and by the file's sha256 when only the mtime differs.

It only saves work: a miss, a corrupt cache file or a missing state folder just means
files are read again. Entries for files not seen in this run are dropped on save.
The sha256 is for CI: a fresh clone gives every file a new mtime, so a cache kept between
runs (actions/cache) would otherwise never hit; the same bytes are the same scan.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from pipeline import __version__
from pipeline.fsutil import CACHE_MAX, atomic_write, read_regular

# Bump when what `discover` stores per file changes shape or meaning.
FORMAT = f"scan-10/{__version__}"


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

    def get(
        self,
        kind: str,
        rel: str,
        st: os.stat_result,
        sha_of: Callable[[], str | None] | None = None,
    ) -> dict | None:
        """The scan of an unchanged file, or None. `sha_of()` hashes the file's bytes
        (None when it cannot be read): asked only when the size matches and the mtime
        does not."""
        key = self._key(kind, rel)
        entry = self._old.get(key)
        if not entry or entry.get("size") != st.st_size:
            self.misses += 1
            return None
        if entry.get("mtime") != st.st_mtime_ns:
            sha = entry.get("sha")
            if not sha or sha_of is None or sha_of() != sha:
                self.misses += 1
                return None
            entry = {**entry, "mtime": st.st_mtime_ns}
        self._new[key] = entry
        self.hits += 1
        return entry["data"]

    def put(
        self, kind: str, rel: str, st: os.stat_result, data: dict, sha: str | None = None
    ) -> None:
        self._new[self._key(kind, rel)] = {
            "size": st.st_size,
            "mtime": st.st_mtime_ns,
            "sha": sha,
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
