"""The review page in a real headless Chromium: it renders, axe-core finds nothing, no request
leaves the file, and hostile generated text shows as text. Skips, saying why, without a
browser (see test_browser.py, whose fixtures these reuse)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from test_browser import axe_violations, browser, guarded_page, serve  # noqa: F401

from pipeline.__main__ import main

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_ALT = '"><img src=x onerror="document.title=\'pwned\'"> a workshop'
HOSTILE_SUMMARY = "</dd></dl><script>document.title='pwned'</script><h1>Injected</h1>"


def open_review(browser, html: Path, shot: Path) -> tuple[list[dict], dict, list[str]]:  # noqa: F811
    """Load the page; return axe's violations, what the DOM holds, and requests that left."""
    with serve(html.parent) as base, guarded_page(browser) as (page, guard):
        page.set_viewport_size({"width": 1100, "height": 900})
        response = page.goto(f"{base}/{html.name}", wait_until="networkidle")
        assert response is not None and response.ok
        page.screenshot(path=str(shot), full_page=False)
        dom = page.evaluate(
            """() => ({
                title: document.title,
                scripts: document.querySelectorAll('script').length,
                h1: document.querySelectorAll('h1').length,
                imgs: [...document.images].map(i => ({
                    alt: i.getAttribute('alt'), loaded: i.complete && i.naturalWidth > 0,
                    onerror: i.hasAttribute('onerror'), src: i.src.slice(0, 22)})),
                text: document.body.innerText,
            })"""
        )
        violations = axe_violations(page)
    print(f"screenshot: {shot}")
    return violations, dom, guard.external


@pytest.mark.timeout(240)
def test_demo_review_page_passes_axe_and_shows_hostile_text_as_text(browser, tmp_path, capsys):  # noqa: F811
    src = tmp_path / "demo"
    shutil.copytree(ROOT / "content", src / "content")
    shutil.copy2(ROOT / "mkdocs.yml", src / "mkdocs.yml")
    car = src / "content" / "img" / "workshop.png.enrich.yml"
    text = car.read_text()
    car.write_text(re.sub(r"(?m)^alt: .*$", lambda _: f"alt: {json.dumps(HOSTILE_ALT)}", text))
    car = src / "content" / "faq.md.enrich.yml"
    car.write_text(
        re.sub(
            r"(?m)^summary: .*$",
            lambda _: f"summary: {json.dumps(HOSTILE_SUMMARY)}",
            car.read_text(),
        )
    )
    html = tmp_path / "review" / "index.html"
    code = main(["report", "-f", str(src / "mkdocs.yml"), "--review", "--html", str(html), "--all"])
    capsys.readouterr()
    assert code == 0

    violations, dom, external = open_review(browser, html, tmp_path / "demo-review.png")
    assert violations == [], violations
    assert external == []
    assert dom["title"] == "Review: Harbor Street Bike Co-op"  # no script ran
    assert dom["scripts"] == 0 and dom["h1"] == 1
    assert HOSTILE_ALT in dom["text"] and HOSTILE_SUMMARY in dom["text"]
    thumbs = dom["imgs"]
    assert thumbs and all(i["loaded"] and i["alt"] == "" and not i["onerror"] for i in thumbs)
    assert {i["src"] for i in thumbs} <= {
        "data:image/png;base64,",
        "data:image/jpeg;base64",
        "data:image/webp;base64",
    }


@pytest.mark.corpus
@pytest.mark.timeout(300)
def test_corpus_review_page_passes_axe(browser, corpus_copy, fake_api, tmp_path, capsys):  # noqa: F811
    root = corpus_copy("textual-blog")
    config = str(root / "mkdocs.yml")
    assert main(["enrich", "-f", config, "--concurrency", "8"]) == 0
    html = tmp_path / "review" / "index.html"
    assert main(["report", "-f", config, "--review", "--html", str(html)]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if x.startswith("Review page:")]
    print(line)
    violations, dom, external = open_review(browser, html, tmp_path / "corpus-review.png")
    assert violations == [], violations
    assert external == []
    shown = re.search(r"\((\d+) image\(s\), (\d+) page\(s\)", line)
    assert shown and int(shown[1]) > 10 and int(shown[2]) > 10
    assert sum(1 for i in dom["imgs"] if i["loaded"]) >= int(shown[1]) - 2  # a few may be SVG-less
