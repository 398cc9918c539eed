"""Hostile files, second pass (issue 23): what our outputs and the post-build pass read,
write and print.

The post-build route is driven over a small built site written by hand (a page is an
HTML file with an <article>), so no generator runs; the MkDocs route runs a real
`mkdocs build`. Each case runs the CLI in a child process (a hang is a timeout, a
memory blow-up hits a limit) and checks: one line naming the file, no traceback, the
rest built, nothing written outside docs_dir and site_dir.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import png_bytes
from sitebuild import build, parse_html
from test_hostile_files import VALID_SIDECAR, cli, problem_lines

from pipeline.text import printable

PAGE = "# {title}\n\nA page about {title}.\n"


def html_page(title: str, body: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>{title} - Test site</title></head>"
        f"<body><article><h1>{title}</h1><p>{body or 'Some text.'}</p></article></body></html>"
    )


def built(site, pages: dict[str, str]) -> Path:
    """site/<rel> for each built page (its title), as a generator would write them."""
    out = site.root / "site"
    for rel, title in pages.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html_page(title), encoding="utf-8")
    return out


def no_traceback(result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out, result.err


def warnings(result) -> list[str]:
    return [line for line in result.err.splitlines() if line.startswith("warning:")]


# --- 1. the markdown-copy cache is read with the guarded reader ---------------------------


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "folder"])
def test_copy_cache_that_is_not_a_file_is_a_cold_cache(site, kind):
    site.write("a.md", PAGE.format(title="Wheels"))
    out = built(site, {"a/index.html": "Wheels"})
    cache = site.root / ".enrich" / "cache" / "markdown-copies.json"
    cache.parent.mkdir(parents=True)
    if kind == "dev-zero":
        os.symlink("/dev/zero", cache)
    elif kind == "fifo":
        os.mkfifo(cache)
    else:
        cache.mkdir()
    result = cli(site, "postbuild")
    no_traceback(result)
    assert result.code == 0, result.err
    assert "\n# Wheels\n" in (out / "a.md").read_text(encoding="utf-8")
    assert "[Wheels](" in (out / "llms.txt").read_text(encoding="utf-8")


# --- 2. a site dir that is, or holds, the sources is refused before anything runs -----------


@pytest.mark.parametrize("how", ["--site-dir .", "--site-dir content", "site_dir: ."])
def test_postbuild_refuses_a_site_dir_holding_the_sources(site, how):
    site.write("a.md", PAGE.format(title="Wheels"))
    sidecar = site.write("a.md.enrich.yml", VALID_SIDECAR)
    argv = ["postbuild"]
    if how.startswith("--"):
        argv += how.split()
    else:
        site.config.write_text(site.config.read_text() + "site_dir: .\n")
    result = cli(site, *argv)
    no_traceback(result)
    assert result.code == 1
    (line,) = problem_lines(result)
    assert "site_dir" in line and ("docs_dir" in line or "config file" in line), line
    assert sidecar.read_text() == VALID_SIDECAR  # nothing deleted


def test_zensical_site_dir_dot_is_refused_before_zensical_runs(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "index.md").write_text("# Home\n\nHello.\n")
    (root / "docs" / "index.md.enrich.yml").write_text(VALID_SIDECAR)
    (root / "zensical.toml").write_text(
        '[project]\nsite_name = "T"\ndocs_dir = "docs"\nsite_dir = "."\n'
    )
    ran = tmp_path / "zensical-ran"
    fake = tmp_path / "zensical"
    # A stand-in for the binary: answers the version check, records any other call.
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "zensical 0.0.73"; exit 0; fi\n'
        f'echo "$@" > "{ran}"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("ZENSICAL", str(fake))
    result = cli(
        SimpleNamespace(root=root), "build", "--generator", "zensical", "-f", "zensical.toml"
    )
    no_traceback(result)
    assert result.code == 1
    assert "site_dir" in result.err and "zensical.toml" in result.err, result.err
    assert not ran.exists()  # zensical never ran
    assert (root / "docs" / "index.md.enrich.yml").read_text() == VALID_SIDECAR


# --- 4. write-back: only the reference's own tag, never code, never an opted-out page -----


@pytest.fixture
def img_site(site, fake_api):
    site.write("img/a.png", png_bytes((9, 9, 9)))
    fake_api.responses_by_marker["File name: a.png"] = {"alt": "A grey square", "decorative": False}
    return site


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_write_back_skips_a_tag_shown_in_a_code_block(img_site, eol):
    page = '# Page\n\n```html\n<img src="img/a.png">\n```\n\n<img src="img/a.png">\n'
    (img_site.docs / "page.md").write_bytes(page.replace("\n", eol).encode())
    result = img_site.run("enrich", "--write-back")
    assert result.code == 0, result.err
    after = (img_site.docs / "page.md").read_bytes().decode()
    expected = page.replace(
        '\n\n<img src="img/a.png">\n', '\n\n<img src="img/a.png" alt="A grey square">\n'
    )
    assert after == expected.replace("\n", eol)


def test_write_back_edits_a_tag_later_in_its_paragraph_not_one_in_a_code_span(img_site):
    page = (
        '# Page\n\nFirst line of a paragraph, `<img src="img/a.png">` as code,\n'
        'then the image itself: <img src="img/a.png">\n'
    )
    (img_site.docs / "page.md").write_text(page)
    assert img_site.run("enrich", "--write-back").code == 0
    after = (img_site.docs / "page.md").read_text()
    assert after == page.replace(
        ': <img src="img/a.png">', ': <img src="img/a.png" alt="A grey square">'
    )


def test_write_back_skips_a_tag_in_a_code_span_on_the_same_line(img_site):
    page = '# Page\n\nWrite `<img src="img/a.png">` like this: <img src="img/a.png">\n'
    (img_site.docs / "page.md").write_text(page)
    assert img_site.run("enrich", "--write-back").code == 0
    after = (img_site.docs / "page.md").read_text()
    assert after == page.replace(
        ': <img src="img/a.png">', ': <img src="img/a.png" alt="A grey square">'
    )


def test_write_back_never_touches_an_opted_out_page(img_site):
    opted = "---\nenrich: false\n---\n# Private\n\n![](img/a.png)\n"
    (img_site.docs / "private.md").write_text(opted)
    (img_site.docs / "public.md").write_text("# Public\n\n![](img/a.png)\n")
    result = img_site.run("enrich", "--write-back")
    assert result.code == 0, result.err
    assert (img_site.docs / "private.md").read_text() == opted
    assert (img_site.docs / "public.md").read_text() == "# Public\n\n![A grey square](img/a.png)\n"


# --- 5, 6, 7. outputs that collide with the generator's or each other -----------------------


def test_copy_colliding_with_a_built_folder_is_skipped_with_a_warning(site):
    site.write("x.md", PAGE.format(title="Ex"))
    site.write("x.md.md", PAGE.format(title="Ex dot md"))
    site.write("other.md", PAGE.format(title="Other"))
    out = built(
        site,
        {"x/index.html": "Ex", "x.md/index.html": "Ex dot md", "other/index.html": "Other"},
    )
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: x.md: a folder of the built site") and "x.md" in line
    assert (out / "x.md" / "index.html").is_file()  # the generator's page is kept
    assert "\n# Ex dot md\n" in (out / "x.md.md").read_text()  # the rest is built
    assert (out / "other.md").is_file() and (out / "llms.txt").is_file()


def test_copy_colliding_with_a_page_folder_is_skipped_on_the_mkdocs_route(site):
    site.write("index.md", PAGE.format(title="Home"))
    site.write("x.md", PAGE.format(title="Ex"))
    site.write("x.md.md", PAGE.format(title="Ex dot md"))
    proc = build(site)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert re.search(r"x\.md: a folder of the built site; the markdown copy of x\.md is not", line)
    out = site.root / "site"
    assert (out / "x.md" / "index.html").is_file()  # MkDocs' page, not our copy
    assert "\n# Ex dot md\n" in (out / "x.md.md").read_text()


def test_llms_txt_colliding_with_a_page_folder_is_skipped_with_a_warning(site):
    site.write("llms.txt.md", PAGE.format(title="About llms"))
    site.write("b.md", PAGE.format(title="Bee"))
    out = built(site, {"llms.txt/index.html": "About llms", "b/index.html": "Bee"})
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: llms.txt: a folder of the built site"), line
    assert (out / "llms.txt" / "index.html").is_file()
    assert (out / "b.md").is_file() and (out / "llms.txt.md").is_file()


def test_feed_colliding_with_a_page_folder_is_skipped_with_a_warning(site):
    site.config.write_text(site.config.read_text() + "site_url: https://example.org/\n")
    site.write("feed.xml.md", PAGE.format(title="Feeds"))
    site.write("post.md", "---\ndate: 2024-05-01\n---\n" + PAGE.format(title="A post"))
    out = built(site, {"feed.xml/index.html": "Feeds", "post/index.html": "A post"})
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: feed.xml: a folder of the built site"), line
    assert (out / "feed.xml" / "index.html").read_text().startswith("<!doctype html>")
    assert (out / "post.md").is_file() and (out / "llms.txt").is_file()


def test_section_llms_txt_colliding_with_a_page_folder_is_skipped_with_a_warning(site):
    site.set_config(
        """
        site_name: Test site
        docs_dir: content
        plugins:
          - enrich:
              llms_txt_sections: true
        """
    )
    site.write("index.md", PAGE.format(title="Home"))
    site.write("guides/a.md", PAGE.format(title="Guide A"))
    site.write("guides/llms.txt.md", PAGE.format(title="About llms"))
    out = built(
        site,
        {
            "index.html": "Home",
            "guides/a/index.html": "Guide A",
            "guides/llms.txt/index.html": "About llms",
        },
    )
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: guides/llms.txt: a folder of the built site"), line
    assert (out / "guides" / "llms.txt" / "index.html").is_file()
    assert (out / "llms.txt").is_file() and (out / "guides" / "a.md").is_file()


def test_output_through_a_symlinked_folder_leaving_the_site_is_not_written(site, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    site.set_config(
        """
        site_name: Test site
        site_url: https://example.org/
        docs_dir: content
        plugins:
          - enrich:
              feed_path: out/feed.xml
        """
    )
    site.write("post.md", "---\ndate: 2024-05-01\n---\n" + PAGE.format(title="A post"))
    out = built(site, {"post/index.html": "A post"})
    os.symlink(outside, out / "out")
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: out/feed.xml: reached through a symlink"), line
    assert list(outside.iterdir()) == []
    assert (out / "post.md").is_file()


@pytest.mark.parametrize("path", ["index.html", "llms.txt", "guide.md", "blog/", "sitemap.xml"])
def test_feed_path_naming_another_output_is_refused(site, path):
    site.set_config(
        f"""
        site_name: Test site
        docs_dir: content
        plugins:
          - enrich:
              feed_path: {path}
        """
    )
    site.write("a.md", PAGE.format(title="A"))
    result = cli(site, "status")
    no_traceback(result)
    assert result.code == 1
    (line,) = problem_lines(result)
    assert "mkdocs.yml:5: plugins.enrich.feed_path" in line and repr(path) in line, line


def test_feed_path_naming_a_folder_of_pages_is_not_written(site):
    site.set_config(
        """
        site_name: Test site
        site_url: https://example.org/
        docs_dir: content
        plugins:
          - enrich:
              feed_path: guides
        """
    )
    site.write("guides/a.md", "---\ndate: 2024-05-01\n---\n" + PAGE.format(title="Guide"))
    out = built(site, {"guides/a/index.html": "Guide"})
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: guides: a folder of the built site"), line
    assert (out / "guides" / "a" / "index.html").is_file()


def test_author_llms_txt_is_kept_and_named_postbuild(site):
    own = "# My site\n\n> Written by me.\n"
    site.write("llms.txt", own)
    site.write("a.md", PAGE.format(title="A"))
    out = built(site, {"a/index.html": "A"})
    (out / "llms.txt").write_text(own)  # the generator copied it
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = warnings(result)
    assert line.startswith("warning: llms.txt: the built site has this file"), line
    assert (out / "llms.txt").read_text() == own
    assert (out / "a.md").is_file()


def test_postbuild_run_twice_does_not_take_its_own_outputs_for_the_generators(site):
    site.write("a.md", PAGE.format(title="A"))
    out = built(site, {"a/index.html": "A"})
    first = cli(site, "postbuild")
    llms = (out / "llms.txt").read_text()
    second = cli(site, "postbuild")
    assert first.code == second.code == 0
    assert warnings(first) == warnings(second) == []
    assert (out / "llms.txt").read_text() == llms


def test_author_llms_txt_is_kept_and_named_mkdocs(site):
    own = "# My site\n\n> Written by me.\n"
    site.write("llms.txt", own)
    site.write("index.md", PAGE.format(title="Home"))
    proc = build(site)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"WARNING .*llms\.txt: the built site has this file", proc.stderr)
    assert (site.root / "site" / "llms.txt").read_text() == own
    assert (site.root / "site" / "index.md").is_file()


# --- 8. names with control characters are printed escaped ----------------------------------


HOSTILE_NAME = "evil\n::error title=x::planted\x1b[2J.md"


@pytest.mark.parametrize(
    "name, shown",
    [
        ("guides/café.md", "guides/café.md"),  # printable names print as they are
        ("a\nb.md", "a\\x0ab.md"),
        ("a\x1b[2Jb.md", "a\\x1b[2Jb.md"),
        ("back\\slash\r.md", "back\\\\slash\\x0d.md"),  # unambiguous once escaped
        ("rtl\u202egpj.md", "rtl\\u202egpj.md"),
        ("line\u2028sep.md", "line\\u2028sep.md"),
    ],
)
def test_printable_escapes_control_characters(name, shown):
    assert printable(name) == shown


def _no_raw(result) -> None:
    for stream in (result.out, result.err):
        assert "\x1b" not in stream
        assert not any(line.startswith("::") for line in stream.splitlines()), stream


def test_control_characters_in_a_page_name_are_escaped_by_status(site):
    site.write(HOSTILE_NAME, '---\nenrich: "false"\n---\n# Evil\n')
    result = cli(site, "status")
    no_traceback(result)
    _no_raw(result)
    assert "evil\\x0a::error title=x::planted\\x1b[2J.md:2: frontmatter enrich" in result.err


def test_control_characters_in_a_page_name_are_escaped_by_postbuild(site):
    site.write(HOSTILE_NAME, PAGE.format(title="Evil"))
    site.write("a.md", PAGE.format(title="A"))
    built(site, {"a/index.html": "A"})
    result = cli(site, "postbuild")
    no_traceback(result)
    _no_raw(result)
    assert "evil\\x0a::error" in result.out  # the page not found in the built site


def test_control_characters_are_escaped_by_the_plugin(site):
    site.write(HOSTILE_NAME, "---\nllms: 0\n---\n# Evil\n")
    site.write("index.md", PAGE.format(title="Home"))
    proc = build(site)
    assert "\x1b" not in proc.stderr + proc.stdout
    assert "evil\\x0a::error" in proc.stderr
    ours = [line for line in proc.stderr.splitlines() if "enrich" in line]
    assert not any(line.startswith("::") for line in ours)


# --- 9. the post-build pass reads site files with the guarded reader -----------------------


def test_postbuild_fifo_page_is_named_by_its_site_path_and_skipped(site):
    site.write("a.md", PAGE.format(title="A"))
    out = built(site, {"a/index.html": "A"})
    os.mkfifo(out / "stuck.html")
    result = cli(site, "postbuild")
    no_traceback(result)
    assert result.code == 1
    (line,) = problem_lines(result)
    assert line.startswith("site/stuck.html: built page cannot be read") and "FIFO" in line, line
    assert (out / "a.md").is_file()


def test_postbuild_page_symlink_out_of_the_site_is_not_read(site, tmp_path):
    secret = tmp_path / "outside" / "secret.html"
    secret.parent.mkdir()
    secret.write_text(html_page("Secret", "TOPSECRET text"))
    site.write("a.md", PAGE.format(title="A"))
    out = built(site, {"a/index.html": "A"})
    os.symlink(secret, out / "leak.html")
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = problem_lines(result)
    assert line.startswith("site/leak.html: built page cannot be read"), line
    assert stat.S_ISLNK(os.lstat(out / "leak.html").st_mode)
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert "TOPSECRET" not in path.read_text(errors="replace"), path
    assert secret.read_text() == html_page("Secret", "TOPSECRET text")


def test_postbuild_non_utf8_page_is_named_by_its_site_path(site):
    site.write("a.md", PAGE.format(title="A"))
    out = built(site, {"a/index.html": "A"})
    (out / "latin.html").write_bytes(b"<html><body>caf\xe9</body></html>")
    result = cli(site, "postbuild")
    no_traceback(result)
    (line,) = problem_lines(result)
    assert line.startswith("site/latin.html: built page is not UTF-8 text"), line


# --- 10. front-matter type errors are warned by the plugin ---------------------------------


def test_plugin_warns_for_each_front_matter_type_error(site):
    site.write("index.md", PAGE.format(title="Home"))
    site.write("a.md", '---\nenrich: "false"\n---\n# A\n')
    site.write("b.md", "---\nllms: []\n---\n# B\n")
    proc = build(site, "--strict")
    assert proc.returncode != 0  # --strict: a warning fails the build
    lines = [line for line in proc.stderr.splitlines() if "frontmatter" in line]
    assert len(lines) == 2, proc.stderr
    assert "content/a.md:2: frontmatter enrich" in lines[0] and "WARNING" in lines[0]
    assert "content/b.md:2: frontmatter llms" in lines[1]


# --- 11. a state_dir inside docs_dir is never published ------------------------------------


def test_plugin_does_not_publish_a_state_dir_inside_docs_dir(site):
    site.set_config(
        """
        site_name: Test site
        docs_dir: content
        plugins:
          - enrich:
              state_dir: content/state
        """
    )
    site.write("index.md", PAGE.format(title="Home"))
    site.write("state/ledger.jsonl", '{"path": "index.md", "title": "Home"}\n')
    proc = build(site)
    assert proc.returncode == 0, proc.stderr
    assert (site.root / "site" / "index.html").is_file()
    assert not (site.root / "site" / "state").exists()


# --- 12. site_url is checked the same way on every route -----------------------------------


@pytest.mark.parametrize("url", ["javascript:alert(1)", "javascript://example.org/%0aalert(1)"])
@pytest.mark.parametrize("command", ["postbuild", "status"])
def test_site_url_that_is_not_http_is_refused(site, command, url):
    site.config.write_text(site.config.read_text() + f"site_url: '{url}'\n")
    site.write("a.md", PAGE.format(title="A"))
    built(site, {"a/index.html": "A"})
    result = cli(site, command)
    no_traceback(result)
    assert result.code == 1
    (line,) = problem_lines(result)
    assert line.startswith("error: ") and "mkdocs.yml:5: site_url:" in line, line


def test_site_url_that_is_not_http_is_refused_by_the_plugin(site):
    site.config.write_text(site.config.read_text() + "site_url: 'javascript://example.org/'\n")
    site.write("index.md", PAGE.format(title="Home"))
    proc = build(site)
    assert proc.returncode != 0
    assert "site_url: 'javascript://example.org/' is not an http:// or https:// URL" in proc.stderr
    assert not (site.root / "site" / "feed.xml").exists()


# --- 14. titles are cut per sink ------------------------------------------------------------


def test_a_huge_title_is_cut_in_llms_txt_and_the_head(site):
    title = "Long " * 40_000  # 200,000 characters
    site.write("a.md", f"# {title}\n\nText.\n")
    out = built(site, {"a/index.html": "Short"})
    before = (out / "a" / "index.html").stat().st_size
    result = cli(site, "postbuild")
    no_traceback(result)
    assert result.code == 0, result.err
    llms = (out / "llms.txt").read_text()
    assert len(llms) < 2_000, len(llms)
    page = (out / "a" / "index.html").read_text()
    assert len(page) - before < 5_000
    head = parse_html(page, head_only=True)
    # Google reads an Article headline up to 110 characters; cards cut titles as long.
    assert 0 < len(head.meta["og:title"]) <= 110
