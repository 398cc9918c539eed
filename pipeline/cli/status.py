"""Print a Plan: a short table a writer reads at a glance, or stable JSON for tools.

JSON schema `pipeline.status/1` is documented in README.md; add fields, never rename.
"""

from __future__ import annotations

import os
from collections import Counter

from pipeline.enrich import estimate
from pipeline.enrich.pricing import Usage, cost, price_for
from pipeline.enrich.prompts import (
    prefix_estimates,
    prefix_line,
)
from pipeline.enrich.results import ADVICE, HAND_WRITTEN
from pipeline.model import IMAGE_PROMPT_VERSION, PAGE_PROMPT_VERSION, ItemKind
from pipeline.plan import STALE, Plan, State
from pipeline.text import printable

SCHEMA = "pipeline.status/1"

# Item lines `status` prints without -v.
MAX_ITEM_LINES = 20

_COLUMNS = [
    (State.NEW, "new"),
    (State.CHANGED, "changed"),
    (State.OUTDATED, "outdated"),
    (State.UP_TO_DATE, "up-to-date"),
    (State.AUTHOR, "author"),
    (State.EDITED, "edited"),
    (State.EDITED_REVIEW, "review"),
    (State.SKIPPED, "skipped"),
    (State.FAILED, "failed"),
]


def display_path(plan_or_site, rel: str) -> str:
    """A docs-relative path as the user would type it from where they ran the command,
    control characters escaped (a name may come from a pull request)."""
    site = getattr(plan_or_site, "site", plan_or_site)
    full = site.docs_dir / rel
    try:
        shown = os.path.relpath(full)
    except ValueError:
        return printable(str(full))
    return printable(str(full) if shown.startswith("../..") else shown)


def failed_advice(item) -> str:
    """What a person can do about an item remembered as failed."""
    failure = item.detail.split(":", 1)[0]
    return ADVICE.get(failure, "write the text by hand, or run `enrich --retry-failed`")


def item_estimates(plan: Plan) -> dict[tuple[ItemKind, str], int]:
    """Input tokens per (kind, path) of the items a run could spend on; others cost 0."""
    spend = [i for i in plan.items if i.state in STALE or i.state is State.OUTDATED]
    return estimate.plan_tokens(plan, spend)


def _groups(plan: Plan) -> dict[str, list]:
    return {
        "stale": [i for i in plan.items if i.state in STALE],
        "outdated": [i for i in plan.items if i.state is State.OUTDATED],
    }


def estimates(plan: Plan, per_item: dict[tuple[ItemKind, str], int]) -> dict[str, int]:
    """Input tokens the requests would carry, stale and (with --upgrade) outdated."""
    return {
        name: sum(per_item.get((i.kind, i.path), 0) for i in items)
        for name, items in _groups(plan).items()
    }


def equivalents(plan: Plan, per_item: dict[tuple[ItemKind, str], int]) -> dict[str, int]:
    """What a run over them would pay, in token-equivalents: each kind's first request
    writes the cached prefix, the rest read it (see README, "What it costs")."""
    return {
        name: round(
            estimate.equivalents(
                ((i.kind, per_item.get((i.kind, i.path), 0)) for i in items), plan.model
            )
        )
        for name, items in _groups(plan).items()
    }


def to_json(plan: Plan) -> dict:
    counts = plan.counts()
    per_item = item_estimates(plan)
    est = estimates(plan, per_item)
    paid = equivalents(plan, per_item)
    skipped = plan.skipped_refs
    refs = {
        p.path: [
            {"line": r.line, "src": r.src, "alt": r.alt, "target": r.target, "skip": r.skip}
            for r in p.refs
        ]
        for p in plan.discovery.pages
    }
    # Where a page's words come from when not its source alone: "rendered" (includes,
    # docstrings, macros, as the last build showed them), "generated" (made at build time).
    words = {
        p.path: ("generated" if p.borrowed == ("generated",) else "rendered")
        for p in plan.discovery.pages
        if p.path in plan.discovery.rendered
    }
    return {
        "schema": SCHEMA,
        "config_file": str(plan.site.config_file),
        "docs_dir": str(plan.site.docs_dir),
        "model": plan.model,
        "prompt_versions": {"page": PAGE_PROMPT_VERSION, "image": IMAGE_PROMPT_VERSION},
        "prompt_prefix": _prefix_json(plan.model),
        "totals": {
            "pages": {s.value: counts["page"][s] for s in State},
            "images": {s.value: counts["image"][s] for s in State},
            "stale": len(plan.stale()),
            "outdated": len(plan.outdated()),
            "failed": sum(1 for i in plan.items if i.state is State.FAILED),
            "estimated_input_tokens": est,
            "estimated_input_cost_usd": {
                k: cost(plan.model, Usage(input_tokens=v)) for k, v in est.items()
            },
            "estimated_input_token_equivalents": paid,
            "estimated_input_cost_with_cache_usd": {
                k: cost(plan.model, Usage(input_tokens=v)) for k, v in paid.items()
            },
            "problems": len(plan.problems),
            "orphans": len(plan.orphans),
            "skipped_references": len(skipped),
        },
        "items": [
            {
                "kind": i.kind,
                "path": i.path,
                "state": i.state.value,
                "detail": i.detail,
                "fingerprint": i.fingerprint,
                "sidecar": i.sidecar,
                "home": i.home,
                "estimated_input_tokens": per_item.get((i.kind, i.path), 0),
                "paths": list(i.paths) or [i.path],
                "pages": list(i.pages),
                # An image used in several languages: the one this item's alt is for.
                **({"lang": i.lang} if i.lang else {}),
                **({"references": refs.get(i.path, [])} if i.kind == "page" else {}),
                **({"advice": failed_advice(i)} if i.state is State.FAILED else {}),
                **({"words": words[i.path]} if i.path in words and i.kind == "page" else {}),
            }
            for i in plan.items
        ],
        "skipped_references": [
            {"page": r.page, "line": r.line, "src": r.src, "reason": r.skip} for r in skipped
        ],
        "orphans": plan.orphans,
        "problems": [{"path": p.path, "line": p.line, "message": p.message} for p in plan.problems],
    }


def _prefix_json(model: str) -> dict:
    sizes = prefix_estimates(model)
    p = price_for(model)
    minimum = p.min_cacheable_tokens if p else None
    return {
        "estimated_tokens": sizes,
        "min_cacheable_tokens": minimum,
        "cacheable": {k: (n >= minimum if minimum else None) for k, n in sizes.items()},
    }


def render_text(plan: Plan, *, verbose: bool = False) -> str:
    counts = plan.counts()
    per_item = item_estimates(plan)
    est = estimates(plan, per_item)
    paid = equivalents(plan, per_item)
    lines = [
        f"{os.path.relpath(plan.site.config_file)} · docs_dir {display_path(plan, '.')} · "
        f"model {plan.model}",
    ]
    if not plan.site.plugin_listed:
        lines.append("(mkdocs.yml does not list the `enrich` plugin: default options are used)")
    lines.append("")
    header = f"{'':8}" + "".join(f"{label:>{max(len(label), 4) + 2}}" for _, label in _COLUMNS)
    lines.append(header)
    rows: tuple[tuple[ItemKind, str], ...] = (("page", "pages"), ("image", "images"))
    for kind, label in rows:
        row = f"{label:8}"
        for state, col in _COLUMNS:
            row += f"{counts[kind][state]:>{max(len(col), 4) + 2}}"
        lines.append(row)
    lines.append("")
    stale = plan.stale()
    if stale:
        dollars = cost(plan.model, Usage(input_tokens=paid["stale"]))
        money = f" (~${dollars:.4f} input at {plan.model})" if dollars is not None else ""
        lines.append(
            f"To enrich: {len(stale)} item(s), about {est['stale']:,} input tokens; a run "
            f"pays about {paid['stale']:,} token-equivalents with the cached prompt "
            f"prefix{money}. Run `python -m pipeline enrich`."
        )
    else:
        lines.append("Nothing to enrich: 0 tokens to spend.")
    extras = []
    if plan.outdated():
        extras.append(
            f"outdated: {len(plan.outdated())} (about {est['outdated']:,} tokens, "
            f"{paid['outdated']:,} token-equivalents, with --upgrade)"
        )
    if plan.orphans:
        extras.append(f"orphan sidecars: {len(plan.orphans)} (`python -m pipeline prune`)")
    skipped = Counter(r.skip for r in plan.skipped_refs)
    if skipped:
        extras.append(
            "skipped references: " + ", ".join(f"{n} {why}" for why, n in sorted(skipped.items()))
        )
    failed = [i for i in plan.items if i.state is State.FAILED]
    if failed:
        extras.append(
            f"failed: {len(failed)} (not asked again until they change; "
            "`enrich --retry-failed` asks now)"
        )
    if plan.problems:
        extras.append(f"problems: {len(plan.problems)} (listed on stderr)")
    if extras:
        lines.append("; ".join(extras).capitalize() + ".")
    lines.append(prefix_line(plan.model, prefix_estimates(plan.model), "local estimate"))
    shown = [i for i in plan.items if verbose or i.state not in (State.UP_TO_DATE, State.AUTHOR)]
    # The totals above are the answer on a big site; hundreds of item lines would bury them.
    hidden = 0 if verbose else max(0, len(shown) - MAX_ITEM_LINES)
    if hidden:
        shown = shown[:MAX_ITEM_LINES]
    if shown:
        lines.append("")
        for i in shown:
            label = "review" if i.state is State.EDITED_REVIEW else i.state.value
            extra = f"  {i.detail}" if i.detail else ""
            used = f" (used on {len(i.pages)} pages)" if len(i.pages) > 1 else ""
            lang = f" [{i.lang}]" if i.lang else ""
            lines.append(f"  {label:<10} {i.kind:<5}  {printable(i.path)}{lang}{used}{extra}")
            if i.state is State.FAILED:
                lines.append(f"{'':19}what to do: {failed_advice(i)}")
    if hidden:
        lines.append(f"  … and {hidden} more (-v for all)")
    if any(i.state is State.FAILED for i in shown):
        lines.append(f"  Text a person writes always wins: {HAND_WRITTEN}.")
    if verbose and plan.orphans:
        lines.append("")
        lines.extend(f"  orphan     {o}" for o in plan.orphans)
    return "\n".join(lines)
