"""`postbuild` and `build --generator zensical`: render sidecars into a built site."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.common import load_plan, report_problems
from pipeline.model import Site
from pipeline.plan import Plan
from pipeline.render import postbuild
from pipeline.render.site_pass import ON_STALE_ENV, stale_messages


def check_stale(site: Site, plan: Plan, mode: str) -> tuple[bool, int]:
    """Report stale text as the MkDocs plugin does. -> (stop the build, warnings printed)."""
    if mode not in ("warn", "fail", "info"):
        click.echo(f"error: {ON_STALE_ENV}={mode!r}: expected warn, fail or info", err=True)
        return True, 0
    messages = stale_messages(site, plan)
    if mode == "fail" and messages:
        click.echo("error: stale enrichment (on_stale: fail):", err=True)
        for message in messages:
            click.echo(f"  {message}", err=True)
        return True, 0
    for message in messages:
        if mode == "warn":
            click.echo(f"warning: {message}", err=True)
        else:
            click.echo(f"info: {message}")
    return False, len(messages) if mode == "warn" else 0


def render_site(site: Site, plan: Plan, site_dir: Path | None = None) -> int:
    """The pass over the built site, with a one-line account. -> exit code."""
    result = postbuild.run(site, plan, site_dir)
    report_problems(site, result.problems)
    line = (
        f"Rendered sidecars into {result.pages} built page(s) ({result.from_sources} from sources)"
    )
    if result.notes:
        line += "; " + ", ".join(result.notes)
    if result.removed:
        line += f"; removed {len(result.removed)} unpublished file(s) from the site"
    click.echo(line + ".")
    if result.unmatched_sources:
        shown = ", ".join(result.unmatched_sources[:5])
        more = " …" if len(result.unmatched_sources) > 5 else ""
        click.echo(
            f"info: {len(result.unmatched_sources)} source page(s) not found in the built "
            f"site (excluded, drafts, or moved under a new title): {shown}{more}"
        )
    return 1 if result.problems else 0


def postbuild_command(config_file: str, mode: str | None, site_dir: str | None) -> int:
    site, plan = load_plan(config_file)
    report_problems(site, plan.problems)
    from pipeline.render.site_pass import stale_mode

    stop, _ = check_stale(site, plan, mode or stale_mode(site.options))
    if stop:
        return 1
    return render_site(site, plan, Path(site_dir) if site_dir else None)


def zensical_build(config_file: str, env: dict[str, str], *, strict: bool = True) -> int:
    """`zensical build`, then the pass. Strict, like the MkDocs route: a stale warning
    fails the command after the site is built and rendered."""
    from pipeline import zensical

    site, plan = load_plan(config_file)
    mode = env.get(ON_STALE_ENV) or site.options.on_stale
    stop, warnings = check_stale(site, plan, mode)
    if stop:
        return 1
    code = zensical.build(str(site.config_file), env, strict=strict)
    if code != 0:
        return code
    code = render_site(site, plan)
    return code or (1 if strict and warnings else 0)
