"""Atomic, no-op-aware file writes. Every file we own is written through here."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes) -> bool:
    """Write `data` to `path` via a temp file in the same folder and `os.replace`.

    Returns False (and touches nothing) when the file already holds exactly these bytes,
    so a no-op run leaves mtimes and git untouched. A kill at any moment leaves either
    the old file or the new one, never a torn one.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write on an O_APPEND descriptor.

    One write per record keeps concurrent appends whole on local filesystems; a kill
    mid-write can at worst leave a torn last line, which readers skip.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
