"""`FakeMessages`: our `MessagesAPI` protocol, in-process, for runner and batch tests.

The runner is handed this object where the CLI hands it a `Client`: no server, no SDK,
no sockets. Replies, prompt caching and batches are the HTTP fake's own (the same
mixins), so what a test sets up reads the same on both; failures are raised as the
protocol raises them (`RequestFailed` for one item, `Fatal` to stop the run), since
turning SDK errors into those is the client's job, tested against the HTTP fake.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from fake_anthropic.batches import Batches
from fake_anthropic.caching import PromptCache
from fake_anthropic.faults import ApiError
from fake_anthropic.messages import Replies, analyse
from fake_anthropic.wire import user_text
from pipeline.enrich.api import BatchResult, BatchStatus, Reply
from pipeline.enrich.pricing import Usage
from pipeline.errors import RequestFailed


class FakeMessages(Replies, PromptCache, Batches):
    """Configure replies as on `FakeAnthropic` (`responses_by_marker`, `responder`,
    `batch_outcomes`, `batch_polls_before_end`), failures with `fail` and `fault_rate`;
    read what was asked through `messages()`, `sent` and `counted`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._reset_replies()
        self._reset_cache()
        self._reset_batches()
        # Every create() call's params, answered or not, in the order they came.
        self.sent: list[dict[str, Any]] = []
        self._answered: list[dict[str, Any]] = []
        self.counted: list[dict[str, Any]] = []
        # (marker, error, times left): a create() whose user text has the marker raises it.
        self._failures: list[list[Any]] = []
        # Fraction of create() calls that fail as a request the SDK gave up retrying would.
        self.fault_rate = 0.0
        self.seed: int | None = None
        self._rng: random.Random | None = None
        # Seconds each create() takes, so that calls overlap; `max_in_flight` is the most
        # that were ever inside create() at once.
        self.latency = 0.0
        self._in_flight = 0
        self.max_in_flight = 0

    def fail(self, marker: str, error: Exception, times: int = 1) -> None:
        """The next `times` requests whose user text contains `marker` raise `error`."""
        with self._lock:
            self._failures.append([marker, error, times])

    def forget(self) -> None:
        """Forget the calls seen so far (replies, cache and batches stay)."""
        with self._lock:
            self.sent.clear()
            self._answered.clear()
            self.counted.clear()

    def messages(self) -> list[dict[str, Any]]:
        """Params of the create() calls that were answered, as `FakeAnthropic.messages()`."""
        with self._lock:
            return list(self._answered)

    # -- MessagesAPI -----------------------------------------------------------------------

    def create(self, params: dict) -> Reply:
        with self._lock:
            self.sent.append(params)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            self._raise_injected(params)
            message = self._wire(self._create_message, params, arrived=self.now())
        finally:
            with self._lock:
                self._in_flight -= 1
        with self._lock:
            self._answered.append(params)
        return _reply(message)

    def count_tokens(self, params: dict) -> int:
        with self._lock:
            self.counted.append(params)
        return self._wire(analyse, params, validate=True, need_max_tokens=False).total

    def batch_create(self, requests: list[dict]) -> str:
        return self._wire(self._create_batch, {"requests": requests})["id"]

    def batch_status(self, batch_id: str) -> BatchStatus:
        batch = self._wire(self._retrieve_batch, batch_id)
        return BatchStatus(batch["processing_status"], batch["request_counts"])

    def batch_results(self, batch_id: str) -> Iterator[BatchResult]:
        with self._lock:
            results = dict(self._wire(self._get_batch, batch_id).results)
        for custom_id, result in results.items():
            kind = result["type"]
            if kind == "succeeded":
                yield BatchResult(custom_id, kind, _reply(result["message"]))
            elif kind == "errored":
                error = result["error"]["error"]
                yield BatchResult(custom_id, kind, error["message"], error["type"])
            else:
                yield BatchResult(custom_id, kind, kind)

    # -- helpers ---------------------------------------------------------------------------

    def _raise_injected(self, params: dict) -> None:
        text = user_text(params)
        with self._lock:
            for rule in self._failures:
                if rule[2] > 0 and rule[0] in text:
                    rule[2] -= 1
                    raise rule[1]
            if self.fault_rate > 0:
                if self._rng is None:
                    self._rng = random.Random(self.seed)
                if self._rng.random() < self.fault_rate:
                    status = self._rng.choice((429, 500, 529))
                    raise RequestFailed(f"API error {status}: Fake {status}.", retryable=True)

    @staticmethod
    def _wire(call, *args, **kwargs):
        """A request the API would refuse is a bug in the request we built: raise it as
        the client would report a 4xx, so the item fails and the test sees why."""
        try:
            return call(*args, **kwargs)
        except ApiError as e:
            raise RequestFailed(
                f"API error {e.status}: {e.message}",
                retryable=False,
                permanent=e.status in (400, 413),
            ) from None


def _reply(message: dict[str, Any]) -> Reply:
    usage = message["usage"]
    return Reply(
        text="".join(b["text"] for b in message["content"] if b["type"] == "text"),
        usage=Usage(
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            cache_creation_input_tokens=usage["cache_creation_input_tokens"],
            cache_read_input_tokens=usage["cache_read_input_tokens"],
            cache_creation_1h_input_tokens=usage["cache_creation"]["ephemeral_1h_input_tokens"],
        ),
        stop_reason=message["stop_reason"],
        request_id=f"req_{uuid.uuid4().hex[:24]}",
        model=message["model"],
    )


@pytest.fixture
def fake_messages() -> FakeMessages:
    """An in-process `MessagesAPI`: hand it to the runner where the CLI hands a Client."""
    return FakeMessages()


__all__ = ["FakeMessages", "fake_messages"]
