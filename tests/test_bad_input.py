"""Bad input: one clear line naming the file (and line), the item skipped, the rest done.

Every case runs the real command; none may print a traceback, and each exits non-zero.
"""

from __future__ import annotations

import os

import pytest
from conftest import png_bytes
from sitebuild import python_m

GOOD_PAGE = "# Good\n\nA good page.\n"


def check(site, expected_prefix: str, expected_text: str):
    site.write("good.md", GOOD_PAGE)
    result = site.run("status", "--json")
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected_prefix), lines[0]
    assert expected_text in lines[0]
    states = {i["path"]: i["state"] for i in result.json()["items"]}
    assert states["good.md"] == "new"  # the rest is processed
    return result


def test_broken_yaml_frontmatter_names_file_and_line(site):
    site.write("bad.md", "---\ntitle: ok\nbroken: [unclosed\n---\n\nBody.\n")
    result = check(site, "content/bad.md:", "invalid YAML frontmatter")
    line = int(result.err.split(":")[1])
    assert 3 <= line <= 5
    assert {"path": "bad.md", "state": "skipped"}.items() <= next(
        i for i in result.json()["items"] if i["path"] == "bad.md"
    ).items()


def test_frontmatter_that_is_not_a_mapping(site):
    site.write("bad.md", "---\n- just\n- a list\n---\n\nBody.\n")
    check(site, "content/bad.md:2:", "frontmatter must be a mapping")


def test_non_utf8_page(site):
    site.write("latin1.md", "# Caf\xe9\n\nline two\n".encode("latin-1"))
    check(site, "content/latin1.md:1:", "not valid UTF-8")


def test_missing_image_names_page_and_line(site):
    site.write("page.md", "# P\n\nText.\n\n![](img/nope.png)\n")
    check(site, "content/page.md:5:", "image not found: img/nope.png")


def test_corrupt_image(site):
    site.write("img/broken.png", png_bytes()[:40])
    site.write("page.md", "![](img/broken.png)\n")
    result = check(site, "content/img/broken.png:", "corrupt image")
    assert next(i for i in result.json()["items"] if i["path"] == "img/broken.png")["state"] == (
        "skipped"
    )


def test_unknown_image_type(site):
    site.write("img/movie.png", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    site.write("page.md", "![](img/movie.png)\n")
    check(site, "content/img/movie.png:", "unknown image type")


def test_image_path_escaping_docs_dir(site):
    site.write("page.md", "# P\n\n![](../../etc/passwd)\n")
    check(site, "content/page.md:3:", "escapes docs_dir")


def test_image_symlink_escaping_docs_dir(site, tmp_path):
    outside = tmp_path / "outside.png"
    outside.write_bytes(png_bytes())
    (site.docs / "img").mkdir()
    os.symlink(outside, site.docs / "img" / "link.png")
    site.write("page.md", "![](img/link.png)\n")
    check(site, "content/page.md:1:", "escapes docs_dir through a symlink")


def test_symlink_loop(site):
    (site.docs / "sub").mkdir()
    os.symlink("..", site.docs / "sub" / "loop")
    check(site, "content/sub/loop", "symlink loop")


def test_corrupt_sidecar_skips_its_item_and_is_not_overwritten(site):
    site.write("page.md", "# P\n\nText.\n")
    site.write("page.md.enrich.yml", "summary: [unclosed\n")
    result = check(site, "content/page.md.enrich.yml:", "corrupt sidecar")
    item = next(i for i in result.json()["items"] if i["path"] == "page.md")
    assert item["state"] == "skipped"
    assert "corrupt sidecar" in item["detail"]


def test_missing_config_file(site, tmp_path):
    result = site.run("status", "-f", str(tmp_path / "nope.yml"))
    assert result.code != 0
    assert result.err.strip().count("\n") == 0
    assert "nope.yml: file not found" in result.err


def test_missing_docs_dir(site):
    site.set_config("site_name: x\ndocs_dir: missing\n")
    result = site.run("status")
    assert result.code != 0
    assert "mkdocs.yml:2: docs_dir 'missing' does not exist" in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(
    "options, message",
    [
        ("concurrency: 0", "plugins.enrich.concurrency: expected a positive number"),
        ("on_stale: explode", "plugins.enrich.on_stale"),
        ("model: 5", "plugins.enrich.model"),
    ],
)
def test_bad_config_value(site, options, message):
    site.set_config(f"site_name: x\ndocs_dir: content\nplugins:\n  - enrich:\n      {options}\n")
    result = site.run("status")
    assert result.code != 0
    assert message in result.err
    assert "mkdocs.yml:5:" in result.err
    assert "Traceback" not in result.err


def test_invalid_mkdocs_yaml(site):
    site.set_config("site_name: x\ndocs_dir: [content\n")
    result = site.run("status")
    assert result.code != 0
    assert "mkdocs.yml:" in result.err and "invalid YAML" in result.err


def test_real_process_prints_no_traceback_for_many_problems_at_once(site):
    site.write("bad.md", "---\nbroken: [\n---\n")
    site.write("latin1.md", b"\xff\xfe not utf8")
    site.write("page.md", "![](missing.png)\n![](../../etc/passwd)\n")
    site.write("good.md", GOOD_PAGE)
    proc = python_m("pipeline", "status", cwd=site.root, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 4
    assert "good.md" not in proc.stderr
