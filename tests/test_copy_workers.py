"""Markdown copies converted in worker processes beside the build (issue 24): the same
bytes as converting in the build's own process, and a copy that fails there still takes
its link out of the page the build wrote."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_agent_docs import DEEP, PAGE, _pass

import pipeline.render.markdown_copy as markdown_copy_module
import pipeline.render.site_pass as site_pass_module
from pipeline.render.llms import NavNode
from pipeline.render.markdown_copy import MAX_HTML, may_exceed_bounds
from pipeline.render.site_pass import WORKERS_AFTER, PageInfo, SitePass

pytestmark = pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: no workers")


@pytest.fixture(autouse=True)
def fork_allowed(monkeypatch):
    """Other tests of the session may leave a server thread running, which turns workers
    off (forking with threads is unsafe); these pages are converted by pure functions."""
    monkeypatch.setattr(site_pass_module, "_can_fork", lambda: True)


ARTICLE = (
    "<h1>{n}</h1><p>Text of page {n} with <code>a_b</code> and *stars*.</p>"
    '<div class="highlight"><pre><code class="language-python">print({n})\n</code></pre></div>'
    '<table><tr><td><img src="../img/x.png" alt="x"></td></tr></table>'
)
N = 20
SOURCES = {f"p{n}.md": f"# {n}\n" for n in range(N)}


def _build(tmp_path: Path, *, workers: bool) -> tuple[dict[str, bytes], int]:
    site_pass, _ = _pass(tmp_path, SOURCES)
    if not workers:
        site_pass._converter = lambda: None  # type: ignore[method-assign]
    site = tmp_path / "site"
    for n in range(N):
        page = PageInfo(url=f"p{n}/", src=f"p{n}.md", title=str(n))
        article = ARTICLE.format(n=n)
        html = site_pass.finish_page(PAGE.format(t=n, body=article), page, article)
        (site / f"p{n}").mkdir(parents=True, exist_ok=True)
        (site / f"p{n}" / "index.html").write_text(html, encoding="utf-8")
    deferred = len(site_pass._pending)
    site_pass.finish([NavNode(str(n), f"p{n}/") for n in range(N)], "")
    files = {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    return files, deferred


def test_copies_from_workers_are_the_bytes_converted_in_process(tmp_path):
    inline, none_deferred = _build(tmp_path / "a", workers=False)
    pooled, deferred = _build(tmp_path / "b", workers=True)
    assert none_deferred == 0 and deferred == N - WORKERS_AFTER  # workers took the rest
    assert sorted(inline) == sorted(pooled)
    assert [k for k in inline if k.endswith(".md")] and "llms.txt" in inline
    for name in inline:
        assert inline[name] == pooled[name], name


def test_a_copy_that_fails_in_a_worker_takes_its_link_out_of_the_written_page(
    tmp_path, monkeypatch
):
    # Every conversion runs out of time (workers are forked after this, so they see it).
    monkeypatch.setattr(markdown_copy_module, "MAX_SECONDS", -1.0)
    monkeypatch.setattr(site_pass_module, "WORKERS_AFTER", 0)
    site_pass: SitePass
    site_pass, said = _pass(tmp_path, {"a.md": "# A\n"})
    page = PageInfo(url="a/", src="a.md", title="A")
    html = site_pass.finish_page(PAGE.format(t="A", body="<p>A.</p>"), page, "<p>A.</p>")
    assert 'type="text/markdown"' in html and site_pass._pending  # linked, then deferred
    written = tmp_path / "site" / "a" / "index.html"
    written.parent.mkdir(parents=True)
    written.write_text(html, encoding="utf-8")
    site_pass.finish([NavNode("A", "a/")], "")
    warnings = [m for level, m in said if level == "warning"]
    assert len(warnings) == 1 and "a.md: no markdown copy (conversion took over" in warnings[0]
    assert 'type="text/markdown"' not in written.read_text(encoding="utf-8")
    assert not (tmp_path / "site" / "a.md").exists()
    assert "a.md" not in (tmp_path / "site" / "llms.txt").read_text(encoding="utf-8")


def test_pages_near_a_bound_are_converted_in_process():
    assert may_exceed_bounds(DEEP)
    assert may_exceed_bounds("x" * (MAX_HTML + 1))
    assert not may_exceed_bounds("<div>" * 40 + "<br><img src=x><p>t</p>" + "</div>" * 40)
    # Unclosed and void elements, `>` inside quotes: an estimate, never a refusal.
    assert not may_exceed_bounds('<p>a<br>b<img src="x>y"></p>' * 500)
    assert may_exceed_bounds("<li>" * 60)  # unclosed items count: converted in process
    may_exceed_bounds("<a " * 600_000)  # no closing `>` anywhere: still one quick pass
