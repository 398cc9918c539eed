"""A raw <img> written relative to its source file breaks in the built site when directory
URLs put the page a folder deeper. Discovery resolved it and enrich paid for its text:
the built page still gets that alt, and the build warns once with the src that works."""

from __future__ import annotations

import subprocess

import pytest
from conftest import png_bytes
from sitebuild import mkdocs_build, parse_page


def imgs(path) -> list[dict]:
    return parse_page(path).imgs


def build(site, *extra: str) -> subprocess.CompletedProcess:
    return mkdocs_build(site.config, site.root / "out", *extra, cwd=site.root, timeout=120)


@pytest.fixture
def broken_site(site, fake_api):
    site.write("img/x.png", png_bytes((200, 10, 10)))
    site.write("img/y.png", png_bytes((10, 10, 200)))
    site.write("guides/pic.png", png_bytes((10, 200, 10)))
    site.write(
        "guides/fix.md",
        """
        ---
        title: Fix
        ---

        # Fix

        Words about fixing things, enough of them.

        <img src="../img/x.png">

        <img src="../img/x.png" class="again">

        <img src="pic.png" alt="">

        <img src="../../img/y.png">
        """,
    )
    fake_api.responses_by_marker.update(
        {
            "File name: x.png": {"alt": "A red square", "decorative": False},
            "File name: y.png": {"alt": "A blue square", "decorative": False},
            "File name: pic.png": {"alt": "A green square", "decorative": False},
        }
    )
    assert site.run("enrich").code == 0
    return site


def test_broken_raw_src_gets_the_alt_discovery_resolved_and_one_warning(broken_site):
    proc = build(broken_site)
    assert proc.returncode == 0, proc.stderr
    page = broken_site.root / "out" / "guides" / "fix" / "index.html"
    alts = [(img["src"], img.get("alt")) for img in imgs(page)]
    assert alts == [
        ("../img/x.png", "A red square"),
        ("../img/x.png", "A red square"),
        ("pic.png", "A green square"),
        ("../../img/y.png", "A blue square"),  # written for the built URL: no warning
    ]
    warnings = [line for line in proc.stderr.splitlines() if "in the built site" in line]
    assert len(warnings) == 2, proc.stderr  # once per (page, src), not per tag
    assert (
        'content/guides/fix.md:9: <img src="../img/x.png"> points to guides/img/x.png in the '
        'built site, which does not exist; write "../../img/x.png"'
    ) in warnings[0]
    assert (
        'content/guides/fix.md:13: <img src="pic.png"> points to guides/fix/pic.png in the '
        'built site, which does not exist; write "../pic.png"'
    ) in warnings[1]


def test_broken_raw_src_fails_a_strict_build(broken_site):
    proc = build(broken_site, "--strict")
    assert proc.returncode == 1
    assert "in the built site, which does not exist" in proc.stderr


def test_site_enriched_in_full_has_no_image_without_alt(broken_site):
    assert build(broken_site).returncode == 0
    pages = list((broken_site.root / "out").rglob("*.html"))
    found = [(p.name, img) for p in pages for img in imgs(p)]
    assert len(found) >= 4
    assert [f for f in found if not (f[1].get("alt") or "").strip()] == []


def test_without_directory_urls_only_the_src_written_for_them_breaks(broken_site):
    text = broken_site.config.read_text()
    broken_site.config.write_text(text + "use_directory_urls: false\n")
    proc = build(broken_site)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "in the built site" in line]
    assert len(warnings) == 1, proc.stderr
    assert (
        'content/guides/fix.md:15: <img src="../../img/y.png"> points to ../img/y.png in the '
        'built site, which does not exist; write "../img/y.png"'
    ) in warnings[0]
    page = broken_site.root / "out" / "guides" / "fix.html"
    assert [img.get("alt") for img in imgs(page)] == [
        "A red square",
        "A red square",
        "A green square",
        "A blue square",
    ]
