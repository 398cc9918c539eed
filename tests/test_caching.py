"""Prompt caching end to end: one stable prefix per kind, written once and then read.

The fake (tests/fake_anthropic.py) caches as the API does: the prefix up to the last
cache_control breakpoint, only at or over the model's minimum, for its TTL, and requests
already in flight when the prefix is written do not see it.
"""

from __future__ import annotations

import json

import pytest
from conftest import png_bytes


def ledger(site) -> list[dict]:
    path = site.root / ".enrich" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def many(site):
    for n in range(8):
        site.write(f"p{n}.md", f"# Page {n}\n\nA page about topic {n}.\n\n![](img/i{n % 6}.png)\n")
    for n in range(6):
        site.write(f"img/i{n}.png", png_bytes((n * 40, 10, 10)))
    return site


def writes_and_reads(records: list[dict], kind: str) -> tuple[int, int, int]:
    mine = [r for r in records if r["kind"] == kind]
    writes = sum(1 for r in mine if r["cache_creation_input_tokens"])
    reads = sum(1 for r in mine if r["cache_read_input_tokens"])
    return writes, reads, len(mine)


def test_a_run_writes_each_prefix_once_then_reads_it(many, fake_api):
    # Replies take a moment, so requests sent together overlap as they do for real: without
    # the warm-up (first request of a kind alone) the first four would all write.
    fake_api.latency = 0.2
    assert many.run("enrich", "--concurrency", "4").code == 0
    records = ledger(many)
    assert writes_and_reads(records, "page") == (1, 7, 8)
    assert writes_and_reads(records, "image") == (1, 5, 6)
    # One system prompt per kind, the same bytes on every request: the prefix is stable.
    systems = {json.dumps(b["system"]) for b in fake_api.messages()}
    assert len(systems) == 2


def test_no_cache_usage_below_the_model_minimum(many, fake_api):
    # claude-haiku-4-5 caches only from 4,096 tokens: our prefixes are marked, never cached.
    many.set_config(
        "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      model: claude-haiku-4-5\n"
    )
    assert many.run("enrich").code == 0
    for r in ledger(many):
        assert r["cache_creation_input_tokens"] == 0 and r["cache_read_input_tokens"] == 0


def test_batch_items_share_the_prefix(many, fake_api):
    many.set_config(
        "site_name: t\ndocs_dir: content\nplugins:\n  - enrich:\n      batch_poll_seconds: 0.01\n"
    )
    assert many.run("enrich", "--batch", "--wait").code == 0
    records = [r for r in ledger(many) if r["mode"] == "batch"]
    assert writes_and_reads(records, "page") == (1, 7, 8)
    assert writes_and_reads(records, "image") == (1, 5, 6)
