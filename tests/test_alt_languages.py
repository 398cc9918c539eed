"""Issue 25: an image's alt is per language. The same bytes on an English and a French
page (mkdocs-static-i18n, both layouts) are two requests, each told only of its own
page and language; two sidecars; each built language shows its own alt. A
single-language site keeps its sidecars as they were (real CLI, fake API over HTTP)."""

from __future__ import annotations

import pytest
import yaml
from conftest import png_bytes, title_of, user_text
from sitebuild import build, parse_page

from pipeline.model import DEFAULT_MODEL, IMAGE_PROMPT_VERSION
from pipeline.sidecars import text_hash
from pipeline.source.fingerprint import bytes_fingerprint

I18N = """
site_name: Bikes
site_url: https://example.org/
docs_dir: content
theme:
  name: material
plugins:
  - search
  - i18n:
      docs_structure: {layout}
      languages:
        - locale: en
          default: true
          name: English
          build: true
        - locale: fr
          name: Français
          build: true
  - enrich
"""

ENGLISH = (
    "# Home\n\nThe co-op fixes bikes.\n\n## Workshop\n\n"
    "Our workshop sits in the old mill by the river.\n\n![{alt}](img/logo.png)\n"
)
FRENCH = (
    "# Accueil\n\nLa coopérative répare les vélos.\n\n## Atelier\n\n"
    "Notre atelier se trouve dans le vieux moulin près de la rivière.\n\n![](img/logo.png)\n"
)


def page(layout: str, lang: str) -> str:
    if layout == "folder":
        return f"{lang}/index.md"
    return "index.md" if lang == "en" else "index.fr.md"


def write_site(site, layout: str, english_alt: str = "") -> None:
    pytest.importorskip("mkdocs_static_i18n")
    site.set_config(I18N.format(layout=layout))
    site.write(page(layout, "en"), ENGLISH.format(alt=english_alt))
    site.write(page(layout, "fr"), FRENCH)
    logo = png_bytes((10, 120, 60))
    if layout == "folder":  # each language folder holds its copy: the same bytes twice
        site.write("en/img/logo.png", logo)
        site.write("fr/img/logo.png", logo)
    else:
        site.write("img/logo.png", logo)


def image_requests(fake_api) -> list[dict]:
    return [b for b in fake_api.messages() if title_of(b) == "logo.png"]


def img_alts(path) -> list[str | None]:
    return [i.get("alt") for i in parse_page(path).imgs if "logo.png" in (i.get("src") or "")]


def sidecar(site, rel: str) -> dict:
    return yaml.safe_load((site.docs / rel).read_text(encoding="utf-8"))


# Where each language's text lives: the image's plain sidecar serves the site's default
# language (English), French has its own beside the copy French pages use.
HOMES = {
    "suffix": {"en": "img/logo.png.enrich.yml", "fr": "img/logo.png.fr.enrich.yml"},
    "folder": {"en": "en/img/logo.png.enrich.yml", "fr": "fr/img/logo.png.fr.enrich.yml"},
}


@pytest.fixture(params=["suffix", "folder"])
def layout(request) -> str:
    return request.param


def test_one_request_per_language_each_with_its_own_page(site, fake_api, layout):
    write_site(site, layout)
    assert site.run("enrich").code == 0
    sent = image_requests(fake_api)
    assert len(sent) == 2
    by_line = {user_text(b).split("\n", 1)[0]: user_text(b) for b in sent}
    assert set(by_line) == {"Language: English (en)", "Language: French (fr)"}
    english, french = by_line["Language: English (en)"], by_line["Language: French (fr)"]
    assert "old mill" in english and "Workshop" in english and "Home" in english
    assert "moulin" not in english and "Accueil" not in english
    assert "vieux moulin" in french and "Atelier" in french and "Accueil" in french
    assert "old mill" not in french and "Workshop" not in french
    # Each result beside the image, the language recorded in it.
    homes = HOMES[layout]
    assert sidecar(site, homes["en"])["lang"] == "en"
    assert sidecar(site, homes["fr"])["lang"] == "fr"
    assert sidecar(site, homes["en"])["alt"] != sidecar(site, homes["fr"])["alt"]
    images = [i for i in site.status()["items"] if i["kind"] == "image"]
    assert sorted((i["lang"], i["home"], i["state"]) for i in images) == [
        ("en", homes["en"], "up-to-date"),
        ("fr", homes["fr"], "up-to-date"),
    ]
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert fake_api.messages() == []


def test_each_built_language_shows_its_own_alt(site, fake_api, layout):
    write_site(site, layout)
    assert site.run("enrich").code == 0
    homes = HOMES[layout]
    english, french = (sidecar(site, homes[lang])["alt"] for lang in ("en", "fr"))
    result = build(site)
    assert result.returncode == 0, result.stderr
    out = site.root / "site"
    assert img_alts(out / "index.html") == [english]
    assert img_alts(out / "fr" / "index.html") == [french]


def test_postbuild_route_shows_each_language_its_alt(site, fake_api, layout):
    """The post-build (Zensical) route goes through the same SitePass: a site built
    without our plugin, then `postbuild`, gives each language its own alt too."""
    write_site(site, layout)
    assert site.run("enrich").code == 0
    homes = HOMES[layout]
    english, french = (sidecar(site, homes[lang])["alt"] for lang in ("en", "fr"))
    site.set_config(I18N.format(layout=layout).replace("  - enrich\n", ""))
    result = build(site)
    assert result.returncode == 0, result.stderr
    out = site.root / "site"
    assert img_alts(out / "fr" / "index.html") == [""]  # mkdocs writes the empty alt
    assert site.run("postbuild").code == 0
    assert img_alts(out / "index.html") == [english]
    assert img_alts(out / "fr" / "index.html") == [french]


def test_an_english_author_alt_is_not_used_on_the_french_page(site, fake_api, layout):
    write_site(site, layout, english_alt="Green co-op logo")
    assert site.run("enrich").code == 0
    sent = image_requests(fake_api)
    # English is written by its author; only French is asked for.
    assert [user_text(b).split("\n", 1)[0] for b in sent] == ["Language: French (fr)"]
    french = sidecar(site, HOMES[layout]["fr"])["alt"]
    assert french != "Green co-op logo"
    result = build(site)
    assert result.returncode == 0, result.stderr
    out = site.root / "site"
    assert img_alts(out / "index.html") == ["Green co-op logo"]
    assert img_alts(out / "fr" / "index.html") == [french]


def test_a_hand_edit_of_the_french_sidecar_is_kept(site, fake_api, layout):
    write_site(site, layout)
    assert site.run("enrich").code == 0
    home = site.docs / HOMES[layout]["fr"]
    text = home.read_text(encoding="utf-8")
    old = yaml.safe_load(text)["alt"]
    home.write_text(text.replace(old, "Logo vert de la coopérative"), encoding="utf-8")
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert fake_api.messages() == []
    images = {i["lang"]: i["state"] for i in site.status()["items"] if i["kind"] == "image"}
    assert images == {"en": "up-to-date", "fr": "edited"}
    assert yaml.safe_load(home.read_text(encoding="utf-8"))["alt"] == "Logo vert de la coopérative"


# --- sidecars made before alts were per language ------------------------------------------

OLD_SIDECAR = """\
# Alt text for logo.png. Edit alt/decorative freely: edited text is kept.
alt: A green bicycle wheel logo
decorative: false
source: generated
fingerprint: {fp}
model: {model}
prompt: {prompt}
generated: {generated}
input_tokens: 900
output_tokens: 20
date: '2025-01-01'
"""


def _old_sidecar(site, rel: str) -> None:
    """A sidecar as the code before this change wrote it, for the image at `rel`."""
    fp = bytes_fingerprint((site.docs / rel).read_bytes())
    text = OLD_SIDECAR.format(
        fp=fp,
        model=DEFAULT_MODEL,
        prompt=IMAGE_PROMPT_VERSION,
        generated=text_hash("A green bicycle wheel logo", False),
    )
    site.write(rel + ".enrich.yml", text)


def test_a_single_language_sidecar_made_before_is_still_up_to_date(site, fake_api):
    site.write("index.md", "# Home\n\nThe co-op fixes bikes.\n\n![](img/logo.png)\n")
    site.write("guide.md", "# Guide\n\nPatch a tube.\n\n![](img/logo.png)\n")
    site.write("img/logo.png", png_bytes((10, 120, 60)))
    _old_sidecar(site, "img/logo.png")
    before = site.sidecar_bytes()
    result = site.run("enrich", "--only", "images")
    assert result.code == 0, result.err
    assert fake_api.messages() == []
    assert site.sidecar_bytes() == before
    images = [i for i in site.status()["items"] if i["kind"] == "image"]
    assert [(i["path"], i["state"], "lang" in i) for i in images] == [
        ("img/logo.png", "up-to-date", False)
    ]


def test_a_translation_added_later_keeps_the_old_sidecar_for_english(site, fake_api):
    """A sidecar made before (no `lang`) on an English site: adding a French page that
    uses the image asks for French only, and English keeps the old text."""
    write_site(site, "suffix")
    (site.docs / "index.fr.md").unlink()
    _old_sidecar(site, "img/logo.png")
    assert site.run("enrich", "--only", "images").code == 0
    assert fake_api.messages() == []
    site.write("index.fr.md", FRENCH)
    assert site.run("enrich", "--only", "images").code == 0
    sent = image_requests(fake_api)
    assert [user_text(b).split("\n", 1)[0] for b in sent] == ["Language: French (fr)"]
    assert sidecar(site, "img/logo.png.enrich.yml")["alt"] == "A green bicycle wheel logo"
    assert sidecar(site, "img/logo.png.fr.enrich.yml")["lang"] == "fr"
