"""Head tags, og:image, the feed and llms.txt on the three real sites, built with the plugin.

Built from what the repositories hold (no sidecars: the fallbacks, the page's own text),
so this needs no API; what the sinks do with generated text is in test_sinks.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest
from conftest import ROOT
from test_corpora import _RELAX_LINKS

pytestmark = pytest.mark.corpus

ATOM = {"a": "http://www.w3.org/2005/Atom"}
SITE_URL = "https://example.invalid/"  # what the three corpora set
# An entity left in a value after one HTML parse: it was escaped twice (`&amp;mdash;`).
ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);")


class _Head(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self.ld: list[str] = []
        self.feed_links = 0
        self._in_ld = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("name") or a.get("property")):
            self.values[a.get("name") or a.get("property") or ""] = a.get("content") or ""
        elif tag == "link" and a.get("type") == "application/atom+xml":
            self.feed_links += 1
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_data(self, data):
        if self._in_ld:
            self.ld.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_ld = False


def head_of(path: Path) -> _Head:
    parser = _Head()
    text = path.read_text(encoding="utf-8")
    parser.feed(text[: text.find("</head>") + len("</head>")])  # the head is all we read
    return parser


def build_corpus(root: Path) -> Path:
    config = root / "mkdocs.yml"
    text = config.read_text()
    assert "plugins:\n  - search\n" in text
    config.write_text(
        text.replace("plugins:\n  - search\n", "plugins:\n  - search\n  - enrich\n") + _RELAX_LINKS
    )
    out = root / "built"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"},
    )
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
        head = head_of(path)
        rel = path.relative_to(out).as_posix()
        values = list(head.values.values())
        for ld in head.ld:
            values += [v for v in json.loads(ld).values() if isinstance(v, str)]
        double_escaped += [(rel, v) for v in values if ENTITY.search(v)]
        none_values += [rel for v in values if v == "None"]
        image = head.values.get("og:image")
        if image is not None:
            local = unquote(image.removeprefix(SITE_URL))
            if not (
                image.startswith(SITE_URL)
                and local.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".webp"))
                and (out / local).is_file()
            ):
                bad_images.append((rel, image))
        advertised += head.feed_links > 0
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
