"""The built demo site, read by a real headless Chromium.

The plugin's unit tests look at HTML strings; this test looks at what a browser (and a
screen reader, through axe-core) actually gets: every page of a real `mkdocs build` of
the demo site, served over HTTP from 127.0.0.1. It checks that every <img> has an alt,
that the description and social tags are in <head>, that axe-core finds no missing image
alternatives, and that no page makes a request that leaves localhost.

It needs Debian's Chromium (`apt-get install chromium`) and the `playwright` package; it
never downloads a browser. Without either it skips and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sitebuild import mkdocs_build

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

# axe-core is vendored (see vendor/axe-core-*/README.md): a pinned file, no download.
AXE_VERSION = "4.14.1"
AXE_JS = Path(__file__).parent / "vendor" / f"axe-core-{AXE_VERSION}" / "axe.min.js"

# The axe rules about text alternatives for images. They fail the test; any other axe
# finding (contrast, landmarks...) is about the theme, not this project, and is printed.
ALT_RULES = ("image-alt", "input-image-alt", "role-img-alt", "svg-img-alt")

# --headless=new: the real browser, not the old headless shell. The rest keep Chromium
# from calling Google hosts on its own (updates, sync, field trials), which would make
# "no request leaves localhost" depend on the machine rather than on the site.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # we run as root in a container; the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# URLs that never touch the network.
LOCAL_SCHEMES = {"data", "blob", "about"}


def find_chromium() -> str | None:
    """Debian's Chromium, wherever it is; None when there is none."""
    # Debian's package here and in .ci/run; GitHub's Ubuntu runners ship Google Chrome.
    candidates = [
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# ---------------------------------------------------------------- serving and guarding


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per asset would bury the test's own output


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    handler = partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class NetworkGuard:
    """A route handler that lets local requests through and records and aborts the rest.

    Aborting, not just recording, keeps the test hermetic: a stray CDN or font request
    fails fast here instead of hanging or succeeding on a machine with internet.
    """

    external: list[str] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES or (parts.hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort("blockedbyclient")


# ---------------------------------------------------------------- the checks


@dataclass
class PageCheck:
    url: str
    problems: list[str]  # each one fails the test
    notes: list[str]  # axe findings outside ALT_RULES: printed, not asserted


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run the full default axe-core rule set on the loaded page; return its violations."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    return page.evaluate(
        """async () => {
            const results = await axe.run(document, {resultTypes: ['violations']});
            return results.violations.map(v => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
                html: v.nodes.map(n => n.html),
            }));
        }"""
    )


# Reads the DOM after scripts ran, so it sees what the browser (and a screen reader) sees.
_HEAD_JS = """() => {
    const content = (sel) => {
        const el = document.head.querySelector(sel);
        return el === null ? null : (el.getAttribute('content') || '');
    };
    return {
        description: content('meta[name="description"]'),
        ogTitle: content('meta[property="og:title"]'),
        ogDescription: content('meta[property="og:description"]'),
        twitterCard: content('meta[name="twitter:card"]'),
    };
}"""


def check_page(page: Page, url: str, *, head_tags: bool = True) -> PageCheck:
    """Load `url` and return every problem a reader or a link preview would meet.

    `head_tags=False` skips the <head> checks, for pages no plugin hook enriches.
    """
    problems: list[str] = []
    # networkidle, not load: Material fetches its search index after load, and any late
    # request must reach the NetworkGuard before we move on.
    response = page.goto(url, wait_until="networkidle")
    if response is None or not response.ok:
        status = response.status if response else "no response"
        return PageCheck(url, [f"page did not load ({status})"], [])

    missing_alt = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.hasAttribute('alt')).map(i => i.outerHTML)"
    )
    problems += [f"<img> without alt: {html}" for html in missing_alt]

    if head_tags:
        head = page.evaluate(_HEAD_JS)
        if not (head["description"] or "").strip():
            problems.append('<meta name="description"> missing or empty')
        for key, tag in (
            ("ogTitle", 'meta property="og:title"'),
            ("ogDescription", 'meta property="og:description"'),
            ("twitterCard", 'meta name="twitter:card"'),
        ):
            if not (head[key] or "").strip():
                problems.append(f"<{tag}> missing or empty")

    notes: list[str] = []
    for v in axe_violations(page):
        line = f"axe {v['id']} ({v['impact']}): {v['help']}: {', '.join(v['targets'])}"
        if v["id"] in ALT_RULES:
            problems.append(f"{line} -- {' | '.join(v['html'])}")
        else:
            notes.append(line)
    return PageCheck(url, problems, notes)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"playwright is not importable ({exc}); pip install -e '.[dev]'")
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            "no Chromium binary (looked for /usr/bin/chromium, chromium, chromium-browser, "
            "google-chrome); "
            "install Debian's: apt-get install chromium"
        )
    assert AXE_JS.is_file(), f"vendored axe-core missing: {AXE_JS}"
    with sync_playwright() as p:
        # Playwright gives each launch a fresh temporary profile (user-data-dir).
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def guarded_page(browser: Browser) -> Iterator[tuple[Page, NetworkGuard]]:
    """A page in a fresh context whose every request goes through a NetworkGuard."""
    # Service workers could fetch outside the routing; Material registers none, but a
    # future theme version might.
    context = browser.new_context(service_workers="block")
    guard = NetworkGuard()
    # On the context, not the page: it also sees requests from workers (Material's
    # search) and from any window a page opens.
    context.route("**/*", guard)
    try:
        yield context.new_page(), guard
    finally:
        context.close()


def site_path_prefix(config: Path) -> str:
    """The path part of site_url ("harbor-street"), read without MkDocs' YAML tags."""
    match = re.search(r"^site_url:\s*(\S+)", config.read_text(encoding="utf-8"), re.MULTILINE)
    return urlsplit(match.group(1)).path.strip("/") if match else ""


@pytest.fixture
def built_site(tmp_path: Path) -> tuple[Path, Path]:
    """Build a copy of the demo site in tmp_path; return (web root, site dir).

    The site dir is mounted in the web root at site_url's path (/harbor-street/) as in
    production: pages link relatively, but 404.html uses absolute /harbor-street/ URLs.
    """
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "content", src / "content")
    shutil.copy2(ROOT / "mkdocs.yml", src / "mkdocs.yml")
    site = tmp_path / "site"
    # The demo content may not have every sidecar yet; staleness has its own tests.
    env = {"ENRICH_ON_STALE": "info"}
    result = mkdocs_build(src / "mkdocs.yml", site, "--strict", cwd=src, env=env, timeout=120)
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stdout}\n{result.stderr}"

    webroot = tmp_path / "www"
    prefix = site_path_prefix(src / "mkdocs.yml")
    mount = webroot / prefix if prefix else webroot
    mount.parent.mkdir(parents=True, exist_ok=True)
    mount.symlink_to(site, target_is_directory=True)  # http.server follows symlinks
    return webroot, mount


# ---------------------------------------------------------------- tests


@pytest.mark.timeout(240)
def test_every_built_page_has_alts_and_head_tags(browser: Browser, built_site) -> None:
    webroot, mount = built_site
    # Every page, 404.html included. MkDocs renders 404.html from the theme's template
    # without a Page, so no plugin page hook runs for it and there is no summary to put
    # in its head: it gets the image and axe checks but not the head-tag checks.
    pages = [*sorted(mount.rglob("index.html")), mount / "404.html"]
    assert len(pages) > 5, f"suspiciously few pages built: {pages}"

    failures: dict[str, list[str]] = {}
    with serve(webroot) as base, guarded_page(browser) as (page, guard):
        for path in pages:
            url = f"{base}/{path.relative_to(webroot).as_posix()}".removesuffix("index.html")
            checked = check_page(page, url, head_tags=path.name != "404.html")
            for note in checked.notes:
                print(f"[info] {url}: {note}")
            if checked.problems:
                failures[url] = checked.problems

    # One assertion, so a run shows page problems and escaped requests together.
    report = "\n".join(
        f"{url}\n" + "\n".join(f"  - {p}" for p in problems) for url, problems in failures.items()
    )
    if guard.external:
        report += "\nrequests that tried to leave localhost (aborted):\n" + "\n".join(
            f"  - {u}" for u in guard.external
        )
    assert not failures and not guard.external, (
        f"{len(failures)} of {len(pages)} pages have problems:\n{report}"
    )


@pytest.mark.timeout(120)
def test_checks_catch_a_bad_page(browser: Browser, tmp_path: Path) -> None:
    """The checks above can fail: a page with each fault is reported for each one."""
    (tmp_path / "bad.html").write_text(
        '<!doctype html><html lang="en"><head><title>Bad page</title></head><body>'
        "<main><h1>Bad page</h1>"
        '<img src="x.png">'
        # An external image: the guard must record it (and abort it).
        '<img src="https://cdn.example.com/logo.png" alt="Logo">'
        "</main></body></html>",
        encoding="utf-8",
    )
    with serve(tmp_path) as base, guarded_page(browser) as (page, guard):
        checked = check_page(page, f"{base}/bad.html")

    problems = "\n".join(checked.problems)
    assert '<img> without alt: <img src="x.png">' in checked.problems, problems
    assert any(p.startswith("axe image-alt ") for p in checked.problems), problems
    assert '<meta name="description"> missing or empty' in checked.problems, problems
    assert '<meta property="og:title"> missing or empty' in checked.problems, problems
    assert '<meta property="og:description"> missing or empty' in checked.problems, problems
    assert '<meta name="twitter:card"> missing or empty' in checked.problems, problems
    assert guard.external == ["https://cdn.example.com/logo.png"]
