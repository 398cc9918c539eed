"""The MkDocs plugin: real `mkdocs build` runs over sites in tmp_path, output parsed back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from html import unescape
from xml.etree import ElementTree

import pytest
from conftest import png_bytes
from markdown_it import MarkdownIt
from sitebuild import build, child_env, configure, parse_page

from pipeline import sidecars as store


def configure_material(site, *, theme: str = "material", blog: bool = False) -> None:
    """A name and description with characters each sink must escape."""
    configure(
        site,
        site_name='Test & "Co"',
        site_description="A test site.",
        theme=theme,
        blog=blog,
        extensions=("attr_list",),
    )


@pytest.fixture
def blog_site(site, fake_api):
    """A Material site with a blog, images and sidecars made through the fake API."""
    configure_material(site, blog=True)
    site.write("img/photo.png", png_bytes((90, 60, 30), size=(800, 600)))
    site.write("img/deco.png", png_bytes((250, 250, 250), size=(40, 40)))
    site.write("img/my pic.png", png_bytes((10, 200, 10)))
    site.write(
        "index.md",
        """
        # Home

        Welcome to the test site, where we test things.

        ![](img/photo.png)

        <img src="/img/my%20pic.png">

        ![][deco]

        ![Written by the author](img/my%20pic.png)

        [deco]: img/deco.png
        """,
    )
    site.write(
        "about.md",
        "---\ndescription: The author's own words.\n---\n\n# About\n\nAbout us, at length.\n",
    )
    site.write("blog/index.md", "# Blog\n")
    site.write(
        "blog/posts/long.md",
        "---\ndate: 2024-03-01\n---\n\n# A long post\n\n"
        + "\n\n".join(f"Paragraph {n} of the long post body." for n in range(8))
        + "\n",
    )
    site.write(
        "blog/posts/short.md",
        "---\ndate: 2024-02-01\n---\n\n# Short post\n\nThe excerpt the author chose.\n\n"
        "<!-- more -->\n\nThe rest of it.\n",
    )
    fake_api.responses_by_marker.update(
        {
            "File name: deco.png": {"alt": "", "decorative": True},
            "File name: photo.png": {"alt": "A brown photo of the workshop", "decorative": False},
            "Title: A long post": {"summary": "Long post.", "abstract": "LONGPOST abstract."},
            "Title: Home": {"summary": "HOME summary.", "abstract": "HOME abstract."},
        }
    )
    assert site.run("enrich").code == 0
    return site


def test_meta_description_og_tags_and_json_ld(blog_site):
    result = build(blog_site, "--strict")
    assert result.returncode == 0, result.stderr
    page = parse_page(blog_site.root / "site" / "index.html")
    assert page.meta["description"] == "HOME summary."
    assert page.meta["og:title"] == "Home"
    assert page.meta["og:description"] == "HOME summary."
    assert page.meta["og:url"] == "https://example.org/sub/"
    assert page.meta["og:image"] == "https://example.org/sub/img/photo.png"
    assert page.meta["og:image:alt"] == "A brown photo of the workshop"
    assert page.meta["twitter:card"] == "summary_large_image"
    (ld,) = page.scripts
    assert json.loads(ld)["description"] == "HOME summary."


def test_author_description_wins(blog_site):
    build(blog_site, "--strict")
    page = parse_page(blog_site.root / "site" / "about" / "index.html")
    assert page.meta["description"] == "The author's own words."
    assert page.meta["og:description"] == "The author's own words."


def test_alt_injected_by_resolved_src_and_author_alt_kept(blog_site):
    build(blog_site, "--strict")
    imgs = {i["src"]: i.get("alt") for i in parse_page(blog_site.root / "site" / "index.html").imgs}
    assert imgs["img/photo.png"] == "A brown photo of the workshop"
    assert imgs["img/deco.png"] == ""  # decorative: explicit empty alt
    # Root-absolute, %-encoded raw HTML gets the author's alt from the other reference.
    assert imgs["/img/my%20pic.png"] == "Written by the author"
    assert imgs["img/my%20pic.png"] == "Written by the author"


def test_sidecars_and_ledger_are_never_published(blog_site):
    build(blog_site, "--strict")
    out = blog_site.root / "site"
    published = [p.name for p in out.rglob("*")]
    assert not [n for n in published if n.endswith(".enrich.yml")]
    assert "ledger.jsonl" not in published
    assert (blog_site.docs / "index.md.enrich.yml").exists()


def test_blog_index_shows_abstract_for_posts_without_separator(blog_site):
    build(blog_site, "--strict")
    index = (blog_site.root / "site" / "blog" / "index.html").read_text()
    assert "LONGPOST abstract." in index
    assert "Paragraph 5 of the long post" not in index  # not the whole post
    assert "The excerpt the author chose." in index  # an author's excerpt is kept
    assert "The rest of it." not in index


def test_feed_carries_abstracts_and_llms_txt_lists_summaries(blog_site):
    build(blog_site, "--strict")
    out = blog_site.root / "site"
    feed = ElementTree.parse(out / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = {
        e.findtext("a:title", namespaces=ns): e.findtext("a:summary", namespaces=ns)
        for e in feed.findall("a:entry", ns)
    }
    assert entries["A long post"] == "LONGPOST abstract."
    assert entries["Short post"]  # a generated abstract for the short post too
    llms = (out / "llms.txt").read_text()
    # Plain text: markdown needs no entity for & or ".
    assert llms.startswith('# Test & "Co"\n')
    # Links go to the markdown copies; the note is the abstract, the author's words first.
    assert "- [Home](https://example.org/sub/index.md): HOME abstract." in llms
    assert "- [About](https://example.org/sub/about.md): The author's own words." in llms


def test_links_and_sitemap_work_under_a_sub_path(blog_site):
    build(blog_site, "--strict")
    out = blog_site.root / "site"
    sitemap = (out / "sitemap.xml").read_text()
    assert "https://example.org/sub/about/" in sitemap
    feed = (out / "feed.xml").read_text()
    assert "https://example.org/sub/blog/2024/03/01/a-long-post/" in feed


def test_default_mkdocs_theme_gets_the_same_tags(site, fake_api):
    configure_material(site, theme="mkdocs")
    site.write("index.md", "# Home\n\nWelcome home.\n")
    site.write("guide.md", "# Guide\n\nWelcome to the guide.\n\n![](pic.png)\n")
    site.write("pic.png", png_bytes())
    fake_api.responses_by_marker["Title: Guide"] = {"summary": "S.", "abstract": "A."}
    fake_api.responses_by_marker["Title: Home"] = {"summary": "HOME S.", "abstract": "A."}
    fake_api.responses_by_marker["File name: pic.png"] = {"alt": "A red tile", "decorative": False}
    site.run("enrich")
    assert build(site, "--strict").returncode == 0
    page = parse_page(site.root / "site" / "guide" / "index.html")
    assert page.meta["description"] == "S."  # this theme prints no page description itself
    assert page.meta["og:description"] == "S."
    assert page.meta["twitter:card"] == "summary_large_image"
    assert [i.get("alt") for i in page.imgs] == ["A red tile"]
    # Its home page prints the site's description; the page's own summary replaces it.
    home = parse_page(site.root / "site" / "index.html")
    assert home.meta["description"] == home.meta["og:description"] == "HOME S."


# --- staleness ------------------------------------------------------------------------------


def test_changed_page_warns_naming_the_file_and_fails_strict(blog_site):
    blog_site.write("about.md", "# About\n\nCompletely new words.\n")  # no description now
    blog_site.write("index.md", "# Home\n\nNew words entirely.\n")
    relaxed = build(blog_site)
    assert relaxed.returncode == 0
    assert "content/index.md: changed since its summary was made" in relaxed.stderr
    strict = build(blog_site, "--strict")
    assert strict.returncode != 0
    # The committed (older) summary is still used meanwhile.
    assert parse_page(blog_site.root / "site" / "index.html").meta["description"] == "HOME summary."


def test_on_stale_fail_stops_the_build(blog_site):
    cfg = blog_site.config.read_text().replace("on_stale: warn", "on_stale: fail")
    blog_site.config.write_text(cfg)
    blog_site.write("index.md", "# Home\n\nNew words entirely.\n")
    result = build(blog_site)
    assert result.returncode != 0
    assert "index.md: changed since its summary was made" in result.stderr
    assert "Traceback" not in result.stderr


def test_outdated_items_build_without_warning(blog_site):
    cfg = blog_site.config.read_text().replace(
        "on_stale: warn", "on_stale: warn\n      model: claude-haiku-4-5"
    )
    blog_site.config.write_text(cfg)
    result = build(blog_site, "--strict")
    assert result.returncode == 0, result.stderr
    assert "changed since" not in result.stderr


def test_no_sidecars_at_all_still_builds_with_fallbacks(site):
    configure_material(site)
    site.write("index.md", "# Home\n\nThe first paragraph is the fallback.\n\nMore.\n")
    site.write("about.md", "---\ndescription: Author text.\n---\n\n# About\n\nUs.\n")
    result = build(site, "--strict")
    assert result.returncode == 0, result.stderr
    assert parse_page(site.root / "site" / "index.html").meta["description"] == (
        "The first paragraph is the fallback."
    )
    assert (
        parse_page(site.root / "site" / "about" / "index.html").meta["description"]
        == "Author text."
    )


# --- no network, no model -------------------------------------------------------------------

_BLOCKED_BUILD = textwrap.dedent(
    """
    import socket, sys
    def refuse(*args, **kwargs):
        raise OSError("network blocked by the test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    build(load_config(sys.argv[1], site_dir=sys.argv[2]))
    print("anthropic loaded:", "anthropic" in sys.modules)
    """
)


def test_build_opens_no_socket_and_never_imports_anthropic(blog_site):
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_BUILD, str(blog_site.config), str(blog_site.root / "site")],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_env(),
    )
    assert result.returncode == 0, result.stderr
    assert "anthropic loaded: False" in result.stdout
    assert (blog_site.root / "site" / "feed.xml").exists()


# --- untrusted text, escaped in every sink --------------------------------------------------

NASTY = "\"><script>alert(1)</script> & 'q' </p>\nline2"
# Sinks show text on one line: the newline a person typed is folded to a space.
SHOWN = " ".join(NASTY.split())


def _nasty_sidecars(site):
    for rel in ("index.md", "blog/posts/long.md"):
        sc = store.read(site.docs, rel + ".enrich.yml")
        from dataclasses import replace

        store.write(site.docs, rel + ".enrich.yml", replace(sc, summary=NASTY, abstract=NASTY))
    sc = store.read(site.docs, "img/photo.png.enrich.yml")
    from dataclasses import replace

    store.write(site.docs, "img/photo.png.enrich.yml", replace(sc, alt=NASTY))


def test_hostile_text_is_escaped_in_html_attributes_and_meta(blog_site):
    _nasty_sidecars(blog_site)
    assert build(blog_site, "--strict").returncode == 0
    html = (blog_site.root / "site" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html
    page = parse_page(blog_site.root / "site" / "index.html")
    # Parsed back, the attribute values are the exact text: escaped, not mangled.
    assert page.meta["description"] == SHOWN
    assert page.meta["og:description"] == SHOWN
    assert page.meta["og:image:alt"] == SHOWN
    assert {i.get("alt") for i in page.imgs if i["src"] == "img/photo.png"} == {SHOWN}


def test_hostile_text_is_escaped_in_the_html_body_listing(blog_site):
    _nasty_sidecars(blog_site)
    assert build(blog_site, "--strict").returncode == 0
    index = (blog_site.root / "site" / "blog" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index


def test_hostile_text_is_escaped_in_json_ld(blog_site):
    _nasty_sidecars(blog_site)
    build(blog_site, "--strict")
    page = parse_page(blog_site.root / "site" / "index.html")
    (ld,) = page.scripts
    assert "</script>" not in ld and "<" not in ld
    assert json.loads(ld)["description"] == SHOWN


def test_hostile_text_is_escaped_in_the_feed(blog_site):
    _nasty_sidecars(blog_site)
    build(blog_site, "--strict")
    raw = (blog_site.root / "site" / "feed.xml").read_text()
    assert "<script>" not in raw
    feed = ElementTree.fromstring(raw.encode())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    summaries = [e.findtext("a:summary", namespaces=ns) for e in feed.findall("a:entry", ns)]
    assert SHOWN in summaries


def test_hostile_text_is_escaped_in_llms_txt(blog_site):
    _nasty_sidecars(blog_site)
    build(blog_site, "--strict")
    llms = (blog_site.root / "site" / "llms.txt").read_text()
    home = next(line for line in llms.splitlines() if line.startswith("- [Home]"))
    # One line that markdown renders as the text itself, never as a tag.
    rendered = MarkdownIt("commonmark").render(home)
    assert "<script" not in rendered and "</p>" not in rendered
    assert unescape(re.sub(r"<[^>]*>", "", rendered)).strip() == f"Home: {SHOWN}"
