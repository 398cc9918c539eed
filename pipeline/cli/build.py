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


def _borrows_words(plan) -> bool:
    """Some page takes its words from elsewhere at build time (includes, docstrings,
    macros, pages made by a plugin) or may: only a build shows them."""
    return any(p.borrowed for p in plan.discovery.pages) or bool(plan.site.expanders)


def _unseen(plan) -> list:
    """Stale pages with borrowed words the last build did not show as they are now (a new
    page, or its source edited since): enriching them now would send their source."""
    borrowed = {p.path for p in plan.discovery.pages if p.borrowed}
    return [
        i
        for i in plan.stale()
        if i.kind == "page" and i.path in borrowed and i.path not in plan.discovery.rendered
    ]


def _enrich_what_the_build_showed(config_file: str, before, command, env) -> tuple[int, int]:
    """After the build recorded what pages with borrowed words show: enrich the pages it
    found changed (not the ones enrich already tried), then build again. Only then does
    the generator run twice. -> (build exit code, enrich problems)."""
    tried = {(i.kind, i.path) for i in before}
    _, after = load_plan(config_file)
    new = [i for i in after.stale() if (i.kind, i.path) not in tried]
    if not new:
        return 0, 0
    click.echo(
        f"{len(new)} page(s) show other words than their text was made from "
        "(an include, a docstring, a macro, a page made at build time): "
        "enriching them and building again."
    )
    problems = enrich_command(config_file)
    if problems == 2:
        return 2, 0
    return subprocess.run(command, env=env).returncode, problems


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
        # Only the plugin records what a page shows (pipeline.source.rendered).
        unseen = _unseen(plan) if gen.renders == "plugin" else []
        if unseen:
            click.echo(
                f"{len(unseen)} page(s) take words from elsewhere that no build has shown "
                "yet: building first, so that what they show is what is sent."
            )
            first = gen.build_argv(command, str(site.config_file), strict=False)
            subprocess.run(first, env={**env, "ENRICH_ON_STALE": "info"})
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
    borrowing = not frozen and has_key() and gen.renders == "plugin" and _borrows_words(plan)
    if borrowing:
        # The build is what shows these pages' words: a change it finds is enriched
        # right after, not reported as stale (it would fail --strict).
        env["ENRICH_ON_STALE"] = "info"
    code = run_generator(gen, command, str(site.config_file), env, strict=strict)
    if not code and borrowing:
        again = gen.build_argv(command, str(site.config_file), strict=strict)
        code, more = _enrich_what_the_build_showed(str(site.config_file), stale, again, env)
        problems += more
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
