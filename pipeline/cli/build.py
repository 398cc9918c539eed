"""`build` as the user runs it: enrich when a key is set, then build with the generator."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from pipeline.cli.common import has_key, load_plan, report_problems
from pipeline.cli.enrich import enrich_command
from pipeline.cli.status import display_path
from pipeline.config import check_site_dir
from pipeline.plan import State


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
    if generator == "zensical":
        check_site_dir(site)  # before spending anything: Zensical empties site_dir
    stale = plan.stale()
    env = dict(os.environ)
    problems = 0
    # Known failures never block a build: the page renders from the author's text or its
    # first paragraph. Named once, as a warning.
    for item in plan.items:
        if item.state is State.FAILED:
            click.echo(
                f"warning: {display_path(site, item.path)}: enrichment failed ({item.detail}); "
                "rendered from the author's text or the first paragraph. "
                "See `python -m pipeline status`.",
                err=True,
            )
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
    elif has_key():
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
