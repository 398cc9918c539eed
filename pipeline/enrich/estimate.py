"""What sending plan items would cost, before anything is sent: pure functions.

Two figures. Input tokens: what each request carries, by the local estimate (the
counting rule in pricing.py), the same whether or not the prefix is cached; this is what
`--max-tokens` budgets count. Token-equivalents: what a run pays for them, in fresh input
tokens, with the cached prefix counted as the API bills it: the first request of a kind
writes the prefix (1.25x; 2x with the 1-hour TTL batches use), every later one in the
same run reads it (0.1x, or the model's own read price), when it reaches the model's
minimum cacheable length; otherwise every request pays it in full. Images are counted by
each model's rule (pricing.estimate_image_tokens).

The plan decides what is stale; pricing a request is this stage's business, so the plan
holds no estimate and never imports the prompts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pipeline.enrich.pricing import (
    CACHE_READ,
    CACHE_WRITE_1H,
    CACHE_WRITE_5M,
    estimate_image_tokens,
    estimate_text_tokens,
    price_for,
)
from pipeline.enrich.prompts import IMAGE_SCHEMA, PAGE_SCHEMA, SYSTEMS
from pipeline.model import ItemKind, Options
from pipeline.plan import Item, Plan
from pipeline.source.discover import ImageFile, PageSource

# Request parts besides the prompt, the schema and the page text or image, in tokens:
# labels, outline, language line, the data fence, message framing (pages); page title,
# heading, ~400 characters of context and the same framing (images).
PAGE_FRAME = 60
IMAGE_FRAME = 165

SCHEMAS: dict[ItemKind, dict] = {"page": PAGE_SCHEMA, "image": IMAGE_SCHEMA}


def scaled_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    long_edge = max(width, height)
    if long_edge <= max_edge:
        return width, height
    ratio = max_edge / long_edge
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def _fixed(kind: ItemKind, model: str) -> int:
    """The tokens every request of a kind carries: its system prompt and its schema."""
    return estimate_text_tokens(SYSTEMS[kind], model) + estimate_text_tokens(
        json.dumps(SCHEMAS[kind]), model
    )


def page_tokens(page: PageSource, model: str, options: Options) -> int:
    """Input tokens of one page request: the text is cut at `page_token_budget`."""
    body = min(estimate_text_tokens(page.input_chars, model), options.page_token_budget)
    return body + estimate_text_tokens(page.title, model) + PAGE_FRAME + _fixed("page", model)


def image_tokens(image: ImageFile, model: str, options: Options) -> int:
    """Input tokens of one image request: the image as sent, after downscaling."""
    w, h = scaled_size(image.width, image.height, options.image_max_edge)
    return estimate_image_tokens(w, h, model) + IMAGE_FRAME + _fixed("image", model)


def item_tokens(source: PageSource | ImageFile, model: str, options: Options) -> int:
    """Input tokens of the request for the page or image behind a plan item."""
    if isinstance(source, PageSource):
        return page_tokens(source, model, options)
    return image_tokens(source, model, options)


def prefix_tokens(kind: ItemKind, model: str) -> int:
    """The cached part of a request of `kind`: the system prompt up to its breakpoint."""
    return estimate_text_tokens(SYSTEMS[kind], model)


def cached_prefix(kind: ItemKind, model: str) -> int:
    """The prefix when `model` caches it; 0 when it is under the minimum (or unknown)."""
    p = price_for(model)
    n = prefix_tokens(kind, model)
    return n if p is not None and n >= p.min_cacheable_tokens else 0


def equivalents(requests: Iterable[tuple[ItemKind, int]], model: str, *, ttl: str = "5m") -> float:
    """Token-equivalents a run of (kind, input tokens) requests pays: per kind, the first
    writes the cached prefix and the rest read it (the runner sends the first alone).
    Batches write with the 1-hour TTL (`ttl="1h"`): 2x the input price, not 1.25x."""
    total = 0.0
    written: set[ItemKind] = set()
    p = price_for(model)
    read = p.read_ratio if p is not None else CACHE_READ
    write = CACHE_WRITE_1H if ttl == "1h" else CACHE_WRITE_5M
    for kind, tokens in requests:
        prefix = min(cached_prefix(kind, model), tokens)
        rate = read if kind in written else write
        written.add(kind)
        total += tokens - prefix + rate * prefix
    return total


def plan_tokens(
    plan: Plan, items: Iterable[Item], model: str | None = None
) -> dict[tuple[ItemKind, str], int]:
    """Input tokens per (kind, path) of `items` (0 for one whose source is gone)."""
    model = model or plan.model
    pages = {p.path: p for p in plan.discovery.pages}
    images = plan.discovery.images
    out: dict[tuple[ItemKind, str], int] = {}
    for item in items:
        source = pages.get(item.path) if item.kind == "page" else images.get(item.path)
        tokens = item_tokens(source, model, plan.site.options) if source else 0
        out[(item.kind, item.path)] = tokens
    return out
