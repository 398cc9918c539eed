"""The commands. Each loads the site, builds the plan, and hands it to one stage."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.common import load_plan, report_problems
from pipeline.cli.generators import AUTO, BY_NAME
from pipeline.cli.status import display_path, render_text, to_json

config_option = click.option(
    "-f",
    "--config-file",
    "config_file",
    default=None,
    type=click.Path(dir_okay=True),
    help="The site's config file (default: properdocs.yml, zensical.toml or mkdocs.yml, "
    "the first present).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
# The distribution's own name and version (importlib.metadata), not the prog name.
@click.version_option(
    package_name="sidecar-enrich",
    message="%(package)s %(version)s: build-time enrichment for static sites",
)
def cli() -> None:
    """Page summaries and image alt text for a MkDocs, ProperDocs or Zensical site, spent
    once per change."""


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (schema in README).")
@click.option("-v", "--verbose", is_flag=True, help="List every item, not only those to act on.")
@click.option("--model", default=None, help="Plan for this model instead of the configured one.")
def status(config_file: str, as_json: bool, verbose: bool, model: str | None) -> int:
    """Show what enrichment would do, and what it would cost, without spending anything."""
    site, plan = load_plan(config_file, model)
    report_problems(site, plan.problems)
    if as_json:
        click.echo(json.dumps(to_json(plan), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(plan, verbose=verbose))
    return 1 if plan.problems or site.warnings else 0


@cli.command()
@config_option
@click.option("-n", "--dry-run", is_flag=True, help="List what would be removed.")
def prune(config_file: str, dry_run: bool) -> int:
    """Remove orphan sidecars: those whose source is gone and whose text nothing claims."""
    site, plan = load_plan(config_file)
    for rel in plan.orphans:
        click.echo(("would remove " if dry_run else "removed ") + display_path(site, rel))
        if not dry_run:
            Path(site.docs_dir / rel).unlink(missing_ok=True)
    if not plan.orphans:
        click.echo("no orphan sidecars")
    return 0


@cli.command()
@config_option
@click.option(
    "-n", "--dry-run", is_flag=True, help="Print the requests and their cost; spend nothing."
)
@click.option("--only", type=click.Choice(["pages", "images"]), help="Enrich only pages or images.")
@click.option("--upgrade", is_flag=True, help="Also re-make outdated items (older model/prompt).")
@click.option("--retry-failed", is_flag=True, help="Also ask again for items remembered as failed.")
@click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), help="Dollar budget.")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Token budget (input+output).")
@click.option("--concurrency", type=click.IntRange(1, 32), help="Requests in flight at once.")
@click.option("--model", help="Model for new requests (default: the plugin's `model`).")
@click.option("--force", is_flag=True, help="Re-make the PATHS given, whatever their state.")
@click.option("--write-back", is_flag=True, help="Also write alt text into the markdown source.")
@click.option("--batch", is_flag=True, help="Submit stale items as one Message Batch (half price).")
@click.option("--wait", "wait_", is_flag=True, help="With --batch: wait for the batch to end.")
@click.option("--commit", is_flag=True, help="Commit the sidecars and ledger afterwards (CI).")
@click.argument("paths", nargs=-1)
def enrich(
    config_file,
    dry_run,
    only,
    upgrade,
    retry_failed,
    max_cost,
    max_tokens,
    concurrency,
    model,
    force,
    write_back,
    batch,
    wait_,
    commit,
    paths,
) -> int:
    """Ask Claude for what is stale, write sidecars, log every request to the ledger."""
    from pipeline.cli.enrich import enrich_command

    if paths and not force:
        raise click.UsageError("PATHS are only taken with --force")
    return enrich_command(
        config_file,
        dry_run=dry_run,
        only=only,
        upgrade=upgrade,
        retry_failed=retry_failed,
        max_cost=max_cost,
        max_tokens=max_tokens,
        concurrency=concurrency,
        model=model,
        force=paths,
        write_back=write_back,
        batch=batch,
        wait=wait_,
        commit=commit,
    )


def _link_base(value: str | None) -> str | None:
    if value is None:
        return None
    from pipeline.cli.review import checked_link_base

    return checked_link_base(value)


@cli.command()
@config_option
@click.option("--review", is_flag=True, help="List what a person should look at.")
@click.option(
    "--builds",
    type=click.IntRange(min=1),
    help="Builds to compare against (default: runs recorded in the ledger).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="With --review: list every page cut.")
@click.option(
    "--html",
    "html",
    type=click.Path(dir_okay=False),
    help="With --review: also write a self-contained review page (images shown) to this file.",
)
@click.option(
    "--since", help="With --html: items changed since this git ref (default: merge base)."
)
@click.option(
    "--all", "everything", is_flag=True, help="With --html: every item, whatever changed."
)
@click.option(
    "--link-base",
    metavar="URL",
    callback=lambda _ctx, _param, value: _link_base(value),
    help="With --html: link each file and sidecar to URL followed by its path from the "
    "repository root (e.g. https://github.com/OWNER/REPO/blob/SHA/), not relative to the page.",
)
def report(
    config_file: str,
    review: bool,
    builds: int | None,
    as_json: bool,
    verbose: bool,
    html: str | None,
    since: str | None,
    everything: bool,
    link_base: str | None,
) -> int:
    """Tokens, dollars and requests per run and in total, and impact per token."""
    from pipeline.cli.report import report_command

    if (since or everything or link_base) and html is None:
        raise click.UsageError("--since, --all and --link-base go with --html")
    page = None
    if html is not None:
        from pipeline.cli.review import page_writer

        page = page_writer(html, since=since, everything=everything, link_base=link_base)
    return report_command(
        config_file,
        review=review or html is not None,
        builds=builds,
        as_json=as_json,
        verbose=verbose,
        review_page=page,
    )


@cli.command()
@config_option
@click.option("--frozen", is_flag=True, help="Fail if anything is stale; never call the API.")
@click.option(
    "--strict/--no-strict",
    default=True,
    show_default=True,
    help="Pass --strict to the generator (MkDocs, ProperDocs, Zensical): any warning (a "
    "broken link, stale text) fails the build. --no-strict lets them through.",
)
@click.option(
    "--generator",
    type=click.Choice([AUTO, *BY_NAME]),
    default=AUTO,
    show_default=True,
    help="Build with MkDocs or ProperDocs (the plugin renders) or Zensical (then the "
    "post-build pass). auto: the one whose config this is, else the first installed.",
)
@click.option(
    "--commit",
    is_flag=True,
    help="Commit the sidecars, the ledger and the rendered record afterwards (CI).",
)
def build(config_file: str, frozen: bool, strict: bool, generator: str, commit: bool) -> int:
    """Enrich (when ANTHROPIC_API_KEY is set), then build the site, `--strict` by default.

    Exits non-zero when enrichment failed for an item or a sidecar is corrupt, though
    the site is still built."""
    from pipeline.cli.build import build_command

    return build_command(
        config_file, frozen=frozen, strict=strict, generator=generator, commit=commit
    )


@cli.command()
@config_option
@click.option(
    "--generator",
    type=click.Choice([AUTO, *BY_NAME]),
    default=AUTO,
    show_default=True,
    help="As for build. MkDocs and ProperDocs: their own serve, the plugin renders.",
)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
def serve(config_file: str | None, generator: str, port: int) -> int:
    """Preview the site as it deploys, on 127.0.0.1: build from committed sidecars (no
    API call), render our texts, serve, and rebuild when a source or sidecar changes."""
    from pipeline.cli.serve import serve_command

    return serve_command(config_file, generator, port)


@cli.command()
@config_option
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False),
    help="The built site (default: the config's site_dir).",
)
def postbuild(config_file: str, site_dir: str | None) -> int:
    """Render the sidecars into a site another generator built (Zensical): alt text,
    meta description, social tags, JSON-LD, feed, llms.txt. No network."""
    from pipeline.cli.postbuild import postbuild_command

    return postbuild_command(config_file, None, site_dir)
