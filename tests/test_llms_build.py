"""llms.txt v2 on a real `mkdocs build` of the demo site (content/ and mkdocs.yml copied
to tmp_path): the file keeps the llmstxt.org grammar, every link in it resolves to a
file in site/, and every HTML page (blog listings and 404 aside) links its markdown copy
and the llms.txt that covers it, both resolving."""

from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from conftest import ROOT
from markdown_it import MarkdownIt
from sitebuild import mkdocs_build, parse_html

SITE_URL = "https://example.org/harbor-street/"
HEADING = re.compile(r"^#{1,6} \S")
QUOTE = re.compile(r"^> \S")
ITEM = re.compile(
    r"^- \[(?P<title>(?:[^\[\]\\]|\\.)+)\]\((?P<url>[^\s()<>]+)\)(?:: (?P<note>\S.*))?$"
)
LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])(?:\s|$)")
# Listings the blog plugin generates (no source page of their own), and the 404 page.
LISTING = re.compile(r"^(?:404\.html|blog/(?:archive|category|page)/)")
DIRECTIVE = re.compile(
    r"^> For AI agents: the documentation index is \[llms\.txt\]\((?P<url>[^)\s]+)\); "
)


def check_grammar(text: str) -> list[dict]:
    """Every line is a heading, a blockquote, blank, prose, or a well-formed list item;
    the first is the H1. -> the list items."""
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = text[:-1].split("\n")
    assert lines[0].startswith("# ") and lines[0][2:].strip(), "an H1 comes first"
    items = []
    for n, line in enumerate(lines, 1):
        if not line or HEADING.match(line) or QUOTE.match(line):
            continue
        match = ITEM.match(line)
        if match:
            items.append(match.groupdict())
            continue
        assert not LIST_MARKER.match(line), f"line {n}: malformed list item: {line!r}"
        assert not line.startswith((" ", "\t", "#", ">")), f"line {n}: {line!r}"
    return items


def resolve(site_dir: Path, from_file: str, url: str) -> Path:
    """A link as written in a file of site/ (at `from_file`) -> the file it names;
    root-relative links only from a copy (they resolve where the site is served)."""
    if url.startswith(SITE_URL):
        rel = url[len(SITE_URL) :]
    elif url.startswith("/") and from_file.endswith(".md"):
        rel = url[1:]
    else:
        assert not urlsplit(url).scheme and not url.startswith("/"), url
        rel = posixpath.normpath(posixpath.join(posixpath.dirname(from_file), url))
    rel = unquote(rel.split("#", 1)[0])
    path = site_dir / rel
    return path / "index.html" if rel.endswith("/") or path.is_dir() else path


def head_links(html: str) -> tuple[list[str], list[str]]:
    parser = parse_html(html, head_only=True)
    alt = [
        a["href"]
        for a in parser.links
        if a.get("rel") == "alternate" and a.get("type") == "text/markdown"
    ]
    described = [a["href"] for a in parser.links if a.get("rel") == "describedby"]
    return alt, described


def build_demo(tmp_path: Path, **changes) -> Path:
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    if changes:
        data = yaml.safe_load(config)
        for key, value in changes.items():
            if key == "site_url" and value is None:
                data.pop("site_url")
            elif key in ("llms_txt_sections", "llms_full_txt"):
                plugin = next(p for p in data["plugins"] if isinstance(p, dict) and "enrich" in p)
                plugin["enrich"][key] = value
        config = yaml.safe_dump(data, sort_keys=False)
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    result = mkdocs_build(root / "mkdocs.yml", root / "site", "--strict", timeout=240)
    assert result.returncode == 0, result.stderr
    return root / "site"


def html_pages(site_dir: Path) -> list[str]:
    pages = [p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")]
    return sorted(p for p in pages if not LISTING.match(p))


def check_site(site_dir: Path, expect_describedby) -> dict[str, list[dict]]:
    """Grammar and links of every llms*.txt, and both head links of every page."""
    listed: dict[str, list[dict]] = {}
    for path in sorted(site_dir.rglob("llms.txt")):
        rel = path.relative_to(site_dir).as_posix()
        items = check_grammar(path.read_text(encoding="utf-8"))
        assert items, rel
        for item in items:
            assert item["note"], f"{rel}: {item['title']} has no note"
            assert resolve(site_dir, rel, item["url"]).is_file(), f"{rel}: {item['url']}"
        listed[rel] = items
    pages = html_pages(site_dir)
    assert len(pages) == 11
    for page in pages:
        alt, described = head_links((site_dir / page).read_text(encoding="utf-8"))
        assert len(alt) == 1 and len(described) == 1, page
        copy = resolve(site_dir, page, alt[0])
        assert copy.is_file() and copy.suffix == ".md", page
        first, rest = copy.read_text(encoding="utf-8").split("\n\n", 1)
        # The llms.txt directive opens the copy, naming the llms.txt covering the page.
        directive = DIRECTIVE.match(first)
        assert directive, page
        copy_rel = copy.relative_to(site_dir).as_posix()
        named = resolve(site_dir, copy_rel, directive["url"]).relative_to(site_dir)
        assert named.as_posix() == expect_describedby(page), page
        assert rest.startswith("# "), page
        index = resolve(site_dir, page, described[0])
        assert index.is_file(), page
        assert index.relative_to(site_dir).as_posix() == expect_describedby(page), page
    return listed


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("llms"))


def test_demo_llms_txt_keeps_the_grammar_and_every_link_resolves(demo_site):
    listed = check_site(demo_site, lambda page: "llms.txt")
    assert list(listed) == ["llms.txt"]
    text = (demo_site / "llms.txt").read_text(encoding="utf-8")
    assert text.startswith("# Harbor Street Bike Co-op\n\n> A volunteer-run community bike")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Pages", "## Guides", "## Blog"]  # the nav's sections
    urls = [i["url"] for i in listed["llms.txt"]]
    assert all(u.startswith(SITE_URL) and u.endswith(".md") for u in urls)
    # Every page with a source is listed once: the 11 HTML pages are the 11 copies.
    assert len(urls) == len(set(urls)) == 11
    assert not (demo_site / "llms-full.txt").exists()


def test_demo_markdown_copy_is_the_rendered_article(demo_site):
    copy = (demo_site / "guides" / "fix-a-flat.md").read_text(encoding="utf-8")
    assert copy.split("\n\n", 1)[1].startswith("# Fix a flat tire\n")
    assert "---" not in copy.splitlines()[0:3]  # no front matter
    # Alt text the plugin filled in is in the copy, with the image path absolute.
    assert "![Three plastic tire levers, two blue and one yellow" in copy
    assert f"]({SITE_URL}img/tire-levers.png)" in copy
    assert "<p>" not in copy and "<img" not in copy


def test_demo_sections_full_and_relative_links(tmp_path):
    site_dir = build_demo(tmp_path, site_url=None, llms_txt_sections=True, llms_full_txt=True)

    def covering(page: str) -> str:
        for folder in ("guides/", "blog/"):
            if page.startswith(folder):
                return folder + "llms.txt"
        return "llms.txt"

    listed = check_site(site_dir, covering)
    assert sorted(listed) == ["blog/llms.txt", "guides/llms.txt", "llms.txt"]
    for items in listed.values():
        assert not any(i["url"].startswith(("http:", "https:", "/")) for i in items)
    root_urls = [i["url"] for i in listed["llms.txt"]]
    assert "guides/llms.txt" in root_urls and "blog/llms.txt" in root_urls
    full = (site_dir / "llms-full.txt").read_text(encoding="utf-8")
    assert full.startswith("# Harbor Street Bike Co-op\n")
    # Each part opens with its page's title and URL, root-relative without site_url.
    assert "# Fix a flat tire\n\nURL: </guides/fix-a-flat/>\n" in full
    assert "# Ten years on Harbor Street\n\nURL: </blog/2024/09/28/" in full
    assert "For AI agents" not in full
    # Links in copies (and so in llms-full.txt) are root-relative: none relative.
    links = [
        str(child.attrs.get("href") or child.attrs.get("src"))
        for token in MarkdownIt("commonmark").parse(full)
        for child in token.children or ()
        if child.type in ("link_open", "image")
    ]
    assert links and all(u.startswith(("/", "https:", "http:", "mailto:", "#")) for u in links)


def test_demo_listings_copy_as_their_posts(demo_site):
    """The blog index and every listing the blog generates: a list of posts, each with
    its title, date, link to the post's copy and abstract."""
    post = re.compile(
        r"^- \[(?P<title>[^\]]+)\]\((?P<url>[^)\s]+)\) "
        r"\((?P<date>\d{4}-\d\d-\d\d)\): (?P<note>\S.*)$"
    )
    listings = ["blog.md", "blog/archive/2024.md", "blog/category/workshop.md"]
    found: dict[str, list[dict]] = {}
    for rel in listings:
        lines = (demo_site / rel).read_text(encoding="utf-8").splitlines()
        assert DIRECTIVE.match(lines[0]) and lines[2].startswith("# "), rel
        items = [m.groupdict() for line in lines[3:] if (m := post.match(line))]
        assert len(items) == len([line for line in lines[3:] if line]), rel
        for item in items:
            copy = resolve(demo_site, rel, item["url"])
            assert copy.suffix == ".md" and copy.is_file(), item["url"]
            assert copy.read_text(encoding="utf-8").split("\n\n")[1] == f"# {item['title']}"
        found[rel] = items
    assert [i["date"] for i in found["blog.md"]] == ["2024-09-28", "2024-05-18", "2024-03-09"]
    assert found["blog/archive/2024.md"] == found["blog.md"]
    assert [i["title"] for i in found["blog/category/workshop.md"]] == [
        "A Saturday workshop on truing wheels"
    ]
