"""A fake Claude Messages API served over real HTTP, for tests that drive the real `anthropic` SDK.

The SDK is built on httpx2, which respx and pytest-httpx cannot intercept, so the only faithful
double is a server: `FakeAnthropic` runs a `ThreadingHTTPServer` on 127.0.0.1 and the SDK reaches
it through `ANTHROPIC_BASE_URL`. Every success body is shaped so that
`anthropic.Anthropic(_strict_response_validation=True)` accepts it, and every error uses the
API's `{"type": "error", "error": {...}}` envelope, so the SDK raises its real exception classes
and applies its real retry policy.

Token usage is deterministic (see `FakeAnthropic.count_tokens`) rather than realistic, so tests can
assert exact numbers for cost and caching logic.

Usage, with the `fake_api` fixture below::

    def test_x(fake_api):
        fake_api.responses_by_marker["page-42"] = {"summary": "Forty-two."}
        fake_api.add_fault(429, retry_after_ms=1)
        ...  # code under test builds anthropic.Anthropic() from the environment
        assert fake_api.calls("/v1/messages") == 2
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import json
import math
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

JSON = Any
Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]
Match = Callable[[str, Any], bool]
BatchOutcome = Literal["errored", "expired", "canceled"]

ALLOWED_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_SIDE = 8000
# The API tightens the per-side limit when one request carries many images.
MANY_IMAGES = 20
MAX_IMAGE_SIDE_MANY = 2000
# A URL image is never fetched, so its cost cannot be measured; any fixed figure will do.
URL_IMAGE_TOKENS = 1000
# Models that refuse sampling parameters and manual extended thinking.
NO_SAMPLING_MODEL_PREFIXES = ("claude-haiku-5", "claude-sonnet-5", "claude-opus-5")
SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Minimum cacheable prefix per model, as the API's prompt-caching page lists them (the same
# figures as pipeline/pricing.py, kept apart so the fake never trusts the code under test).
MIN_CACHEABLE_BY_MODEL = {
    "claude-haiku-5-5": 512,
    "claude-sonnet-5-5": 1024,
    "claude-opus-5-5": 512,
    "claude-haiku-4-5": 4096,
    "claude-sonnet-4-5": 1024,
}
CACHE_TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


class ApiError(Exception):
    """An error the fake answers with, in the API's error envelope."""

    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or ERROR_TYPES.get(status, "api_error")

    def body(self) -> dict[str, Any]:
        return error_body(self.error_type, self.message)


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "invalid_request_error")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: JSON
    time: float
    query: dict[str, list[str]] = field(default_factory=dict)
    # On the fake's clock: a request reads only cache entries written before it arrived,
    # as requests already in flight when a prefix is written do not see it.
    arrived: float = 0.0
    # Filled in once the reply is sent; 0 means the handler never replied (e.g. the server stopped).
    status: int = 0


@dataclass
class Fault:
    status: int
    times: int
    retry_after_ms: float | None = None
    retry_after: float | str | None = None
    error_type: str | None = None
    match: Match | None = None
    should_retry: bool | None = None
    message: str | None = None


@dataclass
class Hang:
    seconds: float
    times: int
    match: Match | None = None


@dataclass
class TokenCount:
    """How the fake prices one request's input."""

    system: int
    rest: int
    images: list[tuple[int, int]]
    # Tokens of the prefix up to and including the last block marked cache_control (0: none).
    prefix: int
    cache_ttl: str
    # Model + the exact prefix blocks; a later request with the same key reads what an
    # earlier one wrote, while the entry lives.
    cache_key: str

    @property
    def system_cache_marked(self) -> bool:
        return self.prefix > 0

    @property
    def total(self) -> int:
        return self.system + self.rest + sum(image_tokens(w, h) for w, h in self.images)


@dataclass
class FakeBatch:
    id: str
    requests: list[dict[str, Any]]
    created_at: datetime
    polls: int = 0
    status: Literal["in_progress", "canceling", "ended"] = "in_progress"
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None
    # custom_id -> result object (the `result` member of a JSONL line), set when the batch ends.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)


def image_tokens(width: int, height: int) -> int:
    return math.ceil(width * height / 750)


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sniff_image_type(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def _block_texts(content: Any) -> Iterator[str]:
    for block in _blocks(content):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            yield block["text"]
        elif block.get("type") == "tool_result":
            yield from _block_texts(block.get("content"))


def user_text(body: dict[str, Any]) -> str:
    """All text the user turns carry, joined by newlines (what markers are matched against)."""
    parts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            parts.extend(_block_texts(message.get("content")))
    return "\n".join(parts)


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return " ".join(_block_texts(message.get("content")))
    return ""


def system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "".join(_block_texts(system))


def fake_sentence(body: dict[str, Any], salt: str = "") -> str:
    """A short sentence that is stable for a given request and differs between requests.

    The digest covers every user block, images included, so two images with the same prompt
    still get different alt text.
    """
    user_content = [
        m.get("content")
        for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "user"
    ]
    payload = json.dumps([user_content, salt], sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:6]
    words = [re.sub(r"[^A-Za-z0-9-]", "", w)[:16] for w in last_user_text(body).split()]
    about = " ".join([w for w in words if w][:3]) or "the input"
    return f"Fake text {digest} about {about}."


def build_from_schema(schema: Any, body: dict[str, Any], root: Any = None, name: str = "") -> Any:
    """The simplest instance of a JSON schema, with deterministic sentences for strings."""
    root = schema if root is None else root
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return build_from_schema(target, body, root, name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            non_null = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return build_from_schema((non_null or options)[0], body, root, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        props = schema.get("properties") or {}
        return {
            key: build_from_schema(sub, body, root, f"{name}.{key}") for key, sub in props.items()
        }
    if kind == "string":
        text = fake_sentence(body, name)
        max_len = schema.get("maxLength")
        return text[:max_len] if isinstance(max_len, int) else text
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        minimum = schema.get("minimum")
        return minimum if isinstance(minimum, int | float) else 0
    if kind == "array":
        count = schema.get("minItems") or 0
        items = schema.get("items") or {}
        return [build_from_schema(items, body, root, f"{name}[{i}]") for i in range(count)]
    return None


def default_responder(body: dict[str, Any]) -> str | dict[str, Any]:
    fmt = (body.get("output_config") or {}).get("format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return build_from_schema(fmt.get("schema") or {}, body)
    return "Fake reply."


class FakeAnthropic:
    """A local HTTP server that answers like the Claude Messages API.

    Configure it through public attributes (`responder`, `responses_by_marker`, `invalid_keys`,
    `min_cacheable_tokens`, `batch_polls_before_end`, `batch_outcomes`, `fault_rate`, `seed`,
    `latency`) and the `add_fault` / `add_hang` rules; read what it saw through `requests`,
    `messages()` and `calls()`.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stop_event = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._requests: list[RecordedRequest] = []
        # API keys answered with 401, as a revoked or mistyped key would be.
        self.invalid_keys: set[str] = {"bad-key"}
        # A cache_control'd prefix shorter than its model's minimum (MIN_CACHEABLE_BY_MODEL,
        # else this) is silently not cached, like the API.
        self.min_cacheable_tokens = 512
        # Seconds added to the fake's clock (see `advance`), so tests can let a cache
        # entry expire without sleeping.
        self.clock_offset = 0.0
        # Retrieves that still report in_progress; polling code needs at least one to exercise.
        self.batch_polls_before_end = 1
        # Exceptions raised by a responder; they surface to the client as 500s, and here for tests.
        self.handler_errors: list[BaseException] = []
        self._init_rules()

    def _init_rules(self) -> None:
        # Called with the request body; a dict is sent as JSON text, a str verbatim.
        self.responder: Responder = default_responder
        # Checked before `responder`: the first marker found in the user text picks the reply.
        self.responses_by_marker: dict[str, str | dict[str, Any]] = {}
        # custom_id -> forced outcome; a forced "errored" carries an api_error.
        self.batch_outcomes: dict[str, BatchOutcome] = {}
        # Fraction of POST /v1/messages answered with a random 429/500/529 (retry-after-ms: 1).
        self.fault_rate = 0.0
        # Seconds added to every /v1/messages and count_tokens reply.
        self.latency = 0.0
        self._seed: int | None = None
        self._rng = random.Random()
        self._faults: list[Fault] = []
        self._hangs: list[Hang] = []
        # cache key -> (written, expiry) on the fake's clock.
        self._cache: dict[str, tuple[float, float]] = {}
        self.batches: dict[str, FakeBatch] = {}

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._stop_event.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        # A short poll interval keeps stop() from waiting up to half a second for serve_forever.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        # Wake handlers sleeping in a hang or latency wait, then cut idle keep-alive connections
        # so their threads leave readline() instead of lingering for the life of the process.
        self._stop_event.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- recording -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def messages(self) -> list[dict[str, Any]]:
        """Bodies of POST /v1/messages requests that were answered with 200."""
        return [
            r.body
            for r in self.requests
            if r.method == "POST" and r.path == "/v1/messages" and r.status == 200
        ]

    def calls(self, path_prefix: str = "/", method: str | None = None) -> int:
        """How many requests hit a path starting with `path_prefix` (any outcome).

        Note that "/v1/messages" also counts count_tokens and batch calls; pass the exact
        sub-path to narrow it.
        """
        return sum(
            1
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        )

    def reset(self) -> None:
        """Forget recorded requests, rules, the prompt cache and batches; keep the server up."""
        with self._lock:
            self._requests.clear()
            self.handler_errors.clear()
            self._init_rules()

    # -- rules -----------------------------------------------------------------------------------

    @property
    def seed(self) -> int | None:
        return self._seed

    @seed.setter
    def seed(self, value: int | None) -> None:
        with self._lock:
            self._seed = value
            self._rng = random.Random(value)

    def add_fault(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after_ms: float | None = None,
        retry_after: float | str | None = None,
        error_type: str | None = None,
        match: Match | None = None,
        should_retry: bool | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer the next `times` matching requests with an error `status`.

        `match(path, body)` narrows which requests count; without it any authenticated request
        does. Faults are consumed in the order they were added. `should_retry` sets the
        `x-should-retry` header, which overrides the SDK's status-based decision.
        """
        fault = Fault(
            status=status,
            times=times,
            retry_after_ms=retry_after_ms,
            retry_after=retry_after,
            error_type=error_type,
            match=match,
            should_retry=should_retry,
            message=message,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_hang(self, seconds: float, times: int = 1, match: Match | None = None) -> Hang:
        """Delay the next `times` matching requests by `seconds` before answering normally."""
        hang = Hang(seconds=seconds, times=times, match=match)
        with self._lock:
            self._hangs.append(hang)
        return hang

    # -- token accounting ------------------------------------------------------------------------

    def count_tokens(self, body: dict[str, Any]) -> TokenCount:
        """Price a request's input the way the fake reports it.

        system = ceil(len(system text) / 4); rest = ceil(len(all message text + compact JSON of
        the output schema) / 4); each image ceil(w * h / 750). Text of every turn counts, as the
        real API bills assistant prefill too.
        """
        return _analyse(body, validate=False)

    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on: cache entries older than their TTL expire."""
        with self._lock:
            self.clock_offset += seconds

    def min_cacheable(self, model: str) -> int:
        for name, minimum in MIN_CACHEABLE_BY_MODEL.items():
            if model == name or model.startswith(name + "-"):
                return minimum
        return self.min_cacheable_tokens

    def _usage(
        self,
        count: TokenCount,
        output_tokens: int,
        tier: str,
        model: str = "",
        arrived: float | None = None,
    ) -> dict[str, Any]:
        """Cache accounting as the API does it: the prefix up to the last breakpoint is
        written (if long enough for the model) by a request that finds no live entry, and
        read by requests that arrive after the write while it lives; a read refreshes the
        TTL. Requests in flight together all miss, and all write."""
        created = read = 0
        if count.prefix and count.prefix >= self.min_cacheable(model):
            key = hashlib.sha256(f"{model}\x1f{count.cache_key}".encode()).hexdigest()
            ttl = CACHE_TTL_SECONDS.get(count.cache_ttl, 300.0)
            with self._lock:
                now = self.now()
                since = now if arrived is None else arrived
                written, expiry = self._cache.get(key, (now, -1.0))
                if written <= since and expiry > now:
                    read = count.prefix
                    self._cache[key] = (written, max(expiry, now + ttl))
                else:
                    created = count.prefix
                    self._cache[key] = (now, now + ttl)
        one_hour = count.cache_ttl == "1h"
        return {
            "input_tokens": count.total - created - read,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": created,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": 0 if one_hour else created,
                "ephemeral_1h_input_tokens": created if one_hour else 0,
            },
            "server_tool_use": None,
            "service_tier": tier,
        }

    # -- request processing ----------------------------------------------------------------------

    def _respond_text(self, body: dict[str, Any]) -> str:
        text_in = user_text(body)
        with self._lock:
            markers = list(self.responses_by_marker.items())
            responder = self.responder
        reply: Any = next((resp for marker, resp in markers if marker in text_in), None)
        if reply is None:
            reply = responder(body)
        return reply if isinstance(reply, str) else json.dumps(reply)

    def _create_message(
        self, body: JSON, tier: str = "standard", arrived: float | None = None
    ) -> dict[str, Any]:
        count = _analyse(body, validate=True)
        text = self._respond_text(body)
        stop_reason = "end_turn"
        max_tokens = body["max_tokens"]
        # Mirror the API cutting output at max_tokens so truncation handling can be tested.
        if text_tokens(text) > max_tokens:
            text = text[: max_tokens * 4]
            stop_reason = "max_tokens"
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": self._usage(count, text_tokens(text), tier, str(body["model"]), arrived),
        }

    def _take_rule(self, rules: list[Any], path: str, body: JSON) -> Any:
        with self._lock:
            for rule in rules:
                if rule.times > 0 and (rule.match is None or rule.match(path, body)):
                    rule.times -= 1
                    return rule
        return None

    def _random_fault(self, method: str, path: str) -> Fault | None:
        if method != "POST" or path != "/v1/messages":
            return None
        with self._lock:
            if self.fault_rate <= 0 or self._rng.random() >= self.fault_rate:
                return None
            status = self._rng.choice((429, 500, 529))
        return Fault(status=status, times=0, retry_after_ms=1)

    def _batch_object(self, batch: FakeBatch) -> dict[str, Any]:
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if batch.status == "ended":
            for result in batch.results.values():
                counts[result["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": rfc3339(batch.created_at),
            "expires_at": rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": rfc3339(batch.ended_at) if batch.ended_at else None,
            "cancel_initiated_at": (
                rfc3339(batch.cancel_initiated_at) if batch.cancel_initiated_at else None
            ),
            "archived_at": None,
            "results_url": f"{self.url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }

    def _end_batch(self, batch: FakeBatch) -> None:
        for item in batch.requests:
            custom_id = item["custom_id"]
            forced = self.batch_outcomes.get(custom_id)
            if batch.status == "canceling" and forced is None:
                forced = "canceled"
            if forced == "errored":
                batch.results[custom_id] = {
                    "type": "errored",
                    "error": error_body("api_error", "Fake forced error."),
                }
            elif forced in ("expired", "canceled"):
                batch.results[custom_id] = {"type": forced}
            else:
                try:
                    message = self._create_message(item["params"], tier="batch")
                    batch.results[custom_id] = {"type": "succeeded", "message": message}
                except ApiError as err:
                    batch.results[custom_id] = {"type": "errored", "error": err.body()}
        batch.status = "ended"
        batch.ended_at = datetime.now(UTC)

    def _get_batch(self, batch_id: str) -> FakeBatch:
        batch = self.batches.get(batch_id)
        if batch is None:
            raise ApiError(404, f"Message batch {batch_id} not found.", "not_found_error")
        return batch

    def _create_batch(self, body: JSON) -> dict[str, Any]:
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise bad_request("requests: Field required and must be a non-empty list")
        seen: set[str] = set()
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or not isinstance(item.get("params"), dict):
                raise bad_request(f"requests.{i}.params: Field required")
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not CUSTOM_ID_RE.match(custom_id):
                raise bad_request(
                    f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                )
            if custom_id in seen:
                raise bad_request(f"requests: Found duplicate custom_id `{custom_id}`.")
            seen.add(custom_id)
        batch = FakeBatch(
            id=f"msgbatch_{uuid.uuid4().hex[:24]}",
            requests=[{"custom_id": r["custom_id"], "params": r["params"]} for r in requests],
            created_at=datetime.now(UTC),
        )
        with self._lock:
            self.batches[batch.id] = batch
            return self._batch_object(batch)

    def _retrieve_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status != "ended":
                batch.polls += 1
                # A cancel settles on the next poll, whatever the poll budget.
                if batch.status == "canceling" or batch.polls > self.batch_polls_before_end:
                    self._end_batch(batch)
            return self._batch_object(batch)

    def _list_batches(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = int(query.get("limit", ["20"])[0])
        with self._lock:
            ordered = sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True)
            ids = [b.id for b in ordered]
            if "after_id" in query and query["after_id"][0] in ids:
                ordered = ordered[ids.index(query["after_id"][0]) + 1 :]
                page, has_more = ordered[:limit], len(ordered) > limit
            elif "before_id" in query and query["before_id"][0] in ids:
                ordered = ordered[: ids.index(query["before_id"][0])]
                page, has_more = ordered[-limit:], len(ordered) > limit
            else:
                page, has_more = ordered[:limit], len(ordered) > limit
            data = [self._batch_object(b) for b in page]
        return {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def _cancel_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(UTC)
            return self._batch_object(batch)

    def _delete_batch(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status != "ended":
                raise bad_request(f"Message batch {batch_id} cannot be deleted while processing.")
            del self.batches[batch_id]
        return {"id": batch_id, "type": "message_batch_deleted"}

    def _batch_results(self, batch_id: str) -> bytes:
        with self._lock:
            batch = self._get_batch(batch_id)
            if batch.status != "ended":
                raise ApiError(404, f"Results for {batch_id} are not available yet.")
            lines = [
                json.dumps({"custom_id": cid, "result": result})
                for cid, result in batch.results.items()
            ]
        return ("\n".join(lines) + "\n").encode()

    def _authenticate(self, headers: dict[str, str]) -> None:
        key = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key or key in self.invalid_keys:
            raise ApiError(401, "invalid x-api-key", "authentication_error")
        if "anthropic-version" not in headers:
            raise bad_request("anthropic-version: header is required")

    def _dispatch(self, request: RecordedRequest) -> tuple[int, str, bytes]:
        """Route an authenticated, fault-free request; returns (status, content type, body)."""
        method, path, body = request.method, request.path, request.body
        parts = path.strip("/").split("/")
        if path == "/v1/messages" and method == "POST":
            message = self._create_message(body, arrived=request.arrived)
            if isinstance(body, dict) and body.get("stream"):
                return 200, "text/event-stream", _sse(message)
            return 200, "application/json", json.dumps(message).encode()
        if path == "/v1/messages/count_tokens" and method == "POST":
            total = _analyse(body, validate=True, need_max_tokens=False).total
            return 200, "application/json", json.dumps({"input_tokens": total}).encode()
        if parts[:3] == ["v1", "messages", "batches"]:
            result: dict[str, Any] | None = None
            if len(parts) == 3 and method == "POST":
                result = self._create_batch(body)
            elif len(parts) == 3 and method == "GET":
                result = self._list_batches(request.query)
            elif len(parts) == 4 and method == "GET":
                result = self._retrieve_batch(parts[3])
            elif len(parts) == 4 and method == "DELETE":
                result = self._delete_batch(parts[3])
            elif len(parts) == 5 and parts[4] == "cancel" and method == "POST":
                result = self._cancel_batch(parts[3])
            elif len(parts) == 5 and parts[4] == "results" and method == "GET":
                return 200, "application/binary", self._batch_results(parts[3])
            if result is not None:
                return 200, "application/json", json.dumps(result).encode()
        raise ApiError(404, f"Not found: {method} {path}", "not_found_error")

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        raw = _read_body(handler)
        body: JSON = None
        body_error = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = True
        request = RecordedRequest(
            method=handler.command,
            path=split.path,
            headers=headers,
            body=body,
            time=time.time(),
            query=parse_qs(split.query),
            arrived=self.now(),
        )
        with self._lock:
            self._requests.append(request)

        extra_headers: dict[str, str] = {}
        try:
            hang = self._take_rule(self._hangs, request.path, body)
            if hang is not None:
                self._stop_event.wait(hang.seconds)
            self._authenticate(headers)
            fault = self._take_rule(self._faults, request.path, body) or self._random_fault(
                request.method, request.path
            )
            if fault is not None:
                extra_headers = _fault_headers(fault)
                raise ApiError(
                    fault.status,
                    fault.message or f"Fake {fault.status} injected by FakeAnthropic.",
                    fault.error_type,
                )
            if request.path in ("/v1/messages", "/v1/messages/count_tokens") and self.latency:
                self._stop_event.wait(self.latency)
            if body_error:
                raise bad_request("The request body is not valid JSON.")
            status, content_type, payload = self._dispatch(request)
        except ApiError as err:
            status, content_type = err.status, "application/json"
            payload = json.dumps(err.body()).encode()
        except Exception as exc:  # a responder bug must not kill the server thread
            with self._lock:
                self.handler_errors.append(exc)
            status, content_type = 500, "application/json"
            payload = json.dumps(error_body("api_error", f"Fake handler error: {exc!r}")).encode()
            # Retrying would only repeat the bug and hide it behind backoff.
            extra_headers = {"x-should-retry": "false"}

        request.status = status
        if self._stop_event.is_set():
            return
        with contextlib.suppress(OSError):
            handler.send_response(status)
            handler.send_header("content-type", content_type)
            handler.send_header("content-length", str(len(payload)))
            handler.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            for name, value in extra_headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
            handler.wfile.flush()


def _fault_headers(fault: Fault) -> dict[str, str]:
    headers: dict[str, str] = {}
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    if fault.retry_after is not None:
        headers["retry-after"] = str(fault.retry_after)
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    return headers


def _sse(message: dict[str, Any]) -> bytes:
    """The message as the event stream `stream=True` expects, text in one delta."""
    text = message["content"][0]["text"]
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Consume trailers up to the blank line that ends the body.
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


def _check_image(source: Any, where: str, max_side: int) -> tuple[int, int] | None:
    """Validate an image source like the API; returns its size, or None for a URL image."""
    if not isinstance(source, dict):
        raise bad_request(f"{where}.source: Field required")
    if source.get("type") == "url":
        return None
    if source.get("type") != "base64":
        raise bad_request(f"{where}.source.type: Input should be 'base64' or 'url'")
    media_type = source.get("media_type")
    if media_type not in ALLOWED_IMAGE_TYPES:
        raise bad_request(
            f"{where}.source.base64.media_type: Input should be 'image/jpeg', 'image/png', "
            f"'image/gif' or 'image/webp'"
        )
    try:
        data = base64.b64decode(source.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise bad_request(
            f"{where}.source.base64.data: The image data is not valid base64"
        ) from None
    if len(data) > MAX_IMAGE_BYTES:
        raise bad_request(
            f"{where}.source.base64: image exceeds 5 MB maximum: "
            f"{len(data)} bytes > {MAX_IMAGE_BYTES} bytes"
        )
    if sniff_image_type(data) != media_type:
        raise bad_request(
            f"{where}.source.base64.data: Image does not match the provided media type {media_type}"
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        width = height = max_side + 1
    except Exception:
        raise bad_request(f"{where}.source.base64.data: Could not process image") from None
    if width > max_side or height > max_side:
        raise bad_request(
            f"{where}.source.base64.data: At least one of the image dimensions exceed max "
            f"allowed size: {max_side} pixels"
        )
    return width, height


def _check_params(body: dict[str, Any], need_max_tokens: bool) -> None:
    for name in ("model", "messages") + (("max_tokens",) if need_max_tokens else ()):
        if name not in body:
            raise bad_request(f"{name}: Field required")
    model = body["model"]
    if not isinstance(model, str) or not model:
        raise bad_request("model: Input should be a valid string")
    if need_max_tokens and (
        not isinstance(body["max_tokens"], int)
        or isinstance(body["max_tokens"], bool)
        or body["max_tokens"] < 1
    ):
        raise bad_request("max_tokens: Input should be greater than or equal to 1")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise bad_request("messages: at least one message is required")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise bad_request(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if not isinstance(content, str | list) or not content:
            raise bad_request(f"messages.{i}: all messages must have non-empty content")
    if messages[-1].get("role") != "user":
        raise bad_request("messages: the final message must be a user turn")
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise bad_request("system: Input should be a string or a list of text blocks")
    if isinstance(system, list) and any(
        not isinstance(b, dict) or b.get("type") != "text" or not isinstance(b.get("text"), str)
        for b in system
    ):
        raise bad_request("system: Input should be a string or a list of text blocks")
    if model.startswith(NO_SAMPLING_MODEL_PREFIXES):
        for name in SAMPLING_PARAMS:
            if body.get(name) is not None:
                raise bad_request(f"`{name}` is not supported for model {model}.")
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        if model.startswith(NO_SAMPLING_MODEL_PREFIXES):
            raise bad_request(
                f"thinking.type: 'enabled' is not supported for model {model}; use 'adaptive'."
            )
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise bad_request("thinking.enabled.budget_tokens: Input should be >= 1024")
        if need_max_tokens and budget >= body["max_tokens"]:
            raise bad_request("`max_tokens` must be greater than `thinking.budget_tokens`.")
    output_config = body.get("output_config")
    if output_config is not None:
        fmt = output_config.get("format") if isinstance(output_config, dict) else None
        if fmt is not None and (
            not isinstance(fmt, dict)
            or fmt.get("type") != "json_schema"
            or not isinstance(fmt.get("schema"), dict)
        ):
            raise bad_request("output_config.format: expected {type: 'json_schema', schema: {...}}")


def _analyse(body: JSON, *, validate: bool, need_max_tokens: bool = True) -> TokenCount:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if validate:
        _check_params(body, need_max_tokens)
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    image_blocks = [
        (f"messages.{i}.content.{j}", block)
        for i, m in enumerate(messages)
        for j, block in enumerate(_blocks(m.get("content")))
        if block.get("type") == "image"
    ]
    max_side = MAX_IMAGE_SIDE_MANY if len(image_blocks) > MANY_IMAGES else MAX_IMAGE_SIDE
    images: list[tuple[int, int]] = []
    url_images = 0
    for where, block in image_blocks:
        if validate:
            size = _check_image(block.get("source"), where, max_side)
        else:
            try:
                size = _check_image(block.get("source"), where, 10**9)
            except ApiError:
                size = (0, 0)
        if size is None:
            url_images += 1
        else:
            images.append(size)

    system = body.get("system")
    sys_text = system_text(system) if system is not None else ""
    fmt = (body.get("output_config") or {}).get("format") or {}
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    schema_json = json.dumps(schema, separators=(",", ":")) if schema is not None else ""
    message_text = "".join("".join(_block_texts(m.get("content"))) for m in messages)
    prefix, ttl, key = _cache_prefix(system, messages)
    count = TokenCount(
        system=text_tokens(sys_text),
        rest=text_tokens(message_text + schema_json) + url_images * URL_IMAGE_TOKENS,
        images=images,
        prefix=prefix,
        cache_ttl=ttl,
        cache_key=key,
    )
    return count


def _cache_prefix(system: Any, messages: list[dict[str, Any]]) -> tuple[int, str, str]:
    """(tokens, ttl, key) of the prefix up to the last block marked cache_control.

    Order as the API reads it: system blocks, then each message's blocks. Text counts as
    everywhere in the fake (ceil(chars / 4)); an image block as its pixels. The schema is
    not part of the prefix: it is sent beside it, the same for every request of a kind.
    """
    blocks: list[tuple[str, dict[str, Any]]] = []
    if isinstance(system, list):
        blocks += [("system", b) for b in system if isinstance(b, dict)]
    for m in messages:
        blocks += [(str(m.get("role")), b) for b in _blocks(m.get("content"))]
    last = max(
        (i for i, (_, b) in enumerate(blocks) if isinstance(b.get("cache_control"), dict)),
        default=-1,
    )
    if last < 0:
        return 0, "", ""
    texts, pixels = [], 0
    for _, block in blocks[: last + 1]:
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "image":
            try:
                size = _check_image(block.get("source"), "", 10**9)
            except ApiError:
                size = None
            pixels += image_tokens(*size) if size else URL_IMAGE_TOKENS
    # A system prompt's blocks are counted like one text, as `TokenCount.system` does.
    tokens = text_tokens("".join(texts)) + pixels
    marked = blocks[last][1]["cache_control"]
    bare = [
        [role, {k: v for k, v in b.items() if k != "cache_control"}]
        for role, b in blocks[: last + 1]
    ]
    key = json.dumps(bare, sort_keys=True)
    return tokens, str(marked.get("ttl", "5m")), key


def _make_handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 so the SDK's connection pool reuses sockets as it would against the real API.
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms each.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with fake._lock:
                fake._connections.add(self.connection)

        def finish(self) -> None:
            with fake._lock:
                fake._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def do_GET(self) -> None:
            fake._handle(self)

        def do_POST(self) -> None:
            fake._handle(self)

        def do_DELETE(self) -> None:
            fake._handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A started FakeAnthropic that `anthropic.Anthropic()` reaches through the environment."""
    fake = FakeAnthropic().start()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    # A proxy from the developer's shell would swallow requests to 127.0.0.1.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "ANTHROPIC_AUTH_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    try:
        yield fake
    finally:
        fake.stop()
