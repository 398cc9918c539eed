"""Where the site's `.enrich/cache` is, and the actions/cache keys for it (action.yml).

Prints `path=`, `key=` and `restore-keys=` lines for $GITHUB_OUTPUT. The cache only
saves work, and every entry is checked before use (a scan entry by the file's size and
mtime, a markdown copy by a sha256 of its input), so a stale cache is only slower.
The keys add a second guard: they name the code that wrote the cache (a hash of the
installed `pipeline` package), and the fallback only restores a cache written by the
same code, so an upgrade of this package starts cold rather than trusting a format
version someone forgot to bump. The last part hashes the site (config, docs_dir,
dependency files): an unchanged site hits exactly and saves nothing new.

Usage: python scripts/cache_key.py [-f CONFIG]
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pipeline
from pipeline.config import load_site
from pipeline.errors import PipelineError

SITE_FILES = ("pyproject.toml", "requirements.txt", "poetry.lock", "uv.lock")


def code_hash() -> str:
    """sha256 of the installed package's source, file names included."""
    root = Path(pipeline.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def tree_hash(files: list[Path], base: Path) -> str:
    h = hashlib.sha256()
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        h.update(os.path.relpath(path, base).encode() + b"\0")
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()


def main(argv: list[str]) -> int:
    config = argv[1] if len(argv) == 2 and argv[0] == "-f" else None
    try:
        site = load_site(config)
    except PipelineError as e:
        print(f"cache_key: {e}", file=sys.stderr)
        return 1
    docs = sorted(p for p in site.docs_dir.rglob("*") if p.is_file() and not p.is_symlink())
    extra = [site.root / name for name in SITE_FILES if (site.root / name).is_file()]
    site_hash = tree_hash([site.config_file, *extra, *docs], site.root)
    prefix = (
        f"sidecar-enrich-{os.environ.get('RUNNER_OS', sys.platform)}-"
        f"{pipeline.__version__}-{code_hash()[:16]}-"
    )
    cache = site.state_dir / "cache"
    try:
        shown = os.path.relpath(cache)
    except ValueError:
        shown = str(cache)
    print(f"path={shown}")
    print(f"key={prefix}{site_hash[:16]}")
    print(f"restore-keys={prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
