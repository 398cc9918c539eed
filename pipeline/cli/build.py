"""`build` as the user runs it: enrich when a key is set, then build with the generator."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from pipeline.cli.common import has_key, load_plan, report_problems
from pipeline.cli.enrich import enrich_command
from pipeline.cli.generators import AUTO, CONFIG_FILES, choose
from pipeline.cli.status import display_path
from pipeline.config import check_site_dir, config_path, yaml_tags
from pipeline.generator import Generator
from pipeline.plan import State


def build_command(
    config_file: str | None, *, frozen: bool = False, strict: bool = True, generator: str = AUTO
) -> int:
    """`make build`: enrich when a key is set, then build with the generator (`--strict`
    by default): the plugin renders during `mkdocs build` / `properdocs build`; after
    `zensical build` our post-build pass does.

    The site is built whatever enrichment found; the exit code is non-zero when a cause
    was named on stderr (a failed request, a corrupt sidecar, any other problem), so CI
    notices a build that published less than it should."""
    path = config_path(config_file, CONFIG_FILES)
    gen = choose(generator, path)
    # Before spending anything on a build that cannot run:
    command = gen.require()
    gen.check_tags(path, yaml_tags(path))
    site, plan = load_plan(config_file)
    if gen.renders == "postbuild":
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
    code = run_generator(gen, command, str(site.config_file), env, strict=strict)
    if code:
        return code
    if problems:
        click.echo(
            "Site built, but enrichment had failures or problems (named above): exit 1.",
            err=True,
        )
        return 1
    return 0


def run_generator(
    gen: Generator, command: list[str], config_file: str, env: dict[str, str], *, strict: bool
) -> int:
    """Build with `gen`; when it runs no plugin of ours, our pass renders the site after."""
    if gen.renders == "postbuild":
        from pipeline.cli.postbuild import postbuild_build

        return postbuild_build(gen, command, config_file, env, strict=strict)
    argv = gen.build_argv(command, config_file, strict=strict)
    sys.stdout.flush()
    return subprocess.run(argv, env=env).returncode
