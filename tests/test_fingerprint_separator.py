"""Removing or adding only `<!-- more -->` does not make a page changed, and no sidecar
made before that rule looks changed because of it (that would re-spend on every post)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

POST = (
    "---\ndate: 2024-03-01\n---\n\n# Spring nights\n\n"
    "Tune-ups every Tuesday.\n\n<!-- more -->\n\nBring the bike, we bring the tools.\n"
)


def test_removing_the_more_separator_keeps_a_page_up_to_date(site, fake_api):
    site.write("post.md", POST)
    assert site.run("enrich").code == 0
    assert site.states()["post.md"] == "up-to-date"
    site.write("post.md", POST.replace("<!-- more -->\n\n", ""))
    assert site.states()["post.md"] == "up-to-date"
    site.write("post.md", POST.replace("<!-- more -->", "<!--more-->"))
    assert site.states()["post.md"] == "up-to-date"
    site.write("post.md", POST.replace("Tune-ups", "Tune ups"))
    assert site.states()["post.md"] == "changed"  # a word still counts


def _old_fingerprint(words: str) -> str:
    # The scheme before this rule, by hand: sha256 of the words, whitespace collapsed.
    return "sha256:" + hashlib.sha256(" ".join(words.split()).encode()).hexdigest()


def test_a_sidecar_made_before_the_rule_still_matches_its_page(site):
    body = "# Notes\n\nFirst part.\n\n<!-- more -->\n\nSecond part.\n"
    site.write("notes.md", body)
    site.write(
        "notes.md.enrich.yml",
        f"summary: Notes in two parts.\nsource: author\nfingerprint: {_old_fingerprint(body)}\n",
    )
    assert site.states()["notes.md"] == "author"  # not "edited-review"


def test_a_page_without_the_separator_keeps_its_fingerprint(site):
    body = "# Notes\n\nFirst part.\n\n<!-- a comment that is not the separator -->\n"
    site.write("notes.md", body)
    item = next(i for i in site.status()["items"] if i["path"] == "notes.md")
    assert item["fingerprint"] == _old_fingerprint(body)


@pytest.fixture
def demo(tmp_path, capsys):
    from conftest import SiteDir

    root = tmp_path / "demo"
    root.mkdir()
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return SiteDir(root, capsys)


def test_demo_sidecars_are_still_current(demo):
    data = demo.status()
    assert data["problems"] == []
    states = {i["path"]: i["state"] for i in data["items"]}
    assert set(states.values()) <= {"up-to-date", "author"}, states
    posts = [p for p in states if p.startswith("blog/posts/")]
    with_separator = [p for p in posts if "<!-- more -->" in (demo.docs / p).read_text()]
    assert with_separator  # the demo does exercise the old fingerprints of such posts
