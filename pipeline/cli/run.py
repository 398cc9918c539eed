"""`enrich` and `build` as the user runs them: load, plan, spend (or not), report, exit code."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from pipeline.cli.main import load_plan, report_problems
from pipeline.cli.progress import Progress
from pipeline.cli.status import display_path
from pipeline.enrich import ledger, lock
from pipeline.enrich.pricing import price_for
from pipeline.enrich.prompts import prefix_estimates, prefix_line
from pipeline.enrich.runner import (
    Options,
    build_work,
    count_prefixes,
    count_tokens,
    print_dry_run,
    rehome,
    run,
    select,
)
from pipeline.errors import NO_KEY, Fatal, Problem
from pipeline.fsutil import check_appendable, sweep_temp_files
from pipeline.plan import Plan


def _has_key() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY", "").strip())


def enrich_command(
    config_file: str,
    *,
    dry_run: bool = False,
    only: str | None = None,
    upgrade: bool = False,
    max_cost: float | None = None,
    max_tokens: int | None = None,
    concurrency: int | None = None,
    model: str | None = None,
    force: tuple[str, ...] = (),
    write_back: bool = False,
    batch: bool = False,
    wait: bool = False,
    commit: bool = False,
) -> int:
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
        force=tuple(_docs_relative(site, p) for p in force),
    )
    if opts.max_cost and price_for(opts.model) is None:
        raise Fatal(
            f"--max-cost: no price is known for model {opts.model!r} "
            "(add it to pipeline/enrich/pricing.py, or use --max-tokens)"
        )
    report_problems(site, plan.problems)
    problems: list[Problem] = list(plan.problems)
    items, chosen_problems = select(plan, opts)
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
            kept = [i for i in items if (i.kind, i.path, i.fingerprint) not in waiting]
            if len(kept) < len(items):
                click.echo(f"{len(items) - len(kept)} item(s) are pending in a batch: skipped.")
            items = kept

    if dry_run:
        client = _client(site) if _has_key() else None
        works, prep_problems = build_work(plan, items, opts.model)
        report_problems(site, prep_problems)
        works = count_tokens(works, client)
        print_dry_run(works, opts.model, client is not None)
        sizes = count_prefixes(works, client) if client is not None else {}
        if sizes:
            click.echo(prefix_line(opts.model, sizes, "count_tokens"))
        else:
            click.echo(prefix_line(opts.model, prefix_estimates(opts.model), "local estimate"))
        return 1 if problems or prep_problems else 0

    if batch:
        from pipeline.enrich.batch import batch_command

        return batch_command(plan, items, opts, wait=wait, commit=commit, problems=problems)

    if items and not _has_key():
        raise Fatal(_no_key_message(len(items)), exit_code=2)

    with lock.held(site.state_dir):
        sweep_temp_files(site.docs_dir, site.state_dir)  # left by a killed run
        check_ledger(site)
        summary = None
        if items:
            client = _client(site)
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


def check_ledger(site) -> None:
    """Before anything is spent: the ledger must take every request's line."""
    path = ledger.path_for(site.state_dir)
    try:
        check_appendable(path)
    except OSError as e:
        raise Fatal(f"{os.path.relpath(path)}: {e}; nothing was sent") from None


def _client(site):
    from pipeline.enrich.client import Client

    o = site.options
    return Client(timeout=o.timeout, max_retries=o.max_retries, max_wait=o.max_retry_wait)


def _no_key_message(n: int) -> str:
    return f"{n} item(s) to enrich, but {NO_KEY}"


def _docs_relative(site, path: str) -> str:
    full = os.path.abspath(path)
    docs = str(site.docs_dir)
    if full.startswith(docs + os.sep) and os.path.exists(full):
        return os.path.relpath(full, docs).replace(os.sep, "/")
    rel = path.replace(os.sep, "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel


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
    if summary.failed:
        click.echo(f"{len(summary.failed)} item(s) failed and stay stale (listed above).")
    if summary.remaining:
        click.echo(
            f"Budget reached: {len(summary.remaining)} item(s) remain for the next run: "
            + ", ".join(i.path for i in summary.remaining[:5])
            + (" …" if len(summary.remaining) > 5 else "")
        )


def build_command(
    config_file: str, *, frozen: bool = False, strict: bool = True, generator: str = "mkdocs"
) -> int:
    """`make build`: enrich when a key is set, then build with the generator (`--strict`
    by default): `mkdocs build`, or `zensical build` and our post-build pass.

    The site is built whatever enrichment found; the exit code is non-zero when a cause
    was named on stderr (a failed request, a corrupt sidecar, any other problem), so CI
    notices a build that published less than it should."""
    if generator == "zensical":
        from pipeline import zensical

        zensical.require()  # before spending anything on a build that cannot run
    site, plan = load_plan(config_file)
    stale = plan.stale()
    env = dict(os.environ)
    problems = 0
    if frozen:
        report_problems(site, plan.problems)
        problems = len(plan.problems)
        if stale:
            for item in stale:
                click.echo(
                    f"{display_path(site, item.path)}: {item.state.value}, not enriched", err=True
                )
            click.echo(
                f"FROZEN: {len(stale)} item(s) are stale. Run `python -m pipeline enrich` "
                "(or write the sidecars by hand) and commit the *.enrich.yml files.",
                err=True,
            )
            return 1
        env["ANTHROPIC_API_KEY"] = ""  # a frozen build never talks to the API
    elif _has_key():
        code = enrich_command(config_file)
        if code == 2:
            return code
        problems = code  # enrich_command named each failure and problem on stderr
    else:
        report_problems(site, plan.problems)
        problems = len(plan.problems)
        pages = sum(1 for i in stale if i.kind == "page")
        click.echo(
            f"Enrichment skipped (ANTHROPIC_API_KEY not set): {len(stale)} item(s) stale "
            f"({pages} pages, {len(stale) - pages} images); building from committed sidecars."
        )
        # Stale text is expected here and was just reported: keep --strict for the rest.
        env["ENRICH_ON_STALE"] = "info"
    # Material prints a large end-of-life banner on every build; it is for maintainers, not
    # writers (noted in the README). Set NO_MKDOCS_2_WARNING=0 to see it.
    env.setdefault("NO_MKDOCS_2_WARNING", "1")
    if generator == "zensical":
        from pipeline.cli.postbuild import zensical_build

        code = zensical_build(config_file, env, strict=strict)
    else:
        command = [sys.executable, "-m", "mkdocs", "build", "-f", str(site.config_file)]
        code = subprocess.run(command + (["--strict"] if strict else []), env=env).returncode
    if code:
        return code
    if problems:
        click.echo(
            "Site built, but enrichment had failures or problems (named above): exit 1.",
            err=True,
        )
        return 1
    return 0
