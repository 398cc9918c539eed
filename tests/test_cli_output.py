"""What the commands print: `report --review`, `status` on a big site, `--version`."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from pipeline.cli.report import vacuous_alt

FIXTURES = Path(__file__).parent / "fixtures" / "review"


def _alt_cases():
    for n, line in enumerate((FIXTURES / "alt_text.tsv").read_text().splitlines(), 1):
        if line and not line.startswith("#"):
            verdict, alt, src = line.split("\t")
            yield pytest.param(alt, src, verdict == "flagged", id=f"{n}-{verdict}-{alt}")


@pytest.mark.parametrize("alt, src, flagged", list(_alt_cases()))
def test_review_alt_heuristic(alt, src, flagged):
    assert vacuous_alt(alt, src) is flagged


def test_review_does_not_flag_a_logo_named_by_its_brand(site):
    site.write("img/logos/microsoft.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>')
    site.write(
        "index.md",
        "# Home\n\nUsed by:\n\n"
        '<img src="img/logos/microsoft.svg" alt="Microsoft">\n\n'
        "![microsoft.svg](img/logos/microsoft.svg)\n",
    )
    out = site.run("report", "--review").out
    assert "'Microsoft'" not in out
    assert "index.md:7  author alt text 'microsoft.svg' says nothing" in out


LONG = "# Page {n}\n\n" + "Many words about bicycles and their repair. " * 60 + "\n"


@pytest.fixture
def cut_site(site, fake_api):
    site.set_config(
        "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      page_token_budget: 40\n"
    )
    for n in range(3):
        site.write(f"long{n}.md", LONG.format(n=n))
    site.write("short.md", "# Short\n\nA few words.\n")
    assert site.run("enrich").code == 0
    return site


def test_review_sums_pages_cut_at_the_budget_into_one_line(cut_site):
    lines = cut_site.run("report", "--review").out.splitlines()
    assert [" ".join(line.split()) for line in lines] == [
        "long page 3 pages cut at the page budget (page_token_budget; -v to list)"
    ]


def test_review_verbose_lists_every_page_cut(cut_site):
    result = cut_site.run("report", "--review", "-v")
    assert result.code == 0
    listed = [line.split()[2] for line in result.out.splitlines()]
    assert sorted(listed) == ["long0.md", "long1.md", "long2.md"]  # in ledger order


def test_review_lists_a_single_cut_page_by_name(cut_site):
    for n in (1, 2):
        (cut_site.docs / f"long{n}.md.enrich.yml").unlink()
        (cut_site.docs / f"long{n}.md").unlink()
    lines = cut_site.run("report", "--review").out.splitlines()
    assert [line.split()[:3] for line in lines] == [["long", "page", "long0.md"]]


@pytest.fixture
def big_site(site):
    for n in range(25):
        site.write(f"p{n:02}.md", f"# Page {n}\n\nWords on page {n}.\n")
    return site


def test_status_prints_at_most_20_item_lines(big_site):
    out = big_site.run("status").out
    items = [line for line in out.splitlines() if line.startswith("  new ")]
    assert [line.split()[-1] for line in items] == [f"p{n:02}.md" for n in range(20)]
    assert out.splitlines()[-1] == "  … and 5 more (-v for all)"
    assert "pages       25" in out  # the totals are all there


def test_status_verbose_prints_every_item(big_site):
    out = big_site.run("status", "-v").out
    items = [line for line in out.splitlines() if line.startswith("  new ")]
    assert len(items) == 25
    assert "more (-v for all)" not in out


def test_status_with_20_items_prints_them_all_and_no_more_line(big_site):
    for n in range(20, 25):
        (big_site.docs / f"p{n}.md").unlink()
    out = big_site.run("status").out
    assert len([line for line in out.splitlines() if line.startswith("  new ")]) == 20
    assert "more (-v for all)" not in out


def test_version_names_the_distribution(site):
    result = site.run("--version")
    assert result.code == 0
    name, version = "sidecar-enrich", metadata.version("sidecar-enrich")
    assert result.out.startswith(f"{name} {version}")
    assert "python -m" not in result.out
