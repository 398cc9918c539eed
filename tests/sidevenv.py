"""Separate virtual environments for the other generators (tests, `make bench`, and
`make build GENERATOR=zensical`).

ProperDocs replaces the `mkdocs` module name and Zensical pins its own dependencies, so
neither can share the main `.venv` (which has MkDocs and Material). Each gets a venv of
its own under `.venv/side/NAME`, made on first use and reused while the requirements
and pyproject.toml are unchanged. Our package is installed editable, without extras,
so these venvs also prove the core runs without MkDocs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIDE = ROOT / ".venv" / "side"


class Unavailable(Exception):
    """The venv could not be made here (no package index, no wheel): skip, saying why."""


def side_venv(name: str, requirements: list[str]) -> Path:
    """Path to the venv's python, with `requirements` and this checkout installed."""
    key = hashlib.sha256(
        "\n".join([*requirements, (ROOT / "pyproject.toml").read_text()]).encode()
    ).hexdigest()[:12]
    venv = SIDE / name
    python = venv / "bin" / "python"
    stamp = venv / f".ready-{key}"
    if stamp.exists():
        return python
    if venv.exists():
        subprocess.run(["rm", "-rf", str(venv)], check=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", *requirements, "-e", str(ROOT)],
    ]
    for step in steps:
        proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise Unavailable(f"{' '.join(step[:4])}… failed: {last}")
    stamp.touch()
    return python


def zensical() -> tuple[Path | None, str]:
    """Zensical (the version pipeline.zensical was tested with) in `.venv/side/zensical`:
    -> (its executable, "") or (None, why it could not be installed here)."""
    from pipeline.zensical import TESTED

    try:
        python = side_venv("zensical", [f"zensical=={TESTED}"])
    except (Unavailable, subprocess.SubprocessError, OSError) as e:
        return None, f"zensical=={TESTED} cannot be installed here: {e}"
    return python.parent / "zensical", ""


if __name__ == "__main__":
    # `make build GENERATOR=zensical`: print the executable, or why there is none.
    if sys.argv[1:] != ["zensical"]:
        sys.exit("usage: python tests/sidevenv.py zensical")
    found, why = zensical()
    print(found or why)
    sys.exit(0 if found else 1)
