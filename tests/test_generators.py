"""The generator seam: one table of adapters, each found beside the running Python,
the config file each reads first, what Zensical cannot read, and which index file wins.

The builds run a real MkDocs (this venv), ProperDocs and Zensical (their own venvs under
.venv/side/, tests/sidevenv.py), each called by its venv's python path with a PATH that
does not hold the venv (not activated).
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sidevenv
import yaml
from conftest import ROOT, png_bytes, user_text
from sitebuild import parse_html, parse_page

from pipeline.cli.generators import AUTO, BY_NAME, CONFIG_FILES, TABLE, choose

PROPERDOCS = ["properdocs==1.6.7", "properdocs-theme-mkdocs==1.6.7"]
PROPERDOCS_MATERIAL = ["properdocs==1.6.7", "mkdocs-material>=9.5,<10"]
BARE_PATH = "/usr/bin:/bin"  # no venv on it


def test_the_table_names_each_adapter_folder_once():
    names = [g.name for g in TABLE]
    assert names == ["mkdocs", "properdocs", "zensical"]
    for name in names:
        assert (ROOT / "pipeline" / name / "__init__.py").is_file()
    # Each generator's own file first, mkdocs.yml (read by all three) last.
    assert CONFIG_FILES == ("properdocs.yml", "zensical.toml", "mkdocs.yml")


def test_auto_is_the_generator_whose_config_this_is(tmp_path):
    assert choose(AUTO, tmp_path / "zensical.toml") is BY_NAME["zensical"]
    assert choose(AUTO, tmp_path / "properdocs.yml") is BY_NAME["properdocs"]
    # mkdocs.yml is read by all three: the first installed (this venv has MkDocs).
    assert choose(AUTO, tmp_path / "mkdocs.yml") is BY_NAME["mkdocs"]
    assert choose("zensical", tmp_path / "mkdocs.yml") is BY_NAME["zensical"]


def test_properdocs_yml_is_read_before_mkdocs_yml(site):
    site.set_config("site_name: From mkdocs.yml\ndocs_dir: content\n")
    (site.root / "properdocs.yml").write_text(
        "site_name: From properdocs.yml\ndocs_dir: content\nplugins:\n  - enrich\n"
    )
    site.write("index.md", "# Home\n\nHello.\n")
    assert site.status()["config_file"] == str(site.root / "properdocs.yml")
    # A file named with -f is the one read.
    assert site.run("status", "--json", "-f", "mkdocs.yml").json()["config_file"] == str(
        site.config
    )


def _fake_exe(folder: Path, name: str, version: str, log: Path) -> Path:
    exe = folder / name
    exe.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho {version}\n')
    exe.chmod(0o755)
    return exe


def test_generator_found_beside_the_running_python(tmp_path):
    """A venv's python called by its path, the venv not on PATH: its generator is found
    in the same bin/ (the one a `pip install` there put)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    _fake_exe(bin_dir, "zensical", "0.0.73", tmp_path / "calls.log")
    probe = "from pipeline.zensical import GENERATOR as g; print(g.command()[0])"
    packages = [p for p in sys.path if p.endswith("site-packages")]  # pathspec, yaml...
    env = {"PATH": BARE_PATH, "PYTHONPATH": os.pathsep.join([str(ROOT), *packages])}
    proc = subprocess.run(
        [str(bin_dir / "python"), "-c", probe], env=env, capture_output=True, text=True
    )
    assert proc.stdout.strip() == str(bin_dir / "zensical"), proc.stderr


@pytest.mark.parametrize(
    ("yaml", "line"),
    [
        ("markdown_extensions:\n  - pymdownx.snippets:\n      base_path: !relative x\n", 5),
        ("extra:\n  key: !custom x\n", 4),
    ],
)
def test_zensical_tags_it_cannot_read_are_named_before_it_runs(site, monkeypatch, yaml, line):
    site.set_config("site_name: Tags\ndocs_dir: content\n" + yaml)
    site.write("index.md", "# Home\n\nHello.\n")
    calls = site.root / "calls.log"
    monkeypatch.setenv("ZENSICAL", str(_fake_exe(site.root, "zensical", "0.0.73", calls)))
    result = site.run("build", "--generator", "zensical")
    assert result.code == 1
    lines = [x for x in result.err.splitlines() if x.strip()]
    assert len(lines) == 1 and f"mkdocs.yml:{line}:" in lines[0], result.err
    assert "zensical cannot read the YAML tag" in lines[0]
    assert calls.read_text().split() == ["--version"]  # never asked to build


def test_zensical_reads_env_and_python_tags(site, monkeypatch):
    """!ENV and !!python/name: are read by Zensical: no message, the build runs."""
    site.set_config(
        "site_name: !ENV [NAME, Tags]\ndocs_dir: content\nmarkdown_extensions:\n"
        "  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n"
    )
    site.write("index.md", "# Home\n\nHello.\n")
    calls = site.root / "calls.log"
    monkeypatch.setenv("ZENSICAL", str(_fake_exe(site.root, "zensical", "0.0.73", calls)))
    result = site.run("build", "--generator", "zensical")
    assert "cannot read the YAML tag" not in result.err
    assert "build" in calls.read_text().split()


# --- real builds: README.md beside index.md, and a venv not activated ---------------------


README_SITE = {
    "index.md": "# Home\n\nThe index page's own words.\n",
    "README.md": "# Read me\n\nFor people browsing the repository.\n",
    "guide.md": "# Guide\n\nHow to do it.\n",
}
TEXTS = {
    "Title: Home": {"summary": "INDEX summary.", "abstract": "INDEX abstract."},
    "Title: Read me": {"summary": "README summary.", "abstract": "README abstract."},
    "Title: Guide": {"summary": "GUIDE summary.", "abstract": "GUIDE abstract."},
}


@pytest.fixture
def readme_site(site, fake_api):
    site.set_config(
        "site_name: Readme site\nsite_url: https://example.org/\ndocs_dir: content\n"
        "plugins:\n  - enrich\n"
    )
    for rel, text in README_SITE.items():
        site.write(rel, text)
    fake_api.responses_by_marker.update(TEXTS)
    assert site.run("enrich").code == 0
    asked = [user_text(m) for m in fake_api.messages()]
    assert len(asked) == 2 and not any("Read me" in text for text in asked)
    assert not (site.docs / "README.md.enrich.yml").exists()
    assert site.states() == {"index.md": "up-to-date", "guide.md": "up-to-date"}
    return site


def _index_texts(out: Path) -> tuple[str, list[str]]:
    home = parse_page(out / "index.html")
    llms = (out / "llms.txt").read_text(encoding="utf-8")
    return home.meta["description"], [x for x in llms.splitlines() if x.startswith("- [")]


def _child_env(zensical: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env.pop("ZENSICAL", None)
    env.pop("VIRTUAL_ENV", None)
    env.update(PATH=BARE_PATH, NO_MKDOCS_2_WARNING="1")
    return env


# --no-strict: MkDocs and ProperDocs warn that they exclude README.md themselves.
@pytest.mark.slow
def test_readme_beside_index_mkdocs_route(readme_site):
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "build", "--frozen", "--no-strict"],
        cwd=readme_site.root,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    description, items = _index_texts(readme_site.root / "site")
    assert description == "INDEX summary."
    assert len(items) == 2 and not any("README" in x or "Read me" in x for x in items)


@pytest.fixture(scope="module")
def zensical_python() -> Path:
    exe, why = sidevenv.zensical()
    if exe is None:
        pytest.skip(why)
    return exe.parent / "python"


@pytest.mark.slow
def test_readme_beside_index_zensical_venv_not_activated(readme_site, zensical_python):
    """`python -m pipeline build` by the Zensical venv's python path, PATH bare: auto
    finds zensical beside that python, and index.md's text is on the home page."""
    proc = subprocess.run(
        [str(zensical_python), "-m", "pipeline", "build", "--frozen", "--no-strict"],
        cwd=readme_site.root,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Rendered sidecars" in proc.stdout  # the post-build route ran
    description, items = _index_texts(readme_site.root / "site")
    assert description == "INDEX summary."
    assert len(items) == 2 and not any("README" in x or "Read me" in x for x in items)


@pytest.fixture(scope="module")
def properdocs_python() -> Path:
    try:
        return sidevenv.side_venv("properdocs", PROPERDOCS)
    except sidevenv.Unavailable as e:
        pytest.skip(f"ProperDocs venv could not be made here: {e}")


@pytest.mark.slow
@pytest.mark.parametrize("config_name", ["mkdocs.yml", "properdocs.yml"])
def test_properdocs_venv_not_activated(readme_site, properdocs_python, config_name):
    """A ProperDocs-only venv (no mkdocs module): `python -m pipeline build` runs
    properdocs, with mkdocs.yml or with properdocs.yml (which it reads first)."""
    config = readme_site.config.read_text(encoding="utf-8")
    readme_site.config.unlink()
    (readme_site.root / config_name).write_text(config, encoding="utf-8")
    proc = subprocess.run(
        [str(properdocs_python), "-m", "pipeline", "build", "--frozen", "--no-strict"],
        cwd=readme_site.root,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No module named" not in proc.stderr
    description, _items = _index_texts(readme_site.root / "site")
    assert description == "INDEX summary."


# --- the preview: what deploys, on loopback, rebuilt on change ----------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, ""


def _wait_for(proc: subprocess.Popen, text: str, timeout: float = 300) -> str:
    """Lines of the child's stdout up to the first holding `text`."""
    seen = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return line
    raise AssertionError(f"no {text!r} from serve:\n{''.join(seen)}")


@pytest.mark.slow
def test_zensical_preview_serves_summaries_and_alts_and_rebuilds(site, fake_api, zensical_python):
    site.set_config(
        "site_name: Preview\nsite_url: https://example.org/\ndocs_dir: content\n"
        "plugins:\n  - enrich\n"
    )
    site.write("index.md", "# Home\n\nWelcome.\n\n![](map.png)\n")
    site.write("map.png", png_bytes())
    fake_api.responses_by_marker.update(
        {
            "Title: Home": {"summary": "FIRST summary.", "abstract": "A."},
            "File name: map.png": {"alt": "Map of the street", "decorative": False},
        }
    )
    assert site.run("enrich").code == 0
    proc = subprocess.Popen(
        [str(zensical_python), "-m", "pipeline", "serve", "--port", "0"],
        cwd=site.root,
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = _wait_for(proc, "Serving").split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        status, home = _get(url)
        page = parse_html(home)
        assert status == 200 and page.meta["description"] == "FIRST summary."
        assert [i.get("alt") for i in page.imgs if "map.png" in i.get("src", "")] == [
            "Map of the street"
        ]
        assert _get(url + "llms.txt")[0] == 200
        assert _get(url + "index.md.enrich.yml")[0] == 404  # no sidecar published
        sidecar = site.docs / "index.md.enrich.yml"
        sidecar.write_text(sidecar.read_text().replace("FIRST summary.", "EDITED summary."))
        _wait_for(proc, "preview: serving")
        assert parse_html(_get(url)[1]).meta["description"] == "EDITED summary."
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@pytest.mark.corpus
def test_properdocs_with_material_builds_the_demo(tmp_path):
    """ProperDocs + Material: Material's `mkdocs` dependency is installed beside it but not
    used: properdocs maps every `mkdocs.*` import to itself. properdocs.yml picks it."""
    try:
        python = sidevenv.side_venv("properdocs-material", PROPERDOCS_MATERIAL)
    except sidevenv.Unavailable as e:
        pytest.skip(f"ProperDocs + Material venv could not be made here: {e}")
    root = tmp_path / "demo"
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "properdocs.yml")
    proc = subprocess.run(
        [str(python), "-m", "pipeline", "build", "--frozen"],
        cwd=root,
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fix = parse_page(root / "site" / "guides" / "fix-a-flat" / "index.html")
    sidecar = yaml.safe_load((root / "content" / "guides" / "fix-a-flat.md.enrich.yml").read_text())
    assert fix.meta["description"] == sidecar["summary"]
    listing = (root / "site" / "blog" / "index.html").read_text(encoding="utf-8")
    post = yaml.safe_load(
        (
            root / "content" / "blog" / "posts" / "ten-years-on-harbor-street.md.enrich.yml"
        ).read_text()
    )
    assert html.escape(post["abstract"], quote=False) in listing  # the abstract as excerpt


def test_no_generator_anywhere_is_one_line(site, monkeypatch, tmp_path):
    """auto with nothing installed: one line naming how to install each, no traceback."""
    site.write("index.md", "# Home\n\nHello.\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ZENSICAL", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # nothing beside it
    # ...and no generator module importable by this Python
    no_modules = types.SimpleNamespace(
        util=types.SimpleNamespace(find_spec=lambda name, *a: None), metadata=None
    )
    monkeypatch.setattr("pipeline.generator.importlib", no_modules)
    result = site.run("build")
    assert result.code == 1
    lines = [x for x in result.err.splitlines() if x.strip()]
    assert len(lines) == 1 and "no site generator found" in lines[0], result.err
    assert all(f"pip install {hint}" in lines[0] for hint in ("zensical==", "'sidecar-enrich"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mkdocs_preview_is_mkdocs_serve_with_the_plugin(site, fake_api):
    """With MkDocs, `serve` is `mkdocs serve`: the plugin renders on every build, so the
    preview has the summary, the alt and llms.txt, and publishes no sidecar."""
    site.set_config(
        "site_name: Preview\nsite_url: https://example.org/\ndocs_dir: content\n"
        "plugins:\n  - enrich\n"
    )
    site.write("index.md", "# Home\n\nWelcome.\n\n![](map.png)\n")
    site.write("map.png", png_bytes())
    fake_api.responses_by_marker.update(
        {
            "Title: Home": {"summary": "HOME summary.", "abstract": "A."},
            "File name: map.png": {"alt": "Map of the street", "decorative": False},
        }
    )
    assert site.run("enrich").code == 0
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "serve", "--generator", "mkdocs", "-p", str(port)],
        cwd=site.root,
        env={**_child_env(), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(proc, "Serving on")
        url = f"http://127.0.0.1:{port}/"
        status, home = _get(url)
        page = parse_html(home)
        assert status == 200 and page.meta["description"] == "HOME summary."
        assert [i.get("alt") for i in page.imgs if "map.png" in i.get("src", "")] == [
            "Map of the street"
        ]
        assert _get(url + "llms.txt")[0] == 200
        assert _get(url + "index.md.enrich.yml")[0] == 404
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
