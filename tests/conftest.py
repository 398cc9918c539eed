"""Shared fixtures: small real sites in tmp_path, and the CLI run in-process.

Nothing here fakes our own code: tests write real files, run the real commands, and
(in the enrichment tests) talk to a real HTTP server through the real SDK.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from pipeline.__main__ import main

pytest_plugins = ["fake_anthropic"]

ROOT = Path(__file__).resolve().parents[1]


def _find_corpora() -> Path:
    """The three real sites: $PIPELINE_CORPORA, else ../shared/corpora beside this
    checkout, else the workplace's shared folder (a clone elsewhere still finds them)."""
    candidates = [
        os.environ.get("PIPELINE_CORPORA"),
        ROOT.parent / "shared" / "corpora",
        "/work/shared/corpora",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return ROOT.parent / "shared" / "corpora"


CORPORA = _find_corpora()


@pytest.fixture(autouse=True)
def _no_real_api(monkeypatch):
    """Tests never see a developer's real key or endpoint."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def png_bytes(color=(200, 30, 30), size=(64, 48), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@dataclass
class SiteDir:
    root: Path
    capsys: pytest.CaptureFixture

    @property
    def docs(self) -> Path:
        return self.root / "content"

    @property
    def config(self) -> Path:
        return self.root / "mkdocs.yml"

    def write(self, rel: str, content: str | bytes) -> Path:
        path = self.docs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        return path

    def set_config(self, text: str) -> None:
        self.config.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def run(self, *argv: str) -> Result:
        """Run `python -m pipeline` in-process from the site's folder."""
        self.capsys.readouterr()
        old = os.getcwd()
        os.chdir(self.root)
        try:
            code = main(list(argv))
        finally:
            os.chdir(old)
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def status(self, *extra: str) -> dict:
        result = self.run("status", "--json", *extra)
        assert "Traceback" not in result.err
        return result.json()

    def states(self, *extra: str) -> dict[str, str]:
        return {i["path"]: i["state"] for i in self.status(*extra)["items"]}

    def sidecar_bytes(self) -> dict[str, bytes]:
        return {
            p.relative_to(self.docs).as_posix(): p.read_bytes()
            for p in sorted(self.docs.rglob("*.enrich.yml"))
        }


@pytest.fixture
def site(tmp_path, capsys) -> SiteDir:
    """An empty MkDocs site (docs_dir: content) in tmp_path."""
    s = SiteDir(tmp_path / "site-src", capsys)
    s.docs.mkdir(parents=True)
    s.set_config(
        """
        site_name: Test site
        docs_dir: content
        plugins:
          - enrich
        """
    )
    return s


@pytest.fixture
def corpus_copy(tmp_path):
    """Copy one of the real sites in ../shared/corpora into tmp_path (never write there)."""

    def copy(name: str) -> Path:
        src = CORPORA / name
        if not src.is_dir():
            pytest.skip(f"corpus {name} not present at {src}")
        dst = tmp_path / name
        shutil.copytree(src, dst)
        for path in [dst, *dst.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        return dst

    return copy


# --- the small site the enrichment tests share (test_enrich over HTTP, test_runner in-process)

SITE3_PAGES = {
    "index.md": "# Home\n\nThe co-op fixes bikes every Tuesday.\n\n![](img/photo.png)\n",
    "guide.md": "# Guide\n\nHow to patch a tube in five steps.\n\n![](img/diagram.png)\n",
    "blog/post.md": "---\ndate: 2024-01-02\n---\n\n# Post\n\nWe moved to a new workshop.\n",
}


@pytest.fixture
def site3(site):
    """Three pages and two images (one large enough to be downscaled before sending)."""
    site.write("img/photo.png", png_bytes((120, 80, 40), size=(2400, 1600)))
    site.write("img/diagram.png", png_bytes((0, 0, 200), size=(300, 200)))
    for rel, text in SITE3_PAGES.items():
        site.write(rel, text)
    return site


def user_text(body: dict) -> str:
    """The text blocks of a request's last message (what the prompt asks about)."""
    return "\n".join(
        block.get("text", "")
        for block in body["messages"][-1]["content"]
        if block.get("type") == "text"
    )


def title_of(body: dict) -> str:
    """The page title or image file name a request is about."""
    for line in user_text(body).splitlines():
        if line.startswith(("Title: ", "File name: ")):
            return line.split(": ", 1)[1]
    return ""


# --- the `slow` marker: every test that starts a child build ------------------------------

# Fixtures that hand a test a generator to run, and calls that start a build (ours, in
# tests/sitebuild.py and the test modules, or the CLI's `build` / `postbuild`).
SLOW_FIXTURES = frozenset({"zensical_exe", "zensical_python", "properdocs_python", "built_site"})
_STARTS_A_BUILD = re.compile(
    r"\b(mkdocs_build|build_corpus|build_both|python_m|run_in|make_build_lines)\("
    r"|\bsubprocess\.run\(|(?<![\w.])build\(|\.run\(\s*\"(build|postbuild)\""
)


def pytest_collection_modifyitems(items):
    """`make test-fast` (-m "not slow") leaves out what starts mkdocs, properdocs or
    zensical; read from each test's fixtures and source, so a new test is marked too."""
    for item in items:
        function = getattr(item, "function", None)
        if function is None or item.get_closest_marker("slow"):
            continue
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            source = ""
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or _STARTS_A_BUILD.search(source):
            item.add_marker(pytest.mark.slow)
