"""ProperDocs (the community fork of MkDocs 1.x) runs the plugin unchanged, and the core
runs where MkDocs is not installed at all.

Both run in a venv of their own (tests/sidevenv.py): `properdocs` and its `mkdocs` theme,
plus this checkout without extras, so no `mkdocs` package is there.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import png_bytes, user_text
from sidevenv import Unavailable, side_venv
from sitebuild import api_env, child_env, parse_page

# pymdown-extensions: a page that includes a file (snippets), as the MkDocs venv has it.
REQUIREMENTS = [
    "properdocs==1.6.7",
    "properdocs-theme-mkdocs==1.6.7",
    "pymdown-extensions==13.1.2",
]


@pytest.fixture(scope="module")
def properdocs_python():
    try:
        return side_venv("properdocs", REQUIREMENTS)
    except Unavailable as e:
        pytest.skip(f"ProperDocs venv could not be made here: {e}")


@pytest.fixture
def enriched(site, fake_api):
    site.set_config(
        """
        site_name: Fork test
        site_url: https://example.org/
        docs_dir: content
        theme:
          name: mkdocs
        plugins:
          - enrich
        """
    )
    site.write("img/map.png", png_bytes((20, 90, 160), size=(300, 200)))
    site.write("img/rule.png", png_bytes((240, 240, 240), size=(30, 4)))
    site.write("index.md", "# Home\n\nWhere we are.\n\n![](img/map.png)\n\n![](img/rule.png)\n")
    site.write("hours.md", '# Hours\n\nOpen on Saturdays.\n\n<img src="/img/map.png">\n')
    fake_api.responses_by_marker.update(
        {
            "File name: map.png": {"alt": "Map of the street", "decorative": False},
            "File name: rule.png": {"alt": "", "decorative": True},
            "Title: Home": {"summary": "HOME summary.", "abstract": "HOME abstract."},
            "Title: Hours": {"summary": "HOURS summary.", "abstract": "HOURS abstract."},
        }
    )
    assert site.run("enrich").code == 0
    return site


def test_core_runs_without_mkdocs(properdocs_python, enriched):
    probe = subprocess.run(
        [str(properdocs_python), "-c", "import importlib.util as u; print(u.find_spec('mkdocs'))"],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "None", "this venv must not have mkdocs"
    result = subprocess.run(
        [str(properdocs_python), "-m", "pipeline", "status", "--json"],
        cwd=enriched.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    states = {i["path"]: i["state"] for i in json.loads(result.stdout)["items"]}
    assert states == {
        "index.md": "up-to-date",
        "hours.md": "up-to-date",
        "img/map.png": "up-to-date",
        "img/rule.png": "up-to-date",
    }


def test_properdocs_build_shows_every_summary_and_alt(properdocs_python, enriched):
    properdocs = properdocs_python.parent / "properdocs"
    result = subprocess.run(
        [str(properdocs), "build", "--strict", "-d", str(enriched.root / "site")],
        cwd=enriched.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = enriched.root / "site"
    home, hours = parse_page(out / "index.html"), parse_page(out / "hours" / "index.html")
    assert home.meta["description"] == "HOME summary."
    assert home.meta["og:description"] == "HOME summary."
    assert hours.meta["description"] == "HOURS summary."
    assert [i.get("alt") for i in home.imgs] == ["Map of the street", ""]
    assert [i.get("alt") for i in hours.imgs] == ["Map of the street"]
    assert not list(out.rglob("*.enrich.yml"))


def test_pipeline_build_with_properdocs_enriches_what_it_shows_in_one_build(
    properdocs_python, site, fake_api
):
    """The pause works on ProperDocs as on MkDocs: the page that includes a file is sent
    with the included text, once, and the built page carries its summary."""
    site.set_config(
        f"""
        site_name: Fork test
        docs_dir: content
        theme:
          name: mkdocs
        plugins:
          - enrich
        markdown_extensions:
          - pymdownx.snippets:
              base_path: [{site.root}]
        """
    )
    (site.root / "HOURS.md").write_text("Open on Saturdays from ten to four.\n")
    site.write("index.md", "# Home\n\nWhere we are.\n")
    site.write("hours.md", '# Hours\n\n--8<-- "HOURS.md"\n')
    fake_api.responses_by_marker["from ten to four"] = {
        "summary": "Saturday opening hours.",
        "abstract": "Open on Saturdays from ten to four.",
    }
    env = child_env({**api_env("test-key", fake_api.url), "ENRICH_ON_STALE": None})
    result = subprocess.run(
        [str(properdocs_python), "-m", "pipeline", "build", "--generator", "properdocs"],
        cwd=site.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).count("Documentation built in") == 1
    sent = [m for m in fake_api.messages() if "Title: Hours" in user_text(m)]
    assert len(sent) == 1 and "from ten to four" in user_text(sent[0])
    hours = parse_page(site.root / "site" / "hours" / "index.html")
    assert hours.meta["description"] == "Saturday opening hours."
