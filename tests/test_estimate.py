"""Estimates before a run: raw input tokens per request, and the token-equivalents a run
pays once the cached prefix is counted (written once per kind, then read at 0.1x)."""

from __future__ import annotations

import math

import pytest
from conftest import png_bytes

from pipeline.enrich.estimate import equivalents, image_tokens, prefix_tokens
from pipeline.model import Options
from pipeline.source.discover import ImageFile


def test_a_run_writes_each_prefix_once_and_reads_it_after():
    model = "claude-haiku-5-5"
    p, q = prefix_tokens("page", model), prefix_tokens("image", model)
    assert p >= 512 and q >= 512  # cacheable, so the rule below applies
    runs = [("page", 1000)] * 3 + [("image", 900)] * 2
    # Per kind: the prefix at 1.25x once, at 0.1x for every later request, the rest fresh.
    expected = (3 * (1000 - p) + 1.25 * p + 2 * 0.1 * p) + (2 * (900 - q) + 1.25 * q + 0.1 * q)
    assert equivalents(runs, model) == pytest.approx(expected)


def test_a_prefix_under_the_minimum_is_paid_in_full():
    # claude-haiku-4-5 caches only from 4,096 tokens: nothing is written, nothing read.
    runs = [("page", 1000)] * 3 + [("image", 600)] * 2
    assert equivalents(runs, "claude-haiku-4-5") == 4200
    assert equivalents(runs, "a-model-we-do-not-know") == 4200


def test_image_estimate_follows_the_downscaling_option():
    image = ImageFile("a.png", "f" * 16, "png", 2000, 1000, 1)
    small = image_tokens(image, "claude-haiku-5-5", Options(image_max_edge=512))
    large = image_tokens(image, "claude-haiku-5-5", Options(image_max_edge=1024))
    # 512x256 and 1024x512 pixels sent, at width * height / 750 tokens each.
    assert large - small == math.ceil(1024 * 512 / 750) - math.ceil(512 * 256 / 750)


@pytest.fixture
def five(site):
    for n in range(5):
        site.write(f"p{n}.md", f"# Page {n}\n\n" + "Words about bikes. " * 60 + "\n")
    site.write("img/a.png", png_bytes())
    site.write("p0.md", "# Page 0\n\nIt has a picture.\n\n![](img/a.png)\n")
    return site


def test_status_says_what_a_run_pays_with_the_cached_prefix(five):
    totals = five.status()["totals"]
    raw = totals["estimated_input_tokens"]["stale"]
    paid = totals["estimated_input_token_equivalents"]["stale"]
    # Five page requests read the prefix after the first writes it: well under the raw
    # tokens. The one image request writes its prefix: more than its raw tokens.
    assert 0 < paid < raw
    items = five.status()["items"]
    assert sum(i["estimated_input_tokens"] for i in items) == raw
    assert (
        totals["estimated_input_cost_with_cache_usd"]["stale"]
        < (totals["estimated_input_cost_usd"]["stale"])
    )
    text = five.run("status").out
    assert f"about {raw:,} input tokens; a run pays about {paid:,} token-equivalents" in text


def test_status_equivalents_equal_the_raw_tokens_where_nothing_is_cached(five):
    totals = five.status("--model", "claude-haiku-4-5")["totals"]
    assert (
        totals["estimated_input_token_equivalents"]["stale"]
        == totals["estimated_input_tokens"]["stale"]
        > 0
    )


def test_dry_run_says_what_the_run_pays(five):
    out = five.run("enrich", "--dry-run").out
    assert "token-equivalents with the cached prefix" in out
