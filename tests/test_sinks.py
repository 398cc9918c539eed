"""The pure sinks as fixture files: head tags and the Atom feed (llms.txt: test_llms.py).

Each case is an input beside the output written by hand from what is right, in
tests/fixtures/<sink>/ (markdown-it-py's tests/test_port is the model):
  head/<case>.yml         page (PageHead fields), theme_head (what the theme printed),
                          expected (the page after rewrite_head)
  feed/<case>.yml         atom_feed arguments  ->  <case>.expected.xml
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml

from pipeline.render.feeds import Entry, atom_feed
from pipeline.render.html import PageHead, head_for, rewrite_head

FIXTURES = Path(__file__).parent / "fixtures"


def cases(sink: str) -> list[Path]:
    return sorted((FIXTURES / sink).glob("*.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- head -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", cases("head"), ids=lambda p: p.stem)
def test_head(path):
    case = load(path)
    page = PageHead(**case["page"])
    out = rewrite_head(case["theme_head"], lambda printed: head_for(page, printed))
    assert out == case["expected"]


# --- feed -----------------------------------------------------------------------------------


def _entry(data: dict) -> Entry:
    return Entry(
        title=data["title"],
        url=data["url"],
        date=dt.datetime.fromisoformat(str(data["date"])),
        updated=dt.datetime.fromisoformat(str(data["updated"])),
        abstract=data["abstract"],
        authors=tuple(data.get("authors", ())),
    )


@pytest.mark.parametrize("path", cases("feed"), ids=lambda p: p.stem)
def test_feed(path):
    case = load(path)
    out = atom_feed(
        title=case["title"],
        site_url=case["site_url"],
        feed_url=case["feed_url"],
        entries=[_entry(e) for e in case["entries"]],
    )
    ElementTree.fromstring(out)  # well-formed, whatever the text held
    expected = path.with_suffix(".expected.xml").read_text(encoding="utf-8")
    # Compared as XML (canonical form): what a feed reader reads, not the serializer's
    # choice of quotes or self-closing tags.
    assert ElementTree.canonicalize(out.decode("utf-8"), strip_text=True) == (
        ElementTree.canonicalize(expected, strip_text=True)
    )


def test_a_feed_needs_posts():
    with pytest.raises(ValueError, match="at least one entry"):
        atom_feed(title="t", site_url="https://x/", feed_url="https://x/feed.xml", entries=[])
