"""Zensical in its own venv under .zensical/<version>, for the tests, `make bench` and
`make build GENERATOR=zensical`. Its own venv: its Markdown and pymdown-extensions pins
differ from those MkDocs and Material need here."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pipeline.zensical import TESTED

ROOT = Path(__file__).resolve().parents[1]
HOME = ROOT / ".zensical" / TESTED


def ensure() -> tuple[Path | None, str]:
    """-> (the zensical executable, "") or (None, why it could not be installed)."""
    exe = HOME / "bin" / "zensical"
    if exe.exists():
        return exe, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(HOME)], check=True, capture_output=True)
        subprocess.run(
            [str(HOME / "bin" / "pip"), "install", "-q", f"zensical=={TESTED}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as e:
        shutil.rmtree(HOME, ignore_errors=True)
        detail = (getattr(e, "stderr", b"") or b"")[-300:]
        return None, f"zensical=={TESTED} cannot be installed here: {detail!r}"
    return exe, ""


if __name__ == "__main__":
    found, why = ensure()
    print(found or why)
    sys.exit(0 if found else 1)
