"""Our plugin beside the plugins real MkDocs sites run (real `mkdocs build`, tmp_path):
mkdocs-macros, Material's tags and blog indexes, Material's social cards."""

from __future__ import annotations

import pytest
from conftest import png_bytes, title_of
from sitebuild import build, parse_page

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
