"""Building a site in a child process, and reading the built pages back.

Shared by the tests that run a real `mkdocs build` (or `python -m pipeline ...`) the way a
user does: a child `python -m` that imports this checkout, its output parsed with the
standard library's HTMLParser, never with the code under test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

from conftest import ROOT

RELAX_LINKS = """
# The partial copies have dangling links that are not ours to fix; they stay visible as INFO.
validation:
  links:
    not_found: info
    anchors: info
    unrecognized_links: info
    absolute_links: info
"""


def child_env(extra: dict[str, str | None] | None = None) -> dict[str, str]:
    """The environment for a child that imports this checkout: MkDocs' 2.0 notice off and a
    developer's ENRICH_ON_STALE left out. `extra` sets variables; None unsets one."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "NO_MKDOCS_2_WARNING": "1",
    }
    env.pop("ENRICH_ON_STALE", None)
    for name, value in (extra or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def api_env(key: str | None, base_url: str | None) -> dict[str, str | None]:
    """A child's SDK pointed at the fake API; without a key, no key at all (not even the
    one the `fake_api` fixture set for in-process runs)."""
    if not key:
        return {"ANTHROPIC_API_KEY": None, "ANTHROPIC_BASE_URL": None}
    return {
        "ANTHROPIC_API_KEY": key,
        "ANTHROPIC_BASE_URL": base_url or "",
        "NO_PROXY": "127.0.0.1,localhost",
    }


def python_m(
    *argv: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """`python -m <argv>` in a child process, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
    )


def mkdocs_build(
    config: Path,
    out: Path,
    *extra: str,
    cwd: Path | None = None,
    env: dict | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """A real `mkdocs build -f config -d out` in a child process."""
    argv = ["mkdocs", "build", "-f", str(config), "-d", str(out), *extra]
    return python_m(*argv, cwd=cwd, env=env, timeout=timeout)


def run_in(
    site, *argv: str, key: str | None = None, base_url: str | None = None
) -> subprocess.CompletedProcess:
    """`python -m <argv>` from a conftest `site`'s folder; given a key, its SDK calls the fake."""
    return python_m(*argv, cwd=site.root, env=api_env(key, base_url))


def make_build_lines(*args: str) -> list[str]:
    """The `pipeline build` command lines `make -n build ARGS` would run (nothing is run)."""
    proc = subprocess.run(
        ["make", "-n", "build", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    return [line for line in proc.stdout.splitlines() if "pipeline build" in line]


def build(site, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`mkdocs build` of a conftest `site` into its `site/` folder."""
    return mkdocs_build(site.config, site.root / "site", *extra, env=env, timeout=120)


def enable_plugin(root: Path) -> Path:
    """Add `enrich` after `search` in a corpus copy's mkdocs.yml, links relaxed to INFO."""
    config = root / "mkdocs.yml"
    text = config.read_text()
    assert "plugins:\n  - search\n" in text
    config.write_text(
        text.replace("plugins:\n  - search\n", "plugins:\n  - search\n  - enrich\n") + RELAX_LINKS
    )
    return config


class Page(HTMLParser):
    """The tags of a built page the sinks write: <meta> by name or property, <img> and
    <link> attributes, and the bodies of JSON-LD scripts."""

    def __init__(self):
        super().__init__()
        self.meta: dict[str, str] = {}
        self.imgs: list[dict] = []
        self.links: list[dict] = []
        self.scripts: list[str] = []
        self._in_ld = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and (a.get("name") or a.get("property")):
            self.meta[a.get("name") or a.get("property") or ""] = a.get("content") or ""
        elif tag == "img":
            self.imgs.append(a)
        elif tag == "link":
            self.links.append(a)
        elif tag == "script" and a.get("type") == "application/ld+json":
            self._in_ld = True

    def handle_data(self, data):
        if self._in_ld:
            self.scripts.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_ld = False


def parse_html(html: str, head_only: bool = False) -> Page:
    page = Page()
    page.feed(html.split("</head>", 1)[0] if head_only else html)
    page.close()
    return page


def parse_page(path: Path, head_only: bool = False) -> Page:
    return parse_html(path.read_text(encoding="utf-8"), head_only)


SITE_CONFIG = """
site_name: {site_name}
{site_url}
{site_description}
docs_dir: content
theme:
  name: {theme}
plugins:
  - search
{blog}  - enrich:
      on_stale: {on_stale}
markdown_extensions:
{extensions}
"""


def configure(
    site,
    *,
    site_name: str = "Harbor Street",
    theme: str = "material",
    blog: bool = False,
    site_url: str = "https://example.org/sub/",
    site_description: str = "",
    on_stale: str = "warn",
    extensions: tuple[str, ...] = ("attr_list", "md_in_html"),
) -> None:
    """mkdocs.yml for a small site (docs_dir: content): search, the blog if asked, enrich."""
    site.set_config(
        SITE_CONFIG.format(
            site_name=site_name,
            theme=theme,
            blog="  - blog\n" if blog else "",
            site_url=f"site_url: {site_url}" if site_url else "",
            site_description=f"site_description: {site_description}" if site_description else "",
            on_stale=on_stale,
            extensions="\n".join(f"  - {name}" for name in extensions),
        )
    )


# A mkdocs-static-i18n site in English and French ({layout}: suffix or folder).
I18N = """
site_name: Bikes
{site_url}
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
