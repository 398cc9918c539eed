"""The Messages API as the runner and batches use it: five calls, typed replies, one body.

`MessagesAPI` is all the runner (`runner.py`) and `batch.py` know of the model: they are
handed an object with these calls and never import the SDK. `client.Client` implements
it over `anthropic` (retries, timeouts, error mapping); tests hand the runner an
in-process fake of the same protocol (tests/fake_anthropic/protocol.py).

Errors are part of the contract: a call raises `errors.RequestFailed` when one request
failed (the item is reported, the run goes on) and `errors.Fatal` when the run must stop
(a rejected key); nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from pipeline.enrich.pricing import Usage

ResultKind = Literal["succeeded", "errored", "canceled", "expired"]


@dataclass(frozen=True)
class Reply:
    """One message: its text blocks joined, what it cost, and why it stopped."""

    text: str
    usage: Usage
    stop_reason: str | None
    request_id: str | None
    model: str


class BatchStatus(NamedTuple):
    # A tuple, so `status, counts = api.batch_status(id)` reads as before.
    processing_status: str  # "in_progress" | "canceling" | "ended"
    counts: dict[str, int]  # processing, succeeded, errored, canceled, expired


class BatchResult(NamedTuple):
    custom_id: str
    kind: ResultKind
    outcome: Reply | str  # the reply when succeeded, else why it was not
    # errored: the error's type; `invalid_request_error` is permanent (the same request
    # fails again), `overloaded_error` / `api_error` are transient.
    error_type: str = ""


class MessagesAPI(Protocol):
    def create(self, params: dict) -> Reply:
        """One message for `params` (a body from `message_params`)."""
        ...

    def count_tokens(self, params: dict) -> int:
        """Input tokens `params` would be billed for; free."""
        ...

    def batch_create(self, requests: list[dict]) -> str:
        """Submit `{"custom_id", "params"}` requests as one batch; returns its id."""
        ...

    def batch_status(self, batch_id: str) -> BatchStatus: ...

    def batch_results(self, batch_id: str) -> Iterator[BatchResult]:
        """Every result of an ended batch, in no particular order."""
        ...


# The 5-minute TTL for direct runs: a read refreshes it, so one write serves a whole run
# whose requests of a kind come less than 5 minutes apart. Batches use the 1-hour TTL
# (`with_ttl`): a batch runs for minutes to hours, in no order we control, and the batch
# docs advise it for a shared prefix; a write costs 2x instead of 1.25x (BENCHMARKS.md,
# "Cache TTL for batches").
CACHE_CONTROL = {"type": "ephemeral"}
BATCH_TTL = "1h"


def system_blocks(system: str) -> list[dict]:
    # The system prompt (rules and worked examples) is the whole stable prefix of a kind,
    # and its last block the breakpoint: everything item-specific comes after it, in the
    # user turn. Under the model's minimum it is simply not cached (`status` says so).
    return [{"type": "text", "text": system, "cache_control": dict(CACHE_CONTROL)}]


def with_ttl(params: dict, ttl: str) -> dict:
    """`params` with every cache breakpoint of its system prompt set to `ttl`."""
    system = [
        {**b, "cache_control": {**b["cache_control"], "ttl": ttl}} if "cache_control" in b else b
        for b in params["system"]
    ]
    return {**params, "system": system}


def message_params(
    *, model: str, system: str, content: list[dict], schema: dict, max_tokens: int
) -> dict:
    """The request body for one item; shared by direct requests and batches."""
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": system_blocks(system),
        "messages": [{"role": "user", "content": content}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
        # 5.x Haiku thinks by default, and thinking tokens are billed as output.
        "thinking": {"type": "disabled"},
    }
