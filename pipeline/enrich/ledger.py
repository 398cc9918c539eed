"""The ledger: one JSON line per API request, committed with the site. Never the key.

Append-only, so two branches merge without conflicts and a killed run leaves at most
one torn last line, which readers skip. A no-op run appends nothing, so it leaves git
byte-identical. `report` reads it back.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import stat
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.enrich.pricing import Usage
from pipeline.fsutil import append_line
from pipeline.model import is_item_kind

FILE = "ledger.jsonl"
VERSION = 1

# Statuses of one request: the text was kept, or why not.
KEPT = ("ok", "cut")
TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cache_creation_1h_input_tokens",
)
# Far above any one request (max output is a few hundred tokens, context under 10^7):
# a bigger figure is damage, and would swamp or overflow every sum in `report`.
MAX_TOKENS = 10**9
MAX_COST_USD = 10**6


def new_run_id() -> str:
    """Sortable by time, unique across machines: groups one run's lines in the ledger."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


def path_for(state_dir: Path) -> Path:
    return state_dir / FILE


def append(state_dir: Path, record: dict) -> None:
    record = {"v": VERSION, **record}
    line = json.dumps(record, sort_keys=True, ensure_ascii=False)
    path = path_for(state_dir)
    if not _ends_with_newline(path):
        # A killed run left a torn last line: start on a fresh one, or this record
        # (a billed request) would be glued to the torn one and lost with it.
        line = "\n" + line
    append_line(path, line)


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return True  # not ours to repair; append_line reports what it meets
            f.seek(0, os.SEEK_END)
            if f.tell() == 0:
                return True
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
    except FileNotFoundError:
        return True


def read(state_dir: Path) -> tuple[list[dict], list[tuple[int | None, str]]]:
    """-> the well-formed records, and (line number, why) for each line skipped."""
    path = path_for(state_dir)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return [], []
    except OSError as e:
        return [], [(None, f"cannot read ({e.strerror})")]
    if not stat.S_ISREG(st.st_mode):
        return [], [(None, "not a regular file")]  # a FIFO would hang, /dev/zero never end
    try:
        data = path.read_bytes()
    except OSError as e:
        return [], [(None, f"cannot read ({e.strerror})")]
    records: list[dict] = []
    bad: list[tuple[int | None, str]] = []
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        record = parse_line(raw)
        if isinstance(record, str):
            bad.append((n, record))
        else:
            records.append(record)
    return records, bad


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number a ledger holds")


def parse_line(raw: bytes) -> dict | str:
    """One ledger line -> its record, or why it cannot be one (a committed file is
    untrusted: a torn line from a killed run, a bad merge, a hand edit)."""
    try:
        record = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        return "not UTF-8"
    except RecursionError:
        return "nested too deeply"
    except ValueError:
        return "not JSON (a torn or edited line)"
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("v") != VERSION:
        return f"unknown version {record.get('v')!r}"
    for key in ("run", "kind", "item", "status"):
        if not isinstance(record.get(key), str):
            return f"{key!r} is not text"
    if not is_item_kind(record["kind"]):
        return f"kind {record['kind']!r} is neither page nor image"
    for key in TOKEN_FIELDS:
        value = record.get(key, 0)
        if not _is_int(value) or not 0 <= value <= MAX_TOKENS:
            return f"{key!r} is not a token count: {str(value)[:40]}"
    cost = record.get("cost_usd", 0)
    if not _is_number(cost) or not 0 <= cost <= MAX_COST_USD:
        return f"'cost_usd' is not an amount: {str(cost)[:40]}"
    return record


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


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
