"""`enrich --batch [--wait]`: submit stale items as Message Batches, collect ended ones."""

from __future__ import annotations

import datetime as dt
import time

import click

from pipeline.cli.common import check_ledger, has_key, make_client, no_key_message, report_problems
from pipeline.enrich import ledger, lock
from pipeline.enrich.api import BATCH_TTL, MessagesAPI, with_ttl
from pipeline.enrich.batch import (
    BatchRun,
    collect,
    custom_id,
    item_key,
    load,
    pending_key,
    retry_entry,
    save,
    split,
)
from pipeline.enrich.results import params_for
from pipeline.enrich.runner import Options, build_work
from pipeline.errors import Fatal, Problem
from pipeline.fsutil import sweep_temp_files
from pipeline.plan import Item, Plan


def batch_command(
    plan: Plan,
    items: list[Item],
    opts: Options,
    *,
    wait: bool,
    commit: bool,
    problems: list[Problem],
) -> int:
    site = plan.site
    bad_file: list[Problem] = []
    pending = load(site.state_dir, bad_file)
    report_problems(site, bad_file)
    problems += bad_file
    if not (items or pending):
        click.echo("Nothing to enrich: 0 tokens spent.")
        return 1 if problems else 0
    if not has_key():
        raise Fatal(no_key_message(len(items) or len(pending)), exit_code=2)
    client = make_client(site)
    run_id = ledger.new_run_id()
    result = BatchRun()
    with lock.held(site.state_dir):
        sweep_temp_files(site.docs_dir, site.state_dir)
        check_ledger(site)
        pending = collect_ended(plan, client, pending, run_id, result, opts, wait=wait)
        # With --wait, what the results send again (a second try, a transient failure)
        # goes out and comes back in this run too; each item has at most two requests.
        for _ in range(3):
            sent = _submit(plan, client, items, pending, result, opts, problems)
            if not (wait and sent):
                break
            pending = collect_ended(plan, client, pending, run_id, result, opts, wait=True)
        save(site.state_dir, pending)
    report_problems(site, result.summary.failed)
    problems += result.summary.failed
    s = result.summary
    still = sum(len(b["items"]) for b in pending)
    _print_classes(result)
    click.echo(
        f"Batch: {len(s.done)} result(s) written, {len(s.remembered)} failed, "
        f"{result.submitted} submitted, {still} pending; {s.usage.input_tokens:,} input + "
        f"{s.usage.output_tokens:,} output tokens, ${s.dollars:.4f} at batch price."
    )
    if commit:
        from pipeline.cli.gitcommit import commit_results

        commit_results(site, s, note=f"{result.submitted} submitted, {still} pending in batches")
    return 1 if problems else 0


def _print_classes(result: BatchRun) -> None:
    """Results by class: succeeded, failed (by failure class; each named on stderr),
    re-queued (transient, or a source changed meanwhile), second tries."""
    s = result.summary
    failed = s.failures
    parts = [f"{len(s.done)} succeeded"]
    if failed:
        parts.append(
            f"{len(s.remembered)} failed ("
            + ", ".join(f"{n} {why}" for why, n in sorted(failed.items()))
            + ")"
        )
    if result.transient:
        parts.append(f"{len(result.transient)} re-queued (transient)")
    if result.requeued:
        parts.append(f"{len(result.requeued)} dropped, the source changed meanwhile: sent again")
    if result.retries:
        parts.append(f"{len(result.retries)} second tries")
    click.echo("Results: " + ", ".join(parts) + ".")


def _submit(plan, client, items, pending, result: BatchRun, opts: Options, problems) -> int:
    """Submit what is stale, not in flight and not settled by this run. -> requests sent."""
    site = plan.site
    in_flight = {pending_key(e) for b in pending for e in b["items"]}
    done = {item_key(i) for i in result.summary.done} | result.settled
    to_send = [
        i
        for i in items
        if (i.kind, i.path, i.fingerprint, i.lang) not in in_flight and item_key(i) not in done
    ]
    if not to_send:
        return 0
    works, prep_problems = build_work(plan, to_send, opts.model)
    report_problems(site, prep_problems)
    problems += prep_problems
    sent = 0
    for chunk in split(works):
        requests = []
        for w in chunk:
            attempt = result.retries.get(item_key(w.item))
            params = params_for(w.params, attempt) if attempt else w.params
            requests.append({"custom_id": custom_id(w.item), "params": with_ttl(params, BATCH_TTL)})
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
                        **({"lang": w.item.lang} if w.item.lang else {}),
                        **retry_entry(result.retries.get(item_key(w.item)), opts.model),
                    }
                    for w in chunk
                ],
            }
        )
        result.submitted += len(chunk)
        sent += len(chunk)
        save(site.state_dir, pending)  # recorded before anything else can go wrong
        click.echo(f"submitted batch {batch_id}: {len(chunk)} request(s)")
    return sent


def collect_ended(
    plan: Plan, client: MessagesAPI, pending, run_id, result, opts: Options, *, wait: bool
) -> list[dict]:
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
            collect(plan, client, batch, run_id, result, opts.fallback_model)
            click.echo(f"collected batch {batch['id']}")
        else:
            remaining.append(batch)
    return remaining
