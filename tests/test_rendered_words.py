"""Pages whose words come from elsewhere (snippets, mkdocstrings, macros): the model reads
what the page shows, and its fingerprint follows it (real `mkdocs build`, tmp_path)."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest
import sidevenv
from conftest import title_of, user_text
from sitebuild import api_env, build, enable_plugin, mkdocs_build, python_m, run_in

from pipeline.source.rendered import Record, article_text

PLAIN = "# Guide\n\nHow to patch a tube.\n"


def ok(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def sent_text(fake_api, title: str) -> str:
    (body,) = [b for b in fake_api.messages() if f"Title: {title}" in user_text(b)]
    return user_text(body)


def page_states(site) -> dict[str, str]:
    return {p: s for p, s in site.states().items() if p.endswith(".md")}


# --- pymdownx.snippets ---------------------------------------------------------------------

SNIPPETS = """
site_name: Snippets
docs_dir: content
plugins:
  - enrich
markdown_extensions:
  - pymdownx.snippets:
      base_path: [{root}]
      check_paths: true
"""


@pytest.fixture
def snippets(site):
    site.set_config(SNIPPETS.format(root=site.root))
    (site.root / "README.md").write_text("The co-op repairs bicycles every Tuesday evening.\n")
    site.write("index.md", '# Home\n\n--8<-- "README.md"\n')
    site.write("guide.md", PLAIN)
    return site


def test_snippet_page_sends_the_included_text_and_follows_it(snippets, fake_api):
    site = snippets
    ok(site)  # the build records what index.md shows
    assert site.run("enrich").code == 0
    home = sent_text(fake_api, "Home")
    assert "repairs bicycles every Tuesday" in home
    assert "--8<--" not in home
    assert page_states(site) == {"index.md": "up-to-date", "guide.md": "up-to-date"}
    words = {i["path"]: i.get("words") for i in site.status()["items"] if i["kind"] == "page"}
    assert words == {"index.md": "rendered", "guide.md": None}
    # Editing the included file: the next build shows the page changed, and only it.
    (site.root / "README.md").write_text("The co-op now repairs scooters too.\n")
    result = ok(site)
    assert "index.md: its rendered words changed since its summary was made" in result.stderr
    assert page_states(site) == {"index.md": "changed", "guide.md": "up-to-date"}
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert "repairs scooters too" in sent_text(fake_api, "Home")
    assert len(fake_api.messages()) == 1
    # A build after that changes nothing and says nothing.
    result = ok(site)
    assert "rendered words changed" not in result.stderr
    assert page_states(site) == {"index.md": "up-to-date", "guide.md": "up-to-date"}


def test_upgrade_keeps_text_made_from_the_source(snippets, fake_api):
    """Sidecars made before the record existed (from the source) still match after the
    first build records the page: 0 requests."""
    site = snippets
    assert site.run("enrich").code == 0  # no record yet: made from the source
    before = site.sidecar_bytes()
    ok(site)
    record = json.loads((site.root / ".enrich" / "rendered.json").read_text())
    assert set(record["pages"]) == {"index.md"}  # only the page that borrows words
    assert page_states(site) == {"index.md": "up-to-date", "guide.md": "up-to-date"}
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert fake_api.messages() == []
    assert site.sidecar_bytes() == before
    # ... and an edit to the included file after that is still seen.
    (site.root / "README.md").write_text("Closed in August.\n")
    ok(site)
    assert page_states(site)["index.md"] == "changed"


def test_a_page_that_borrows_nothing_is_not_recorded(site, fake_api):
    site.set_config(SNIPPETS.format(root=site.root))
    site.write("guide.md", PLAIN)
    ok(site)
    assert not (site.root / ".enrich" / "rendered.json").exists()


# --- mkdocstrings --------------------------------------------------------------------------

MKDOCSTRINGS = """
site_name: API
docs_dir: content
plugins:
  - search
  - {first}
  - {second}
"""

MODULE = '''
"""Boats of the harbour."""


def launch(boat: str) -> None:
    """{doc}"""
'''


@pytest.mark.parametrize("first, second", [("mkdocstrings", "enrich"), ("enrich", "mkdocstrings")])
def test_api_page_sends_the_docstring_and_follows_it(site, fake_api, first, second):
    pytest.importorskip("mkdocstrings_handlers.python")
    entry = {
        "mkdocstrings": "mkdocstrings:\n      handlers:\n        python:\n"
        f"          paths: [{site.root / 'src'}]",
        "enrich": "enrich",
    }
    site.set_config(MKDOCSTRINGS.format(first=entry[first], second=entry[second]))
    package = site.root / "src" / "harbor"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    doc = "Put a boat in the water at high tide, bow first."
    (package / "boats.py").write_text(textwrap.dedent(MODULE).format(doc=doc))
    site.write("api.md", "# API\n\n::: harbor.boats\n")
    site.write("guide.md", PLAIN)
    ok(site)
    assert site.run("enrich").code == 0
    api = sent_text(fake_api, "API")
    assert "high tide, bow first" in api
    assert "Boats of the harbour" in api
    assert ":::" not in api
    (package / "boats.py").write_text(
        textwrap.dedent(MODULE).format(doc="Only at low tide, stern first.")
    )
    ok(site)
    assert page_states(site) == {"api.md": "changed", "guide.md": "up-to-date"}


# --- mkdocs-macros ---------------------------------------------------------------------------

MACROS = """
site_name: Macros
docs_dir: content
plugins:
  - macros
  - enrich
extra:
  version: "{version}"
"""


def test_macro_page_sends_the_rendered_value_and_follows_extra(site, fake_api):
    site.set_config(MACROS.format(version="4.2"))
    site.write("index.md", "# Home\n\nThis is release {{ version }} of the co-op tools.\n")
    site.write("guide.md", PLAIN)
    ok(site)
    assert site.run("enrich").code == 0
    home = sent_text(fake_api, "Home")
    assert "release 4.2 of" in home and "{{" not in home
    site.set_config(MACROS.format(version="5.0"))
    ok(site)
    assert page_states(site) == {"index.md": "changed", "guide.md": "up-to-date"}


# --- the record and the text ---------------------------------------------------------------


def test_article_text_keeps_words_drops_permalinks_and_shortens_code():
    html = (
        '<h2 id="a">Install<a class="headerlink" href="#a">¶</a></h2>\n'
        "<p>Run <code>pip</code> &amp; wait.</p><pre><code>1\n2\n3\n4\n5\n6\n7\n8\n</code></pre>"
        "<script>alert(1)</script><ul><li>one</li><li>two</li></ul>"
    )
    assert article_text(html) == (
        "## Install\n\nRun pip & wait.\n\n1\n2\n3\n4\n5\n6\n[… 2 more lines of code]\n\none\n\ntwo"
    )


@pytest.mark.parametrize("damage", ["{", "[]", '{"version": "rendered-1", "pages": {"a.md": 3}}'])
def test_damaged_record_is_read_as_empty(tmp_path, damage):
    path = tmp_path / "rendered.json"
    path.write_text(damage)
    assert Record(path).pages == {}


# --- upgrading real sites costs nothing ----------------------------------------------------


def demo_copy(tmp_path):
    """The demo site (content/ and mkdocs.yml, which lists the plugin) in tmp_path."""
    from conftest import ROOT

    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return root


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "borrowing"),
    [("mkdocs-material", 1), ("textual-blog", 17), ("fastapi", 0), ("demo", 0)],
)
def test_upgrading_a_real_site_spends_nothing(corpus_copy, tmp_path, name, borrowing, fake_api):
    """Sidecars made as before (from the source), then the first build that records the
    pages using snippets: every page stays as it was, and enrich sends nothing. fastapi
    and the demo borrow no words: their build records nothing."""
    from pipeline.__main__ import main

    root = demo_copy(tmp_path) if name == "demo" else corpus_copy(name)
    config = root / "mkdocs.yml" if name == "demo" else enable_plugin(root)
    assert main(["enrich", "-f", str(config), "--only", "pages", "--concurrency", "8"]) == 0
    docs = root / ("content" if name == "demo" else "docs")
    before = {p: p.read_bytes() for p in docs.rglob("*.md.enrich.yml")}
    proc = mkdocs_build(config, root / "built")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rendered words changed" not in proc.stderr
    record_file = root / ".enrich" / "rendered.json"
    if borrowing:
        record = json.loads(record_file.read_text())
        assert len(record["pages"]) == borrowing  # the site does borrow words: the case is real
    else:
        assert not record_file.exists()
    fake_api.reset()
    assert main(["enrich", "-f", str(config), "--only", "pages"]) == 0
    assert fake_api.messages() == []
    assert {p: p.read_bytes() for p in docs.rglob("*.md.enrich.yml")} == before


# --- pages made at build time (mkdocs-gen-files + literate-nav: the API reference recipe) ---

GEN_SITE = """
site_name: Harbor
site_url: https://example.org/
docs_dir: content
plugins:
  - search
  - gen-files:
      scripts: [{script}]
  - literate-nav:
      nav_file: SUMMARY.md
  - mkdocstrings:
      handlers:
        python:
          paths: [{src}]
  - enrich
nav:
  - Home: index.md
  - Reference: {folder}/
"""

GEN_SCRIPT = """
from pathlib import Path

import mkdocs_gen_files

src = Path({src!r})
nav = mkdocs_gen_files.Nav()
for path in sorted(src.rglob("*.py")):
    parts = path.relative_to(src).with_suffix("").parts
    if parts[-1] == "__init__":
        continue
    doc = Path(*parts).with_suffix(".md")
    nav[parts] = doc.as_posix()
    with mkdocs_gen_files.open(Path({folder!r}, doc), "w") as fd:
        fd.write("# " + parts[-1].capitalize() + "\\n\\n::: " + ".".join(parts) + "\\n")
with mkdocs_gen_files.open(Path({folder!r}, "SUMMARY.md"), "w") as fd:
    fd.writelines(nav.build_literate_nav())
"""


def gen_site(site, folder: str = "reference"):
    script = site.root / "gen_ref.py"
    src = site.root / "src"
    script.write_text(GEN_SCRIPT.format(src=str(src), folder=folder))
    site.set_config(GEN_SITE.format(script=script, src=src, folder=folder))


def test_api_pages_made_at_build_time_get_what_source_pages_get(site, fake_api):
    pytest.importorskip("mkdocs_gen_files")
    pytest.importorskip("mkdocs_literate_nav")
    pytest.importorskip("mkdocstrings_handlers.python")
    package = site.root / "src" / "harbor"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "boats.py").write_text(
        textwrap.dedent(MODULE).format(doc="Put a boat in the water at high tide, bow first.")
    )
    site.write("index.md", "# Home\n\nThe harbour's boats and how to launch them.\n")
    gen_site(site)
    ok(site)  # the build records the pages it made
    (item,) = [i for i in site.status()["items"] if i["path"] == "reference/harbor/boats.md"]
    assert (item["state"], item["words"]) == ("new", "generated")
    fake_api.responses_by_marker["Title: boats"] = {
        "summary": "Launching boats at high tide.",
        "abstract": "How harbor.boats launches a boat: at high tide, bow first.",
    }
    assert site.run("enrich").code == 0
    assert "high tide, bow first" in sent_text(fake_api, "boats")
    # Committed like every other result: beside where its source would be.
    sidecar = site.docs / "reference" / "harbor" / "boats.md.enrich.yml"
    assert "Launching boats at high tide." in sidecar.read_text()
    ok(site)
    out = site.root / "site"
    page = (out / "reference" / "harbor" / "boats" / "index.html").read_text()
    assert '<meta name="description" content="Launching boats at high tide.">' in page
    assert '<link rel="alternate" type="text/markdown" href="../boats.md">' in page
    assert "high tide, bow first" in (out / "reference" / "harbor" / "boats.md").read_text()
    llms = (out / "llms.txt").read_text()
    assert "[boats](https://example.org/reference/harbor/boats.md): How harbor.boats" in llms
    assert not list(out.rglob("*.enrich.yml"))  # kept out of the site
    assert site.status()["orphans"] == []
    # Moving the reference: the text is found by fingerprint and re-homed, for nothing.
    gen_site(site, folder="api")
    ok(site)
    assert site.states()["api/harbor/boats.md"] == "up-to-date"
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert fake_api.messages() == []
    assert (site.docs / "api" / "harbor" / "boats.md.enrich.yml").is_file()


def test_record_keeps_a_bounded_text_and_fingerprints_all_of_it(tmp_path):
    record = Record(tmp_path / "rendered.json")
    head = "word " * 5000  # 25,000 characters
    a = record.put("api.md", "sha256:s", head + "launch at high tide", adopt=True)
    b = record.put("api.md", "sha256:s", head + "launch at low tide")
    assert a.rendered != b.rendered  # an edit past the kept text is still seen
    assert len(b.text) == 16_000 and b.first == a.rendered  # same source: first is kept
    assert record.save()
    again = Record(tmp_path / "rendered.json")
    assert again.pages == record.pages
    assert not again.save()  # nothing changed: not rewritten


# --- `pipeline build` with a key ---------------------------------------------------------------


def builds(proc) -> int:
    """How many times the generator built the site."""
    return (proc.stdout + proc.stderr).count("Documentation built in")


def test_pipeline_build_enriches_what_the_build_shows_changed(snippets, fake_api):
    """An edit to an included file is seen by the build: `pipeline build` enriches that
    page while the build pauses before writing pages, so the generator runs once, the
    page shows its new summary, and --strict holds."""
    site = snippets
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    (site.root / "README.md").write_text("The co-op now repairs scooters too.\n")
    fake_api.reset()
    fake_api.responses_by_marker["scooters"] = {
        "summary": "Scooters too.",
        "abstract": "The co-op repairs scooters as well as bicycles.",
    }
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    assert "enriching them before the pages are written" in proc.stdout
    assert builds(proc) == 1
    assert [title_of(b) for b in fake_api.messages()] == ["Home"]
    html = (site.root / "site" / "index.html").read_text()
    assert '<meta name="description" content="Scooters too.">' in html
    assert '<meta property="og:description" content="Scooters too.">' in html
    llms = (site.root / "site" / "llms.txt").read_text()
    assert "The co-op repairs scooters as well as bicycles." in llms
    # Nothing changed: one build, no request, no pause.
    fake_api.reset()
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    assert "enriching them" not in proc.stdout
    assert builds(proc) == 1
    assert fake_api.messages() == []


def test_after_the_first_record_enrich_waits_for_a_build_to_show_a_page(snippets, fake_api):
    """Once the record exists, text made from a borrowing page's source (a new page, or
    its source edited, before a build showed it) would not be adopted: enrich does not
    pay for it, says why, and sends the page once a build has shown it."""
    site = snippets
    ok(site)  # the record exists now
    assert site.run("enrich").code == 0
    (site.root / "FAQ.md").write_text("Tuesdays only, from six to nine.\n")
    site.write("faq.md", '# FAQ\n\n--8<-- "FAQ.md"\n')
    fake_api.reset()
    result = site.run("enrich")
    assert result.code == 0
    assert "1 page(s) take words from elsewhere that no build has shown yet" in result.out
    assert fake_api.calls("/v1/messages") == 0
    assert page_states(site)["faq.md"] == "new"
    (faq,) = [i for i in site.status()["items"] if i["path"] == "faq.md"]
    assert "no build has shown its words yet" in faq["detail"]
    ok(site)
    assert site.run("enrich").code == 0
    assert [title_of(b) for b in fake_api.messages()] == ["FAQ"]
    assert "Tuesdays only" in sent_text(fake_api, "FAQ")
    assert page_states(site)["faq.md"] == "up-to-date"


def test_enrich_force_sends_a_page_no_build_has_shown(snippets, fake_api):
    site = snippets
    ok(site)
    assert site.run("enrich").code == 0
    site.write("faq.md", '# FAQ\n\n--8<-- "README.md"\n')
    fake_api.reset()
    assert site.run("enrich", "--force", "content/faq.md").code == 0
    assert [title_of(b) for b in fake_api.messages()] == ["FAQ"]


def test_pipeline_build_shows_a_new_borrowing_page_before_sending_it(snippets, fake_api):
    site = snippets
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    (site.root / "FAQ.md").write_text("Tuesdays only, from six to nine.\n")
    site.write("faq.md", '# FAQ\n\n--8<-- "FAQ.md"\n')
    fake_api.reset()
    fake_api.responses_by_marker["Tuesdays only"] = {
        "summary": "Opening hours: Tuesdays.",
        "abstract": "The co-op opens on Tuesdays only, from six to nine.",
    }
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    assert "enriched from what this build shows" in proc.stdout
    assert builds(proc) == 1
    assert [title_of(b) for b in fake_api.messages()] == ["FAQ"]  # once, from what it shows
    assert "Tuesdays only" in sent_text(fake_api, "FAQ")
    assert page_states(site)["faq.md"] == "up-to-date"
    faq = (site.root / "site" / "faq" / "index.html").read_text()
    assert '<meta name="description" content="Opening hours: Tuesdays.">' in faq


def test_a_request_the_api_rejects_during_the_pause_leaves_the_page_built(snippets, fake_api):
    """The pause's enrich fails like any enrich: the page is remembered as failed, the
    build writes every page (that one from its first paragraph) and exits 1."""
    from fake_anthropic.faults import ApiError

    site = snippets
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stderr
    (site.root / "README.md").write_text("The co-op now repairs scooters too.\n")
    fake_api.reset()
    fake_api.responses_by_marker["scooters"] = ApiError(400, "prompt is too long")
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert builds(proc) == 1
    sent = [r for r in fake_api.requests if r.path == "/v1/messages" and r.method == "POST"]
    assert [r.status for r in sent] == [400]  # never retried
    assert page_states(site)["index.md"] == "failed"
    html = (site.root / "site" / "index.html").read_text()
    assert "scooters too" in html  # the page is there, with what it shows
    assert (site.root / "site" / "guide" / "index.html").is_file()
    # Remembered: the next build sends nothing and does not pause for it.
    fake_api.reset()
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert fake_api.calls("/v1/messages") == 0
    assert "enriching them" not in proc.stdout


# --- the post-build route (Zensical) records the same way ------------------------------------


@pytest.fixture
def zensical_exe():
    exe, why = sidevenv.zensical()
    if exe is None:
        pytest.skip(why)
    return exe


def test_zensical_route_records_what_pages_show_and_enriches_it_in_one_build(
    snippets, fake_api, zensical_exe
):
    """`pipeline build --generator zensical` with a key: the pass records what the snippet
    page shows, enriches it from that (not from `--8<--`) before writing any page, and an
    edit to the included file makes exactly that page changed."""
    site = snippets
    env = {
        **api_env("test-key", fake_api.url),
        "ZENSICAL": str(zensical_exe),
        "ENRICH_ON_STALE": None,
    }
    fake_api.responses_by_marker["every Tuesday evening"] = {
        "summary": "Bicycle repairs on Tuesdays.",
        "abstract": "The co-op repairs bicycles every Tuesday evening.",
    }
    proc = python_m("pipeline", "build", "--generator", "zensical", cwd=site.root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--8<--" not in sent_text(fake_api, "Home")
    assert "every Tuesday evening" in sent_text(fake_api, "Home")
    record = json.loads((site.root / ".enrich" / "rendered.json").read_text())
    assert list(record["pages"]) == ["index.md"]
    html = (site.root / "site" / "index.html").read_text()
    assert '<meta name="description" content="Bicycle repairs on Tuesdays.">' in html
    assert page_states(site) == {"index.md": "up-to-date", "guide.md": "up-to-date"}
    # The included file changes: that page alone is sent again, once.
    (site.root / "README.md").write_text("The co-op now repairs scooters too.\n")
    fake_api.reset()
    proc = python_m("pipeline", "build", "--generator", "zensical", cwd=site.root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [title_of(b) for b in fake_api.messages()] == ["Home"]
    assert "scooters" in sent_text(fake_api, "Home")
    # Unchanged: nothing sent.
    fake_api.reset()
    proc = python_m("pipeline", "build", "--generator", "zensical", cwd=site.root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fake_api.calls("/v1/messages") == 0
