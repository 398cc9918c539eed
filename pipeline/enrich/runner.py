"""A Plan through the client into the store: only what is stale, within budget, concurrently.

Exactly one request per unique stale item, plus at most one second try by the policy
in results.py (a reply that broke a rule, one cut off at max_tokens, a refusal when a
fallback model is set); an item that still fails is remembered as failed. Results are
written as they arrive, each atomically, and each request is logged to the ledger at
once, so a run killed at any moment loses at most what was in flight and the next run
does only what remains.
"""

from __future__ import annotations

import base64
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from pipeline import sidecars as store
from pipeline.enrich import estimate, ledger
from pipeline.enrich.api import MessagesAPI, message_params
from pipeline.enrich.prepare import prepare
from pipeline.enrich.pricing import Usage, cost
from pipeline.enrich.prompts import (
    IMAGE_MAX_OUTPUT,
    IMAGE_SCHEMA,
    IMAGE_SYSTEM,
    PAGE_MAX_OUTPUT,
    PAGE_SCHEMA,
    PAGE_SYSTEM,
    cut_to_budget,
    image_user_text,
    page_user_text,
)
from pipeline.enrich.results import (
    Attempt,
    Outcome,
    Summary,
    judge_error,
    params_for,
    record,
    second_try,
    settle,
    store_outcome,
    take_reply,
)
from pipeline.errors import Fatal, ItemError, Problem, RequestFailed
from pipeline.fsutil import UnsafePath, atomic_write, inside, read_regular
from pipeline.model import ItemKind
from pipeline.plan import STALE, Item, Plan, State
from pipeline.source import language
from pipeline.source.discover import ImageFile, ImageRef, PageSource, split_page
from pipeline.source.fingerprint import page_fingerprint
from pipeline.source.language import Language
from pipeline.source.markdown import parse_page


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    only: str | None = None  # "pages" | "images"
    upgrade: bool = False
    max_cost: float | None = None
    max_tokens: int | None = None
    concurrency: int = 4
    model: str = ""
    force: tuple[str, ...] = ()
    retry_failed: bool = False  # also ask again for items remembered as failed
    fallback_model: str | None = None  # one try there after a refusal


@dataclass(frozen=True)
class Work:
    item: Item
    params: dict
    estimate: int  # input tokens
    counted: bool = False  # estimate came from count_tokens, not the local rule
    cut: bool = False  # page text was cut at the token budget
    note: str = ""


# --- choosing the work ----------------------------------------------------------------------


def select(plan: Plan, opts: Options) -> tuple[list[Item], list[Problem]]:
    """Items to spend on: stale ones, outdated ones on --upgrade, and --force paths."""
    forced = set(opts.force)
    chosen, problems = [], []
    matched: set[str] = set()
    for item in plan.items:
        names = {item.path, *item.paths}
        is_forced = bool(forced & names)
        matched |= forced & names
        if opts.only and item.kind != opts.only.rstrip("s"):
            continue
        if is_forced and item.state in (State.EDITED, State.EDITED_REVIEW, State.AUTHOR):
            problems.append(
                Problem(
                    item.path,
                    f"not regenerated: {item.state.value} text is a person's; "
                    "delete its sidecar to regenerate",
                )
            )
            continue
        if (
            (is_forced and item.state is not State.SKIPPED)
            or item.state in STALE
            or (opts.upgrade and item.state is State.OUTDATED)
            or (opts.retry_failed and item.state is State.FAILED)
        ):
            chosen.append(item)
    for path in sorted(forced - matched):
        problems.append(Problem(path, "--force: no page or image at this path"))
    return chosen, problems


# --- building requests -----------------------------------------------------------------------


def _page_text(plan: Plan, rel: str) -> tuple[dict, str]:
    """(front matter, plain text) of one page, read now: what is sent is what is there.
    A page whose words come from elsewhere (includes, docstrings, macros) sends the
    words its last build rendered, while its source is the one that build saw; a page
    made at build time has no source here: its recorded words are all there is."""
    entry = plan.discovery.rendered.get(rel)
    if entry is not None and entry.generated:
        return {}, entry.text
    split = split_page(rel, (plan.site.docs_dir / rel).read_bytes())
    if isinstance(split, Problem):
        raise ItemError(split.path, split.message, split.line)
    if entry is not None and entry.source == page_fingerprint(split[1]):
        return split[0], entry.text
    return split[0], parse_page(split[1]).plain_text


PageText = Callable[[str], "tuple[dict, str]"]


def page_language(plan: Plan, rel: str, text_of: PageText | None = None) -> Language:
    """The language a page is written in; for an image, that of the first page using it."""
    try:
        meta, plain = (text_of or partial(_page_text, plan))(rel)
    except (ItemError, OSError):
        meta, plain = {}, ""
    return language.resolve(meta, rel, plan.site.language, plain)


def page_params(
    plan: Plan, item: Item, page: PageSource, model: str, text_of: PageText | None = None
) -> Work:
    meta, plain = (text_of or partial(_page_text, plan))(item.path)
    lang = language.resolve(meta, item.path, plan.site.language, plain)
    plain, was_cut = cut_to_budget(plain, plan.site.options.page_token_budget, model)
    user = page_user_text(page.title, item.path, page.headings, plain, lang.line)
    params = message_params(
        model=model,
        system=PAGE_SYSTEM,
        content=[{"type": "text", "text": user}],
        schema=PAGE_SCHEMA,
        max_tokens=PAGE_MAX_OUTPUT,
    )
    note = f"{lang.code} from {lang.source}" + (", text cut" if was_cut else "")
    tokens = estimate.page_tokens(page, model, plan.site.options)
    return Work(item, params, tokens, cut=was_cut, note=note)


def _best_ref(refs: list[ImageRef]) -> ImageRef | None:
    return max(refs, key=lambda r: (len(r.context), r.page), default=None)


def image_params(
    plan: Plan,
    item: Item,
    image: ImageFile,
    refs: list[ImageRef],
    model: str,
    lang: Language | None = None,
) -> Work:
    prepared = prepare(
        plan.site.docs_dir / item.path,
        item.path,
        plan.site.options.image_max_edge,
        (image.width, image.height) if image.media == "svg" else (0, 0),
    )
    ref = _best_ref(refs)
    titles = {p.path: p.title for p in plan.discovery.pages}
    user = image_user_text(
        file_name=Path(item.path).name,
        page_title=titles.get(ref.page, "") if ref else "",
        heading=ref.heading if ref else "",
        context=ref.context if ref else "",
        language=(lang or language.resolve({}, "", plan.site.language, "")).line,
        svg_text=image.svg_text,
    )
    content: list[dict] = [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": prepared.media_type,
                "data": base64.b64encode(prepared.data).decode("ascii"),
            },
        },
        {"type": "text", "text": user},
    ]
    params = message_params(
        model=model,
        system=IMAGE_SYSTEM,
        content=content,
        schema=IMAGE_SCHEMA,
        max_tokens=IMAGE_MAX_OUTPUT,
    )
    note = (
        f"{prepared.original_width}x{prepared.original_height} -> "
        f"{prepared.width}x{prepared.height}"
    )
    if prepared.note:
        note += f", {prepared.note}"
    return Work(item, params, estimate.image_tokens(image, model, plan.site.options), note=note)


def build_work(plan: Plan, items: list[Item], model: str) -> tuple[list[Work], list[Problem]]:
    pages = {p.path: p for p in plan.discovery.pages}
    refs_by_target: dict[str, list[ImageRef]] = {}
    for page in plan.discovery.pages:
        for ref in page.refs:
            # An opted-out page's words are never sent, not even as an image's context.
            if ref.target and page.enrich:
                refs_by_target.setdefault(ref.target, []).append(ref)
    # Each page is read and parsed once per run, whether it is sent itself or only
    # gives its language to the images it uses.
    texts: dict[str, tuple[dict, str]] = {}
    langs: dict[str, Language] = {}

    def text_of(rel: str) -> tuple[dict, str]:
        if rel not in texts:
            texts[rel] = _page_text(plan, rel)
        return texts[rel]

    def lang_of(page: str) -> Language:
        if page not in langs:
            langs[page] = page_language(plan, page, text_of)
        return langs[page]

    works, problems = [], []
    for item in items:
        try:
            if item.kind == "page":
                works.append(page_params(plan, item, pages[item.path], model, text_of))
            else:
                image = plan.discovery.images[item.path]
                # Only the pages of the item's language: an image used in two languages
                # is one item each, told of its own pages only.
                mine = set(item.pages)
                refs = [r for p in item.paths for r in refs_by_target.get(p, []) if r.page in mine]
                # The first page that uses it (pages are sorted): one stable answer.
                lang = lang_of(item.pages[0]) if item.pages else None
                works.append(image_params(plan, item, image, refs, model, lang))
        except ItemError as e:
            problems.append(e.problem)
        except OSError as e:
            problems.append(Problem(item.path, f"cannot read ({e.strerror})"))
    return works, problems


# --- one item ----------------------------------------------------------------------------------

MAX_OUTPUT: dict[ItemKind, int] = {"page": PAGE_MAX_OUTPUT, "image": IMAGE_MAX_OUTPUT}


def run_one(
    client: MessagesAPI, work: Work, model: str, run_id: str, fallback_model: str | None = None
) -> Outcome:
    """Request and judge; at most one second try, as results.second_try allows. Never
    raises for the item's sake."""
    item = work.item
    out = Outcome(item)
    attempt: Attempt | None = Attempt(1, model=model)
    while attempt is not None:
        params = params_for(work.params, attempt)
        log = partial(
            record,
            run_id,
            item,
            attempt.model,
            attempt=attempt.number,
            started=time.monotonic(),
        )
        try:
            reply = client.create(params)
        except RequestFailed as e:
            verdict = judge_error(str(e), permanent=e.permanent, transient=e.retryable)
            out.records.append(log(status=verdict.status, error=verdict.reason))
            settle(out, verdict, attempt, model)
            return out
        except Fatal as e:
            # A key revoked mid-run: an earlier attempt was billed and must be logged.
            out.fatal, out.problem = e, Problem(item.path, str(e))
            return out
        verdict = take_reply(out, reply, attempt, log, cut=work.cut)
        following = None if verdict.kept else second_try(verdict, attempt, params, fallback_model)
        if following is None:
            settle(out, verdict, attempt, model)
            return out
        attempt = following
    return out


# --- storing: results.store_outcome (shared with batches) -------------------------------------


def rehome(plan: Plan, problems: list[Problem] | None = None) -> list[tuple[str, str]]:
    """Move (or copy, when its source still exists) a sidecar found by fingerprint to
    the item's home, so each source keeps its own text beside it. Costs nothing.
    A move that fails is added to `problems` and the rest go on."""
    moved = []
    docs = plan.site.docs_dir
    for item in plan.items:
        if not item.sidecar or item.sidecar == item.home or item.state in STALE:
            continue
        if item.state in (State.SKIPPED, State.EDITED_REVIEW):
            continue
        if item.sidecar in {store.sidecar_path(p, store.lang_of(item.home)) for p in item.paths}:
            continue  # another copy of the same image bytes: already beside a source
        if (docs / item.home).exists():
            continue
        try:
            _move_sidecar(plan, docs, item.sidecar, item.home)
        except OSError as e:
            if problems is not None:
                problems.append(Problem(item.home, f"cannot re-home: {e.strerror or e}"))
            continue
        moved.append((item.sidecar, item.home))
    return moved


def _move_sidecar(plan: Plan, docs: Path, old: str, new: str) -> None:
    if store.source_of(old) in plan.discovery.files:
        # The text's first source is still there: copy, so each keeps its own.
        atomic_write(docs / new, read_regular(docs / old, store.MAX_BYTES, docs), root=docs)
    elif not inside(docs / new, docs):
        raise UnsafePath("leads outside docs_dir through a symlink: not moved")
    else:
        # A page made at build time may move to a folder that holds nothing else yet.
        (docs / new).parent.mkdir(parents=True, exist_ok=True)
        os.replace(docs / old, docs / new)


# --- the run -----------------------------------------------------------------------------------


def _reserve(work: Work, model: str) -> tuple[int, float]:
    """Worst case for one request: its input plus a full output, in tokens and dollars."""
    out_tokens = MAX_OUTPUT[work.item.kind]
    usage = Usage(input_tokens=work.estimate, output_tokens=out_tokens)
    return work.estimate + out_tokens, cost(model, usage) or 0.0


def _next_startable(
    pending: deque[Work], warm: set[ItemKind], warming: set[ItemKind]
) -> int | None:
    """Index of the next work to start: the first of each kind goes alone (it writes the
    kind's cached prefix), the rest of that kind only once it has finished, so they read
    the cache instead of all writing it. Other kinds go on meanwhile."""
    for n, work in enumerate(pending):
        kind = work.item.kind
        if kind in warm or kind not in warming:
            return n
    return None


def run(plan: Plan, works: list[Work], opts: Options, client: MessagesAPI, progress) -> Summary:
    model = opts.model
    run_id = ledger.new_run_id()
    summary = Summary()
    pending = deque(works)
    inflight: dict = {}
    reserved_tokens = 0
    reserved_dollars = 0.0
    stop = False
    fatal: Fatal | None = None
    warm: set[ItemKind] = set()
    warming: set[ItemKind] = set()
    with ThreadPoolExecutor(max_workers=max(1, opts.concurrency)) as pool:
        try:
            while pending or inflight:
                while pending and not stop and len(inflight) < opts.concurrency:
                    n = _next_startable(pending, warm, warming)
                    if n is None:
                        break
                    work = pending[n]
                    tokens, dollars = _reserve(work, model)
                    spent_tokens = summary.usage.total + reserved_tokens + tokens
                    spent_dollars = summary.dollars + reserved_dollars + dollars
                    if (opts.max_tokens and spent_tokens > opts.max_tokens) or (
                        opts.max_cost and spent_dollars > opts.max_cost
                    ):
                        stop = True
                        break
                    del pending[n]
                    if work.item.kind not in warm:
                        warming.add(work.item.kind)
                    future = pool.submit(run_one, client, work, model, run_id, opts.fallback_model)
                    inflight[future] = (work, tokens, dollars)
                    reserved_tokens += tokens
                    reserved_dollars += dollars
                if not inflight:
                    break
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in finished:
                    work, tokens, dollars = inflight.pop(future)
                    reserved_tokens -= tokens
                    reserved_dollars -= dollars
                    # Written or not (a failure), the rest of the kind may go now.
                    warm.add(work.item.kind)
                    outcome = future.result()  # Fatal (a bad key) propagates from here
                    problem = store_outcome(plan, outcome)
                    summary.add(outcome, problem)
                    progress.item(
                        outcome.item.kind,
                        outcome.item.path,
                        "failed" if problem else "done",
                        outcome.usage.total,
                        outcome.dollars,
                    )
                    if outcome.fatal:
                        # Start nothing more; what is in flight is billed, so collect it.
                        stop, fatal = True, fatal or outcome.fatal
        except Fatal:
            for future in inflight:
                future.cancel()
            raise
    if fatal:
        raise fatal
    summary.remaining = [w.item for w in pending]
    return summary


def count_tokens(works: list[Work], client: MessagesAPI | None) -> list[Work]:
    """Replace local estimates with count_tokens (free) when a key is set."""
    if client is None:
        return works
    counted = []
    for work in works:
        try:
            counted.append(replace(work, estimate=client.count_tokens(work.params), counted=True))
        except RequestFailed:
            counted.append(work)
    return counted


def count_prefixes(works: list[Work], client: MessagesAPI) -> dict[ItemKind, int]:
    """Each kind's prefix by count_tokens: one request of the kind counted with and
    without its system prompt (free; the difference is the cached part)."""
    sizes: dict[ItemKind, int] = {}
    for work in works:
        kind = work.item.kind
        if kind in sizes:
            continue
        try:
            bare = client.count_tokens({**work.params, "system": []})
            full = work.estimate if work.counted else client.count_tokens(work.params)
        except RequestFailed:
            continue
        sizes[kind] = full - bare
    return sizes
