"""One enrich run per tree at a time: a lock file with the owner's pid, host and start time.

A second run (a CI retry, a laptop) gets a clear message instead of racing the first.
A lock whose process is gone (same host) or that is older than STALE_AFTER is stale
and taken over, so a killed run never blocks the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import LockHeld
from pipeline.fsutil import read_regular

STALE_AFTER = 6 * 3600  # longer than any run we make; batches are collected, not awaited


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stale(info: dict) -> bool:
    if time.time() - float(info.get("started", 0)) > STALE_AFTER:
        return True
    if info.get("host") == socket.gethostname():
        return not _alive(int(info.get("pid", 0)))
    return False


@contextlib.contextmanager
def held(state_dir: Path) -> Iterator[Path]:
    path = state_dir / "lock"
    state_dir.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                # Bounded and non-blocking: a FIFO or /dev/zero here is a torn lock.
                info = json.loads(read_regular(path, 64 * 1024) or b"{}")
            except (OSError, ValueError):
                info = {}
            if info and not _stale(info):
                since = time.strftime("%H:%M:%S", time.localtime(float(info.get("started", 0))))
                raise LockHeld(
                    f"{path}: another enrich run (pid {info.get('pid')} on {info.get('host')}, "
                    f"started {since}) is working on this site; wait for it, or delete the "
                    "file if that run is gone"
                ) from None
            # Stale (or torn): remove and try once more; O_EXCL settles any race.
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump(me, fh)
        break
    else:
        raise LockHeld(f"{path}: could not take the lock; another run took it first")
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
