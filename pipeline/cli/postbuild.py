"""`postbuild`, and `build` with a generator that runs no plugin of ours (Zensical):
render sidecars into a built site.

Thin: what is rendered and which messages stale text gives is decided in
pipeline.render.site_pass (as for the MkDocs plugin); this prints them as the CLI does.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click

from pipeline.cli.common import load_plan, report_problems
from pipeline.config import check_site_dir, nav_of
from pipeline.errors import Fatal
from pipeline.generator import Generator
from pipeline.model import Site
from pipeline.plan import Plan
from pipeline.render import postbuild
from pipeline.render.site_pass import check_stale as stale_check
from pipeline.text import printable


def check_stale(site: Site, plan: Plan, mode: str | None = None) -> tuple[bool, int]:
    """Report stale text as the MkDocs plugin does. -> (stop the build, warnings printed)."""
    try:
        level, messages = stale_check(site, plan, mode)
    except Fatal as e:
        click.echo(f"error: {e}", err=True)
        return True, 0
    if level == "fail":
        click.echo("error: stale enrichment (on_stale: fail):", err=True)
        for message in messages:
            click.echo(f"  {printable(message)}", err=True)
        return True, 0
    for message in messages:
        _say(level, message)
    return False, len(messages) if level == "warning" else 0


def _say(level: str, message: str) -> None:
    if level == "warning":
        click.echo(f"warning: {printable(message)}", err=True)
    else:
        click.echo(f"info: {printable(message)}")


def render_site(
    site: Site,
    plan: Plan,
    site_dir: Path | None = None,
    on_shown: Callable[[], Plan | None] | None = None,
) -> tuple[int, int]:
    """The pass over the built site, with a one-line account. -> (exit code, warnings).
    `on_shown`: see postbuild.run."""
    nav = nav_of(site.config_file)
    result = postbuild.run(site, plan, site_dir, nav=nav, on_shown=on_shown)
    report_problems(site, result.problems)
    for level, message in result.messages:
        _say(level, message)
    line = (
        f"Rendered sidecars into {result.pages} built page(s) ({result.from_sources} from sources)"
    )
    if result.notes:
        line += "; " + ", ".join(result.notes)
    if result.removed:
        line += f"; removed {len(result.removed)} unpublished file(s) from the site"
    click.echo(line + ".")
    if result.unmatched_sources:
        shown = ", ".join(map(printable, result.unmatched_sources[:5]))
        more = " …" if len(result.unmatched_sources) > 5 else ""
        click.echo(
            f"info: {len(result.unmatched_sources)} source page(s) not found in the built "
            f"site (excluded, drafts, or moved under a new title): {shown}{more}"
        )
    warnings = sum(1 for level, _ in result.messages if level == "warning")
    return (1 if result.problems else 0), warnings


def postbuild_command(config_file: str | None, mode: str | None, site_dir: str | None) -> int:
    site, plan = load_plan(config_file)
    check_site_dir(site, Path(site_dir) if site_dir else None)  # before anything is removed
    report_problems(site, plan.problems)
    stop, _ = check_stale(site, plan, mode)
    if stop:
        return 1
    return render_site(site, plan, Path(site_dir) if site_dir else None)[0]


def postbuild_build(
    gen: Generator,
    command: list[str],
    config_file: str,
    env: dict[str, str],
    *,
    strict: bool,
    on_shown: Callable[[], Plan | None] | None = None,
) -> int:
    """Build with a generator that runs no plugin of ours (Zensical), then the pass.
    Strict, like the plugin route: a warning (stale text, a broken src) fails the
    command after the site is built and rendered."""
    site, plan = load_plan(config_file)
    check_site_dir(site)  # Zensical empties site_dir: `site_dir = "."` would take the project
    stop, warnings = check_stale(site, plan, env.get("ENRICH_ON_STALE"))
    if stop:
        return 1
    sys.stdout.flush()
    argv = gen.build_argv(command, site.config_file, strict=strict)
    code = subprocess.run(argv, env=env, cwd=site.root).returncode
    if code != 0:
        return code
    code, more = render_site(site, plan, on_shown=on_shown)
    return code or (1 if strict and (warnings or more) else 0)
