"""Zensical sites: the post-build pass, the CLI route, and real Zensical builds.

The pass is tested on fixture files (a built page in, the page we should write out,
written by hand). The builds use a real Zensical, installed once into its own venv
under .venv/side/zensical (its Markdown and pymdown pins differ from MkDocs'); the tests that
need it skip, with the reason, only when it cannot be installed.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pathspec
import pytest
import sidevenv
import yaml
from conftest import ROOT
from sitebuild import mkdocs_build

from pipeline.__main__ import main
from pipeline.config import load_site, validate_options
from pipeline.errors import Fatal
from pipeline.model import DEFAULT_LAYOUT, Site
from pipeline.render.postbuild import (
    abstract_excerpts,
    heading_of,
    match_pages,
    nav_titles,
    render_page,
    rendered_title,
    title_of,
)
from pipeline.render.site_pass import PageInfo, SitePass
from pipeline.render.texts import ImageText, PageTexts, SiteTexts
from pipeline.zensical import TESTED, check_version

FIXTURES = Path(__file__).parent / "fixtures" / "postbuild"
CASES = sorted(p.stem for p in FIXTURES.glob("*.yml"))


# --- the pure pass, on fixture files ------------------------------------------------------------


def _case(name: str, root: Path) -> tuple[PageInfo, SitePass]:
    """The fixture's page and a site pass over a site that serves its images."""
    spec = yaml.safe_load((FIXTURES / f"{name}.yml").read_text(encoding="utf-8"))
    options, _ = validate_options(spec.get("options") or {}, FIXTURES / f"{name}.yml")
    site = Site(
        config_file=root / "mkdocs.yml",
        root=root,
        docs_dir=root / "docs",
        site_dir=root / "site",
        exclude_docs=pathspec.GitIgnoreSpec.from_lines([]),
        options=options,
        plugin_listed=True,
        **spec["site"],
    )
    images = {path: ImageText(alt, deco) for path, (alt, deco) in spec["images"].items()}
    src = spec.get("src")
    pages = {src: PageTexts(spec["summary"], spec["summary"])} if src else {}
    site_pass = SitePass(site, SiteTexts(pages, images), {p: p for p in images})
    page = PageInfo(
        url=DEFAULT_LAYOUT.url_of_output(spec["html_path"], site.use_directory_urls),
        src=src,
        title=html.escape(spec["title"]),  # a generator's title is HTML text
        meta={"date": spec["date"]} if spec.get("date") else {},
    )
    site_pass.has_posts = site_pass.post_date(page) is not None
    return page, site_pass


@pytest.mark.parametrize("name", CASES)
def test_postbuild_fixture(name, tmp_path):
    page, site_pass = _case(name, tmp_path)
    given = (FIXTURES / f"{name}.html").read_text(encoding="utf-8")
    expected = (FIXTURES / f"{name}.expected.html").read_text(encoding="utf-8")
    assert render_page(given, page, site_pass) == expected
    site_pass.collect_copies()  # copies converted beside the build are written here
    copy = tmp_path / "site" / page.url.rstrip("/")
    if page.src:  # its markdown copy, beside it, where the head link points
        assert copy.with_name(copy.name + ".md").is_file()


@pytest.mark.parametrize("name", CASES)
def test_postbuild_pass_is_idempotent(name, tmp_path):
    """Running the pass twice (a user re-runs `postbuild`) changes nothing the second time."""
    page, site_pass = _case(name, tmp_path)
    expected = (FIXTURES / f"{name}.expected.html").read_text(encoding="utf-8")
    assert render_page(expected, page, site_pass) == expected


def test_output_path_and_url():
    output_path, page_url = DEFAULT_LAYOUT.output_path, DEFAULT_LAYOUT.url_of_output
    assert output_path("guides/fix-a-flat.md", True) == "guides/fix-a-flat/index.html"
    assert output_path("guides/index.md", True) == "guides/index.html"
    assert output_path("README.md", True) == "index.html"
    # Only README.md is a folder's page: `readme.md` is a page of its own (as built by
    # Zensical 0.0.73 and MkDocs 1.6: `low/readme/index.html`).
    assert output_path("low/readme.md", True) == "low/readme/index.html"
    assert output_path("guides/fix-a-flat.md", False) == "guides/fix-a-flat.html"
    assert page_url("guides/fix-a-flat/index.html", True) == "guides/fix-a-flat/"
    assert page_url("index.html", True) == ""
    assert page_url("guides/fix-a-flat.html", False) == "guides/fix-a-flat.html"


def test_index_md_wins_over_readme_md_in_its_folder():
    pages = ["README.md", "index.md", "sub/README.md", "a.md", "a/index.md", "b/index.markdown"]
    pages.append("b/index.md")
    assert DEFAULT_LAYOUT.losers(pages, True) == {
        "README.md": "index.md",
        "b/index.markdown": "b/index.md",
        # a.md and a/index.md sit in different folders: not a pair MkDocs resolves
    }
    assert DEFAULT_LAYOUT.losers(["sub/README.md", "sub/x.md"], False) == {}


def test_rendered_title_drops_attribute_lists():
    page = (
        "<html><head><title>Body - Fields - Site</title></head><body><article>"
        '<h1 id="body-fields">Body - Fields<a class="headerlink" href="#body-fields">¶</a>'
        "</h1></article></body></html>"
    )
    read = PageInfo("body/", "body.md", "Body - Fields { #body-fields }")
    assert rendered_title(page, read) == "Body - Fields"
    titled = PageInfo("body/", "body.md", "x", meta={"title": "Fish & chips"})
    assert rendered_title(page, titled) == "Fish &amp; chips"
    assert rendered_title("<html><body></body></html>", read) == read.title
    # The config's nav names it: that title, as MkDocs' page.title.
    assert rendered_title(page, titled, "FAQ & more") == "FAQ &amp; more"


def test_nav_titles_are_the_ones_nav_gives():
    nav = ["index.md", {"Home": "index.md"}, {"Guides": [{"Flat": "g/flat.md"}, "g/x.md"]}]
    nav.append({"Elsewhere": "https://example.org/"})
    assert nav_titles(nav) == {
        "index.md": "Home",
        "g/flat.md": "Flat",
        "https://example.org/": "Elsewhere",
    }
    assert nav_titles(None) == {}


def test_match_pages_by_path_then_by_unique_title():
    built = [
        "index.html",
        "blog/2024/05/18/a-workshop/index.html",
        "blog/2024/06/01/same/index.html",
        "blog/2024/06/02/same-1/index.html",
        "blog/category/events/index.html",
    ]
    sources = {
        "index.md": "Home",
        "blog/posts/workshop.md": "A  Workshop",  # spacing and case differ from the <h1>
        "blog/posts/same-a.md": "Same",
        "blog/posts/same-b.md": "Same",
        "drafts/gone.md": "Gone",
    }
    sources["blog/posts/titled.md"] = "version-060"  # frontmatter title, not its H1
    built.append("blog/2022/12/11/version-060/index.html")
    titles = {  # (<h1>, <title> without the site name)
        "blog/2024/05/18/a-workshop/index.html": ("A workshop", "A workshop"),
        "blog/2024/06/01/same/index.html": ("Same", "Same"),
        "blog/2024/06/02/same-1/index.html": ("Same", "Same"),
        "blog/category/events/index.html": ("Events", "Events"),
        "blog/2022/12/11/version-060/index.html": ("Textual 0.6.0 adds a tree", "version-060"),
    }

    def output_path(src):
        return DEFAULT_LAYOUT.output_path(src, True)

    assert match_pages(built, sources, output_path, titles.__getitem__) == {
        "index.html": "index.md",
        "blog/2024/05/18/a-workshop/index.html": "blog/posts/workshop.md",
        "blog/2022/12/11/version-060/index.html": "blog/posts/titled.md",
        # two posts titled "Same": ambiguous, so neither is guessed
    }


def test_heading_and_title_of_a_built_page():
    page = (
        "<html><head><title>Tabs &amp; more - Textual blog</title></head><body>"
        '<h1>Not content</h1><article><h1 id="t">Tabs &amp; <em>more</em>'
        '<a class="headerlink" href="#t">¶</a></h1></article></body></html>'
    )
    assert heading_of(page) == "Tabs & more"
    assert title_of(page, "Textual blog") == "Tabs & more"


@pytest.mark.parametrize(
    "printed, ok",
    [("0.0.73\n", True), ("0.1.3", True), ("0.0.72", False), ("0.2.0", False), ("", False)],
)
def test_zensical_version_check(printed, ok):
    if ok:
        assert check_version(printed) == printed.strip()
    else:
        with pytest.raises(Fatal) as e:
            check_version(printed)
        assert "not supported" in str(e.value) and TESTED in str(e.value)
        assert "\n" not in str(e.value)


@pytest.fixture
def run(capsys):
    def go(*argv: str):
        capsys.readouterr()
        code = main(list(argv))
        out = capsys.readouterr()
        return type("Result", (), {"code": code, "out": out.out, "err": out.err})

    return go


# --- zensical.toml --------------------------------------------------------------------------------


def _toml_site(root: Path, body: str) -> Path:
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n\nHello.\n", encoding="utf-8")
    (root / "zensical.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    return root


def test_zensical_toml_read_when_there_is_no_mkdocs_yml(tmp_path, monkeypatch):
    _toml_site(
        tmp_path,
        """
        [project]
        site_name = "Toml site"
        site_url = "https://example.org/docs/"
        site_description = "Described in TOML."
        docs_dir = "docs"
        use_directory_urls = false

        [project.plugins.enrich]
        feed_path = "atom.xml"
        """,
    )
    monkeypatch.chdir(tmp_path)
    site = load_site(None)
    assert site.config_file == tmp_path / "zensical.toml"
    assert (site.site_name, site.site_url) == ("Toml site", "https://example.org/docs/")
    assert site.site_description == "Described in TOML."
    assert site.use_directory_urls is False
    assert site.plugin_listed and site.options.feed_path == "atom.xml"
    assert load_site(tmp_path / "zensical.toml").docs_dir == tmp_path / "docs"


def test_zensical_toml_bad_syntax_is_one_line(tmp_path, run):
    _toml_site(tmp_path, '[project]\nsite_name = "unclosed\n')
    result = run("status", "-f", str(tmp_path / "zensical.toml"))
    assert result.code == 1
    assert "Traceback" not in result.err
    line = [x for x in result.err.splitlines() if x.strip()]
    assert len(line) == 1 and "zensical.toml" in line[0] and "invalid TOML" in line[0]


def test_zensical_toml_bad_option_names_the_option(tmp_path, run):
    _toml_site(tmp_path, '[project]\ndocs_dir = "docs"\n[project.plugins.enrich]\nfeed = "yes"\n')
    result = run("status", "-f", str(tmp_path / "zensical.toml"))
    assert result.code == 1 and "Traceback" not in result.err
    assert "plugins.enrich.feed" in result.err


def test_generator_not_installed_is_one_line(tmp_path, run, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no zensical anywhere
    monkeypatch.delenv("ZENSICAL", raising=False)
    result = run("build", "--generator", "zensical", "-f", str(ROOT / "mkdocs.yml"))
    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert "zensical is not installed" in result.err and f"zensical=={TESTED}" in result.err


def test_generator_unsupported_version_is_one_line(tmp_path, run, monkeypatch):
    fake = tmp_path / "zensical"
    fake.write_text("#!/bin/sh\necho 0.3.1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ZENSICAL", str(fake))
    result = run("build", "--generator", "zensical", "-f", str(ROOT / "mkdocs.yml"))
    assert result.code == 1
    assert result.err.strip().count("\n") == 0
    assert "zensical 0.3.1 is not supported" in result.err


# --- real Zensical builds ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def zensical_exe() -> Path:
    """Zensical in its own venv under .venv/side/zensical (installed once, reused)."""
    exe, why = sidevenv.zensical()
    if exe is None:
        pytest.skip(why)
    return exe


# Records every attempt to reach a non-loopback address from any Python process that
# starts with this on its path (ours, and Zensical's Python side), and refuses it.
_GUARD = """
import os, sys
_log = os.environ["NET_GUARD_LOG"]
def _hook(event, args):
    if event == "socket.connect":
        address = args[1]
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(address, tuple) and host not in ("127.0.0.1", "::1", "localhost"):
            with open(_log, "a") as f:
                f.write(f"{sys.argv[0]} connect {address}\\n")
            raise OSError("network blocked by the test")
    elif event == "socket.getaddrinfo" and args[0] not in ("127.0.0.1", "::1", "localhost"):
        with open(_log, "a") as f:
            f.write(f"{sys.argv[0]} getaddrinfo {args[0]}\\n")
sys.addaudithook(_hook)
"""


def _guarded_env(tmp_path: Path, zensical: Path) -> tuple[dict, Path]:
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_GUARD, encoding="utf-8")
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.update(
        PYTHONPATH=f"{guard}{os.pathsep}{ROOT}",
        NET_GUARD_LOG=str(log),
        ZENSICAL=str(zensical),
    )
    return env, log


def _strace_prefix(tmp_path: Path) -> tuple[list[str], Path | None]:
    """Trace socket() syscalls too (Zensical's core is Rust: no Python hook sees it)."""
    strace = shutil.which("strace")
    if not strace:
        return [], None
    probe = subprocess.run([strace, "-f", "-o", os.devnull, "true"], capture_output=True)
    if probe.returncode != 0:
        return [], None
    out = tmp_path / "strace.txt"
    return [strace, "-f", "-e", "trace=socket,connect", "-o", str(out)], out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.description: list[str] = []
        self.imgs: list[dict] = []
        self.links: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("name") or "").lower() == "description":
            self.description.append(a.get("content") or "")
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "link":
            self.links.append(a)

    def link(self, **want) -> list[str]:
        return [
            a.get("href") or "" for a in self.links if all(a.get(k) == v for k, v in want.items())
        ]

    handle_startendtag = handle_starttag


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _summaries(docs: Path) -> dict[str, str]:
    """Each page's summary as the committed sidecar (or the author) says: read here
    from the sidecars and frontmatter, independently of the pass."""
    import frontmatter

    out = {}
    for page in sorted(docs.rglob("*.md")):
        rel = page.relative_to(docs).as_posix()
        description = frontmatter.loads(page.read_text(encoding="utf-8")).get("description")
        sidecar = page.with_name(page.name + ".enrich.yml")
        summary = (
            yaml.safe_load(sidecar.read_text(encoding="utf-8"))["summary"]
            if (sidecar.exists())
            else None
        )
        out[rel] = description or summary
    return out


def _site_file(site: Path, page: Path, src: str) -> Path | None:
    """A local src that resolves to a file of the built site. Remote, data: and templated
    srcs are not ours to describe, nor is a src the corpus itself points nowhere."""
    if src.startswith(("http:", "https:", "data:", "//")) or "{{" in src:
        return None
    path = unquote(src.split("#")[0].split("?")[0])
    target = (site / path.lstrip("/")) if path.startswith("/") else (page.parent / path)
    inside = target.resolve().is_relative_to(site.resolve())
    return target if inside and target.is_file() else None


def _decorative(docs: Path) -> set[bytes]:
    """Bytes of the images whose sidecar says decorative (alt="" is right for those)."""
    out = set()
    for sidecar in docs.rglob("*.enrich.yml"):
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
        image = sidecar.with_name(sidecar.name[: -len(".enrich.yml")])
        if data.get("decorative") and image.is_file():
            out.add(image.read_bytes())
    return out


def _assert_site(site: Path, docs: Path, summaries: dict[str, str], *, posts: int) -> None:
    """As for MkDocs: every summary in its page's meta description, every image of the
    site with alt text (alt="" only for a decorative one), feed and llms.txt well-formed,
    no sidecar published."""
    decorative = _decorative(docs)
    pages = {p: _parse(p) for p in site.rglob("*.html") if p.name != "404.html"}
    descriptions = [d for page in pages.values() for d in page.description]
    for rel, summary in summaries.items():
        assert summary, f"{rel}: the test site should have a summary for every page"
        assert summary in descriptions, f"{rel}: summary not in any meta description"
    for path, page in pages.items():
        assert len(page.description) <= 1, f"{path}: two meta descriptions"
        missing = [
            i["src"]
            for i in page.imgs
            if not (i.get("alt") or "").strip()
            and (target := _site_file(site, path, i.get("src") or ""))
            and not (i.get("alt") == "" and target.read_bytes() in decorative)
        ]
        assert not missing, f"{path}: images without alt: {missing}"
    assert not list(site.rglob("*.enrich.yml")), "a sidecar was published"
    feed = ET.parse(site / "feed.xml").getroot()
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == posts
    for entry in entries:
        assert entry.findtext("{http://www.w3.org/2005/Atom}summary")
    llms = (site / "llms.txt").read_text(encoding="utf-8").splitlines()
    assert llms[0].startswith("# ") and any(line.startswith("## ") for line in llms)
    items = [line for line in llms if line.startswith("- [")]
    assert len(items) == len(summaries)
    # llms.txt v2: every item links a markdown copy in the site and has a note.
    site_url = "https://" + items[0].split("](https://", 1)[1].split("/", 1)[0] + "/"
    for line in items:
        target, note = line.split("](", 1)[1].split("): ", 1)
        assert note.strip(), line
        path = unquote(target.removeprefix(site_url))
        prefix = next((p for p in ("harbor-street/",) if path.startswith(p)), "")
        assert (site / path[len(prefix) :]).is_file(), line
    # ...and every page with a source links its copy and the llms.txt covering it.
    with_copy = 0
    for path, page in pages.items():
        copies = page.link(rel="alternate", type="text/markdown")
        described = page.link(rel="describedby")
        assert len(copies) == len(described) <= 1, path
        for href in copies + described:
            assert (path.parent / unquote(href)).resolve().is_file(), (path, href)
        with_copy += len(copies)
    # Listings the blog generates (archive, categories) have a copy too: their posts.
    listings = [
        p for p in pages if "md-post--excerpt" in p.read_text(encoding="utf-8", errors="replace")
    ]
    generated = [p for p in listings if p.parent != site and p.parent.name != "blog"]
    assert with_copy == len(summaries) + len(generated)


def _no_network(log: Path, trace: Path | None) -> None:
    assert not log.exists(), log.read_text()
    if trace is not None:
        inet = [x for x in trace.read_text().splitlines() if "AF_INET" in x]
        assert not inet, inet[:5]


@pytest.mark.corpus
def test_demo_built_with_zensical(tmp_path, zensical_exe):
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    env, log = _guarded_env(tmp_path, zensical_exe)
    prefix, trace = _strace_prefix(tmp_path)
    cmd = [sys.executable, "-m", "pipeline", "build", "--generator", "zensical"]
    proc = subprocess.run(
        [*prefix, *cmd, "-f", str(root / "mkdocs.yml"), "--frozen"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=root,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    summaries = _summaries(root / "content")
    _assert_site(root / "site", root / "content", summaries, posts=3)
    # llms.txt sections follow mkdocs.yml's nav, as on the MkDocs route.
    llms = (root / "site" / "llms.txt").read_text(encoding="utf-8").splitlines()
    assert [x for x in llms if x.startswith("## ")] == ["## Pages", "## Guides", "## Blog"]
    # Each summary in its own page, including a post the blog moved to a dated URL.
    site = root / "site"
    fix = _parse(site / "guides" / "fix-a-flat" / "index.html")
    assert fix.description == [summaries["guides/fix-a-flat.md"]]
    post = _parse(site / "blog/2024/05/18/a-saturday-workshop-on-truing-wheels/index.html")
    assert post.description == [summaries["blog/posts/wheel-truing-workshop.md"]]
    _no_network(log, trace)
    # The same markdown copies, byte for byte, as the MkDocs route makes of the same site.
    built = mkdocs_build(root / "mkdocs.yml", tmp_path / "mkdocs-site", "--strict", timeout=240)
    assert built.returncode == 0, built.stderr
    ours = {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*.md")}
    theirs = tmp_path / "mkdocs-site"
    assert len(ours) == 15 and "blog.md" in ours and "blog/archive/2024.md" in ours
    assert ours == {p.relative_to(theirs).as_posix(): p.read_bytes() for p in theirs.rglob("*.md")}


@pytest.mark.corpus
def test_demo_frozen_fails_on_stale_before_building(tmp_path, zensical_exe):
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    (root / "content" / "new-page.md").write_text("# New\n\nNo summary yet.\n")
    env, _log = _guarded_env(tmp_path, zensical_exe)
    cmd = [sys.executable, "-m", "pipeline", "build", "--generator", "zensical", "--frozen"]
    proc = subprocess.run(
        [*cmd, "-f", str(root / "mkdocs.yml")], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "new-page.md" in proc.stderr and "FROZEN" in proc.stderr
    assert not (root / "site").exists()


def test_stale_text_is_warned_or_fails(site, fake_api, zensical_exe, tmp_path):
    site.set_config(
        """
        site_name: Stale site
        site_url: https://example.org/
        docs_dir: content
        plugins:
          - enrich
        """
    )
    site.write("index.md", "# Home\n\nWelcome home.\n")
    site.write("guide.md", "# Guide\n\nHow to do it.\n")
    fake_api.responses_by_marker["Title: Guide"] = {"summary": "Guide S.", "abstract": "Guide A."}
    assert site.run("enrich").code == 0
    site.write("guide.md", "# Guide\n\nEntirely different words now.\n")
    env, log = _guarded_env(tmp_path, zensical_exe)
    cfg = str(site.config)

    def go(*cmd, **extra):
        return subprocess.run(
            cmd, env={**env, **extra}, cwd=site.root, capture_output=True, text=True, timeout=600
        )

    assert go(str(zensical_exe), "build", "-f", cfg).returncode == 0
    warned = go(sys.executable, "-m", "pipeline", "postbuild", "-f", cfg, ENRICH_ON_STALE="warn")
    assert warned.returncode == 0, warned.stderr
    assert "warning: content/guide.md: changed since its summary was made" in warned.stderr
    # Meanwhile the committed (older) summary is used.
    assert _parse(site.root / "site" / "guide" / "index.html").description == ["Guide S."]
    failed = go(sys.executable, "-m", "pipeline", "postbuild", "-f", cfg, ENRICH_ON_STALE="fail")
    assert failed.returncode == 1
    assert "stale enrichment" in failed.stderr and "content/guide.md" in failed.stderr
    assert "Traceback" not in failed.stderr
    _no_network(log, None)


@pytest.mark.corpus
def test_corpus_built_with_zensical_then_postbuild(tmp_path, zensical_exe, corpus_copy):
    """The documented manual route: `zensical build`, then `python -m pipeline postbuild`,
    on a real blog (43 posts Zensical moves to dated URLs). The corpus has no sidecars:
    we write one summary per page here, and image sidecars for local images."""
    root = corpus_copy("textual-blog")
    cfg = root / "mkdocs.yml"
    # Zensical does not know MkDocs' `!relative` tag: give snippets the same folder.
    cfg.write_text(
        cfg.read_text(encoding="utf-8").replace("!relative $config_dir", "."), encoding="utf-8"
    )
    docs = root / "docs"
    for n, page in enumerate(sorted(docs.rglob("*.md"))):
        page.with_name(page.name + ".enrich.yml").write_text(
            f"summary: 'Summary {n} of {page.stem}: fish & \"chips\" < 5'\nsource: author\n",
            encoding="utf-8",
        )
    for n, image in enumerate(sorted(docs.rglob("*"))):
        if image.suffix.lower() in (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"):
            image.with_name(image.name + ".enrich.yml").write_text(
                f"alt: Image {n}\nsource: author\n", encoding="utf-8"
            )
    env, log = _guarded_env(tmp_path, zensical_exe)
    prefix, trace = _strace_prefix(tmp_path)
    built = subprocess.run(
        [*prefix, str(zensical_exe), "build", "-f", str(cfg)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    assert list((root / "site").rglob("*.enrich.yml")), "expected Zensical to copy sidecars"
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "pipeline", "postbuild", "-f", str(cfg)],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "not found in the built site" not in proc.stdout
    summaries = _summaries(docs)
    posts = len(list((docs / "blog" / "posts").glob("*.md")))
    _assert_site(root / "site", docs, summaries, posts=posts)
    _no_network(log, trace)


# --- blog listings: the abstract as a post's excerpt, as on the MkDocs route ---------------

EXCERPTS = Path(__file__).parent / "fixtures" / "excerpts"
ABSTRACTS = {  # site-relative post URL -> abstract; the cut post has none to give
    "blog/2024/09/28/ten-years/": "Ten years of the co-op, <briefly>.",
    "blog/2024/03/09/fish-&-chips/": 'Fish & chips, "abstracted".',
}


@pytest.mark.parametrize("name", ["category", "span-end"])
def test_listing_excerpts_show_the_abstract(name):
    """span-end: a listing with no article around its excerpts (a category page), whose
    content span (from the first <article> to the last </article>) ends inside the last."""
    given = (EXCERPTS / f"{name}.html").read_text(encoding="utf-8")
    expected = (EXCERPTS / f"{name}.expected.html").read_text(encoding="utf-8")
    listing = "blog/category/events/"
    out = abstract_excerpts(given, listing, lambda url: ABSTRACTS.get(url, ""))
    assert out == expected
    # Idempotent: the pass run again leaves the listing as it is.
    assert abstract_excerpts(out, listing, lambda url: ABSTRACTS.get(url, "")) == expected
    # No abstract for any post: the listing is left as the generator wrote it.
    assert abstract_excerpts(given, listing, lambda url: "") == given
