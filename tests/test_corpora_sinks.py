"""Head tags, og:image, the feed and llms.txt on the three real sites, built with the plugin.

Built from what the repositories hold (no sidecars: the fallbacks, the page's own text),
so this needs no API; what the sinks do with generated text is in test_sinks.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from sitebuild import enable_plugin, mkdocs_build, parse_page

pytestmark = pytest.mark.corpus

ATOM = {"a": "http://www.w3.org/2005/Atom"}
SITE_URL = "https://example.invalid/"  # what the three corpora set
# An entity left in a value after one HTML parse: it was escaped twice (`&amp;mdash;`).
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);")


def build_corpus(root: Path) -> Path:
    out = root / "built"
    proc = mkdocs_build(enable_plugin(root), out, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return out


@pytest.mark.parametrize(
    ("name", "has_posts"), [("fastapi", False), ("mkdocs-material", True), ("textual-blog", True)]
)
def test_corpus_sinks(corpus_copy, name, has_posts):
    out = build_corpus(corpus_copy(name))
    pages = [p for p in sorted(out.rglob("*.html")) if p.name != "404.html"]
    double_escaped, none_values, bad_images, advertised = [], [], [], 0
    for path in pages:
        head = parse_page(path, head_only=True)  # the head is all we read
        rel = path.relative_to(out).as_posix()
        values = list(head.meta.values())
        for ld in head.scripts:
            values += [v for v in json.loads(ld).values() if isinstance(v, str)]
        double_escaped += [(rel, v) for v in values if ENTITY.search(v)]
        none_values += [rel for v in values if v == "None"]
        image = head.meta.get("og:image")
        if image is not None:
            local = unquote(image.removeprefix(SITE_URL))
            if not (
                image.startswith(SITE_URL)
                and local.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
                and (out / local).is_file()
            ):
                bad_images.append((rel, image))
        advertised += any(a.get("type") == "application/atom+xml" for a in head.links)
    assert double_escaped == []
    assert none_values == []
    assert bad_images == []

    feed_file = out / "feed.xml"
    if not has_posts:
        assert not feed_file.exists()
        assert advertised == 0
    else:
        feed = ElementTree.parse(feed_file).getroot()  # well-formed
        entries = feed.findall("a:entry", ATOM)
        assert entries
        newest = max(e.findtext("a:updated", namespaces=ATOM) for e in entries)
        assert feed.findtext("a:updated", namespaces=ATOM) == newest
        titles = [e.findtext("a:title", namespaces=ATOM) or "" for e in entries]
        assert [t for t in titles if ENTITY.search(t)] == []
        assert all(e.find("a:author/a:name", ATOM) is not None for e in entries)
        assert advertised == len(pages)

    llms = (out / "llms.txt").read_text(encoding="utf-8")
    assert ENTITY.findall(llms) == []
    assert "]()" not in llms
