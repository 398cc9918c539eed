"""mkdocs-static-i18n builds each further language by running the build again into
site_dir/<lang>/: every language keeps its llms.txt, every warning is said once, and the
copy cache keeps every language (real `mkdocs build`, tmp_path, both layouts)."""

from __future__ import annotations

import pytest
from conftest import title_of, user_text
from sitebuild import I18N, build, run_in

pytest.importorskip("mkdocs_static_i18n")

PAGES = {
    ("en", "index"): "# Home\n\nThe co-op fixes bikes.\n",
    ("fr", "index"): "# Accueil\n\nLa coopérative répare les vélos.\n",
    ("en", "guide"): "# Guide\n\nPatch a tube in five steps.\n",
    ("fr", "guide"): "# Guide\n\nRéparer une chambre à air en cinq étapes.\n",
}


def source(layout: str, lang: str, name: str) -> str:
    if layout == "folder":
        return f"{lang}/{name}.md"
    return f"{name}.md" if lang == "en" else f"{name}.{lang}.md"


@pytest.fixture(params=["suffix", "folder"])
def i18n(site, request):
    layout = request.param
    site.set_config(I18N.format(layout=layout, site_url="site_url: https://example.org/"))
    for (lang, name), text in PAGES.items():
        site.write(source(layout, lang, name), text)
    site.layout = layout
    return site


def ok(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_every_language_keeps_its_llms_txt(i18n):
    ok(i18n)
    out = i18n.root / "site"
    english = (out / "llms.txt").read_text()
    french = (out / "fr" / "llms.txt").read_text()
    assert "[Home](https://example.org/index.md)" in english
    assert "[Guide](https://example.org/guide.md)" in english
    assert "Accueil" not in english
    assert "[Accueil](https://example.org/fr.md)" in french
    assert "[Guide](https://example.org/fr/guide.md)" in french
    assert "Home" not in french
    # Each names the other, so an agent that reads one finds both.
    assert english.endswith("## Other languages\n\n- [Français](https://example.org/fr/llms.txt)\n")
    assert french.endswith("## Other languages\n\n- [English](https://example.org/llms.txt)\n")
    fr_guide = (out / "fr" / "guide" / "index.html").read_text()
    assert '<link rel="describedby" href="../llms.txt">' in fr_guide


def test_llms_txt_per_language_links_relative_without_site_url(site):
    site.set_config(I18N.format(layout="suffix", site_url=""))
    for (lang, name), text in PAGES.items():
        site.write(source("suffix", lang, name), text)
    ok(site)
    french = (site.root / "site" / "fr" / "llms.txt").read_text()
    # Relative to fr/llms.txt: each link names the copy that is there.
    assert "[Guide](guide.md)" in french and "[Accueil](../fr.md)" in french
    assert french.endswith("- [English](../llms.txt)\n")
    english = (site.root / "site" / "llms.txt").read_text()
    assert english.endswith("- [Français](fr/llms.txt)\n")
    assert (site.root / "site" / "fr" / "guide.md").is_file()
    assert (site.root / "site" / "fr.md").is_file()


def test_every_warning_is_said_once(i18n, fake_api):
    assert i18n.run("enrich").code == 0
    guide = i18n.docs / source(i18n.layout, "en", "guide")
    guide.write_text("# Guide\n\nPatch a tube in six steps.\n")
    result = ok(i18n)
    lines = [line for line in result.stderr.splitlines() if "changed since its summary" in line]
    assert len(lines) == 1, result.stderr


def test_copy_cache_keeps_every_language(i18n):
    ok(i18n)
    cache = i18n.root / ".enrich" / "cache"
    first = {p.name: p.read_bytes() for p in cache.glob("markdown-copies*.json")}
    assert len(first) == 2  # one per language
    ok(i18n)
    second = {p.name: p.read_bytes() for p in cache.glob("markdown-copies*.json")}
    assert second == first  # a warm build converts and rewrites nothing


def test_pipeline_build_enriches_each_language_from_what_it_shows(site, fake_api):
    """With snippets, each language's build pauses where it has shown its pages' words:
    the English and the French page that include a file are each sent once, with the
    included text, and every page carries its summary after one `pipeline build`."""
    site.set_config(
        I18N.format(layout="suffix", site_url="site_url: https://example.org/")
        + f"markdown_extensions:\n  - pymdownx.snippets:\n      base_path: [{site.root}]\n"
    )
    for (lang, name), text in PAGES.items():
        site.write(source("suffix", lang, name), text)
    (site.root / "HOURS.md").write_text("Tuesdays, six to nine.\n")
    (site.root / "HEURES.md").write_text("Le mardi, de dix-huit à vingt et une heures.\n")
    site.write("hours.md", '# Hours\n\n--8<-- "HOURS.md"\n')
    site.write("hours.fr.md", '# Horaires\n\n--8<-- "HEURES.md"\n')
    fake_api.responses_by_marker["Tuesdays, six to nine"] = {
        "summary": "Open Tuesday evenings.",
        "abstract": "The co-op opens on Tuesdays, six to nine.",
    }
    fake_api.responses_by_marker["Le mardi"] = {
        "summary": "Ouvert le mardi soir.",
        "abstract": "La coopérative ouvre le mardi, de 18 h à 21 h.",
    }
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    titles = sorted(title_of(b) for b in fake_api.messages())
    assert titles == ["Accueil", "Guide", "Guide", "Home", "Horaires", "Hours"]
    assert "--8<--" not in "".join(user_text(b) for b in fake_api.messages())
    out = site.root / "site"
    english = (out / "hours" / "index.html").read_text()
    french = (out / "fr" / "hours" / "index.html").read_text()
    assert '<meta name="description" content="Open Tuesday evenings.">' in english
    assert '<meta name="description" content="Ouvert le mardi soir.">' in french
    assert "La coopérative ouvre le mardi" in (out / "fr" / "llms.txt").read_text()
    fake_api.reset()
    proc = run_in(site, "pipeline", "build", key="test-key", base_url=fake_api.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert fake_api.calls("/v1/messages") == 0
