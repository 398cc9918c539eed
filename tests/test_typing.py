"""`mypy pipeline` at its default settings stays clean (issue 15): item kinds are
`ItemKind`, not strings, and a type error fails the suite, not a later run."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_is_clean(tmp_path: Path) -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (it is a dev dependency: pip install -e '.[dev]')")
    # The cache goes under tmp_path: nothing is written into the repository tree.
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "pipeline", "--cache-dir", str(tmp_path / "mypy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 0, f"mypy pipeline found errors:\n{shown}"
    assert "Success: no issues found" in done.stdout, shown
