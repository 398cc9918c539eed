"""The Zensical adapter: run `zensical build`, then the generator-neutral post-build pass.

Zensical runs no plugin of ours (it drops unknown plugins without a word) and has no
hooks, so everything is rendered by pipeline.render.postbuild over the built HTML. What
this module relies on of Zensical is its command line (`zensical build -f FILE`,
`zensical --version`) and the HTML its Material-derived theme writes (`</head>`, one
meta description, content in <article>); it is checked against the versions tested.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from pipeline.errors import Fatal

# Tested: 0.0.73 (the newest pip resolves here: 0.1.x needs a `zensical-ui` wheel the
# index lacks). 0.1.3 was measured by hand to write the same head and content hooks.
TESTED = "0.0.73"
SUPPORTED = ((0, 0, 73), (0, 2, 0))  # from, below
# Where to find it: $ZENSICAL (a path to the executable), else `zensical` on PATH.
ENV = "ZENSICAL"

INSTALL = f"pip install zensical=={TESTED}"


def executable() -> str:
    found = os.environ.get(ENV) or shutil.which("zensical")
    if not found:
        raise Fatal(f"--generator zensical: zensical is not installed ({INSTALL})")
    return found


def parse_version(text: str) -> tuple[int, ...] | None:
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(n) for n in found.groups()) if found else None


def check_version(text: str) -> str:
    """The version `zensical --version` printed, or a Fatal naming it when unsupported."""
    version = parse_version(text)
    low, high = SUPPORTED
    shown = ".".join(map(str, version)) if version else repr(text.strip()[:40])
    if version is None or not low <= version < high:
        raise Fatal(
            f"zensical {shown} is not supported: tested with {TESTED} "
            f"(supported from {'.'.join(map(str, low))} below {'.'.join(map(str, high))}); "
            f"{INSTALL}"
        )
    return shown


def version(exe: str) -> str:
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except OSError as e:
        raise Fatal(f"--generator zensical: cannot run {exe} ({e.strerror})") from None
    return check_version(proc.stdout or proc.stderr)


def require() -> str:
    """The zensical executable, checked: a one-line Fatal when missing or unsupported."""
    exe = executable()
    version(exe)
    return exe


def build(config_file: str, env: dict[str, str], *, strict: bool = True) -> int:
    """`zensical build` of the site; its output goes to the terminal as it comes."""
    exe = require()
    cmd = [exe, "build", "-f", config_file]
    if strict:
        cmd.append("--strict")
    sys.stdout.flush()
    return subprocess.run(cmd, env=env, cwd=os.path.dirname(config_file)).returncode
