"""`enrich --commit`: commit the sidecars and the ledger, and nothing else (for CI)."""

from __future__ import annotations

import os
import subprocess

import click

from pipeline.errors import Fatal
from pipeline.model import Site


def _git(site: Site, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "-C", str(site.root), *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise Fatal(f"git {args[0]} failed: {(proc.stderr or proc.stdout).strip()[:300]}")
    return proc


def pathspecs(site: Site) -> list[str]:
    docs = os.path.relpath(site.docs_dir, site.root).replace(os.sep, "/")
    state = os.path.relpath(site.state_dir, site.root).replace(os.sep, "/")
    return [
        f":(glob){docs}/**/*.enrich.yml",
        f":(glob){state}/ledger.jsonl",
        f":(glob){state}/batches.json",
        # What the last build rendered for pages whose words come from elsewhere: the
        # fingerprints of their committed sidecars are computed from it.
        f":(glob){state}/rendered.json",
    ]


def commit_results(site: Site, summary, note: str = "", head: str = "") -> bool:
    """Stage only sidecars and state files; commit when something changed. -> committed?
    `head`: the message's first line when there is no single run's summary to tell."""
    if _git(site, "rev-parse", "--is-inside-work-tree", check=False).returncode != 0:
        raise Fatal(f"{site.root}: --commit needs a git work tree")
    listed = _git(
        site,
        "ls-files",
        "-z",
        "--modified",
        "--others",
        "--deleted",
        "--exclude-standard",
        "--",
        *pathspecs(site),
    ).stdout
    paths = sorted({p for p in listed.split("\0") if p})
    if not paths:
        click.echo("Nothing to commit.")
        return False
    message = head or _message(summary, note)
    _git(site, "add", "-A", "--", *paths)
    # Paths given: only these are committed, whatever else the index holds.
    _git(site, "commit", "--quiet", "-m", message, "--", *paths)
    click.echo(f"Committed: {message.splitlines()[0]}")
    return True


def _message(summary, note: str) -> str:
    if summary is None:
        head = "enrich: move sidecars next to their sources"
        body = ""
    else:
        pages = sum(1 for i in summary.done if i.kind == "page")
        images = len(summary.done) - pages
        u = summary.usage
        head = (
            f"enrich: {pages} page summaries, {images} alt texts "
            f"({u.input_tokens + u.output_tokens:,} tokens, ${summary.dollars:.4f})"
        )
        remembered = len(getattr(summary, "remembered", ()))
        body = (
            f"{summary.requests} request(s); {len(summary.failed) - remembered} failed and "
            f"stay stale; {remembered} recorded as failed"
        ) + (f"; {len(summary.remaining)} left by the budget" if summary.remaining else "")
    if note:
        body = f"{body}; {note}" if body else note
    return head + ("\n\n" + body if body else "")
