"""Our plugin beside the plugins real MkDocs sites run (real `mkdocs build`, tmp_path):
mkdocs-macros, Material's tags and blog indexes, Material's social cards."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import png_bytes, title_of
from sitebuild import build, parse_page, run_in

MACROS_SITE = """
site_name: Macros
site_url: https://example.org/
docs_dir: content
theme:
  name: material
plugins:
  - search
  - {first}
  - {second}
extra:
  logo_path: img/logo.png
  version: "4.2"
"""


def orders(a: str, b: str):
    ids = ["ours-last", "ours-first"]
    return pytest.mark.parametrize("first, second", [(a, b), (b, a)], ids=ids)


def ok(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


# --- 6. template image srcs: skipped as `template`, the rendered image gets its alt ---------


@orders("macros", "enrich")
@pytest.mark.parametrize("src", ["{{logo_path}}", "{{ logo_path }}"])
def test_macro_image_src_is_never_an_error_and_gets_its_alt(site, fake_api, first, second, src):
    site.set_config(MACROS_SITE.format(first=first, second=second))
    site.write("img/logo.png", png_bytes((10, 200, 10)))
    site.write("index.md", f"# Home\n\nVersion {{{{ version }}}} of the co-op.\n\n![]({src})\n")
    fake_api.responses_by_marker["File name: logo.png"] = {"alt": "Co-op logo", "decorative": False}
    status = site.run("status", "--json")
    assert status.code == 0, status.err
    assert site.run("enrich").code == 0
    assert site.states()["img/logo.png"] == "up-to-date"
    ok(site)
    (img,) = parse_page(site.root / "site" / "index.html").imgs
    assert img["src"].endswith("img/logo.png")
    assert img["alt"] == "Co-op logo"


# --- 5. pages with nothing of their own to summarise are not sent --------------------------

TAGS_BLOG_SITE = """
site_name: Listings
site_url: https://example.org/
docs_dir: content
theme:
  name: material
plugins:
  - search
  - tags
  - blog
  - enrich
"""


def test_tags_and_blog_index_pages_are_not_sent(site, fake_api):
    site.set_config(TAGS_BLOG_SITE)
    site.write("index.md", "---\ntags: [bikes]\n---\n\n# Home\n\nThe co-op fixes bikes.\n")
    site.write("tags.md", "# Tags\n\nEvery page, by tag.\n\n<!-- material/tags -->\n")
    site.write("old-tags.md", "# Tags (old marker)\n\n[TAGS]\n")
    site.write("blog/index.md", "# Blog\n")
    site.write("blog/posts/hello.md", "---\ndate: 2024-01-02\n---\n\n# Hello\n\nWe opened.\n")
    status = site.status()
    states = {i["path"]: (i["state"], i["detail"]) for i in status["items"]}
    assert states["tags.md"] == ("skipped", "a tags index: the tags plugin fills it")
    assert states["old-tags.md"][0] == "skipped"
    assert states["blog/index.md"] == (
        "skipped",
        "nothing of its own to summarise (a title only)",
    )
    assert states["index.md"][0] == states["blog/posts/hello.md"][0] == "new"
    assert site.run("enrich").code == 0
    sent = sorted(title_of(b) for b in fake_api.messages())
    assert sent == ["Hello", "Home"]
    ok(site)
    # Left to the generator: the blog index still builds, with the theme's description.
    blog = parse_page(site.root / "site" / "blog" / "index.html", head_only=True)
    assert blog.meta.get("description", "") != "We opened."


# --- 4. Material's social cards: one set of tags, the card's alt, the summary on the card --

SOCIAL_SITE = """
site_name: Bikes
site_url: https://example.org/
docs_dir: content
theme:
  name: material
plugins:
  - search
  - {first}
  - {second}
"""

SOCIAL = """social:
      cache_dir: {cache}
      cards_layout_options:
        font_family: DejaVu Sans"""

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def social_site(site, first: str, second: str) -> Path:
    """Material's social plugin fetches its font from Google Fonts unless the family is in
    its cache: a local DejaVu Sans is put there (no network)."""
    pytest.importorskip("cairosvg", reason="Material's social plugin needs cairosvg")
    if not (DEJAVU / "DejaVuSans.ttf").is_file():
        pytest.skip(f"no local font at {DEJAVU} (apt-get install fonts-dejavu-core)")
    cache = site.root / ".cache" / "social"
    fonts = cache / "fonts" / "DejaVu Sans"
    fonts.mkdir(parents=True)
    shutil.copy(DEJAVU / "DejaVuSans.ttf", fonts / "Regular.ttf")
    shutil.copy(DEJAVU / "DejaVuSans-Bold.ttf", fonts / "Bold.ttf")
    social = SOCIAL.format(cache=cache)
    names = [social if n == "social" else n for n in (first, second)]
    site.set_config(SOCIAL_SITE.format(first=names[0], second=names[1]))
    return cache


class Tags(HTMLParser):
    """Every <meta> of a page's head as (attribute, name, content), duplicates kept."""

    def __init__(self):
        super().__init__()
        self.metas: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("name", "property"):
            if tag == "meta" and a.get(key):
                self.metas.append((key, a[key] or "", a.get("content") or ""))


def metas(path: Path) -> list[tuple[str, str, str]]:
    parser = Tags()
    parser.feed(path.read_text(encoding="utf-8").split("</head>", 1)[0])
    return parser.metas


@orders("social", "enrich")
def test_social_cards_one_set_of_tags_card_alt_and_summary_on_card(site, fake_api, first, second):
    social_site(site, first, second)
    site.write("img/bench.png", png_bytes((90, 60, 30), size=(400, 300)))
    site.write("index.md", "# Home\n\nThe co-op fixes bikes.\n")
    site.write("workshop.md", "# Workshop\n\nOur bench.\n\n![](img/bench.png)\n")
    # The same card drawn from an author's description: the one to match, pixel for pixel.
    site.write(
        "same/workshop.md",
        "---\ndescription: Where the co-op's bench is.\n---\n\n# Workshop\n\nOur bench.\n",
    )
    fake_api.responses_by_marker["Title: Workshop"] = {
        "summary": "Where the co-op's bench is.",
        "abstract": "Where the co-op keeps its bench and tools.",
    }
    fake_api.responses_by_marker["File name: bench.png"] = {
        "alt": "A wooden bench",
        "decorative": False,
    }
    assert site.run("enrich").code == 0
    ok(site)
    tags = metas(site.root / "site" / "workshop" / "index.html")
    names = [name for _, name, _ in tags]
    duplicated = {n for n in names if names.count(n) > 1}
    assert not duplicated, tags
    by = {name: content for _, name, content in tags}
    assert by["og:image"].startswith("https://example.org/assets/images/social/")
    assert by["twitter:image"] == by["og:image"]
    assert by["og:image:alt"] == by["twitter:image:alt"] == "Workshop"
    assert by["description"] == by["og:description"] == "Where the co-op's bench is."
    cards = site.root / "site" / "assets" / "images" / "social"
    assert (cards / "workshop.png").read_bytes() == (cards / "same" / "workshop.png").read_bytes()
    # The content image keeps its own alt in the page.
    (img,) = parse_page(site.root / "site" / "workshop" / "index.html").imgs
    assert img["alt"] == "A wooden bench"


def test_social_card_of_a_page_enriched_during_the_pause_shows_its_summary(site, fake_api):
    """The card is drawn before the build pauses; a page whose summary comes from that
    pause (its words are an included file's) gets its card drawn again, with it."""
    social_site(site, "social", "enrich")
    site.config.write_text(
        site.config.read_text()
        + f"markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [{site.root}]\n"
    )
    (site.root / "BENCH.md").write_text("The bench stands by the north window.\n")
    site.write("index.md", "# Home\n\nThe co-op fixes bikes.\n")
    site.write("workshop.md", '# Workshop\n\n--8<-- "BENCH.md"\n')
    site.write(
        "same/workshop.md",
        "---\ndescription: Where the co-op's bench is.\n---\n\n# Workshop\n\nOur bench.\n",
    )
    fake_api.responses_by_marker["north window"] = {
        "summary": "Where the co-op's bench is.",
        "abstract": "The bench stands by the north window.",
    }
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "enriched from what this build shows" in proc.stdout
    by = {name: content for _, name, content in metas(site.root / "site/workshop/index.html")}
    assert by["description"] == "Where the co-op's bench is."
    cards = site.root / "site" / "assets" / "images" / "social"
    assert (cards / "workshop.png").read_bytes() == (cards / "same" / "workshop.png").read_bytes()
