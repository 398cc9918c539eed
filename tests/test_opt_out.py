"""Per-page opt-outs in front matter.

`enrich: false`: the page is never sent to the model (nor its words as an image's
context), never shows generated text, and `status` lists it as skipped, opted out; its
author text still renders. `llms: false`: left out of llms.txt and the markdown copies.
Enrichment runs against the real local fake Messages API (tests/fake_anthropic.py)."""

from __future__ import annotations

import json
import re

from conftest import png_bytes
from sitebuild import build, parse_page
from test_llms_build import head_links

SECRET = """\
---
enrich: false
---

# Secret

SECRETWORDS are in the first paragraph of this page, written by its author.

![](img/only.png)

A longer paragraph around the shared image, so it would be the best context: SECRETWORDS
again, and again, and again, and again, and again, and again, and again, and again.

![](img/shared.png)
"""

PUBLIC = "# Public\n\nA public page.\n\n![](img/shared.png)\n"


def _write(site):
    site.write("img/only.png", png_bytes((10, 10, 200)))
    site.write("img/shared.png", png_bytes((200, 10, 10)))
    site.write("secret.md", SECRET)
    site.write("public.md", PUBLIC)


def test_status_lists_an_opted_out_page_as_skipped_opted_out(site):
    _write(site)
    items = {i["path"]: i for i in site.status()["items"]}
    assert (items["secret.md"]["state"], items["secret.md"]["detail"]) == ("skipped", "opted out")
    assert items["secret.md"]["estimated_input_tokens"] == 0
    # An image only an opted-out page shows is not sent either; a shared one still is.
    assert items["img/only.png"]["state"] == "skipped"
    assert items["img/shared.png"]["state"] == "new"
    assert items["public.md"]["state"] == "new"
    result = site.run("status")
    assert result.code == 0, result.err
    assert re.search(r"^\s+skipped\s+page\s+secret\.md\s+opted out$", result.out, re.M)


def test_an_opted_out_page_is_never_sent_not_even_as_image_context(site, fake_api):
    _write(site)
    result = site.run("enrich")
    assert result.code == 0, result.err
    bodies = fake_api.messages()
    sent = json.dumps(bodies)
    assert "SECRETWORDS" not in sent
    assert "Title: Secret" not in sent
    # public.md and shared.png only: only.png appears on the opted-out page alone.
    assert len(bodies) == 2
    assert not (site.docs / "secret.md.enrich.yml").exists()
    assert not (site.docs / "img/only.png.enrich.yml").exists()


def test_an_opted_out_page_shows_its_author_text_not_generated_text(site, fake_api):
    _write(site)
    site.write("secret.md", SECRET.replace("enrich: false\n", "description: Mine.\n"))
    fake_api.responses_by_marker["File name: shared.png"] = {
        "alt": "GENERATED SHARED ALT",
        "decorative": False,
    }
    fake_api.responses_by_marker["File name: only.png"] = {
        "alt": "GENERATED ALT",
        "decorative": False,
    }
    fake_api.responses_by_marker["Title: Public"] = {
        "summary": "GENERATED SUMMARY.",
        "abstract": "GENERATED ABSTRACT.",
    }
    assert site.run("enrich").code == 0
    assert (site.docs / "img/only.png.enrich.yml").exists()
    # Opt out after the text was made: the sidecar is still there, and never shown.
    site.write(
        "secret.md", SECRET.replace("enrich: false\n", "enrich: false\ndescription: Mine.\n")
    )
    site.write("public.md", PUBLIC.replace("# Public", "---\nenrich: false\n---\n\n# Public"))
    site.write("other.md", "# Other\n\n![](img/shared.png)\n")
    result = build(site, "--strict")
    assert result.returncode == 0, result.stderr
    out = site.root / "site"
    secret = parse_page(out / "secret" / "index.html")
    assert secret.meta["description"] == "Mine."  # the author's text renders
    # Not even for an image another page shares (there it keeps its generated alt).
    assert [i.get("alt") for i in secret.imgs] == ["", ""]
    other = parse_page(out / "other" / "index.html")
    assert [i.get("alt") for i in other.imgs] == ["GENERATED SHARED ALT"]
    public = parse_page(out / "public" / "index.html")
    assert public.meta["description"] == "A public page."  # the first paragraph, not ours
    assert "GENERATED" not in (out / "llms.txt").read_text(encoding="utf-8")


def test_llms_false_leaves_a_page_out_of_llms_txt_and_the_copies(site):
    site.write("index.md", "# Home\n\nWelcome.\n")
    site.write("hidden.md", "---\nllms: false\n---\n\n# Hidden\n\nNot for llms.txt.\n")
    site.write("shown.md", "# Shown\n\nListed.\n")
    result = build(site, "--strict")
    assert result.returncode == 0, result.stderr
    out = site.root / "site"
    llms = (out / "llms.txt").read_text(encoding="utf-8")
    assert "[Shown](shown.md): Listed." in llms
    assert "Hidden" not in llms
    assert not (out / "hidden.md").exists() and (out / "shown.md").exists()
    assert head_links((out / "hidden" / "index.html").read_text()) == ([], [])
    assert head_links((out / "shown" / "index.html").read_text()) == (
        ["../shown.md"],
        ["../llms.txt"],
    )


def test_an_opt_out_that_is_not_true_or_false_is_one_line_and_never_sent(site, fake_api):
    site.write("public.md", PUBLIC)
    site.write("img/shared.png", png_bytes((200, 10, 10)))
    site.write("typo.md", "---\ntitle: Typo\nenrich: 'no thanks'\n---\n\n# Typo\n\nSECRETWORDS\n")
    result = site.run("status")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert "typo.md:3: frontmatter enrich: expected true or false, got 'no thanks'" in result.err
    assert site.run("enrich").code == 1
    assert "SECRETWORDS" not in json.dumps(fake_api.messages())
    assert len(fake_api.messages()) == 2  # public.md and shared.png
