"""llms.txt v2 and markdown copies: fixture files for the pure builders (input beside the
expected output, written by hand), then real `mkdocs build`s of the demo site checked
against the llms.txt grammar and the v2 discovery links."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from pipeline.render.llms import (
    NavNode,
    PageEntry,
    SiteInfo,
    build_llms,
    copy_path,
    covering_file,
    md_inline,
    section_files,
)
from pipeline.render.markdown_copy import fence_languages, markdown_copy

FIXTURES = Path(__file__).parent / "fixtures"
LLMS_CASES = sorted((FIXTURES / "llms").glob("*.json"))
COPY_CASES = sorted((FIXTURES / "markdown_copy").glob("*.html"))


def _nav(data: list[dict]) -> list[NavNode]:
    return [
        NavNode(n.get("title", ""), n.get("url"), tuple(_nav(n.get("children", [])))) for n in data
    ]


def _expected_files(path: Path) -> dict[str, str]:
    """`==> name <==` blocks (as `head` prints several files) -> {name: text}."""
    files: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("==> ") and line.endswith(" <=="):
            current = line[4:-4]
            files[current] = []
        else:
            files[current].append(line)
    return {name: "\n".join(lines).strip("\n") + "\n" for name, lines in files.items()}


@pytest.mark.parametrize("case", LLMS_CASES, ids=lambda p: p.stem)
def test_llms_txt_fixture(case: Path):
    data = json.loads(case.read_text(encoding="utf-8"))
    site = SiteInfo(**data["site"])
    nav = _nav(data["nav"])
    pages = {p["url"]: PageEntry(**p) for p in data["pages"]}
    files = build_llms(site, nav, pages, sections=data["sections"], copies=data.get("copies"))
    assert files == _expected_files(case.with_suffix(".expected.txt"))
    own = section_files(nav) if data["sections"] else {}
    for url, expected in data.get("covering", {}).items():
        assert covering_file(url, own) == expected, url


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


def _plain(value: str) -> str:
    return " ".join("".join(c for c in value if c.isprintable() or c in "\n\t").split())


@pytest.mark.parametrize("case", LLMS_CASES, ids=lambda p: p.stem)
def test_llms_txt_renders_as_the_text_it_was_given(case: Path):
    """Each line of llms.txt, rendered by a CommonMark renderer, shows exactly the text it
    was given and no markup of its own: the escapes are the ones markdown needs, and
    enough. (Bidi and control characters are dropped; an empty note shows the title.)"""
    data = json.loads(case.read_text(encoding="utf-8"))
    site = SiteInfo(**data["site"])
    pages = {p["url"]: PageEntry(**p) for p in data["pages"]}
    text = build_llms(site, _nav(data["nav"]), pages, sections=False)["llms.txt"]
    lines = text.split("\n")
    assert _render(lines[0]) == (["h1"], _plain(site.name))
    quote = [line for line in lines if line.startswith("> ")]
    home = pages.get(site.home_url)
    if quote:
        shown = _plain(site.description or (home.note if home else ""))
        assert _render(quote[0]) == (["blockquote", "p"], shown)
    for line in (x for x in lines if x.startswith("## ")):
        assert _render(line)[0] == ["h2"], line
    items = [line for line in lines if line.startswith("- [")]
    assert len(items) == len(pages)
    wanted = {_plain(p.title) + ": " + (_plain(p.note) or _plain(p.title)) for p in pages.values()}
    for line in items:
        tags, shown = _render(line)
        assert tags == ["ul", "li", "a"], line
        assert shown in wanted, line


@pytest.mark.parametrize("case", COPY_CASES, ids=lambda p: p.stem)
def test_markdown_copy_fixture(case: Path):
    first, html = case.read_text(encoding="utf-8").split("\n", 1)
    meta = json.loads(first.removeprefix("<!--").removesuffix("-->"))
    source = case.with_suffix(".source.md")  # the page's markdown, for fence languages
    got = markdown_copy(
        html,
        title=meta["title"],
        page_url=meta["page_url"],
        copy_path=meta["copy_path"],
        site_url=meta.get("site_url"),
        languages=fence_languages(source.read_text(encoding="utf-8")) if source.exists() else None,
        directive=meta.get("directive"),
    )
    assert got == case.with_suffix(".expected.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("", "index.md"),
        ("index.html", "index.md"),
        ("guides/", "guides.md"),
        ("guides/fix-a-flat/", "guides/fix-a-flat.md"),
        ("guides/fix-a-flat.html", "guides/fix-a-flat.md"),
        ("guides/index.html", "guides/index.md"),
        ("my%20page/", "my%20page.md"),
    ],
)
def test_copy_path_replaces_the_trailing_slash_or_html(url, path):
    assert copy_path(url) == path


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain words, nothing to do.", "plain words, nothing to do."),
        ('Tom & Jerry\'s "bikes"', 'Tom & Jerry\'s "bikes"'),  # no entities
        ("a\n  b\tc", "a b c"),
        ("[x](y)", "\\[x\\](y)"),
        ("&copy; &#169; &#xA9;", "\\&copy; \\&#169; \\&#xA9;"),
        ("> quote", "\\> quote"),
        ("+ item", "\\+ item"),
        ("10) item", "10\\) item"),
        ("2024 was good", "2024 was good"),
        ("title ##", "title \\##"),
        ("a <br> b <", "a \\<br> b <"),
    ],
)
def test_md_inline_escapes_only_what_markdown_reads(text, shown):
    assert md_inline(text) == shown
