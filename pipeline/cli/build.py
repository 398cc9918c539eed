"""`build` as the user runs it: enrich when a key is set, then build with the generator."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from pipeline.cli.common import has_key, load_plan, report_problems
from pipeline.cli.enrich import enrich_command
from pipeline.cli.status import display_path


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
    elif has_key():
        unseen = _unseen(plan) if generator == "mkdocs" else []
        if unseen:
            click.echo(
                f"{len(unseen)} page(s) take words from elsewhere that no build has shown "
                "yet: building first, so that what they show is what is sent."
            )
            command = [sys.executable, "-m", "mkdocs", "build", "-f", str(site.config_file)]
            subprocess.run(command, env={**env, "ENRICH_ON_STALE": "info"})
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
        command += ["--strict"] if strict else []
        enriched = not frozen and has_key()
        borrowing = enriched and _borrows_words(plan)
        if borrowing:
            # The build is what shows these pages' words: a change it finds is enriched
            # right after, not reported as stale (it would fail --strict).
            env["ENRICH_ON_STALE"] = "info"
        code = subprocess.run(command, env=env).returncode
        if not code and borrowing:
            code, more = _enrich_what_the_build_showed(config_file, stale, command, env)
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
