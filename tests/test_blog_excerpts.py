"""Material blog posts without `<!-- more -->` get the abstract as excerpt, and keep what
Material gives a post with a separator on every listing (index, pagination, archive,
category, author): the title linked to the post and "Continue reading". Real
`mkdocs build` runs; the built listings are parsed back."""

from __future__ import annotations

import posixpath
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sitebuild import mkdocs_build

CONFIG = """
site_name: Excerpts
site_url: https://example.org/
docs_dir: content
theme:
  name: material
  font: false
plugins:
  - search
  - blog:
      pagination_per_page: 2
      authors_profiles: true
  - enrich
"""


class Listing(HTMLParser):
    """Each excerpt on a listing: its title links, its "read on" links and its text."""

    def __init__(self):
        super().__init__()
        self.excerpts: list[dict] = []
        self._depth = 0  # <article> nesting inside the current excerpt
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "article" and "md-post--excerpt" in (a.get("class") or "").split():
            self.excerpts.append({"title": [], "more": [], "text": ""})
            self._depth = 1
            return
        if not self._depth:
            return
        if tag == "article":
            self._depth += 1
        if tag in ("h2", "nav"):
            self._in.append("title" if tag == "h2" else (a.get("class") or ""))
        if tag == "a" and self._in:
            if self._in[-1] == "title":
                self.excerpts[-1]["title"].append(a.get("href"))
            elif "md-post__action" in self._in[-1]:
                self.excerpts[-1]["more"].append(a.get("href"))

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag in ("h2", "nav") and self._in:
            self._in.pop()
        if tag == "article":
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.excerpts[-1]["text"] += data


def listings(out: Path) -> dict[str, list[dict]]:
    """Every built page under blog/ that lists excerpts -> its excerpts, links resolved
    to site paths."""
    found = {}
    for path in sorted(out.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if "md-post--excerpt" not in text:
            continue
        parser = Listing()
        parser.feed(text)
        here = path.parent.relative_to(out).as_posix()
        for excerpt in parser.excerpts:
            for key in ("title", "more"):
                excerpt[key] = [
                    posixpath.normpath(posixpath.join(here, h)) + "/" for h in excerpt[key]
                ]
        found[path.relative_to(out).as_posix()] = parser.excerpts
    return found


def post_urls(out: Path, blog: str = "blog") -> set[str]:
    """Site paths of the built post pages (their URLs hold the date)."""
    return {
        p.parent.relative_to(out).as_posix() + "/"
        for p in (out / blog).glob("[12][0-9][0-9][0-9]/**/index.html")
    }


@pytest.fixture
def blog(site, fake_api):
    site.set_config(CONFIG)
    site.write("index.md", "# Home\n\nThe home page of a small blog.\n")
    site.write("blog/index.md", "# Blog\n")
    site.write(
        "blog/.authors.yml",
        "authors:\n  jo:\n    name: Jo\n    description: Writes\n    avatar: ../img/jo.png\n",
    )

    def post(name, date, head, body, *, more=False):
        sep = "\n\n<!-- more -->\n\nThe rest of the post.\n" if more else "\n"
        site.write(
            f"blog/posts/{name}.md",
            f"---\ndate: {date}\ncategories:\n  - News\nauthors:\n  - jo\n{head}---\n\n"
            + body
            + sep,
        )

    body = "\n\n".join(f"Paragraph {n} of a long post body, as written." for n in range(5))
    post("one", "2024-03-01", "", "# One & only\n\n" + body)
    post("two", "2024-02-01", "title: Two from meta\n", body)  # title in meta, no H1
    post("three", "2023-12-01", "", "# Three\n\nThe excerpt the author chose.", more=True)
    post("four", "2023-11-01", "", "# Four\n\n" + body)
    fake_api.responses_by_marker.update(
        {
            f"Title: {title}": {"summary": f"{key} summary.", "abstract": f"{key}-ABSTRACT text."}
            for key, title in [
                ("ONE", "One & only"),
                ("TWO", "Two from meta"),
                ("FOUR", "Four"),
                ("THREE", "Three"),
            ]
        }
    )
    assert site.run("enrich").code == 0
    return site


def test_every_listing_links_each_abstract_excerpt_to_its_post(blog):
    out = blog.root / "out"
    proc = mkdocs_build(blog.config, out)
    assert proc.returncode == 0, proc.stderr
    posts = post_urls(out)
    assert len(posts) == 4
    found = listings(out)
    kinds = {"blog/index.html", "blog/page/2/index.html", "blog/archive/2024/index.html"}
    kinds |= {"blog/archive/2023/index.html", "blog/category/news/index.html"}
    kinds |= {"blog/author/jo/index.html"}
    assert kinds <= set(found), sorted(found)
    seen = set()
    for listing, excerpts in found.items():
        assert excerpts, listing
        for excerpt in excerpts:
            (title,) = excerpt["title"]
            assert title in posts, (listing, excerpt)
            assert excerpt["more"] == [title], (listing, excerpt)  # "Continue reading"
            assert "Continue reading" in excerpt["text"]
            seen.add(title)
    assert seen == posts
    index = " ".join(e["text"] for e in found["blog/index.html"] + found["blog/page/2/index.html"])
    for text in ("One & only", "ONE-ABSTRACT", "Two from meta", "TWO-ABSTRACT", "FOUR-ABSTRACT"):
        assert text in index
    assert "The excerpt the author chose." in index and "THREE-ABSTRACT" not in index


def test_the_post_page_itself_stays_as_written(blog):
    out = blog.root / "out"
    assert mkdocs_build(blog.config, out).returncode == 0
    (page,) = [p for p in (out / "blog").rglob("index.html") if "/2024/03/01/" in p.as_posix()]
    text = page.read_text(encoding="utf-8")
    assert "Paragraph 0 of a long post body, as written." in text
    assert "Paragraph 4 of a long post body, as written." in text
    assert "ONE-ABSTRACT" not in text


@pytest.mark.corpus
def test_corpus_blog_without_any_separator_links_every_excerpt(corpus_copy):
    root = corpus_copy("mkdocs-material")
    posts_dir = root / "docs" / "blog" / "posts"
    removed = 0
    for path in posts_dir.rglob("*.md"):
        text = path.read_text(encoding="utf-8")
        removed += text.count("<!-- more -->")
        path.write_text(text.replace("<!-- more -->", ""), encoding="utf-8")
    assert removed > 0
    config = root / "mkdocs.yml"
    text = config.read_text()
    config.write_text(text.replace("plugins:\n  - search\n", "plugins:\n  - search\n  - enrich\n"))
    out = root / "built"
    proc = mkdocs_build(config, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    posts = post_urls(out)
    found = listings(out)
    excerpts = [e for es in found.values() for e in es]
    assert len(posts) >= 10 and len(excerpts) >= len(posts)
    for listing, es in found.items():
        for excerpt in es:
            assert len(excerpt["title"]) == 1 and excerpt["title"][0] in posts, (listing, excerpt)
            assert excerpt["more"] == excerpt["title"], (listing, excerpt)
    assert {e["title"][0] for e in excerpts} == posts
