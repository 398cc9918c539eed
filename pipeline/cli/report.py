"""`report`: what was spent, what it bought, and what a person should look at."""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable

import click

from pipeline.cli.common import load_plan
from pipeline.enrich import estimate, ledger
from pipeline.enrich.prompts import prefix_estimates, prefix_line
from pipeline.model import ItemKind
from pipeline.plan import Plan, State
from pipeline.text import printable

KEPT_STATES = (State.UP_TO_DATE, State.OUTDATED, State.EDITED, State.EDITED_REVIEW)

_EMPTY_ALT_WORDS = {
    "alt",
    "diagram",
    "figure",
    "graphic",
    "icon",
    "image",
    "img",
    "logo",
    "photo",
    "photograph",
    "pic",
    "picture",
    "screen shot",
    "screenshot",
    "untitled",
}
_CAMERA_NAME = re.compile(r"^(img|image|dsc|pxl|screenshot|screen shot)[\s_-]*\d", re.I)


# One word of letters (digits after the first are fine: `Auth0`, `Web3`), not a file name.
_ONE_WORD = re.compile(r"[^\W\d_][^\W_]*")


def vacuous_alt(alt: str, src: str) -> bool:
    """Author alt text that tells a screen-reader user nothing."""
    written = alt.strip().strip(".")
    text = written.lower()
    name = posixpath.basename(src.split("?")[0].split("#")[0]).lower()
    stem = name.rsplit(".", 1)[0]
    if (
        text in _EMPTY_ALT_WORDS
        or bool(_CAMERA_NAME.match(text))
        or bool(re.fullmatch(r"[\w-]+\.(png|jpe?g|gif|webp|svg)", text))
    ):
        return True
    if text in (name, stem, stem.replace("-", " "), stem.replace("_", " ")):
        return not _is_a_name(written)
    return False


def _is_a_name(alt: str) -> bool:
    """`Microsoft` on microsoft.svg: one capitalised word names what a logo shows, and is
    what a screen reader should say, although it repeats the file name. A lower-case
    copy of the file name (`microsoft`, `my-chart`) still says nothing."""
    return bool(_ONE_WORD.fullmatch(alt)) and alt != alt.lower()


def figures(plan: Plan, records: list[dict], builds: int | None) -> dict:
    runs = ledger.by_run(records)
    total = ledger.total(records)
    sidecars = plan.discovery.sidecars
    kept = [
        i
        for i in plan.items
        if i.state in KEPT_STATES
        and i.sidecar
        and i.sidecar in sidecars
        and sidecars[i.sidecar].source != "author"
    ]
    per_kind: dict[ItemKind, list[int]] = defaultdict(list)
    for r in records:
        if r.get("status") in ledger.KEPT:
            per_kind[r["kind"]].append(ledger.usage_of(r).total)
    n_builds = builds or max(1, len(runs))
    # Items with no request in the ledger yet are priced by the local estimate.
    unsampled = [i for i in plan.items if i.state is not State.SKIPPED and i.kind not in per_kind]
    estimated = estimate.plan_tokens(plan, unsampled)
    naive_tokens = 0.0
    naive_dollars = 0.0
    avg_dollars = total.cost_usd / total.kept if total.kept else 0.0
    for item in plan.items:
        if item.state is State.SKIPPED:
            continue
        samples = per_kind.get(item.kind)
        tokens = sum(samples) / len(samples) if samples else estimated[(item.kind, item.path)]
        naive_tokens += tokens
        naive_dollars += avg_dollars
    naive_tokens *= n_builds
    naive_dollars *= n_builds
    return {
        "runs": [
            {
                "run": run,
                "requests": t.requests,
                "input_tokens": t.usage.input_tokens,
                "output_tokens": t.usage.output_tokens,
                "cache_creation_input_tokens": t.usage.cache_creation_input_tokens,
                "cache_read_input_tokens": t.usage.cache_read_input_tokens,
                "token_equivalents": round(t.equivalents),
                "cost_usd": round(t.cost_usd, 8),
                "outputs": t.kept,
            }
            for run, t in runs.items()
        ],
        "total": {
            "requests": total.requests,
            "tokens": total.tokens,
            "token_equivalents": round(total.equivalents),
            "cache_creation_input_tokens": total.usage.cache_creation_input_tokens,
            "cache_read_input_tokens": total.usage.cache_read_input_tokens,
            "cost_usd": round(total.cost_usd, 8),
            "outputs": total.kept,
        },
        "outputs_kept": len(kept),
        # Per 1,000 token-equivalents: a cache read is a tenth of a token, as it is paid.
        "kept_per_1000_tokens": (
            round(len(kept) / total.equivalents * 1000, 3) if total.equivalents else None
        ),
        "builds": n_builds,
        "regenerate_every_build": {
            "tokens": round(naive_tokens),
            "cost_usd": round(naive_dollars, 8),
        },
    }


def review_rows(plan: Plan, records: list[dict]) -> list[tuple[str, str, str]]:
    """(what, path, why) for each thing a person should look at."""
    out = []
    for item in plan.items:
        if item.state is State.EDITED_REVIEW:
            out.append(("review", item.path, "source changed since this person-written text"))
    current = {
        (i.kind, i.path): plan.discovery.sidecars[i.sidecar].fingerprint
        for i in plan.items
        if i.sidecar and i.sidecar in plan.discovery.sidecars
    }
    seen = set()
    for r in records:
        key = (r["kind"], r["item"])  # ledger.read checked both are there
        if key in seen or current.get(key) != r.get("fingerprint"):
            continue
        if r.get("status") == "cut":
            out.append(("cut", r["item"], "reply was too long and was cut at a sentence end"))
            seen.add(key)
        elif r.get("status") == "ok" and r.get("retried"):
            out.append(("retried", r["item"], "first reply failed and was asked again"))
            seen.add(key)
        elif r.get("input_cut") and r.get("status") == "ok":
            out.append(("long page", r["item"], "page text was cut at page_token_budget"))
            seen.add(key)
    for page in plan.discovery.pages:
        for ref in page.refs:
            if ref.alt and ref.alt.strip() and vacuous_alt(ref.alt, ref.src):
                out.append(
                    ("alt", f"{page.path}:{ref.line}", f"author alt text {ref.alt!r} says nothing")
                )
    return out


def review_lines(rows: list[tuple[str, str, str]], *, verbose: bool = False) -> list[str]:
    """The review list as printed. Pages cut at the page budget are one line, not one per
    page (46 of 50 lines on fastapi hid the rest): a site-wide setting, not a page to fix."""
    long_pages = [r for r in rows if r[0] == "long page"]
    summed = not verbose and len(long_pages) > 1
    out = []
    for what, path, why in rows:
        if summed and what == "long page":
            if path == long_pages[0][1]:
                out.append(
                    f"  {what:<10} {len(long_pages)} pages cut at the page budget "
                    "(page_token_budget; -v to list)"
                )
            continue
        out.append(f"  {what:<10} {printable(path)}  {printable(why)}")
    return out


def report_command(
    config_file: str | None,
    *,
    review: bool,
    builds: int | None,
    as_json: bool,
    verbose: bool = False,
    review_page: Callable[[Plan, list[dict]], object] | None = None,
) -> int:
    """`review_page`, with --review: also called with the plan and the ledger's records
    (cli/review.py writes the HTML page with it)."""
    site, plan = load_plan(config_file)
    records, bad = ledger.read(site.state_dir)
    shown = os.path.relpath(ledger.path_for(site.state_dir))
    for line, why in bad:
        if line:
            click.echo(f"{shown}:{line}: malformed ledger line, skipped: {why}", err=True)
        else:
            click.echo(f"{shown}: {why}; not read", err=True)
    code = 1 if bad else 0
    if review:
        if review_page is not None:
            review_page(plan, records)
        rows = review_rows(plan, records)
        if as_json:
            click.echo(json.dumps([{"what": w, "path": p, "why": y} for w, p, y in rows], indent=2))
            return code
        if not rows:
            click.echo("Nothing to review.")
        for text in review_lines(rows, verbose=verbose):
            click.echo(text)
        return code
    data = figures(plan, records, builds)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return code
    click.echo(f"Ledger: {shown}")
    if not data["runs"]:
        click.echo("No requests recorded yet: 0 tokens spent.")
        return code
    click.echo(
        f"{'run':<26}{'requests':>9}{'input':>10}{'output':>9}{'cache w':>9}"
        f"{'cache r':>9}{'dollars':>11}{'outputs':>9}"
    )
    for r in data["runs"]:
        click.echo(
            f"{r['run']:<26}{r['requests']:>9}{r['input_tokens']:>10,}{r['output_tokens']:>9,}"
            f"{r['cache_creation_input_tokens']:>9,}{r['cache_read_input_tokens']:>9,}"
            f"{'$' + format(r['cost_usd'], '.4f'):>11}{r['outputs']:>9}"
        )
    t = data["total"]
    click.echo(
        f"Total: {t['requests']} requests, {t['tokens']:,} tokens "
        f"({t['token_equivalents']:,} token-equivalents: cache writes "
        f"{t['cache_creation_input_tokens']:,}, reads {t['cache_read_input_tokens']:,}), "
        f"${t['cost_usd']:.4f}; {data['outputs_kept']} outputs in use now."
    )
    if data["kept_per_1000_tokens"] is not None:
        click.echo(
            f"Impact per token: {data['kept_per_1000_tokens']} outputs kept per 1,000 "
            "token-equivalents."
        )
    click.echo(prefix_line(plan.model, prefix_estimates(plan.model), "local estimate"))
    naive = data["regenerate_every_build"]
    ratio = naive["tokens"] / t["tokens"] if t["tokens"] else 0
    click.echo(
        f"Regenerating every item on each of {data['builds']} build(s) would have cost "
        f"~{naive['tokens']:,} tokens (${naive['cost_usd']:.4f}): {ratio:.1f}x what was spent."
    )
    return code
