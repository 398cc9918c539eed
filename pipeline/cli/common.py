"""What every command does first: load the site and its plan, print problems, make a client."""

from __future__ import annotations

import os

import click

from pipeline.cli.generators import CONFIG_FILES
from pipeline.cli.status import display_path
from pipeline.config import load_site
from pipeline.enrich import ledger
from pipeline.errors import NO_KEY, Fatal, Problem
from pipeline.fsutil import check_appendable
from pipeline.model import Site
from pipeline.plan import Plan, build_plan
from pipeline.source.cache import ScanCache
from pipeline.source.discover import discover
from pipeline.text import printable


def load_plan(config_file: str | None, model: str | None = None) -> tuple[Site, Plan]:
    site = load_site(config_file, CONFIG_FILES)
    for warning in site.warnings:
        click.echo(printable(warning), err=True)
    cache = ScanCache(site.state_dir / "cache" / "scan.json")
    found = discover(site, cache, parallel=True)
    return site, build_plan(site, found, model=model)


def report_problems(site: Site, problems: list[Problem]) -> None:
    for p in problems:
        click.echo(printable(p.shown(display_path(site, p.path))), err=True)


def has_key() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY", "").strip())


def check_ledger(site: Site) -> None:
    """Before anything is spent: the ledger must take every request's line."""
    path = ledger.path_for(site.state_dir)
    try:
        check_appendable(path)
    except OSError as e:
        raise Fatal(f"{os.path.relpath(path)}: {e}; nothing was sent") from None


def make_client(site: Site):
    from pipeline.enrich.client import Client

    o = site.options
    return Client(timeout=o.timeout, max_retries=o.max_retries, max_wait=o.max_retry_wait)


def no_key_message(n: int) -> str:
    return f"{n} item(s) to enrich, but {NO_KEY}"


def docs_relative(site: Site, path: str) -> str:
    full = os.path.abspath(path)
    docs = str(site.docs_dir)
    if full.startswith(docs + os.sep) and os.path.exists(full):
        return os.path.relpath(full, docs).replace(os.sep, "/")
    rel = path.replace(os.sep, "/")
    while rel.startswith("./"):
        rel = rel[2:]
    return rel
