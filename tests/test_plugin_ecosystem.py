"""Our plugin beside the plugins real MkDocs sites run (real `mkdocs build`, tmp_path):
mkdocs-macros, Material's tags and blog indexes, Material's social cards."""

from __future__ import annotations

import pytest
from conftest import png_bytes
from sitebuild import build, parse_page

MACROS_SITE = """
site_name: Macros
site_url: https://example.org/
docs_dir: content
theme:
  name: material
plugins:
  - search
  - {first}
  - {second}
extra:
  logo_path: img/logo.png
  version: "4.2"
"""


def orders(a: str, b: str):
    return pytest.mark.parametrize("first, second", [(a, b), (b, a)], ids=["ours-last", "ours-first"])


def ok(site):
    result = build(site)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


# --- 6. template image srcs: skipped as `template`, the rendered image gets its alt ---------


@orders("macros", "enrich")
@pytest.mark.parametrize("src", ["{{logo_path}}", "{{ logo_path }}"])
def test_macro_image_src_is_never_an_error_and_gets_its_alt(site, fake_api, first, second, src):
    site.set_config(MACROS_SITE.format(first=first, second=second))
    site.write("img/logo.png", png_bytes((10, 200, 10)))
    site.write("index.md", f"# Home\n\nVersion {{{{ version }}}} of the co-op.\n\n![]({src})\n")
    fake_api.responses_by_marker["File name: logo.png"] = {"alt": "Co-op logo", "decorative": False}
    status = site.run("status", "--json")
    assert status.code == 0, status.err
    assert site.run("enrich").code == 0
    assert site.states()["img/logo.png"] == "up-to-date"
    ok(site)
    (img,) = parse_page(site.root / "site" / "index.html").imgs
    assert img["src"].endswith("img/logo.png")
    assert img["alt"] == "Co-op logo"
