"""`python -m pipeline build` exit codes and strictness; corrupt sidecars in a plain mkdocs build.

The site is always built; a failed item or a corrupt sidecar is named on stderr and
makes the exit code 1, so CI notices a site that shows less than it should.
"""

from __future__ import annotations

import json

import pytest
from sitebuild import make_build_lines, run_in

# A sidecar that parses as YAML but says who wrote it wrongly: rejected at line 2.
BAD_SIDECAR = "summary: A fine summary.\nsource: robot\n"


@pytest.fixture
def small_site(site):
    site.set_config("site_name: B\ndocs_dir: content\nplugins:\n  - enrich\n")
    site.write("index.md", "# Home\n\nHello there, this is the home page.\n")
    site.write("other.md", "# Other\n\nAnother page with words.\n")
    return site


def test_build_with_a_corrupt_sidecar_builds_the_site_and_exits_1(small_site):
    small_site.write("other.md.enrich.yml", BAD_SIDECAR)
    proc = run_in(small_site, "pipeline", "build", "--no-strict")
    assert proc.returncode == 1, proc.stderr
    assert (small_site.root / "site" / "index.html").exists()
    assert (small_site.root / "site" / "other" / "index.html").exists()
    assert "content/other.md.enrich.yml:2: source must be one of" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_strict_build_with_a_corrupt_sidecar_fails_too(small_site):
    small_site.write("other.md.enrich.yml", BAD_SIDECAR)
    proc = run_in(small_site, "pipeline", "build")
    assert proc.returncode != 0
    assert "content/other.md.enrich.yml:2" in proc.stderr


def test_build_without_problems_still_exits_0(small_site):
    proc = run_in(small_site, "pipeline", "build", "--no-strict")
    assert proc.returncode == 0, proc.stderr


def test_build_with_key_exits_1_when_an_item_failed_and_still_builds(small_site, fake_api):
    fake_api.add_fault(
        400, times=5, match=lambda path, body: bool(body) and "Another page" in json.dumps(body)
    )
    proc = run_in(small_site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 1, proc.stderr
    assert "other.md: failed (invalid_request): API error 400" in proc.stderr
    assert (small_site.docs / "index.md.enrich.yml").exists()  # the rest was enriched
    assert (small_site.root / "site" / "other" / "index.html").exists()


def test_a_known_failure_is_a_warning_and_never_blocks_a_frozen_build(small_site, fake_api):
    fake_api.add_fault(
        400, times=5, match=lambda path, body: bool(body) and "Another page" in json.dumps(body)
    )
    assert small_site.run("enrich").code == 1  # failed now, and remembered
    assert small_site.states()["other.md"] == "failed"
    proc = run_in(small_site, "pipeline", "build", "--frozen")
    assert proc.returncode == 0, proc.stderr
    assert "warning: content/other.md: enrichment failed (invalid_request: API error 400" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr
    html = (small_site.root / "site" / "other" / "index.html").read_text()
    # No generated text: the page describes itself with its first paragraph.
    assert '<meta name="description" content="Another page with words.">' in html


def test_plain_mkdocs_build_warns_on_a_corrupt_sidecar_so_strict_fails(small_site):
    small_site.write("other.md.enrich.yml", BAD_SIDECAR)
    small_site.write("index.md.enrich.yml", "summary: [never closed\n")
    lax = run_in(small_site, "mkdocs", "build")
    assert lax.returncode == 0, lax.stderr
    warnings = [line for line in lax.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2, lax.stderr
    assert "content/other.md.enrich.yml:2: source must be one of" in warnings[1]
    assert "content/index.md.enrich.yml:" in warnings[0]
    strict = run_in(small_site, "mkdocs", "build", "--strict")
    assert strict.returncode != 0
    assert "content/other.md.enrich.yml:2" in strict.stderr


def test_no_strict_builds_a_site_whose_own_links_are_broken(small_site):
    small_site.write("index.md", "# Home\n\nSee [the missing page](missing.md).\n")
    strict = run_in(small_site, "pipeline", "build")
    assert strict.returncode != 0
    assert "missing.md" in strict.stderr
    lax = run_in(small_site, "pipeline", "build", "--no-strict")
    assert lax.returncode == 0, lax.stderr
    assert (small_site.root / "site" / "index.html").exists()


def test_make_build_passes_strict_0_through_as_no_strict():
    assert ["--no-strict" in line for line in make_build_lines("STRICT=0")] == [True]
    assert ["--no-strict" in line for line in make_build_lines()] == [False]
