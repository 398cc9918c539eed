"""`enrich` as the user runs it: load, plan, spend (or not), report, exit code."""

from __future__ import annotations

import click

from pipeline.cli.common import (
    check_ledger,
    docs_relative,
    has_key,
    load_plan,
    make_client,
    no_key_message,
    report_problems,
)
from pipeline.cli.progress import Progress
from pipeline.cli.status import display_path
from pipeline.enrich import estimate, lock
from pipeline.enrich.pricing import Usage, cost, price_for
from pipeline.enrich.prompts import prefix_estimates, prefix_line
from pipeline.enrich.runner import (
    Options,
    Work,
    build_work,
    count_prefixes,
    count_tokens,
    rehome,
    run,
    select,
)
from pipeline.errors import Fatal, Problem
from pipeline.fsutil import sweep_temp_files
from pipeline.plan import Plan


def enrich_command(
    config_file: str | None,
    *,
    dry_run: bool = False,
    only: str | None = None,
    upgrade: bool = False,
    retry_failed: bool = False,
    max_cost: float | None = None,
    max_tokens: int | None = None,
    concurrency: int | None = None,
    model: str | None = None,
    force: tuple[str, ...] = (),
    write_back: bool = False,
    batch: bool = False,
    wait: bool = False,
    commit: bool = False,
    leave: frozenset[tuple[str, str]] = frozenset(),
) -> int:
    """`leave`: (kind, path) of items not to send this time (`build` sends pages with
    borrowed words once its build has shown them)."""
    site, plan = load_plan(config_file, model)
    o = site.options
    opts = Options(
        dry_run=dry_run,
        only=only,
        upgrade=upgrade,
        max_cost=max_cost if max_cost is not None else o.max_cost,
        max_tokens=max_tokens if max_tokens is not None else o.max_tokens,
        concurrency=concurrency or o.concurrency,
        model=plan.model,
        force=tuple(docs_relative(site, p) for p in force),
        retry_failed=retry_failed,
        fallback_model=o.fallback_model,
    )
    if opts.max_cost and price_for(opts.model) is None:
        raise Fatal(
            f"--max-cost: no price is known for model {opts.model!r} "
            "(add it to pipeline/enrich/pricing.py, or use --max-tokens)"
        )
    report_problems(site, plan.problems)
    problems: list[Problem] = list(plan.problems)
    items, chosen_problems = select(plan, opts)
    if plan.discovery.recorded:
        # Once a build has recorded what pages show, text made from a page's source is
        # not adopted: sending it now would pay twice (here, and after the next build).
        unshown = {
            (i.kind, i.path)
            for i in plan.unshown()
            if (i.kind, i.path) not in leave and i.path not in opts.force
        }
        if unshown:
            click.echo(
                f"{len(unshown)} page(s) take words from elsewhere that no build has shown "
                "yet: not sent. `python -m pipeline build` enriches them from what it shows."
            )
            leave = leave | unshown
    items = [i for i in items if (i.kind, i.path) not in leave]
    report_problems(site, chosen_problems)
    problems += chosen_problems
    if not batch:
        from pipeline.enrich.batch import pending_keys

        # Already paid for in a submitted batch: the next --batch run collects them.
        bad_file: list[Problem] = []
        waiting = pending_keys(site.state_dir, bad_file)
        report_problems(site, bad_file)
        problems += bad_file
        if waiting:
            kept = [i for i in items if (i.kind, i.path, i.fingerprint, i.lang) not in waiting]
            if len(kept) < len(items):
                click.echo(f"{len(items) - len(kept)} item(s) are pending in a batch: skipped.")
            items = kept

    if dry_run:
        client = make_client(site) if has_key() else None
        works, prep_problems = build_work(plan, items, opts.model)
        report_problems(site, prep_problems)
        works = count_tokens(works, client)
        print_dry_run(works, opts.model, client is not None, batch=batch)
        sizes = count_prefixes(works, client) if client is not None else {}
        if sizes:
            click.echo(prefix_line(opts.model, sizes, "count_tokens"))
        else:
            click.echo(prefix_line(opts.model, prefix_estimates(opts.model), "local estimate"))
        return 1 if problems or prep_problems else 0

    if batch:
        from pipeline.cli.batch import batch_command

        return batch_command(plan, items, opts, wait=wait, commit=commit, problems=problems)

    if items and not has_key():
        raise Fatal(no_key_message(len(items)), exit_code=2)

    with lock.held(site.state_dir):
        sweep_temp_files(site.docs_dir, site.state_dir)  # left by a killed run
        check_ledger(site)
        summary = None
        if items:
            client = make_client(site)
            works, prep_problems = build_work(plan, items, opts.model)
            problems += prep_problems
            report_problems(site, prep_problems)
            progress = Progress(len(works), model=opts.model)
            try:
                summary = run(plan, works, opts, client, progress)
            finally:
                progress.close()
            report_problems(site, summary.failed)
            problems += summary.failed
        rehome_problems: list[Problem] = []
        moved = rehome(plan, rehome_problems)
        for old, new in moved:
            click.echo(f"re-homed {display_path(site, old)} -> {display_path(site, new)}")
        report_problems(site, rehome_problems)
        problems += rehome_problems
        if write_back:
            from pipeline.render.writeback import write_back as do_write_back

            site, plan = load_plan(config_file, model)
            changed, wb_problems = do_write_back(plan)
            for rel in changed:
                click.echo(f"wrote alt text into {display_path(site, rel)}")
            report_problems(site, wb_problems)
            problems += wb_problems
    _print_summary(plan, summary)
    if commit:
        from pipeline.cli.gitcommit import commit_results

        commit_results(site, summary)
    return 1 if problems else 0


def _print_summary(plan: Plan, summary) -> None:
    if summary is None:
        click.echo("Nothing to enrich: 0 tokens spent.")
        return
    u = summary.usage
    done_pages = sum(1 for i in summary.done if i.kind == "page")
    done_images = len(summary.done) - done_pages
    line = (
        f"Enriched {len(summary.done)} item(s) ({done_pages} pages, {done_images} images) in "
        f"{summary.requests} request(s): {u.input_tokens:,} input + {u.output_tokens:,} output "
        f"tokens (cache: {u.cache_creation_input_tokens:,} written, "
        f"{u.cache_read_input_tokens:,} read), ${summary.dollars:.4f}."
    )
    click.echo(line)
    remembered = len(summary.remembered)
    if remembered:
        click.echo(
            f"{remembered} item(s) failed and are recorded as failed: not asked again until "
            "they change (`status` says what to do; `enrich --retry-failed` asks now)."
        )
    if len(summary.failed) > remembered:
        click.echo(
            f"{len(summary.failed) - remembered} item(s) failed and stay stale for the next "
            "run (listed above)."
        )
    if summary.remaining:
        click.echo(
            f"Budget reached: {len(summary.remaining)} item(s) remain for the next run: "
            + ", ".join(i.path for i in summary.remaining[:5])
            + (" …" if len(summary.remaining) > 5 else "")
        )


def print_dry_run(works: list[Work], model: str, has_key: bool, *, batch: bool = False) -> None:
    total_in = 0
    total_out = 0
    for w in works:
        total_in += w.estimate
        total_out += 60 if w.item.kind == "page" else 30  # typical output
        how = "counted" if w.counted else "estimate"
        note = f"  ({w.note})" if w.note else ""
        click.echo(
            f"  {w.item.state.value:<9} {w.item.kind:<5} {w.item.path}"
            f"{f' [{w.item.lang}]' if w.item.lang else ''}  "
            f"{w.estimate:,} input tokens [{how}]{note}"
        )
    source = "count_tokens" if has_key else "a local estimate (set ANTHROPIC_API_KEY to count)"
    # What the run pays: each kind's first request writes the cached prefix, the rest read it.
    # Batches cache the prefix for an hour: its one write costs 2x, not 1.25x.
    paid = estimate.equivalents(
        ((w.item.kind, w.estimate) for w in works), model, ttl="1h" if batch else "5m"
    )
    usage = Usage(input_tokens=round(paid), output_tokens=total_out)
    dollars = cost(model, usage, batch=batch) or 0.0
    price = " at batch price" if batch else ""
    click.echo(
        f"Would send {len(works)} request(s): {total_in:,} input tokens by {source}, "
        f"{round(paid):,} token-equivalents with the cached prefix, about "
        f"${dollars:.4f} at {model}{price} with typical output. Nothing was spent."
    )
