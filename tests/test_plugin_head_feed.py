"""Head tags, og:image, the feed and llms.txt in real `mkdocs build` runs (tmp_path)."""

from __future__ import annotations

import json
from dataclasses import replace
from xml.etree import ElementTree

import pytest
from conftest import png_bytes
from markdown_it import MarkdownIt
from sitebuild import build, configure, parse_page

from pipeline import sidecars as store

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def built(site, name: str = "index.html"):
    return parse_page(site.root / "site" / name)


def ok(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


# --- 3. the page's summary wins over site_description; never "None" ----------------------


@pytest.mark.parametrize("theme", ["mkdocs", "material"])
@pytest.mark.parametrize("site_description", ["", "The site in general."])
def test_home_page_summary_wins_over_site_description(site, fake_api, theme, site_description):
    configure(site, theme=theme, site_description=site_description)
    site.write("index.md", "# Home\n\nWelcome to the harbour.\n")
    site.write("guide.md", "# Guide\n\nA guide.\n")
    fake_api.responses_by_marker["Title: Home"] = {"summary": "HOME S.", "abstract": "HOME A."}
    assert site.run("enrich").code == 0
    ok(site)
    home = built(site)
    assert home.meta["description"] == "HOME S."
    assert home.meta["og:description"] == home.meta["twitter:description"] == "HOME S."
    (ld,) = home.scripts
    assert json.loads(ld)["description"] == "HOME S."
    html = (site.root / "site" / "index.html").read_text()
    assert html.count('name="description"') == 1


@pytest.mark.parametrize("theme", ["mkdocs", "material"])
def test_no_summary_and_no_site_description_never_says_none(site, theme):
    configure(site, theme=theme)
    site.write("index.md", "# Home\n")  # no paragraph, no sidecar: nothing to describe it
    ok(site)
    home = built(site)
    assert "None" not in home.meta.values()
    assert "description" not in home.meta and "og:description" not in home.meta
    (ld,) = home.scripts
    assert "None" not in json.loads(ld).values()


def test_author_description_is_read_as_the_theme_shows_it(site):
    """A folded YAML description keeps no trailing newline; its `&amp;` is one `&`."""
    configure(site, theme="material")
    site.write("index.md", "---\ndescription: >\n  Tom &amp; Jerry\n  at home\n---\n\n# Home\n")
    ok(site)
    html = (site.root / "site" / "index.html").read_text()
    assert '<meta name="description" content="Tom &amp; Jerry at home">' in html
    home = built(site)
    assert home.meta["og:description"] == "Tom & Jerry at home"


# --- 4. og:image: a raster image the site serves, absolute under site_url -------------------

NOT_CARDS = """
# Not cards

![](https://img.shields.io/badge/x-blue.png)

![](logo.svg)

<img src="{{ config.extra.card }}">

<img src="missing.png">

Text.
"""


@pytest.fixture
def images_site(site):
    configure(site)
    site.write("logo.svg", '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>')
    site.write("img/photo one.png", png_bytes())
    site.write("img/card.png", png_bytes((1, 2, 3)))
    site.write("index.md", "# Home\n\nHome.\n")
    site.write("not-cards.md", NOT_CARDS)
    site.write(
        "photo.md", NOT_CARDS.replace("# Not cards", "# Photo") + "\n![](img/photo%20one.png)\n"
    )
    return site


def test_og_image_only_from_a_served_raster_image(images_site):
    ok(images_site)
    photo = built(images_site, "photo/index.html")
    assert photo.meta["og:image"] == "https://example.org/sub/img/photo%20one.png"
    assert photo.meta["twitter:image"] == photo.meta["og:image"]
    assert photo.meta["twitter:card"] == "summary_large_image"
    # A badge from a CDN, an SVG, a template src and a file the site lacks: no card image.
    page = built(images_site, "not-cards/index.html")
    assert "og:image" not in page.meta and "twitter:image" not in page.meta
    assert page.meta["twitter:card"] == "summary"


def test_configured_og_image_for_pages_without_one(images_site):
    cfg = images_site.config.read_text().replace(
        "on_stale: warn", "on_stale: warn\n      og_image: img/card.png"
    )
    images_site.config.write_text(cfg)
    ok(images_site)
    for name in ("index.html", "not-cards/index.html"):
        assert built(images_site, name).meta["og:image"] == "https://example.org/sub/img/card.png"
    photo = built(images_site, "photo/index.html")
    assert photo.meta["og:image"] == "https://example.org/sub/img/photo%20one.png"


@pytest.mark.parametrize(
    ("value", "reason"),
    [("logo.svg", "is not a raster image"), ("img/nope.png", "is not an image file")],
)
def test_configured_og_image_is_validated(images_site, value, reason):
    cfg = images_site.config.read_text().replace(
        "on_stale: warn", f"on_stale: warn\n      og_image: {value}"
    )
    images_site.config.write_text(cfg)
    result = build(images_site)
    assert result.returncode != 0
    assert f"og_image: '{value}' {reason}" in result.stderr
    assert "Traceback" not in result.stderr


# --- 5. the feed: only with posts, advertised only then; updated, authors -------------------


def _every_page(site) -> list[str]:
    """Every page built from a page (404.html is a bare template no page hook sees)."""
    return [
        p.read_text(encoding="utf-8")
        for p in (site.root / "site").rglob("*.html")
        if p.name != "404.html"
    ]


def test_site_without_posts_has_no_feed_and_advertises_none(site):
    configure(site)
    site.write("index.md", "# Home\n\nHome.\n")
    site.write("guide.md", "# Guide\n\nGuide.\n")
    ok(site)
    assert not (site.root / "site" / "feed.xml").exists()
    pages = _every_page(site)
    assert len(pages) >= 2
    assert not [p for p in pages if "application/atom+xml" in p]


AUTHORS = """
authors:
  ada:
    name: Ada Lovelace
    description: Writes the posts
    avatar: https://example.org/ada.png
"""


@pytest.fixture
def posts_site(site):
    configure(site, blog=True)
    site.write("index.md", "# Home\n\nHome.\n")
    site.write("blog/index.md", "# Blog\n")
    site.write("blog/.authors.yml", AUTHORS)
    site.write(
        "blog/posts/old.md",
        "---\ndate: 2024-01-10\nauthors: [ada]\n---\n\n# Old &amp; gold\n\nOld.\n",
    )
    site.write(
        "blog/posts/new.md",
        "---\ndate: 2024-03-01\n---\n\n# Smoother scrolling &mdash; at last\n\nNew.\n",
    )
    return site


def test_site_with_posts_advertises_its_feed_on_every_page(posts_site):
    ok(posts_site)
    feed = ElementTree.parse(posts_site.root / "site" / "feed.xml").getroot()
    assert feed.findtext("a:updated", namespaces=ATOM) == "2024-03-01T00:00:00+00:00"
    pages = _every_page(posts_site)
    assert len(pages) >= 4 and all("application/atom+xml" in p for p in pages)


def test_feed_entry_authors_from_material_authors(posts_site):
    ok(posts_site)
    feed = ElementTree.parse(posts_site.root / "site" / "feed.xml").getroot()
    authors = {
        e.findtext("a:title", namespaces=ATOM): [
            a.findtext("a:name", namespaces=ATOM) for a in e.findall("a:author", ATOM)
        ]
        for e in feed.findall("a:entry", ATOM)
    }
    assert authors == {
        "Old & gold": ["Ada Lovelace"],
        "Smoother scrolling — at last": ["Harbor Street"],  # none given: the site's name
    }


# --- 6. escape once, for the sink at hand ---------------------------------------------------


def test_titles_with_entities_show_the_character_in_every_sink(posts_site):
    ok(posts_site)
    out = posts_site.root / "site"
    post = out / "blog" / "2024" / "03" / "01" / "smoother-scrolling--at-last" / "index.html"
    if not post.exists():
        (post,) = [p for p in out.rglob("index.html") if "smoother" in p.as_posix()]
    page = parse_page(post)
    assert page.meta["og:title"] == page.meta["twitter:title"] == "Smoother scrolling — at last"
    (ld,) = page.scripts
    assert json.loads(ld)["headline"] == "Smoother scrolling — at last"
    assert "&amp;mdash;" not in post.read_text()
    feed = ElementTree.parse(out / "feed.xml").getroot()
    titles = {e.findtext("a:title", namespaces=ATOM) for e in feed.findall("a:entry", ATOM)}
    assert titles == {"Smoother scrolling — at last", "Old & gold"}
    llms = (out / "llms.txt").read_text()
    assert "[Smoother scrolling — at last](https://example.org/sub/blog/" in llms
    assert "[Old & gold](" in llms and "&amp;" not in llms


def test_control_and_bidi_characters_never_reach_the_feed(posts_site, fake_api):
    fake_api.responses_by_marker["Title: Old"] = {"summary": "Old S.", "abstract": "Old A."}
    assert posts_site.run("enrich").code == 0
    sc = store.read(posts_site.docs, "blog/posts/old.md.enrich.yml")
    # A person's edit pasted control and bidi-override characters into the sidecar.
    store.write(
        posts_site.docs,
        "blog/posts/old.md.enrich.yml",
        replace(sc, abstract="Evil\u202e txt\u0007\u0085 \u2066here\u2069.", summary="S\u001b."),
    )
    posts_site.write(
        "blog/posts/old.md",
        "---\ndate: 2024-01-10\nauthors: [ada]\n---\n\n# Old \u202egold\u0008\n\nOld.\n",
    )
    ok(posts_site)
    out = posts_site.root / "site"
    feed = ElementTree.parse(out / "feed.xml").getroot()  # well-formed
    entries = {
        e.findtext("a:title", namespaces=ATOM): e.findtext("a:summary", namespaces=ATOM)
        for e in feed.findall("a:entry", ATOM)
    }
    assert entries["Old gold"] == "Evil txt here."
    llms = (out / "llms.txt").read_text()
    assert not [c for c in llms if c not in "\n" and not c.isprintable()]


def test_llms_txt_is_markdown_without_entities_or_needless_escapes(site):
    configure(site, site_url="")
    site.write("index.md", "# Home\n\nTom & Jerry say 5 > 4 (in C++).\n")
    site.write("about.md", "# About *us*\n\nUs.\n")
    ok(site)
    llms = (site.root / "site" / "llms.txt").read_text()
    # Without site_url the links are relative to the site root, where llms.txt is, and
    # point at each page's markdown copy (llms.txt v2).
    assert "- [Home](index.md): Tom & Jerry say 5 > 4 (in C++)." in llms
    assert "- [About us](about.md): Us." in llms
    assert "()" not in llms
    html = MarkdownIt("commonmark").render(llms)
    assert "Tom &amp; Jerry say 5 &gt; 4 (in C++)." in html  # as HTML shows the text
