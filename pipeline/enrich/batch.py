"""`enrich --batch`: stale items as Message Batches, at half price, for unattended builds.

A run first collects every pending batch that has ended, then submits what is still
stale and not already pending, records the pending batches in a committed file
(`.enrich/batches.json`), and exits; the next run (or `--wait`) collects. A result is
written only if its item's fingerprint still matches and nobody edited its sidecar
meanwhile; errored, expired, canceled and invalid results leave the item stale, so
the next run submits it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import click

from pipeline.cli.main import report_problems
from pipeline.enrich import ledger, lock
from pipeline.enrich.pricing import cost
from pipeline.enrich.replies import Invalid
from pipeline.enrich.runner import (
    Options,
    Outcome,
    Summary,
    Work,
    _parse,
    _record,
    _sidecar,
    build_work,
    store_outcome,
)
from pipeline.errors import Fatal, Problem
from pipeline.fsutil import atomic_write
from pipeline.plan import Item, Plan, State

FILE = "batches.json"
MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
_HEADROOM = 1024 * 1024  # JSON framing around the requests


def custom_id(item: Item) -> str:
    digest = hashlib.sha256(f"{item.kind}\0{item.path}\0{item.fingerprint}".encode()).hexdigest()
    return f"{item.kind[0]}-{digest[:40]}"


def load(state_dir: Path) -> list[dict]:
    try:
        data = json.loads((state_dir / FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise Fatal(f"{state_dir / FILE}: corrupt batch file ({e})") from None
    return list(data.get("batches", []))


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
    requeued: list[str] = field(default_factory=list)


def collect(plan: Plan, client, batch: dict, run_id: str, result: BatchRun) -> None:
    current = {(i.kind, i.path): i for i in plan.items}
    entries = {e["custom_id"]: e for e in batch["items"]}
    model = batch["model"]
    seen = set()
    for cid, kind, reply in client.batch_results(batch["id"]):
        entry = entries.get(cid)
        if entry is None:
            continue
        seen.add(cid)
        item = current.get((entry["kind"], entry["path"]))
        when = time.monotonic()
        # The item as it was when submitted: its fingerprint is what the text describes.
        recorded = Item(
            entry["kind"],
            entry["path"],
            State.NEW,
            fingerprint=entry["fingerprint"],
            home=entry["home"],
        )
        log = partial(
            _record,
            run_id,
            recorded,
            model,
            attempt=1,
            started=when,
            mode="batch",
            batch=batch["id"],
        )
        if kind != "succeeded":
            out = Outcome(recorded)
            out.records.append(log(status=kind, error=str(reply)))
            out.problem = Problem(entry["path"], f"batch result {kind}: {reply}; re-queued")
            _finish(plan, out, result)
            continue
        dollars = cost(model, reply.usage, batch=True) or 0.0
        out = Outcome(recorded, usage=reply.usage, dollars=dollars)
        status = "ok"
        try:
            fields = _parse(entry["kind"], reply.text, cut=False)
        except Invalid as e:
            status = "invalid"
            out.problem = Problem(entry["path"], f"malformed batch output: {e}; re-queued")
            fields = None
        if fields is not None:
            if item is None or item.fingerprint != entry["fingerprint"]:
                # The source changed while the batch ran: this text describes an old
                # version. Drop it; the item is stale and goes into the next batch.
                status = "superseded"
                result.requeued.append(entry["path"])
            else:
                out.sidecar = _sidecar(recorded, fields, model, reply.usage)
        out.records.append(
            log(
                status=status,
                error="" if status == "ok" else status,
                usage=reply.usage,
                dollars=dollars,
                request_id=reply.request_id,
            )
        )
        _finish(plan, out, result)
    for cid, entry in entries.items():
        if cid not in seen:
            result.summary.failed.append(
                Problem(entry["path"], "missing from the batch results; re-queued")
            )


def _finish(plan: Plan, out: Outcome, result: BatchRun) -> None:
    result.summary.add(out, store_outcome(plan, out, meanwhile="while the batch ran"))


def pending_keys(state_dir: Path) -> set[tuple[str, str, str]]:
    """(kind, path, fingerprint) of every item waiting in a submitted batch."""
    return {(e["kind"], e["path"], e["fingerprint"]) for b in load(state_dir) for e in b["items"]}


def batch_command(
    plan: Plan,
    items: list[Item],
    opts: Options,
    *,
    wait: bool,
    commit: bool,
    problems: list[Problem],
) -> int:
    from pipeline.cli.run import _client, _has_key, _no_key_message

    site = plan.site
    pending = load(site.state_dir)
    if not (items or pending):
        click.echo("Nothing to enrich: 0 tokens spent.")
        return 1 if problems else 0
    if not _has_key():
        raise Fatal(_no_key_message(len(items) or len(pending)), exit_code=2)
    client = _client(site)
    run_id = ledger.new_run_id()
    result = BatchRun()
    with lock.held(site.state_dir):
        pending = _collect_ended(plan, client, pending, run_id, result, wait=wait)
        in_flight = {(e["kind"], e["path"], e["fingerprint"]) for b in pending for e in b["items"]}
        done = {(i.kind, i.path) for i in result.summary.done}
        to_send = [
            i
            for i in items
            if (i.kind, i.path, i.fingerprint) not in in_flight and (i.kind, i.path) not in done
        ]
        works, prep_problems = build_work(plan, to_send, opts.model)
        report_problems(site, prep_problems)
        problems += prep_problems
        for chunk in split(works):
            requests = [{"custom_id": custom_id(w.item), "params": w.params} for w in chunk]
            batch_id = client.batch_create(requests)
            pending.append(
                {
                    "id": batch_id,
                    "model": opts.model,
                    "submitted": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "items": [
                        {
                            "custom_id": custom_id(w.item),
                            "kind": w.item.kind,
                            "path": w.item.path,
                            "fingerprint": w.item.fingerprint,
                            "home": w.item.home,
                        }
                        for w in chunk
                    ],
                }
            )
            result.submitted += len(chunk)
            save(site.state_dir, pending)  # recorded before anything else can go wrong
            click.echo(f"submitted batch {batch_id}: {len(chunk)} request(s)")
        if wait and result.submitted:
            pending = _collect_ended(plan, client, pending, run_id, result, wait=True)
        save(site.state_dir, pending)
    report_problems(site, result.summary.failed)
    problems += result.summary.failed
    s = result.summary
    still = sum(len(b["items"]) for b in pending)
    if result.requeued:
        click.echo(
            f"{len(result.requeued)} result(s) dropped: the source changed while the batch "
            "ran; submitted again."
        )
    click.echo(
        f"Batch: {len(s.done)} result(s) written, {result.submitted} submitted, "
        f"{still} pending; {s.usage.input_tokens:,} input + {s.usage.output_tokens:,} output "
        f"tokens, ${s.dollars:.4f} at batch price."
    )
    if commit:
        from pipeline.cli.gitcommit import commit_results

        commit_results(site, s, note=f"{result.submitted} submitted, {still} pending in batches")
    return 1 if problems else 0


def _collect_ended(plan, client, pending, run_id, result, *, wait: bool) -> list[dict]:
    interval = plan.site.options.batch_poll_seconds
    remaining = []
    for batch in pending:
        status, counts = client.batch_status(batch["id"])
        while wait and status != "ended":
            click.echo(
                f"batch {batch['id']}: {status}, {counts.get('succeeded', 0)} done of "
                f"{len(batch['items'])}",
                err=True,
            )
            time.sleep(interval)
            status, counts = client.batch_status(batch["id"])
        if status == "ended":
            collect(plan, client, batch, run_id, result)
            click.echo(f"collected batch {batch['id']}")
        else:
            remaining.append(batch)
    return remaining
