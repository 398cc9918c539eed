"""Issue 25: an image's alt is per language. The same bytes on an English and a French
page (mkdocs-static-i18n, both layouts) are two requests, each told only of its own
page and language; two sidecars; each built language shows its own alt. A
single-language site keeps its sidecars as they were (real CLI, fake API over HTTP)."""

from __future__ import annotations

import pytest
import yaml
from conftest import png_bytes, title_of, user_text
from sitebuild import I18N, build, parse_page

from pipeline import sidecars as store
from pipeline.model import DEFAULT_MODEL, IMAGE_PROMPT_VERSION
from pipeline.sidecars import text_hash
from pipeline.source.fingerprint import bytes_fingerprint

SITE_URL = "site_url: https://example.org/"

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
    site.set_config(I18N.format(layout=layout, site_url=SITE_URL))
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
    site.set_config(I18N.format(layout=layout, site_url=SITE_URL).replace("  - enrich\n", ""))
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
    # The text output says which language the item is for.
    lines = [line.split() for line in site.run("status").out.splitlines()]
    french = HOMES[layout]["fr"].removesuffix(".fr.enrich.yml")
    assert [line[:4] for line in lines if line[:1] == ["edited"]] == [
        ["edited", "image", french, "[fr]"]
    ]
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


# --- the rest of the life of a sidecar, per language ---------------------------------------


def enriched(site, fake_api) -> dict[str, str]:
    """The suffix-layout site enriched: {lang: alt}."""
    write_site(site, "suffix")
    assert site.run("enrich").code == 0
    homes = HOMES["suffix"]
    return {lang: sidecar(site, homes[lang])["alt"] for lang in ("en", "fr")}


def test_moving_the_image_costs_nothing_and_keeps_each_language(site, fake_api):
    alts = enriched(site, fake_api)
    (site.docs / "img/logo.png").rename(site.docs / "img/brand.png")
    for rel in ("index.md", "index.fr.md"):
        path = site.docs / rel
        path.write_text(path.read_text().replace("img/logo.png", "img/brand.png"))
    fake_api.reset()
    assert site.run("enrich").code == 0
    assert fake_api.messages() == []
    assert sidecar(site, "img/brand.png.enrich.yml")["alt"] == alts["en"]
    assert sidecar(site, "img/brand.png.fr.enrich.yml")["alt"] == alts["fr"]
    assert not (site.docs / "img/logo.png.fr.enrich.yml").exists()
    status = site.status()
    assert status["orphans"] == []
    assert {i["state"] for i in status["items"] if i["kind"] == "image"} == {"up-to-date"}


def test_both_sidecars_of_a_removed_image_are_orphans_and_pruned(site, fake_api):
    enriched(site, fake_api)
    (site.docs / "img/logo.png").unlink()
    site.write("index.md", "# Home\n\nNo logo now.\n")
    site.write("index.fr.md", "# Accueil\n\nPlus de logo.\n")
    assert site.status()["orphans"] == ["img/logo.png.enrich.yml", "img/logo.png.fr.enrich.yml"]
    assert site.run("prune").code == 0
    assert not list(site.docs.rglob("*.png.*enrich.yml"))


def test_a_corrupt_language_sidecar_skips_that_language_only(site, fake_api):
    enriched(site, fake_api)
    site.write("img/logo.png.fr.enrich.yml", "alt: [unclosed\n")
    fake_api.reset()
    result = site.run("enrich")
    assert result.code != 0
    assert "Traceback" not in result.err
    lines = [line for line in result.err.splitlines() if "logo.png" in line]
    assert len(lines) == 1 and lines[0].startswith("content/img/logo.png.fr.enrich.yml:")
    assert "corrupt sidecar" in lines[0]
    assert fake_api.messages() == []  # never overwritten, and English is up to date
    images = {i["lang"]: i["state"] for i in site.status()["items"] if i["kind"] == "image"}
    assert images == {"en": "up-to-date", "fr": "skipped"}


def test_a_lang_that_is_not_a_language_tag_is_refused(site, fake_api):
    enriched(site, fake_api)
    path = site.docs / "img/logo.png.fr.enrich.yml"
    path.write_text(path.read_text().replace("lang: fr", "lang: <script>"))
    result = site.run("status", "--json")
    assert result.code != 0 and "Traceback" not in result.err
    [line] = [line for line in result.err.splitlines() if line.strip()]
    assert line.startswith("content/img/logo.png.fr.enrich.yml:")
    assert "lang must be a language tag" in line


def test_batch_route_sends_and_stores_each_language(site, fake_api):
    write_site(site, "suffix")
    config = site.config.read_text().replace(
        "  - enrich\n", "  - enrich:\n      batch_poll_seconds: 0.01\n"
    )
    site.config.write_text(config)
    assert site.run("enrich", "--batch").code == 0
    creates = [
        r.body for r in fake_api.requests if r.method == "POST" and r.path == "/v1/messages/batches"
    ]
    [create] = creates
    images = [r for r in create["requests"] if title_of(r["params"]) == "logo.png"]
    lines = sorted(user_text(r["params"]).split("\n", 1)[0] for r in images)
    assert lines == ["Language: English (en)", "Language: French (fr)"]
    # A direct run does not pay again for what waits in the batch, in either language.
    result = site.run("enrich")
    assert "4 item(s) are pending in a batch: skipped" in result.out
    fake_api.batch_polls_before_end = 0
    assert site.run("enrich", "--batch").code == 0
    homes = HOMES["suffix"]
    assert sidecar(site, homes["en"])["lang"] == "en"
    assert sidecar(site, homes["fr"])["lang"] == "fr"
    states = {i["lang"]: i["state"] for i in site.status()["items"] if i["kind"] == "image"}
    assert states == {"en": "up-to-date", "fr": "up-to-date"}
    fake_api.reset()
    assert site.run("enrich", "--batch").code == 0
    assert fake_api.calls("/v1/messages/batches", method="POST") == 0


@pytest.mark.parametrize(
    ("sidecar_rel", "source", "lang"),
    [
        ("img/logo.png.enrich.yml", "img/logo.png", ""),
        ("img/logo.png.fr.enrich.yml", "img/logo.png", "fr"),
        ("img/logo.png.pt-BR.enrich.yml", "img/logo.png", "pt-BR"),
        ("img/logo.png.zh-Hant.enrich.yml", "img/logo.png", "zh-Hant"),
        # Not a language: a file name with dots, a page, an image whose extension it is.
        ("img/my.logo.png.enrich.yml", "img/my.logo.png", ""),
        ("guide.fr.md.enrich.yml", "guide.fr.md", ""),
        ("img/diagram.fr.enrich.yml", "img/diagram.fr", ""),
        ("img/logo.png.old.enrich.yml", "img/logo.png.old", ""),
        ("img/logo.png.FR.enrich.yml", "img/logo.png.FR", ""),
    ],
)
def test_a_sidecar_name_gives_its_source_and_language(sidecar_rel, source, lang):
    assert store.split(sidecar_rel) == (source, lang)
    assert store.sidecar_path(source, lang) == sidecar_rel


def test_write_back_puts_each_language_its_alt(site, fake_api):
    write_site(site, "suffix")
    result = site.run("enrich", "--write-back")
    assert result.code == 0, result.err
    homes = HOMES["suffix"]
    english, french = (sidecar(site, homes[lang])["alt"] for lang in ("en", "fr"))
    assert f"![{english}](img/logo.png)" in (site.docs / "index.md").read_text()
    assert f"![{french}](img/logo.png)" in (site.docs / "index.fr.md").read_text()


def test_a_french_sidecar_made_before_keeps_serving_french(site, fake_api):
    """An i18n site upgraded: its one sidecar, made before alts were per language, is in
    French (made while only the French page used the image). French keeps it, whatever
    the order of the pages; only English is asked for."""
    write_site(site, "folder")
    (site.docs / "fr/img/logo.png").unlink()
    site.write("fr/index.md", FRENCH.replace("img/logo.png", "../en/img/logo.png"))
    _old_sidecar(site, "en/img/logo.png")
    path = site.docs / "en/img/logo.png.enrich.yml"
    french = "Logo vert d'une roue de vélo sur fond blanc"
    text = path.read_text().replace("A green bicycle wheel logo", french)
    path.write_text(
        text.replace(text_hash("A green bicycle wheel logo", False), text_hash(french, False))
    )
    assert site.run("enrich", "--only", "images").code == 0
    sent = image_requests(fake_api)
    assert [user_text(b).split("\n", 1)[0] for b in sent] == ["Language: English (en)"]
    assert sidecar(site, "en/img/logo.png.enrich.yml")["alt"] == french
    assert sidecar(site, "en/img/logo.png.en.enrich.yml")["lang"] == "en"
    images = {i["lang"]: i["state"] for i in site.status()["items"] if i["kind"] == "image"}
    assert images == {"en": "up-to-date", "fr": "up-to-date"}


def test_an_image_first_used_in_french_only_stays_french_when_english_uses_it(site, fake_api):
    write_site(site, "suffix")
    site.write("index.md", "# Home\n\nThe co-op fixes bikes.\n")
    assert site.run("enrich", "--only", "images").code == 0
    assert [user_text(b).split("\n", 1)[0] for b in image_requests(fake_api)] == [
        "Language: French (fr)"
    ]
    # Not the site's language (English): the plain sidecar says which it is.
    made = sidecar(site, "img/logo.png.enrich.yml")
    assert made["lang"] == "fr"
    fake_api.reset()
    site.write("index.md", ENGLISH.format(alt=""))
    assert site.run("enrich", "--only", "images").code == 0
    assert [user_text(b).split("\n", 1)[0] for b in image_requests(fake_api)] == [
        "Language: English (en)"
    ]
    assert sidecar(site, "img/logo.png.enrich.yml") == made
    assert sidecar(site, "img/logo.png.en.enrich.yml")["lang"] == "en"


def test_a_changed_image_is_said_stale_once_per_language(site, fake_api):
    enriched(site, fake_api)
    site.write("img/logo.png", png_bytes((200, 30, 30)))
    result = build(site)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "changed since its alt" in line]
    assert len(lines) == 2, result.stderr
    assert any("alt text (en) was made" in line for line in lines)
    assert any("alt text (fr) was made" in line for line in lines)
