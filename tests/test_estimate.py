"""Estimates before a run: raw input tokens per request, and the token-equivalents a run
pays once the cached prefix is counted (written once per kind, then read at 0.1x)."""

from __future__ import annotations

import math

import pytest
from conftest import png_bytes

from pipeline.enrich.estimate import equivalents, image_tokens, prefix_tokens
from pipeline.enrich.pricing import PRICES, estimate_image_tokens
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
    # 512x256 and 1024x512 pixels sent, one token per 28x28 patch on a current model.
    assert large - small == (37 * 19) - (19 * 10)
    old_small = image_tokens(image, "claude-haiku-4-5", Options(image_max_edge=512))
    old_large = image_tokens(image, "claude-haiku-4-5", Options(image_max_edge=1024))
    # ... and width * height / 750 on an older one.
    assert old_large - old_small == math.ceil(1024 * 512 / 750) - math.ceil(512 * 256 / 750)


@pytest.mark.parametrize(
    "model, size, tokens",
    [
        ("claude-haiku-5-5", (2000, 1000), 72 * 36),  # ceil(w/28) x ceil(h/28)
        ("claude-sonnet-5-5", (28, 29), 1 * 2),
        ("claude-opus-5-5", (4000, 3000), 4784),  # 2576x1932 -> 92 x 69 patches, capped
        ("claude-haiku-5-5", (2576, 28), 92),
        ("claude-haiku-4-5", (2000, 1000), math.ceil(1568 * 784 / 750)),  # shrunk past 1568
        ("claude-sonnet-4-5", (750, 1), 1),
        ("a-model-we-do-not-know", (56, 56), 4),  # new models count patches
    ],
)
def test_image_tokens_by_each_models_rule(model, size, tokens):
    assert estimate_image_tokens(*size, model) == tokens


# Cache-read prices per million tokens as each model's page gives them (read 2026-12-06):
# Haiku 5.5 $0.01, Haiku 4.5 $0.10, Sonnet 4.5 $0.30 (0.1x input); Sonnet 5.5 $0.10 (cut
# to 0.05x on 2026-10-07), Opus 5.5 $0.20 (0.05x). 1-hour writes are 2x input.
CACHE_READ_PRICES = {
    "claude-haiku-5-5": 0.01,
    "claude-haiku-4-5": 0.10,
    "claude-sonnet-5-5": 0.10,
    "claude-sonnet-4-5": 0.30,
    "claude-opus-5-5": 0.20,
}


def test_every_model_has_its_checked_cache_read_price():
    assert set(PRICES) == set(CACHE_READ_PRICES)
    for model, read in CACHE_READ_PRICES.items():
        assert PRICES[model].cache_read == read, model
        assert PRICES[model].cache_write_1h == 2 * PRICES[model].input


def test_batches_write_the_prefix_at_the_one_hour_price_and_read_at_the_models_rate():
    model = "claude-opus-5-5"
    p = prefix_tokens("page", model)
    runs = [("page", 1000)] * 3
    expected = 3 * (1000 - p) + 2.0 * p + 2 * 0.05 * p
    assert equivalents(runs, model, ttl="1h") == pytest.approx(expected)
    assert equivalents(runs, model) == pytest.approx(3 * (1000 - p) + 1.25 * p + 2 * 0.05 * p)


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
