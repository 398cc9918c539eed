"""The README's install lines and the action's install step, run in a fresh venv.

Slow (a minute or two: pip fetches the dependencies from the package index) and marked
so: `pytest -m "not slow"` leaves it out. It works on a copy of the tracked files, so no
`build/` or `*.egg-info` lands in the checkout. Skips, saying why, when the package index
cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

OFFLINE = ("Could not find a version", "No matching distribution", "NewConnectionError")


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode and any(m in proc.stdout + proc.stderr for m in OFFLINE):
        pytest.skip(f"the package index cannot be reached: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc.stdout


@pytest.mark.timeout(900)
def test_action_install_then_readme_wheel_lines_in_a_fresh_venv(tmp_path):
    # A checkout of this repository, as README's lines call it (./sidecar-enrich).
    checkout = tmp_path / "sidecar-enrich"
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for rel in filter(None, tracked):
        if (ROOT / rel).is_file():
            (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, checkout / rel)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    path = {"PATH": f"{env_dir / 'bin'}{os.pathsep}{os.environ['PATH']}", "PYTHON": str(py)}

    # The action's install step: the package and the generator's extra, from its checkout.
    out = run(
        checkout / "scripts" / "action.sh",
        "install",
        cwd=tmp_path,
        env={
            **path,
            "ACTION_PATH": str(checkout),
            "GENERATOR": "mkdocs",
            "RUNNER_TEMP": str(tmp_path),
        },
    )
    assert "Successfully installed" in out
    assert "sidecar-enrich" in run(py, "-m", "pipeline", "--version", cwd=tmp_path)
    plugin = run(
        py,
        "-c",
        "from importlib.metadata import entry_points as e;"
        "print([p.value for p in e(group='mkdocs.plugins') if p.name == 'enrich'])",
        cwd=tmp_path,
    )
    assert "pipeline.mkdocs.plugin:EnrichPlugin" in plugin

    # README: `pip install build`, `python -m build --wheel ...`, then the wheel with an extra.
    run(py, "-m", "pip", "install", "--disable-pip-version-check", "build", cwd=tmp_path, env=path)
    run(
        py, "-m", "build", "--wheel", "--outdir", "dist", "./sidecar-enrich", cwd=tmp_path, env=path
    )
    wheel = tmp_path / "dist" / "sidecar_enrich-0.1.0-py3-none-any.whl"
    assert wheel.is_file(), sorted(p.name for p in (tmp_path / "dist").iterdir())
    run(py, "-m", "pip", "uninstall", "-y", "sidecar-enrich", cwd=tmp_path)  # the wheel's turn
    out = run(py, "-m", "pip", "install", f"dist/{wheel.name}[mkdocs]", cwd=tmp_path, env=path)
    assert "Successfully installed sidecar-enrich-0.1.0" in out
    assert "sidecar-enrich" in run(py, "-m", "pipeline", "--version", cwd=tmp_path)
