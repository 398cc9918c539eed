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
from pipeline.config import check_site_dir, config_path, load_site, yaml_tags
from pipeline.generator import Generator
from pipeline.plan import State
from pipeline.render.shown import run_with_pauses


def _borrows_words(plan) -> bool:
    """Some page takes its words from elsewhere at build time (includes, docstrings,
    macros, pages made by a plugin) or may: only a build shows them."""
    return any(p.borrowed for p in plan.discovery.pages) or bool(plan.site.expanders)


class _EnrichShown:
    """`pipeline build`'s side of the pause (pipeline.render.shown): when the build has
    recorded what pages with borrowed words show, enrich the pages it found new or
    changed (not the ones enriched before the build), once per pause."""

    def __init__(self, config_file: str, tried: set[tuple[str, str]]):
        self.config_file = config_file
        self.tried = tried
        self.problems = 0
        self.fatal = False

    def __call__(self) -> None:
        _, plan = load_plan(self.config_file)
        # A page this build has not shown (mkdocs-static-i18n shows one language per
        # build) waits for the build that shows it.
        unseen = {(i.kind, i.path) for i in plan.unshown()}
        new = {(i.kind, i.path) for i in plan.stale()} - self.tried - unseen
        if not new or self.fatal:
            return
        click.echo(
            f"{len(new)} page(s) show other words than their text was made from "
            "(an include, a docstring, a macro, a page made at build time): "
            "enriching them before the pages are written."
        )
        code = enrich_command(self.config_file, leave=frozenset(self.tried | unseen))
        self.tried |= new
        if code == 2:
            self.fatal = True
        else:
            self.problems += code

    def plan(self):
        """For the post-build pass: enrich, then the plan to render from."""
        self()
        return load_plan(self.config_file)[1]


def build_command(
    config_file: str | None,
    *,
    frozen: bool = False,
    strict: bool = True,
    generator: str = AUTO,
    commit: bool = False,
) -> int:
    code = _build(config_file, frozen=frozen, strict=strict, generator=generator)
    if commit and not frozen and code != 2:
        # What was paid for is committed whatever the build's outcome (CI pushes it).
        from pipeline.cli.gitcommit import commit_results

        site = load_site(config_file, CONFIG_FILES)
        commit_results(site, None, head="enrich: texts and rendered record from `pipeline build`")
    return code


def _build(config_file: str | None, *, frozen: bool, strict: bool, generator: str) -> int:
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
    shown: _EnrichShown | None = None
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
        # Pages with borrowed words no build has shown yet are enriched from what this
        # build shows, during its pause (pipeline.render.shown), not from their source.
        later: set[tuple[str, str]] = {(i.kind, i.path) for i in plan.unshown()}
        if later:
            click.echo(
                f"{len(later)} page(s) take words from elsewhere that no build has shown "
                "yet: they are enriched from what this build shows."
            )
        code = enrich_command(config_file, leave=frozenset(later))
        if code == 2:
            return code
        problems = code  # enrich_command named each failure and problem on stderr
        if _borrows_words(plan):
            # The build shows these pages' words and enriches what changed before writing
            # them: a change it finds is not reported as stale (it would fail --strict).
            tried: set[tuple[str, str]] = {(i.kind, i.path) for i in stale}
            shown = _EnrichShown(str(site.config_file), tried - later)
            env["ENRICH_ON_STALE"] = "info"
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
    code = run_generator(gen, command, str(site.config_file), env, strict=strict, shown=shown)
    if shown is not None:
        if shown.fatal:
            return 2
        problems += shown.problems
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
    gen: Generator,
    command: list[str],
    config_file: str,
    env: dict[str, str],
    *,
    strict: bool,
    shown: _EnrichShown | None = None,
) -> int:
    """Build with `gen`; when it runs no plugin of ours, our pass renders the site after.
    With `shown`, the build pauses where pages with borrowed words are recorded and
    `shown` enriches them (once per build the generator runs)."""
    if gen.renders == "postbuild":
        from pipeline.cli.postbuild import postbuild_build

        on_shown = shown.plan if shown is not None else None
        return postbuild_build(gen, command, config_file, env, strict=strict, on_shown=on_shown)
    argv = gen.build_argv(command, config_file, strict=strict)
    sys.stdout.flush()
    if shown is None:
        return subprocess.run(argv, env=env).returncode
    return run_with_pauses(argv, env, shown)
