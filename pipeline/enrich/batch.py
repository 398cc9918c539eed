"""`enrich --batch`: stale items as Message Batches, at half price, for unattended builds.

A run first collects every pending batch that has ended, then submits what is still
stale and not already pending, records the pending batches in a committed file
(`.enrich/batches.json`), and exits; the next run (or `--wait`) collects. A result is
written only if its item's fingerprint still matches and nobody edited its sidecar
meanwhile. Each result goes through the same path as a direct reply (results.py): kept,
a second try (sent with the next batch, recorded as attempt 2), or remembered as failed
(a refusal, a reply cut off twice, an `invalid_request_error`, two broken replies).
Expired, canceled and transiently errored results (`overloaded_error`, `api_error`)
leave the item stale, so it is submitted again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
import re
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from pipeline import sidecars as store
from pipeline.enrich.api import MessagesAPI
from pipeline.enrich.results import (
    Attempt,
    Outcome,
    Summary,
    Verdict,
    judge_error,
    record,
    second_try,
    settle,
    store_outcome,
    take_reply,
)
from pipeline.enrich.runner import MAX_OUTPUT, Work
from pipeline.errors import Fatal, Problem
from pipeline.fsutil import atomic_write, read_regular
from pipeline.model import ItemKind, is_item_kind
from pipeline.plan import Item, Plan, State

FILE = "batches.json"
MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
_HEADROOM = 1024 * 1024  # JSON framing around the requests


def custom_id(item: Item) -> str:
    key = f"{item.kind}\0{item.path}\0{item.fingerprint}" + (f"\0{item.lang}" if item.lang else "")
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{item.kind[0]}-{digest[:40]}"


# Room for ~200,000 pending items (about 300 bytes each); a file larger than this, or one
# that is not a regular file (a FIFO, /dev/zero behind a symlink), is not one we wrote.
MAX_FILE_BYTES = 64 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")  # goes into a URL path: no / or ..


def load(state_dir: Path, problems: list[Problem] | None = None) -> list[dict]:
    """The pending batches. A file we cannot have written (not JSON, the wrong shape, a
    path that is not an item's) is set aside as `batches.json.bad-<time>`, reported in
    `problems`, and treated as empty: its items are stale again, so they are re-sent."""
    path = state_dir / FILE
    try:
        batches = _valid(json.loads(read_regular(path, MAX_FILE_BYTES, root=state_dir)))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        problem = _set_aside(path, why)
        if problems is None:
            raise Fatal(str(problem)) from None
        problems.append(problem)
        return []
    return batches


def _valid(data) -> list[dict]:
    """Every field this module reads back, checked; ValueError says what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("batches"), list):
        raise ValueError("expected an object with a list of batches")
    for batch in data["batches"]:
        if not isinstance(batch, dict) or not isinstance(batch.get("items"), list):
            raise ValueError("a batch without a list of items")
        if not (isinstance(batch.get("id"), str) and _ID.match(batch["id"])):
            raise ValueError(f"bad batch id {str(batch.get('id'))[:60]!r}")
        if not isinstance(batch.get("model"), str):
            raise ValueError(f"batch {batch['id']}: model is not text")
        for entry in batch["items"]:
            _check_entry(entry)
    return data["batches"]


def _check_entry(entry) -> None:
    if not isinstance(entry, dict):
        raise ValueError("an item that is not an object")
    for key in ("custom_id", "path", "fingerprint"):
        if not isinstance(entry.get(key), str):
            raise ValueError(f"an item without {key}")
    if not is_item_kind(entry.get("kind")):
        raise ValueError(f"item {entry['path'][:80]!r}: kind {str(entry.get('kind'))[:20]!r}")
    rel = entry["path"]
    if not _docs_relative(rel):
        raise ValueError(f"item path {rel[:80]!r} is not a path inside docs_dir")
    if "model" in entry and not isinstance(entry["model"], str):
        raise ValueError(f"item {rel[:80]!r}: model is not text")
    if entry.get("attempt", 1) not in (1, 2):
        raise ValueError(f"item {rel[:80]!r}: attempt is not 1 or 2")
    budget = entry.get("max_tokens")
    if budget is not None and (
        not isinstance(budget, int) or isinstance(budget, bool) or not 0 < budget <= 64_000
    ):
        raise ValueError(f"item {rel[:80]!r}: max_tokens is not a token budget")
    lang = entry.get("lang", "")
    if lang and not (isinstance(lang, str) and store.LANG_TAG.match(lang)):
        raise ValueError(f"item {rel[:80]!r}: lang {str(lang)[:20]!r} is not a language tag")
    # `home` is written for people reading the file; it is recomputed, never trusted.
    homes = {store.sidecar_path(rel), store.sidecar_path(rel, lang)}
    if entry.get("home", store.sidecar_path(rel)) not in homes:
        raise ValueError(f"item {rel[:80]!r}: home {str(entry['home'])[:80]!r} is not its sidecar")


def _docs_relative(rel: str) -> bool:
    """A normalized relative posix path that stays inside its root."""
    if not rel or posixpath.isabs(rel) or "\\" in rel or posixpath.normpath(rel) != rel:
        return False
    return rel != ".." and not rel.startswith("../")


def _set_aside(path: Path, why: str) -> Problem:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.bad-{stamp}")
    try:
        os.replace(path, aside)  # atomic: a second run sees either the file or nothing
    except FileNotFoundError:
        pass  # another run set it aside first
    except OSError as e:
        return Problem(str(path), f"corrupt batch file ({why}); cannot set it aside: {e.strerror}")
    return Problem(
        str(path),
        f"corrupt batch file ({why}); set aside as {aside.name}, its items are sent again",
    )


def save(state_dir: Path, batches: list[dict]) -> None:
    path = state_dir / FILE
    if not batches:
        path.unlink(missing_ok=True)
        return
    text = json.dumps({"version": 1, "batches": batches}, indent=2, sort_keys=True) + "\n"
    atomic_write(path, text.encode("utf-8"))


def split(
    works: list[Work], max_requests: int = MAX_REQUESTS, max_bytes: int = MAX_BYTES - _HEADROOM
) -> list[list[Work]]:
    """Chunks within one batch's limits: 100,000 requests and 256 MB."""
    chunks: list[list[Work]] = [[]]
    size = 0
    for work in works:
        n = len(json.dumps(work.params)) + 100
        if chunks[-1] and (len(chunks[-1]) >= max_requests or size + n > max_bytes):
            chunks.append([])
            size = 0
        chunks[-1].append(work)
        size += n
    return [c for c in chunks if c]


@dataclass
class BatchRun:
    summary: Summary = field(default_factory=Summary)
    submitted: int = 0
    pending: int = 0
    # Results by class: sources changed while the batch ran (dropped, sent again)...
    requeued: list[str] = field(default_factory=list)
    # ... expired, canceled or transiently errored (sent again): (path, why)
    transient: list[tuple[str, str]] = field(default_factory=list)
    # ... a second try the policy allows, sent with the next batch: item_key -> how
    retries: dict[tuple[ItemKind, str, str], Attempt] = field(default_factory=dict)
    # ... settled this run, text or a remembered failure: never sent again by it
    settled: set[tuple[ItemKind, str, str]] = field(default_factory=set)


_PERMANENT = "invalid_request_error"


def collect(
    plan: Plan,
    client: MessagesAPI,
    batch: dict,
    run_id: str,
    result: BatchRun,
    fallback_model: str | None = None,
) -> None:
    current = {item_key(i): i for i in plan.items}
    entries = {e["custom_id"]: e for e in batch["items"]}
    configured = batch["model"]
    seen = set()
    for cid, kind, reply, error_type in client.batch_results(batch["id"]):
        entry = entries.get(cid)
        if entry is None:
            continue
        seen.add(cid)
        item = current.get(entry_key(entry))
        # The item as it was when submitted: its fingerprint is what the text describes.
        # Its home is the plan's (a path read back from a file is never written to).
        recorded = Item(
            entry["kind"],
            entry["path"],
            State.NEW,
            fingerprint=entry["fingerprint"],
            home=item.home if item else store.sidecar_path(entry["path"]),
            lang=entry.get("lang", ""),
        )
        attempt = Attempt(
            entry.get("attempt", 1),
            model=entry.get("model", configured),
            max_tokens=entry.get("max_tokens"),
        )
        log = partial(
            record,
            run_id,
            recorded,
            attempt.model,
            attempt=attempt.number,
            started=time.monotonic(),
            mode="batch",
            batch=batch["id"],
        )
        out = Outcome(recorded)
        if kind != "succeeded" or isinstance(reply, str):
            why = f"batch result {kind}" + (
                f" ({error_type}): {reply}" if kind == "errored" else ""
            )
            verdict = judge_error(
                why, permanent=kind == "errored" and error_type == _PERMANENT, transient=True
            )
            out.records.append(log(status=kind, error=why))
        else:
            verdict = take_reply(out, reply, attempt, log, batch=True)
        _settle(plan, out, verdict, attempt, item, entry, configured, fallback_model, result)
    for cid, entry in entries.items():
        if cid not in seen:
            result.transient.append((entry["path"], "missing from the batch results"))
            result.summary.failed.append(
                Problem(entry["path"], "missing from the batch results; re-queued")
            )


def _settle(
    plan: Plan,
    out: Outcome,
    verdict: Verdict,
    attempt: Attempt,
    item: Item | None,
    entry: dict,
    configured: str,
    fallback_model: str | None,
    result: BatchRun,
) -> None:
    key = entry_key(entry)
    if item is None or item.fingerprint != entry["fingerprint"]:
        # The source changed while the batch ran: this answer is about an old version.
        # Drop it; the item is stale and goes into the next batch.
        if verdict.kept or verdict.failure:
            result.requeued.append(entry["path"])
            if out.records:
                out.records[-1]["status"] = "superseded"
        else:
            result.transient.append((entry["path"], verdict.reason))
        result.summary.add(out, None)
        store_outcome(plan, out)
        return
    if verdict.transient:
        result.transient.append((entry["path"], verdict.reason))
        result.summary.add(out, Problem(entry["path"], f"{verdict.reason}; re-queued"))
        store_outcome(plan, out)
        return
    budget = {"max_tokens": attempt.max_tokens or MAX_OUTPUT[out.item.kind]}
    following = None if verdict.kept else second_try(verdict, attempt, budget, fallback_model)
    if following is not None:
        result.retries[key] = following
        result.summary.add(out, None)
        store_outcome(plan, out)
        return
    settle(out, verdict, attempt, configured)
    result.settled.add(key)
    _finish(plan, out, result)


def retry_entry(attempt: Attempt | None, configured: str) -> dict:
    """What batches.json records of a request beyond the item: how it was asked."""
    if attempt is None:
        return {}
    extra: dict = {"attempt": attempt.number}
    if attempt.model and attempt.model != configured:
        extra["model"] = attempt.model
    if attempt.max_tokens:
        extra["max_tokens"] = attempt.max_tokens
    return extra


def _finish(plan: Plan, out: Outcome, result: BatchRun) -> None:
    result.summary.add(out, store_outcome(plan, out, meanwhile="while the batch ran"))


def pending_keys(
    state_dir: Path, problems: list[Problem] | None = None
) -> set[tuple[ItemKind, str, str, str]]:
    """(kind, path, fingerprint, lang) of every item waiting in a submitted batch."""
    batches = load(state_dir, problems)
    return {pending_key(e) for b in batches for e in b["items"]}


def item_key(item: Item) -> tuple[ItemKind, str, str]:
    """An item, told apart from the same image's items in other languages."""
    return (item.kind, item.path, item.lang)


def entry_key(entry: dict) -> tuple[ItemKind, str, str]:
    return (entry["kind"], entry["path"], entry.get("lang", ""))


def pending_key(entry: dict) -> tuple[ItemKind, str, str, str]:
    return (entry["kind"], entry["path"], entry["fingerprint"], entry.get("lang", ""))
