"""`status --json` over three real MkDocs sites, checked against an independent count.

The independent count renders every page with Python-Markdown and the site's own
markdown extensions (what `mkdocs build` does) and counts the <img> tags it outputs,
leaving out emoji images the emoji extension makes from `:shortcodes:`.
"""

from __future__ import annotations

import json
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import frontmatter
import markdown
import pytest
from sitebuild import enable_plugin, mkdocs_build, parse_page, python_m

from pipeline import sidecars as store

pytestmark = pytest.mark.corpus

CORPORA = ["fastapi", "mkdocs-material", "textual-blog"]


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img" and not {"twemoji", "emojione", "gemoji"} & set(
            (attrs.get("class") or "").split()
        ):
            self.srcs.append(attrs.get("src") or "")


def rendered_image_srcs(config_file: Path) -> dict[str, Counter]:
    from mkdocs.config import load_config

    cfg = load_config(str(config_file))
    docs = Path(cfg.docs_dir)
    out = {}
    for path in sorted(docs.rglob("*.md")):
        body = frontmatter.loads(path.read_text(encoding="utf-8")).content
        md = markdown.Markdown(
            extensions=cfg.markdown_extensions, extension_configs=cfg.mdx_configs
        )
        parser = _Imgs()
        parser.feed(md.convert(body))
        out[path.relative_to(docs).as_posix()] = Counter(unquote(s) for s in parser.srcs)
    return out


@pytest.mark.parametrize("name", CORPORA)
def test_status_json_over_a_real_site(corpus_copy, name):
    root = corpus_copy(name)
    proc = python_m("pipeline", "status", "-f", str(root / "mkdocs.yml"), "--json", timeout=300)
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    docs = root / "docs"

    pages = {i["path"]: i for i in data["items"] if i["kind"] == "page"}
    assert set(pages) == {p.relative_to(docs).as_posix() for p in docs.rglob("*.md")}

    expected = rendered_image_srcs(root / "mkdocs.yml")
    ours = {
        path: Counter(unquote(r["src"]) for r in item["references"]) for path, item in pages.items()
    }
    assert ours == expected

    # Every local reference resolved to a real file, and remote ones are listed as skipped.
    remote = [
        s for c in expected.values() for s in c.elements() if s.startswith(("http:", "https:"))
    ]
    skipped_remote = [r for r in data["skipped_references"] if r["reason"] == "remote"]
    assert len(skipped_remote) == len(remote) > 0
    for item in pages.values():
        for ref in item["references"]:
            assert ref["target"] or ref["skip"], ref
            if ref["target"]:
                assert (docs / ref["target"]).is_file()
    assert data["problems"] == []
    assert proc.returncode == 0

    # Images are unique by content: as many items as distinct bytes among the targets.
    targets = {r["target"] for i in pages.values() for r in i["references"] if r["target"]}
    digests = {(docs / t).read_bytes() for t in targets}
    assert len([i for i in data["items"] if i["kind"] == "image"]) == len(digests)


@pytest.mark.parametrize("name", CORPORA)
def test_real_site_builds_strict_with_the_plugin_and_gets_alt_text(corpus_copy, name, fake_api):
    from pipeline.__main__ import main

    root = corpus_copy(name)
    config = enable_plugin(root)
    assert main(["enrich", "-f", str(config), "--concurrency", "8"]) == 0
    out = root / "built"
    proc = mkdocs_build(config, out, "--strict")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert not list(out.rglob("*.enrich.yml"))

    # Every local <img> the markdown left without alt now carries the sidecar's text.
    generated_alts = {
        store.read(root / "docs", p.relative_to(root / "docs").as_posix()).alt
        for p in (root / "docs").rglob("*.enrich.yml")
        if not p.name.endswith(".md.enrich.yml")
    } - {""}
    status = python_m("pipeline", "status", "-f", str(config), "--json", timeout=300)
    missing_before = sum(
        1
        for item in json.loads(status.stdout)["items"]
        if item["kind"] == "page"
        for ref in item["references"]
        if ref["target"] and not (ref["alt"] or "").strip()
    )
    injected = 0
    empty_local = []
    for html in out.rglob("*.html"):
        for img in parse_page(html).imgs:
            src = img.get("src") or ""
            if src.startswith(("http:", "https:", "data:", "{{")) or "twemoji" in (
                img.get("class") or ""
            ):
                continue
            if img.get("alt") in generated_alts:
                injected += 1
            elif not (img.get("alt") or "").strip() and "assets/images/favicon" not in src:
                empty_local.append((html.relative_to(out).as_posix(), src))
    assert missing_before > 0 and injected > 0
    assert empty_local == []
