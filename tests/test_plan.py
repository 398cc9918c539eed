"""Fingerprints and states: exactly what needs tokens, and nothing else."""

from __future__ import annotations

import os

import pytest
from conftest import png_bytes

from pipeline import sidecars as store
from pipeline.enrich.prompts import IMAGE_PROMPT_VERSION, PAGE_PROMPT_VERSION
from pipeline.sidecars import Sidecar

MODEL = "claude-haiku-5-5"


def generate(site, source_rel: str, *, model=MODEL, prompt=None) -> None:
    """Write the sidecar enrich would write for the item's current fingerprint."""
    item = next(i for i in site.status()["items"] if source_rel in i["paths"])
    if item["kind"] == "page":
        sc = Sidecar(
            "page",
            summary=f"Summary of {source_rel}.",
            abstract=f"Abstract of {source_rel}.",
            prompt=prompt or PAGE_PROMPT_VERSION,
        )
    else:
        sc = Sidecar("image", alt=f"Alt for {source_rel}", prompt=prompt or IMAGE_PROMPT_VERSION)
    from dataclasses import replace

    sc = replace(
        sc,
        fingerprint=item["fingerprint"],
        model=model,
        generated=sc.text_hash,
        input_tokens=100,
        output_tokens=20,
        date="2026-11-25",
    )
    store.write(site.docs, store.sidecar_path(item["path"]), sc)


@pytest.fixture
def small(site):
    site.write("index.md", "# Home\n\nWelcome to the site.\n\n![](img/logo.png)\n")
    site.write("guide.md", "---\ntitle: Guide\n---\n\nHow to do it.\n\n![](img/logo.png)\n")
    site.write(
        "blog/post.md", "# Post\n\nA post body.\n\n![](../img/logo.png)\n![](../img/b.png)\n"
    )
    site.write("img/logo.png", png_bytes((10, 20, 30)))
    site.write("img/b.png", png_bytes((40, 50, 60)))
    for rel in ("index.md", "guide.md", "blog/post.md", "img/logo.png", "img/b.png"):
        generate(site, rel)
    return site


def test_fresh_site_everything_new(site):
    site.write("index.md", "# Home\n\nHello.\n")
    data = site.status()
    assert [(i["path"], i["state"]) for i in data["items"]] == [("index.md", "new")]
    assert data["totals"]["estimated_input_tokens"]["stale"] > 0


def test_noop_leaves_nothing_stale_and_sidecars_byte_identical(small):
    before = small.sidecar_bytes()
    mtimes = {p: os.stat(small.docs / p).st_mtime_ns for p in before}
    assert set(small.states().values()) == {"up-to-date"}
    assert small.status()["totals"]["estimated_input_tokens"]["stale"] == 0
    assert small.sidecar_bytes() == before
    assert {p: os.stat(small.docs / p).st_mtime_ns for p in before} == mtimes


def test_one_image_on_three_pages_is_one_item(site):
    site.write("img/logo.png", png_bytes())
    for name in ("a", "b", "c"):
        site.write(f"{name}.md", f"# {name}\n\n![](img/logo.png)\n")
    images = [i for i in site.status()["items"] if i["kind"] == "image"]
    assert len(images) == 1
    assert images[0]["pages"] == ["a.md", "b.md", "c.md"]


def test_same_bytes_at_two_paths_is_one_item(site):
    site.write("img/one.png", png_bytes())
    site.write("other/two.png", png_bytes())
    site.write("index.md", "![](img/one.png)\n![](other/two.png)\n")
    (image,) = [i for i in site.status()["items"] if i["kind"] == "image"]
    assert image["paths"] == ["img/one.png", "other/two.png"]


def test_frontmatter_only_edit_makes_nothing_stale(small):
    small.write(
        "guide.md",
        "---\ntitle: A new title\ntags: [x]\n---\n\nHow to do it.\n\n![](img/logo.png)\n",
    )
    assert small.states()["guide.md"] == "up-to-date"


def test_whitespace_only_edit_makes_nothing_stale(small):
    path = small.docs / "index.md"
    path.write_bytes(
        b"# Home\r\n\r\n\r\nWelcome   to the\r\n   site.\r\n\r\n![](img/logo.png)   \r\n"
    )
    assert small.states()["index.md"] == "up-to-date"


def test_body_edit_makes_exactly_that_page_stale(small):
    small.write(
        "guide.md", "---\ntitle: Guide\n---\n\nHow to do it, better.\n\n![](img/logo.png)\n"
    )
    states = small.states()
    assert states.pop("guide.md") == "changed"
    assert set(states.values()) == {"up-to-date"}


def test_rename_and_move_of_a_page_cost_nothing(small):
    (small.docs / "guide.md").rename(small.docs / "renamed.md")
    (small.docs / "blog").rename(small.docs / "news")
    data = small.status()
    states = {i["path"]: (i["state"], i["detail"]) for i in data["items"]}
    assert states["renamed.md"][0] == "up-to-date"
    assert "moved" in states["renamed.md"][1]
    assert states["news/post.md"][0] == "up-to-date"
    assert data["totals"]["stale"] == 0
    assert data["orphans"] == []  # claimed by the moved pages, not orphans


def test_rename_and_move_of_an_image_cost_nothing(small):
    (small.docs / "img" / "b.png").rename(small.docs / "b-renamed.png")
    (small.docs / "img" / "b.png.enrich.yml").rename(small.docs / "elsewhere.yml.enrich.yml")
    small.write(
        "blog/post.md", "# Post\n\nA post body.\n\n![](../img/logo.png)\n![](../b-renamed.png)\n"
    )
    data = small.status()
    assert {i["path"]: i["state"] for i in data["items"]}["b-renamed.png"] == "up-to-date"
    assert data["totals"]["stale"] == 0


def test_changed_prompt_version_or_model_makes_items_outdated_not_stale(small):
    generate(small, "index.md", prompt="page-0")
    generate(small, "img/b.png", model="claude-haiku-4-5")
    data = small.status()
    states = {i["path"]: i["state"] for i in data["items"]}
    assert states["index.md"] == "outdated"
    assert states["img/b.png"] == "outdated"
    assert data["totals"]["stale"] == 0
    assert data["totals"]["estimated_input_tokens"]["stale"] == 0
    assert data["totals"]["estimated_input_tokens"]["outdated"] > 0


def test_a_different_configured_model_makes_everything_outdated_not_stale(small):
    states = small.states("--model", "claude-sonnet-4-5")
    assert set(states.values()) == {"outdated"}


def test_edited_sidecar_is_reported_edited_and_then_review_after_a_source_change(small):
    path = small.docs / "guide.md.enrich.yml"
    text = path.read_text().replace("Summary of guide.md.", "A person's better summary.")
    path.write_text(text)
    assert small.states()["guide.md"] == "edited"
    small.write("guide.md", "---\ntitle: Guide\n---\n\nNew body text.\n")
    item = next(i for i in small.status()["items"] if i["path"] == "guide.md")
    assert item["state"] == "edited-review"
    assert "review" in item["detail"]
    assert "A person's better summary." in path.read_text()


def test_author_description_costs_zero_tokens(site):
    site.write("index.md", "---\ndescription: Written by me.\n---\n\n# Home\n\nText.\n")
    (item,) = site.status()["items"]
    assert (item["state"], item["estimated_input_tokens"]) == ("author", 0)


def test_author_alt_costs_zero_tokens_and_is_reused_where_missing(site):
    site.write("img/a.png", png_bytes())
    site.write("one.md", "![A red square](img/a.png)\n")
    site.write("two.md", "![](img/a.png)\n")
    (image,) = [i for i in site.status()["items"] if i["kind"] == "image"]
    assert image["state"] == "author"
    assert image["estimated_input_tokens"] == 0
    assert "reused" in image["detail"]


def test_author_sidecar_is_never_stale(site):
    site.write("index.md", "# Home\n\nText.\n")
    site.write("index.md.enrich.yml", "summary: Hand written.\nabstract: Hand written too.\n")
    assert site.states() == {"index.md": "author"}


def test_title_only_page_is_skipped_unless_a_person_wrote_its_text(site):
    site.write("blog/index.md", "# Blog\n")
    site.write("tags.md", "# Tags\n\n<!-- material/tags -->\n")
    assert site.states() == {"blog/index.md": "skipped", "tags.md": "skipped"}
    site.write("blog/index.md.enrich.yml", "summary: Our news.\nabstract: Our news, weekly.\n")
    assert site.states()["blog/index.md"] == "author"


def test_orphan_sidecars_are_listed_and_pruned(small):
    (small.docs / "guide.md").unlink()
    small.write("index.md", "# Home\n\nDifferent now.\n")  # nothing claims guide's text
    data = small.status()
    assert data["orphans"] == ["guide.md.enrich.yml"]
    result = small.run("prune")
    assert result.code == 0
    assert not (small.docs / "guide.md.enrich.yml").exists()
    assert small.status()["orphans"] == []


def test_human_status_is_a_short_table(small):
    small.write("guide.md", "---\ntitle: Guide\n---\n\nChanged.\n")
    result = small.run("status")
    assert result.code == 0
    lines = result.out.splitlines()
    header = next(line for line in lines if "up-to-date" in line)
    assert header.split() == [
        "new",
        "changed",
        "outdated",
        "up-to-date",
        "author",
        "edited",
        "review",
        "skipped",
        "failed",
    ]
    pages_row = next(line for line in lines if line.startswith("pages"))
    assert pages_row.split()[1:3] == ["0", "1"]
    assert any("changed" in line and "guide.md" in line for line in lines)
    assert len(lines) < 15


def test_status_says_whether_the_prompt_prefix_is_cacheable(small):
    # Issue 17: a prefix under the model's minimum is silently paid in full every time.
    text = small.run("status").out
    line = next(x for x in text.splitlines() if x.startswith("Prompt prefix:"))
    assert "cacheable on claude-haiku-5-5 (minimum 512)" in line and "NOT" not in line
    text = small.run("status", "--model", "claude-haiku-4-5").out
    line = next(x for x in text.splitlines() if x.startswith("Prompt prefix:"))
    assert "NOT cacheable on claude-haiku-4-5" in line and "minimum 4,096" in line
    data = small.status()["prompt_prefix"]
    assert data["min_cacheable_tokens"] == 512
    assert data["cacheable"] == {"page": True, "image": True}
    assert data["estimated_tokens"]["page"] >= 512


def test_json_schema_is_stable(small):
    data = small.status()
    assert data["schema"] == "pipeline.status/1"
    assert set(data) == {
        "schema",
        "config_file",
        "docs_dir",
        "model",
        "prompt_versions",
        "prompt_prefix",
        "totals",
        "items",
        "skipped_references",
        "orphans",
        "problems",
    }
    common = {
        "kind",
        "path",
        "state",
        "detail",
        "fingerprint",
        "sidecar",
        "home",
        "estimated_input_tokens",
        "paths",
        "pages",
    }
    page = next(i for i in data["items"] if i["kind"] == "page")
    image = next(i for i in data["items"] if i["kind"] == "image")
    assert set(page) == common | {"references"}
    assert set(image) == common
    assert set(page["references"][0]) == {"line", "src", "alt", "target", "skip"}


def test_moving_a_linked_page_or_writing_alt_into_the_markdown_makes_nothing_stale(small):
    small.write(
        "index.md",
        "# Home\n\nWelcome to the site.\n\n![The co-op logo](img/logo.png)\n",
    )
    small.write("links.md", "See [the guide](guide.md) and <a href='x.md'>this</a>.\n")
    generate(small, "links.md")
    small.write("links.md", "See [the guide](moved/guide.md) and <a href='y/x.md'>this</a>.\n")
    assert small.states()["index.md"] == "up-to-date"
    assert small.states()["links.md"] == "up-to-date"
    # ...while a change to the words is a change.
    small.write("index.md", "# Home\n\nWelcome to our site.\n\n![](img/logo.png)\n")
    assert small.states()["index.md"] == "changed"
