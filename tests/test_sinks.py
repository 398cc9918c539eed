"""The pure sinks as fixture files: head tags, the Atom feed, llms.txt.

Each case is an input beside the output written by hand from what is right, in
tests/fixtures/<sink>/ (markdown-it-py's tests/test_port is the model):
  head/<case>.yml         page (PageHead fields), theme_head (what the theme printed),
                          expected (the page after rewrite_head)
  feed/<case>.yml         atom_feed arguments  ->  <case>.expected.xml
  llms/<case>.yml         llms_txt arguments   ->  <case>.expected.txt
"""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from markdown_it import MarkdownIt

from pipeline.render.feeds import Entry, atom_feed, llms_txt
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


# --- llms.txt -------------------------------------------------------------------------------


def _llms_args(case: dict) -> dict:
    return {
        "title": case["title"],
        "description": case["description"],
        "sections": {
            name: [tuple(link) for link in links] for name, links in case["sections"].items()
        },
    }


@pytest.mark.parametrize("path", cases("llms"), ids=lambda p: p.stem)
def test_llms_txt(path):
    out = llms_txt(**_llms_args(load(path)))
    assert out == path.with_suffix(".expected.txt").read_text(encoding="utf-8")


class _Rendered(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def _render(markdown: str) -> tuple[list[str], str]:
    parser = _Rendered()
    parser.feed(MarkdownIt("commonmark").render(markdown))
    return parser.tags, " ".join("".join(parser.text).split())


@pytest.mark.parametrize("path", cases("llms"), ids=lambda p: p.stem)
def test_llms_txt_renders_as_the_text_it_was_given(path):
    """Each line, rendered by a CommonMark renderer, shows exactly the input's text and
    no markup of its own: the escapes are the ones markdown needs, and enough."""
    args = _llms_args(load(path))
    lines = llms_txt(**args).split("\n")

    def plain(value: str) -> str:
        return " ".join("".join(c for c in value if c.isprintable() or c in "\n\t").split())

    tags, text = _render(lines[0])
    assert (tags, text) == (["h1"], plain(args["title"]))
    quote = [line for line in lines if line.startswith("> ")]
    if quote:
        assert _render(quote[0]) == (["blockquote", "p"], plain(args["description"]))
    links = [line for line in lines if line.startswith("- [")]
    expected = [link for section in args["sections"].values() for link in section]
    assert len(links) == len(expected)
    for line, (name, _url, summary) in zip(links, expected, strict=True):
        tags, text = _render(line)
        assert tags == ["ul", "li", "a"], line
        shown = plain(name) + (": " + plain(summary) if plain(summary) else "")
        assert text == shown, line
