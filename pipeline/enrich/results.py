"""One reply path for direct requests and batches: what an answer (or an error) becomes.

Both `runner.run_one` and `batch.collect` hand each reply here: it is checked by the
rules in `replies.py`, classified, and turned into a sidecar (text, or a failure to
remember), a ledger line and, when the policy allows one, a second try. Nothing here
sends a request.

Failure classes, each with a bounded policy (an item costs at most two requests, ever,
until its source, the model or the prompt version changes):

  refusal          stop_reason "refusal": the same model is never asked the same thing
                   again (the API docs say it refuses again); one try on `fallback_model`
                   when one is configured, else failed.
  max_tokens       the reply was cut off: one try with twice the output budget, then failed.
  invalid_request  a 400/413 `invalid_request_error` (direct, or an errored batch item):
                   the same request fails the same way; failed at once, never retried.
  invalid_reply    the reply broke our rules (replies.py): asked again once with the
                   reason, then failed.
  transient        429, 5xx, 529, overloaded_error, api_error, timeouts, expired or
                   canceled batch items: the item stays stale and the next run retries.

A failed item gets a sidecar with `source: failed` (see sidecars.py): committed with the
rest, so a fresh clone in CI knows not to pay for it again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Literal

from pipeline import sidecars as store
from pipeline.enrich import ledger
from pipeline.enrich.api import Reply
from pipeline.enrich.pricing import Usage, cost
from pipeline.enrich.replies import Invalid, check
from pipeline.errors import Fatal, Problem, SidecarError
from pipeline.model import PROMPT_VERSIONS, ItemKind
from pipeline.plan import Item, Plan
from pipeline.sidecars import Sidecar

Failure = Literal["refusal", "max_tokens", "invalid_request", "invalid_reply"]
FAILURES: tuple[Failure, ...] = ("refusal", "max_tokens", "invalid_request", "invalid_reply")

# What a person can do about each failure, as `status` and `enrich` say it.
ADVICE: dict[str, str] = {
    "refusal": "the model declined this content; write the text by hand, or set "
    "`fallback_model` and run `enrich --retry-failed`",
    "max_tokens": "the reply ran past its output budget twice; write the text by hand, "
    "or run `enrich --retry-failed`",
    "invalid_request": "the API rejects this request (a file too large or of an unsupported "
    "kind?); fix the source, or write the text by hand",
    "invalid_reply": "two replies broke the reply rules; write the text by hand, or run "
    "`enrich --retry-failed`",
}
HAND_WRITTEN = (
    "a page's `description:` in front matter, an image's alt in the markdown, or "
    "`source: author` with your text in the failed sidecar"
)


@dataclass(frozen=True)
class Attempt:
    """How one request for an item is made: the first, or the one second try."""

    number: int = 1
    model: str = ""  # the model asked
    max_tokens: int | None = None  # a raised output budget
    feedback: str = ""  # why the previous reply was rejected, said to the model


def params_for(params: dict, attempt: Attempt) -> dict:
    """The request body of `attempt`, from the item's first body."""
    out = dict(params)
    if attempt.model:
        out["model"] = attempt.model
    if attempt.max_tokens:
        out["max_tokens"] = attempt.max_tokens
    if attempt.feedback:
        content = list(params["messages"][0]["content"])
        content.append(
            {
                "type": "text",
                "text": f"Your previous reply was rejected: {attempt.feedback}. Reply again, "
                "following every rule.",
            }
        )
        out["messages"] = [{"role": "user", "content": content}]
    return out


@dataclass(frozen=True)
class Verdict:
    """What one request came to."""

    status: str  # the ledger status: ok | cut | refusal | max_tokens | invalid | rejected | failed
    fields: dict | None = None  # the text to store, when kept
    reason: str = ""
    failure: Failure | None = None  # set when the item cannot be made this way
    transient: bool = False  # the item stays stale, the next run tries again

    @property
    def kept(self) -> bool:
        return self.fields is not None


def judge_reply(kind: ItemKind, reply: Reply) -> Verdict:
    if reply.stop_reason == "refusal":
        return Verdict("refusal", reason="the model declined to answer", failure="refusal")
    if reply.stop_reason == "max_tokens":
        return Verdict(
            "max_tokens", reason="the reply was cut off at max_tokens", failure="max_tokens"
        )
    try:
        checked = check(kind, reply.text)
    except Invalid as e:
        return Verdict("invalid", reason=str(e), failure="invalid_reply")
    status = "cut" if checked.cut else "ok"
    reason = f"cut to fit: {', '.join(checked.cut)}" if checked.cut else ""
    return Verdict(status, fields=checked.fields, reason=reason)


def take_reply(
    out: Outcome, reply: Reply, attempt: Attempt, log, *, batch: bool = False, cut: bool = False
) -> Verdict:
    """A reply that was paid for, direct or from a batch: its verdict; its usage, cost and
    ledger line (`log`: `record` with the request's fields bound) go into `out`. `cut`:
    the page was cut to the input budget (noted on a kept reply's line)."""
    dollars = cost(attempt.model, reply.usage, batch=batch) or 0.0
    out.usage += reply.usage
    out.dollars += dollars
    verdict = judge_reply(out.item.kind, reply)
    out.records.append(
        log(
            status=verdict.status,
            error=verdict.reason,
            usage=reply.usage,
            dollars=dollars,
            request_id=reply.request_id,
            retried=attempt.number > 1,
            input_cut=cut and verdict.kept,
        )
    )
    return verdict


def judge_error(message: str, *, permanent: bool, transient: bool) -> Verdict:
    """A request that brought no reply: `permanent` is an invalid_request_error (400/413
    or an errored batch item of that type), `transient` one worth trying next run."""
    if permanent:
        return Verdict("rejected", reason=message, failure="invalid_request")
    return Verdict("failed" if transient else "rejected", reason=message, transient=True)


def second_try(
    verdict: Verdict, first: Attempt, params: dict, fallback_model: str | None
) -> Attempt | None:
    """The one second try the policy allows after `verdict`, or None (failed for good)."""
    if first.number >= 2 or verdict.failure is None:
        return None
    if verdict.failure == "refusal":
        if fallback_model and fallback_model != first.model:
            return Attempt(2, model=fallback_model)
        return None
    if verdict.failure == "max_tokens":
        return Attempt(2, model=first.model, max_tokens=2 * int(params["max_tokens"]))
    if verdict.failure == "invalid_reply":
        return Attempt(2, model=first.model, feedback=verdict.reason)
    return None  # invalid_request: the same request fails the same way


# --- what is stored ------------------------------------------------------------------------


@dataclass
class Outcome:
    item: Item
    sidecar: Sidecar | None = None  # text, or a failure to remember
    problem: Problem | None = None
    records: list[dict] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    dollars: float = 0.0
    fatal: Fatal | None = None  # stops the run once this outcome's records are logged
    failure: Failure | None = None  # set when the item is recorded as failed
    retry: Attempt | None = None  # batches: the second try, sent with the next batch


@dataclass
class Summary:
    done: list[Item] = field(default_factory=list)
    failed: list[Problem] = field(default_factory=list)  # every item not made, and why
    remembered: list[Problem] = field(default_factory=list)  # ... of them, recorded failed
    failures: Counter[str] = field(default_factory=Counter)  # ... by failure class
    remaining: list[Item] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    dollars: float = 0.0
    requests: int = 0

    def add(self, outcome: Outcome, problem: Problem | None) -> None:
        """Count one finished item: its requests and spend, and whether its text landed."""
        self.requests += len(outcome.records)
        self.usage += outcome.usage
        self.dollars += outcome.dollars
        if problem is not None:
            self.failed.append(problem)
            if outcome.failure is not None and outcome.sidecar is not None:
                self.remembered.append(problem)
                self.failures[outcome.failure] += 1
        elif outcome.sidecar is not None:
            self.done.append(outcome.item)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _spent(usage: Usage) -> int:
    return usage.input_tokens + usage.cache_creation_input_tokens + usage.cache_read_input_tokens


def text_sidecar(item: Item, fields: dict, model: str, usage: Usage) -> Sidecar:
    sc = Sidecar(
        item.kind,
        **fields,
        source="generated",
        fingerprint=item.fingerprint,
        model=model,
        prompt=PROMPT_VERSIONS[item.kind],
        input_tokens=_spent(usage),
        output_tokens=usage.output_tokens,
        date=today(),
        lang=item.lang or None,
    )
    return replace(sc, generated=sc.text_hash)


def failed_sidecar(item: Item, failure: Failure, reason: str, model: str, usage: Usage) -> Sidecar:
    """The memory of a failure: the model is the configured one (a fallback's refusal is
    still the configured model's item), so a change of model asks again."""
    return Sidecar(
        item.kind,
        source="failed",
        failure=failure,
        reason=reason[:200],
        fingerprint=item.fingerprint,
        model=model,
        prompt=PROMPT_VERSIONS[item.kind],
        input_tokens=_spent(usage),
        output_tokens=usage.output_tokens,
        date=today(),
        lang=item.lang or None,
    )


def failed_problem(item: Item, failure: Failure, reason: str) -> Problem:
    return Problem(
        item.path,
        f"failed ({failure}): {reason}; recorded in {item.home}, not asked again until it "
        "changes (`enrich --retry-failed` to ask now)",
    )


def record(
    run_id: str,
    item: Item,
    model: str,
    *,
    attempt: int,
    started: float,
    status: str,
    usage: Usage | None = None,
    dollars: float = 0.0,
    error: str = "",
    request_id: str | None = None,
    mode: str = "direct",
    **extra,
) -> dict:
    """One ledger line: a request, what it cost and what became of it."""
    usage = usage or Usage()
    line = {
        "run": run_id,
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kind": item.kind,
        "item": item.path,
        "fingerprint": item.fingerprint,
        "model": model,
        "prompt": PROMPT_VERSIONS[item.kind],
        "mode": mode,
        "attempt": attempt,
        "status": status,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        **(
            {"cache_creation_1h_input_tokens": usage.cache_creation_1h_input_tokens}
            if usage.cache_creation_1h_input_tokens
            else {}
        ),
        "cost_usd": round(dollars or 0.0, 8),
        "duration_ms": round((time.monotonic() - started) * 1000) if started else 0,
    }
    if error:
        line["error"] = error[:300]
    if request_id:
        line["request_id"] = request_id
    line.update({k: v for k, v in extra.items() if v})
    return line


def settle(out: Outcome, verdict: Verdict, attempt: Attempt, configured_model: str) -> None:
    """Put the final verdict of an item into its outcome: text, a remembered failure, or
    a transient problem (stays stale)."""
    item = out.item
    if verdict.fields is not None:
        out.sidecar = text_sidecar(
            item, verdict.fields, attempt.model or configured_model, out.usage
        )
        return
    if verdict.failure is not None:
        out.failure = verdict.failure
        out.sidecar = failed_sidecar(
            item, verdict.failure, verdict.reason, configured_model, out.usage
        )
        out.problem = failed_problem(item, verdict.failure, verdict.reason)
        return
    out.problem = Problem(item.path, verdict.reason)


def store_outcome(
    plan: Plan, outcome: Outcome, *, meanwhile: str = "during the run"
) -> Problem | None:
    """Write the sidecar (text, or a failure to remember) unless a person edited the text
    meanwhile. Ledger first: the tokens were spent whatever happens to the text."""
    for line in outcome.records:
        ledger.append(plan.site.state_dir, line)
    if outcome.sidecar is None:
        return outcome.problem
    item = outcome.item
    try:
        current = store.read(plan.site.docs_dir, item.home)
    except SidecarError:
        current = None  # absent, or corrupt: items with corrupt sidecars are never chosen
    if current is not None and current.human:
        # Never chosen as work, so a person edited it while the request was in flight.
        return Problem(item.home, f"edited by a person {meanwhile}: kept, result dropped")
    try:
        store.write(plan.site.docs_dir, item.home, outcome.sidecar)
    except OSError as e:  # a read-only folder, a folder in its place, a link out of docs_dir
        return Problem(item.home, f"cannot write sidecar: {e.strerror or e}; item stays stale")
    return outcome.problem
