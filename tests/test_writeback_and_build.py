"""`enrich --write-back` and `python -m pipeline build` (what `make build` runs)."""

from __future__ import annotations

import pytest
from conftest import png_bytes
from sitebuild import make_build_lines, run_in

PAGE = (
    "# Page\r\n"
    "\r\n"
    'Inline ![](img/a.png "title") and reference ![][ref] and author ![Keep me](img/b.png).\r\n'
    "\r\n"
    "<img src=\"img/c.png\" width=300 class='x'>\r\n"
    "\r\n"
    "```md\r\n"
    "![](img/a.png)\r\n"
    "```\r\n"
    "\r\n"
    "[ref]: img/b.png\r\n"
)


@pytest.fixture
def wb_site(site, fake_api):
    site.write("img/a.png", png_bytes((1, 1, 1)))
    site.write("img/b.png", png_bytes((2, 2, 2)))
    site.write("img/c.png", png_bytes((3, 3, 3)))
    (site.docs / "page.md").write_bytes(PAGE.encode())
    fake_api.responses_by_marker.update(
        {
            "File name: a.png": {"alt": "Alt [for] A", "decorative": False},
            "File name: c.png": {"alt": 'C "quoted" & more', "decorative": False},
        }
    )
    return site


def test_write_back_inserts_alt_and_changes_nothing_else(wb_site):
    result = wb_site.run("enrich", "--write-back")
    assert result.code == 0, result.err
    assert "wrote alt text into content/page.md" in result.out
    after = (wb_site.docs / "page.md").read_bytes().decode()
    expected = (
        PAGE.replace('![](img/a.png "title")', '![Alt \\[for\\] A](img/a.png "title")', 1)
        .replace("![][ref]", "![Keep me][ref]")
        .replace(
            "<img src=\"img/c.png\" width=300 class='x'>",
            '<img src="img/c.png" width=300 class=\'x\' alt="C &quot;quoted&quot; &amp; more">',
        )
    )
    assert after == expected  # CRLF kept, code block untouched, author alt untouched
    states = wb_site.states()
    assert states["page.md"] == "up-to-date"  # writing alt into the page cost nothing
    assert {states["img/a.png"], states["img/c.png"]} == {"author"}


def test_write_back_is_a_no_op_the_second_time(wb_site):
    wb_site.run("enrich", "--write-back")
    before = (wb_site.docs / "page.md").read_bytes()
    result = wb_site.run("enrich", "--write-back")
    assert result.code == 0
    assert (wb_site.docs / "page.md").read_bytes() == before


# --- build --------------------------------------------------------------------------------


def run_build(site, *args: str, key: str | None = None, base_url: str | None = None):
    return run_in(site, "pipeline", "build", *args, key=key, base_url=base_url)


@pytest.fixture
def built_site(site):
    site.set_config(
        "site_name: B\nsite_url: https://example.org/\ndocs_dir: content\n"
        "theme:\n  name: material\n  font: false\nplugins:\n  - enrich\n"
    )
    site.write("index.md", "# Home\n\nHello there, this is the home page.\n")
    site.write("other.md", "# Other\n\nAnother page with words.\n")
    return site


def test_build_without_key_says_what_it_skipped_and_builds(built_site):
    proc = run_build(built_site)
    assert proc.returncode == 0, proc.stderr
    assert "Enrichment skipped (ANTHROPIC_API_KEY not set): 2 item(s) stale" in proc.stdout
    assert (built_site.root / "site" / "index.html").exists()
    assert (built_site.root / "site" / "llms.txt").exists()


def test_build_without_key_still_builds_when_a_page_changed(built_site, fake_api):
    built_site.run("enrich")
    built_site.write("index.md", "# Home\n\nChanged words.\n")
    proc = run_build(built_site)
    assert proc.returncode == 0, proc.stderr
    assert "1 item(s) stale" in proc.stdout


def test_build_with_key_enriches_first(built_site, fake_api):
    proc = run_build(built_site, key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    assert len(fake_api.messages()) == 2
    assert (built_site.docs / "index.md.enrich.yml").exists()
    assert "Fake text" in (built_site.root / "site" / "index.html").read_text()


def test_frozen_build_fails_when_stale_and_calls_nothing(built_site, fake_api):
    proc = run_build(built_site, "--frozen", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 1
    assert "FROZEN: 2 item(s) are stale" in proc.stderr
    assert "content/index.md: new, not enriched" in proc.stderr
    assert fake_api.requests == []


def test_frozen_build_passes_when_everything_is_enriched(built_site, fake_api):
    built_site.run("enrich")
    fake_api.reset()
    proc = run_build(built_site, "--frozen", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    assert fake_api.requests == []
    assert (built_site.root / "site" / "index.html").exists()


def test_make_build_passes_frozen_through():
    assert [line.endswith("--frozen") for line in make_build_lines("FROZEN=1")] == [True]
    assert [line.endswith("--frozen") for line in make_build_lines()] == [False]
