"""The ledger: one JSON line per API request, committed with the site. Never the key.

Append-only, so two branches merge without conflicts and a killed run leaves at most
one torn last line, which readers skip. A no-op run appends nothing, so it leaves git
byte-identical. `report` reads it back.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .fsutil import append_line
from .pricing import Usage

FILE = "ledger.jsonl"
VERSION = 1

# Statuses of one request: the text was kept, or why not.
KEPT = ("ok", "cut")


def new_run_id() -> str:
    """Sortable by time, unique across machines: groups one run's lines in the ledger."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def path_for(state_dir: Path) -> Path:
    return state_dir / FILE


def append(state_dir: Path, record: dict) -> None:
    record = {"v": VERSION, **record}
    append_line(path_for(state_dir), json.dumps(record, sort_keys=True, ensure_ascii=False))


def read(state_dir: Path) -> list[dict]:
    records = []
    try:
        lines = path_for(state_dir).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line from a killed run
        if isinstance(record, dict) and record.get("v") == VERSION:
            records.append(record)
    return records


def usage_of(record: dict) -> Usage:
    return Usage(
        int(record.get("input_tokens") or 0),
        int(record.get("output_tokens") or 0),
        int(record.get("cache_creation_input_tokens") or 0),
        int(record.get("cache_read_input_tokens") or 0),
        int(record.get("cache_creation_1h_input_tokens") or 0),
    )


@dataclass
class Totals:
    requests: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    kept: int = 0
    items: set = field(default_factory=set)

    @property
    def tokens(self) -> int:
        return self.usage.total

    @property
    def equivalents(self) -> float:
        """Tokens as they are paid: output, plus input token-equivalents (fresh input,
        1.25x 5-minute cache writes, 2x 1-hour writes, 0.1x cache reads)."""
        return self.usage.output_tokens + self.usage.equivalents

    def add(self, r: dict) -> None:
        self.requests += 1
        self.usage += usage_of(r)
        self.cost_usd += float(r.get("cost_usd") or 0.0)
        if r.get("status") in KEPT:
            self.kept += 1
            self.items.add((r.get("kind"), r.get("item")))


def by_run(records: list[dict]) -> dict[str, Totals]:
    runs: dict[str, Totals] = defaultdict(Totals)
    for r in records:
        runs[str(r.get("run"))].add(r)
    return dict(runs)


def total(records: list[dict]) -> Totals:
    t = Totals()
    for r in records:
        t.add(r)
    return t
