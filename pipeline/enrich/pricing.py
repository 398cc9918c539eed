"""Models we know, their prices, and the local token estimate. Pure data, no I/O.

Prices are USD per million tokens, read on 2026-11-25 from the stored copies of
platform.claude.com/docs/en/about-claude/pricing and the model overview pages; cache-read
prices checked again for every model on 2026-12-06 (issue 21): the 5.x Sonnet and Opus
read their cache at 0.05x input, not the 0.1x of the others (Opus 5.5: $0.20, its model
page; Sonnet 5.5: $0.10 since the cut of 2026-10-07). Update `PRICES_READ_ON` with the
table. Requests with prompts over 100K tokens are billed at a higher band on the 5.x
Haiku; our requests are a few thousand tokens at most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRICES_READ_ON = "2026-12-06"
# Where `min_cacheable_tokens` comes from: the "cache limitations" table of the prompt
# caching page (platform.claude.com/docs/en/build-with-claude/prompt-caching), read with
# the prices. A shorter prefix is silently not cached; `status` says which case applies.
MIN_CACHEABLE_SOURCE = "platform.claude.com/docs/en/build-with-claude/prompt-caching"
# Multipliers of the input price (same page): 5-minute write, 1-hour write, read (the
# usual read; a model's own is `Price.read_ratio`).
CACHE_WRITE_5M = 1.25
CACHE_WRITE_1H = 2.0
CACHE_READ = 0.1

# How a model counts an image (the vision page): current models (Haiku 5.5, Sonnet 5+,
# Opus 4.7+) take up to 2,576 px on the long edge and count one token per 28x28 patch,
# at most 4,784; older ones shrink past 1,568 px and count about width * height / 750.
PATCHES = "patches-28"
AREA = "area-750"

# The default model (the cheapest current Haiku-class one) lives with the options.
from pipeline.model import DEFAULT_MODEL  # noqa: E402, F401


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_write: float  # 5-minute TTL
    cache_read: float
    batch_input: float
    batch_output: float
    # Shorter cacheable prefixes are silently not cached, and paid in full on every request.
    min_cacheable_tokens: int
    # Characters per token for the local estimate; 5.x models use the newer tokenizer,
    # which counts the same text as about 30 % more tokens than Haiku 4.5.
    chars_per_token: float
    image_rule: str = PATCHES

    @property
    def cache_write_1h(self) -> float:
        return self.input * CACHE_WRITE_1H

    @property
    def read_ratio(self) -> float:
        """A cache read, as a fraction of the input price."""
        return self.cache_read / self.input


PRICES: dict[str, Price] = {
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01, 0.05, 0.25, 512, 3.1),
    "claude-haiku-4-5": Price(1.00, 5.00, 1.25, 0.10, 0.50, 2.50, 4096, 4.0, AREA),
    "claude-sonnet-5-5": Price(2.00, 10.00, 2.50, 0.10, 1.00, 5.00, 1024, 3.1),
    "claude-sonnet-4-5": Price(3.00, 15.00, 3.75, 0.30, 1.50, 7.50, 1024, 4.0, AREA),
    "claude-opus-5-5": Price(4.00, 20.00, 5.00, 0.20, 2.00, 10.00, 512, 3.1),
}


def price_for(model: str) -> Price | None:
    if model in PRICES:
        return PRICES[model]
    # Dated snapshots ("claude-haiku-4-5-20251001") are priced like their alias.
    for alias, price in PRICES.items():
        if model.startswith(alias + "-"):
            return price
    return None


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # The part of cache_creation_input_tokens written with the 1-hour TTL (billed 2x).
    cache_creation_1h_input_tokens: int = 0

    @property
    def equivalents(self) -> float:
        """Input token-equivalents: what the input costs, in fresh input tokens."""
        write_5m = self.cache_creation_input_tokens - self.cache_creation_1h_input_tokens
        return (
            self.input_tokens
            + CACHE_WRITE_5M * write_5m
            + CACHE_WRITE_1H * self.cache_creation_1h_input_tokens
            + CACHE_READ * self.cache_read_input_tokens
        )

    @property
    def total(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_creation_input_tokens
            + self.cache_read_input_tokens
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_1h_input_tokens + other.cache_creation_1h_input_tokens,
        )


def cost(model: str, usage: Usage, *, batch: bool = False) -> float | None:
    """Dollars for one request's usage; None when the model's price is unknown."""
    p = price_for(model)
    if p is None:
        return None
    if batch:
        # Batch halves every rate, cache rates included.
        fresh_in, out = p.batch_input, p.batch_output
        write, read = p.cache_write / 2, p.cache_read / 2
    else:
        fresh_in, out, write, read = p.input, p.output, p.cache_write, p.cache_read
    hour = usage.cache_creation_1h_input_tokens
    dollars = (
        usage.input_tokens * fresh_in
        + usage.output_tokens * out
        + (usage.cache_creation_input_tokens - hour) * write
        + hour * fresh_in * CACHE_WRITE_1H
        + usage.cache_read_input_tokens * read
    )
    return dollars / 1_000_000


def estimate_text_tokens(text_or_chars: str | int, model: str) -> int:
    """Local estimate of tokens for text, used when no key (and so no count_tokens) is set."""
    chars = text_or_chars if isinstance(text_or_chars, int) else len(text_or_chars)
    p = price_for(model)
    per = p.chars_per_token if p else 3.1
    return math.ceil(chars / per) if chars else 0


def _shrunk(width: int, height: int, long_edge: int) -> tuple[int, int]:
    edge = max(width, height)
    if edge <= long_edge:
        return width, height
    return max(1, round(width * long_edge / edge)), max(1, round(height * long_edge / edge))


def estimate_image_tokens(width: int, height: int, model: str) -> int:
    """Tokens the API counts for an image as sent, by the model's rule (see PATCHES)."""
    p = price_for(model)
    if p is not None and p.image_rule == AREA:
        w, h = _shrunk(width, height, 1568)
        return max(1, math.ceil(w * h / 750))
    w, h = _shrunk(width, height, 2576)
    return min(4784, math.ceil(w / 28) * math.ceil(h / 28))
