"""Atomic, no-op-aware file writes and guarded reads. Every file we own goes through here.

Committed files are untrusted: a path in the tree may be a symlink out of the site, a
FIFO, a device or a folder. Reads here never block, never read more than asked for, and
(given a root) never leave it; writes never go through a link that leaves their root.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

# Temp files are `.<name>.enrich-tmp-XXXXXXXX` (8 chars from mkstemp), so the next run
# can tell a temp file left by a killed run from anything a person keeps beside it.
TEMP_MARK = ".enrich-tmp-"
_TEMP_NAME = re.compile(r"^\..+" + re.escape(TEMP_MARK) + r"[a-z0-9_]{8}$")
# Room for the mark and mkstemp's 8 characters within NAME_MAX (255 on every local fs).
_NAME_ROOM = 255 - len(TEMP_MARK) - 8 - 2


# A cache we can rebuild (scan cache, markdown copies) is read up to this size; a larger
# one, or anything but a regular file, is a cold cache.
CACHE_MAX = 256 << 20


class UnsafePath(OSError):
    """A path that is not a regular file inside its root; `str()` is the reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
        self.strerror = reason

    def __str__(self) -> str:
        return self.reason


def inside(path: Path | str, root: Path | str) -> bool:
    """True when `path`, every symlink resolved (a dangling one included), is within `root`."""
    real = os.path.realpath(path)
    top = os.path.realpath(root)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def read_regular(path: Path, limit: int | None = None, root: Path | None = None) -> bytes:
    """The bytes of a regular file; UnsafePath (an OSError) for anything else.

    Refused: a path whose real location leaves `root`, anything but a regular file (a
    FIFO would block `open` forever, /dev/zero would never end, a folder raises), and,
    with `limit`, a file larger than that many bytes.
    """
    if root is not None and not inside(path, root):
        raise UnsafePath("reached through a symlink that leaves docs_dir")
    # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePath(f"not a regular file ({_kind(st.st_mode)})")
        if limit is not None and st.st_size > limit:
            raise UnsafePath(f"larger than {limit // 1024} KiB ({st.st_size:,} bytes)")
        chunks, size = [], 0
        while True:  # the file may grow while we read: stop one byte past the limit
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                raise UnsafePath(f"larger than {limit // 1024} KiB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def atomic_write(path: Path, data: bytes, root: Path | None = None) -> bool:
    """Write `data` to `path` via a temp file in the same folder and `os.replace`.

    Returns False (and touches nothing) when the file already holds exactly these bytes,
    so a no-op run leaves mtimes and git untouched. A kill at any moment leaves either
    the old file or the new one, never a torn one (and a temp file the next run sweeps).

    With `root`, the write is refused (UnsafePath) unless the path, symlinks resolved,
    stays inside it; without, a symlink at `path` is refused: we never make one, so one
    there was put by someone else, and may lead anywhere.
    """
    if root is not None:
        if not inside(path, root):
            raise UnsafePath("leads outside its folder through a symlink: not written")
    elif os.path.islink(path):
        raise UnsafePath("is a symlink: not written")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode) and st.st_size == len(data):
        # Compare only a regular file of the same size: never read a FIFO or a device.
        with contextlib.suppress(OSError):
            if read_regular(path) == data:
                return False
    replace_bytes(path, data)
    return True


def replace_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Put `data` at `path` through a temp file and `os.replace`: a reader sees the old
    file or the new one, never a torn one. `durable=False` skips the fsync, for files
    rebuilt on every build anyway (site/)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:_NAME_ROOM]}{TEMP_MARK}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def sweep_temp_files(*roots: Path) -> list[Path]:
    """Remove temp files left by a killed run under `roots` (only ours, by name).

    Call it while holding the run lock: a live run's temp file looks the same. Symlinked
    folders are not followed, and only regular files are removed.
    """
    removed = []
    for root in roots:
        for here, _dirs, names in os.walk(root):
            for name in names:
                if not is_temp_name(name):
                    continue
                path = Path(here) / name
                with contextlib.suppress(OSError):
                    if stat.S_ISREG(os.lstat(path).st_mode):
                        path.unlink()
                        removed.append(path)
    return removed


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write on an O_APPEND descriptor.

    One write per record keeps concurrent appends whole on local filesystems; a kill
    mid-write can at worst leave a torn last line, which readers skip.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = _open_append(path)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _open_append(path: Path) -> int:
    # O_NOFOLLOW: a committed symlink in its place would append to any file it names;
    # O_NONBLOCK: a FIFO there fails at once instead of waiting for a reader.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if os.path.islink(path):
            raise UnsafePath("is a symlink: not appended to") from None
        raise UnsafePath(f"cannot append ({e.strerror})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePath("not a regular file: not appended to")
    return fd


def check_appendable(path: Path) -> None:
    """UnsafePath unless `path` is absent or a regular file append_line can extend: checked
    before a run spends anything, so every paid request can reach the ledger."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise UnsafePath(
            "is a symlink: not appended to"
            if stat.S_ISLNK(st.st_mode)
            else f"not a regular file ({_kind(st.st_mode)}): not appended to"
        )
