"""`report`: per-run spend, impact per token, and the review list, from the real ledger."""

from __future__ import annotations

import json

import pytest
from conftest import png_bytes

from pipeline.cli.report import vacuous_alt


@pytest.fixture
def spent(site, fake_api):
    for n in range(4):
        site.write(f"p{n}.md", f"# Page {n}\n\nWords on page {n}.\n")
    assert site.run("enrich").code == 0
    site.write("p0.md", "# Page 0\n\nNew words on page 0.\n")
    assert site.run("enrich").code == 0
    assert site.run("enrich").code == 0  # a no-op run records nothing
    return site


def test_report_totals_per_run_and_impact_per_token(spent):
    data = json.loads(spent.run("report", "--json").out)
    assert [r["requests"] for r in data["runs"]] == [4, 1]
    records = [
        json.loads(line)
        for line in (spent.root / ".enrich" / "ledger.jsonl").read_text().splitlines()
    ]
    tokens = sum(
        r["input_tokens"]
        + r["output_tokens"]
        + r["cache_creation_input_tokens"]
        + r["cache_read_input_tokens"]
        for r in records
    )
    assert data["total"]["tokens"] == tokens
    assert data["total"]["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in records))
    assert data["outputs_kept"] == 4  # p0's first summary was replaced: 5 made, 4 in use
    # Impact per token counts tokens as they are paid: a cache write 1.25, a read 0.1.
    equivalents = sum(
        r["input_tokens"]
        + r["output_tokens"]
        + 1.25 * r["cache_creation_input_tokens"]
        + 0.1 * r["cache_read_input_tokens"]
        for r in records
    )
    assert sum(r["cache_creation_input_tokens"] for r in records) > 0  # the prefix was cached
    assert data["total"]["token_equivalents"] == round(equivalents)
    assert data["kept_per_1000_tokens"] == pytest.approx(4 / equivalents * 1000, rel=1e-3)
    assert data["builds"] == 2
    # Regenerating all 4 pages on both builds would have cost ~8 requests' worth.
    assert data["regenerate_every_build"]["tokens"] == pytest.approx(8 * tokens / 5, rel=0.01)
    text = spent.run("report").out
    assert "Impact per token" in text and "outputs kept per 1,000 token-equivalents" in text
    assert "cache w" in text and "cache r" in text
    assert "Prompt prefix: pages" in text and "cacheable on claude-haiku-5-5" in text


def test_report_builds_option(spent):
    data = json.loads(spent.run("report", "--json", "--builds", "10").out)
    assert data["builds"] == 10


def test_review_lists_edited_review_and_vacuous_author_alt(spent):
    path = spent.docs / "p1.md.enrich.yml"
    path.write_text(path.read_text().replace("summary: ", "summary: Edited. ", 1))
    spent.write("p1.md", "# Page 1\n\nChanged after the edit.\n")
    spent.write("img/IMG_2041.png", png_bytes())
    spent.write("p2.md", "# Page 2\n\nWords on page 2.\n\n![screenshot](img/IMG_2041.png)\n")
    rows = json.loads(spent.run("report", "--review", "--json").out)
    whats = {(r["what"], r["path"]) for r in rows}
    assert ("review", "p1.md") in whats
    assert ("alt", "p2.md:5") in whats


def test_report_with_an_empty_ledger(site):
    site.write("a.md", "# A\n\nText.\n")
    result = site.run("report")
    assert result.code == 0
    assert "No requests recorded yet" in result.out


@pytest.mark.parametrize(
    "alt, src, vacuous",
    [
        ("image", "x.png", True),
        ("Screenshot", "x.png", True),
        ("IMG_2041", "a/IMG_2041.jpg", True),
        ("diagram.png", "d.png", True),
        ("my-chart", "img/my-chart.svg", True),
        ("Monthly sales rose 20 % in May", "chart.png", False),
        ("Logo of the co-op", "logo.svg", False),
    ],
)
def test_vacuous_alt(alt, src, vacuous):
    assert vacuous_alt(alt, src) is vacuous
