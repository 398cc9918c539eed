"""The scan cache hits in a fresh clone (issue 24): CI restores `.enrich/cache` into a
checkout whose every file has a new mtime; the same bytes are the same scan, other
bytes of the same size are not."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from conftest import ROOT

from pipeline.config import load_site
from pipeline.source.cache import ScanCache
from pipeline.source.discover import discover


def _demo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "content", tmp_path / "content")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path / "mkdocs.yml"


def _touch_all(docs: Path) -> int:
    """What a clone does: every file's mtime moves; its bytes stay."""
    n = 0
    for path in docs.rglob("*"):
        if path.is_file():
            st = path.stat()
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 7_000_000_000))
            n += 1
    return n


def _scan(config: Path) -> tuple[ScanCache, object]:
    site = load_site(config)
    cache = ScanCache(site.state_dir / "cache" / "scan.json")
    found = discover(site, cache)
    cache.save()
    return cache, found


def test_a_restored_cache_hits_when_only_mtimes_moved(tmp_path):
    config = _demo(tmp_path)
    cold, first = _scan(config)
    assert cold.misses > 10 and cold.hits == 0 and first.pages
    _touch_all(tmp_path / "content")
    warm, again = _scan(config)
    assert warm.misses == 0 and warm.hits == cold.misses
    assert again == first  # the same scan, read from the cache


def test_other_bytes_of_the_same_size_are_read_again(tmp_path):
    config = _demo(tmp_path)
    cold, _ = _scan(config)
    page = tmp_path / "content" / "faq.md"
    text = page.read_text(encoding="utf-8")
    swapped = text.replace("a", "e", 1)
    assert swapped != text and len(swapped) == len(text)
    page.write_text(swapped, encoding="utf-8")
    _touch_all(tmp_path / "content")
    warm, found = _scan(config)
    assert warm.misses == 1 and warm.hits == cold.misses - 1
    fresh_site = load_site(config)
    assert found == discover(fresh_site, ScanCache(None))  # as a cold scan sees it
