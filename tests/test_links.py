"""The one src resolver (pipeline/source/links.py), on a table of cases written by hand:
relative, root-absolute under a site_url path, %-encoded, ../ escapes, directory URLs,
template/remote/data skips, in a source page and in a built page."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.source.links import Resolved, Resolver

SPEC = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "links" / "cases.yml").read_text(encoding="utf-8")
)


def _id(case: dict) -> str:
    return f"{case.get('page', case.get('url'))}:{case['src']}"


@pytest.mark.parametrize("case", SPEC["cases"], ids=_id)
def test_resolve(case):
    resolver = Resolver(frozenset(SPEC["files"]), site_url=SPEC["site_url"])
    if "page" in case:
        got = resolver.in_source(case["page"], case["src"], case["syntax"])
    else:
        got = resolver.in_built(case["url"], case["src"])
    target = case.get("target")
    expected = Resolved(
        target=target,
        skip=case.get("skip"),
        problem=case.get("problem"),
        path=case.get("path", target),
    )
    assert got == expected


def test_without_directory_urls_raw_html_is_read_from_the_source_folder():
    resolver = Resolver(frozenset(SPEC["files"]), use_directory_urls=False)
    assert resolver.in_source("guides/fix.md", "pic.png", "html").target == "guides/pic.png"
    assert resolver.in_source("guides/fix.md", "../img/logo.png", "html").target == "img/logo.png"


def test_a_symlink_out_of_docs_dir_is_a_problem():
    resolver = Resolver(frozenset(["img/out.png"]), inside=lambda path: False)
    got = resolver.in_source("index.md", "img/out.png", "inline")
    assert got.target is None and "through a symlink" in got.problem
