"""Prompt caching as the API does it: a prefix up to the last cache_control breakpoint,
written once, read while it lives, with a per-model minimum and a clock tests can move.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from typing import Any

from fake_anthropic.faults import ApiError
from fake_anthropic.wire import TokenCount, blocks, check_image, image_tokens, text_tokens

# Minimum cacheable prefix per model, as the API's prompt-caching page lists them (the same
# figures as pipeline/pricing.py, kept apart so the fake never trusts the code under test).
MIN_CACHEABLE_BY_MODEL = {
    "claude-haiku-5-5": 512,
    "claude-sonnet-5-5": 1024,
    "claude-opus-5-5": 512,
    "claude-haiku-4-5": 4096,
    "claude-sonnet-4-5": 1024,
}
CACHE_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


def cache_prefix(system: Any, messages: list[dict[str, Any]]) -> tuple[int, str, str]:
    """(tokens, ttl, key) of the prefix up to the last block marked cache_control.

    Order as the API reads it: system blocks, then each message's blocks. Text counts as
    everywhere in the fake (ceil(chars / 4)); an image block as its pixels. The schema is
    not part of the prefix: it is sent beside it, the same for every request of a kind.
    """
    ordered: list[tuple[str, dict[str, Any]]] = []
    if isinstance(system, list):
        ordered += [("system", b) for b in system if isinstance(b, dict)]
    for m in messages:
        ordered += [(str(m.get("role")), b) for b in blocks(m.get("content"))]
    last = max(
        (i for i, (_, b) in enumerate(ordered) if isinstance(b.get("cache_control"), dict)),
        default=-1,
    )
    if last < 0:
        return 0, "", ""
    texts, pixels = [], 0
    for _, block in ordered[: last + 1]:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "image":
            try:
                size = check_image(block.get("source"), "", 10**9)
            except ApiError:
                size = None
            pixels += image_tokens(*size) if size else 0
    # A system prompt's blocks are counted like one text, as `TokenCount.system` does.
    tokens = text_tokens("".join(texts)) + pixels
    marked = ordered[last][1]["cache_control"]
    bare = [
        [role, {k: v for k, v in b.items() if k != "cache_control"}]
        for role, b in ordered[: last + 1]
    ]
    key = json.dumps(bare, sort_keys=True)
    return tokens, str(marked.get("ttl", "5m")), key


class PromptCache:
    """Mixin: the cache entries, the fake's clock, and the usage block of a reply."""

    _lock: threading.RLock
    # A cache_control'd prefix shorter than its model's minimum (MIN_CACHEABLE_BY_MODEL,
    # else this) is silently not cached, like the API.
    min_cacheable_tokens = 512
    # Seconds added to the fake's clock (see `advance`), so tests can let a cache entry
    # expire without sleeping.
    clock_offset = 0.0

    def _reset_cache(self) -> None:
        # cache key -> (written, expiry) on the fake's clock.
        self._cache: dict[str, tuple[float, float]] = {}

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on: cache entries older than their TTL expire."""
        with self._lock:
            self.clock_offset += seconds

    def min_cacheable(self, model: str) -> int:
        for name, minimum in MIN_CACHEABLE_BY_MODEL.items():
            if model == name or model.startswith(name + "-"):
                return minimum
        return self.min_cacheable_tokens

    def _usage(
        self,
        count: TokenCount,
        output_tokens: int,
        tier: str,
        model: str = "",
        arrived: float | None = None,
    ) -> dict[str, Any]:
        """Cache accounting as the API does it: the prefix up to the last breakpoint is
        written (if long enough for the model) by a request that finds no live entry, and
        read by requests that arrive after the write while it lives; a read refreshes the
        TTL. Requests in flight together all miss, and all write."""
        created = read = 0
        if count.prefix and count.prefix >= self.min_cacheable(model):
            key = hashlib.sha256(f"{model}\x1f{count.cache_key}".encode()).hexdigest()
            ttl = CACHE_TTL_SECONDS.get(count.cache_ttl, 300.0)
            with self._lock:
                now = self.now()
                since = now if arrived is None else arrived
                written, expiry = self._cache.get(key, (now, -1.0))
                if written <= since and expiry > now:
                    read = count.prefix
                    self._cache[key] = (written, max(expiry, now + ttl))
                else:
                    created = count.prefix
                    self._cache[key] = (now, now + ttl)
        one_hour = count.cache_ttl == "1h"
        return {
            "input_tokens": count.total - created - read,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0 if one_hour else created,
                "ephemeral_1h_input_tokens": created if one_hour else 0,
            },
            "server_tool_use": None,
            "service_tier": tier,
        }
