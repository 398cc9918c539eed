"""`MessagesAPI` over the SDK, and the only module that imports `anthropic`.

The key comes only from ANTHROPIC_API_KEY; ANTHROPIC_BASE_URL is honoured by the SDK.
Retries are the SDK's own (408/409/429/5xx/connection errors, honouring retry-after-ms
and retry-after). The SDK waits as long as a server asks, so a middleware clamps each
requested wait to `max_wait` seconds: with `max_retries` tries, one request can wait at
most max_retries * max_wait seconds in total before it is reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import cast

import anthropic
from anthropic.types.messages.batch_create_params import Request

from pipeline.enrich.api import BatchResult, BatchStatus, Reply
from pipeline.enrich.pricing import Usage
from pipeline.errors import NO_KEY, Fatal, RequestFailed

DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_WAIT = 20.0


class _ClampRetryWait(anthropic.Middleware):
    """Cap how long the SDK sleeps on one retry-after before trying again."""

    def __init__(self, max_wait: float):
        self.max_wait = max_wait

    def handle(self, request, call_next):
        response = call_next(request)
        headers = response.http_response.headers
        cap_ms = int(self.max_wait * 1000)
        ms = _retry_after_ms(headers)
        if ms is not None and ms > cap_ms:
            headers["retry-after-ms"] = str(cap_ms)
            if "retry-after" in headers:
                del headers["retry-after"]
        return response


def _retry_after_ms(headers) -> float | None:
    try:
        return float(headers["retry-after-ms"])
    except (KeyError, TypeError, ValueError):
        pass
    try:
        return float(headers["retry-after"]) * 1000
    except (KeyError, TypeError, ValueError):
        # An HTTP date: treat it as a long wait, so it is clamped.
        return float("inf") if "retry-after" in headers else None


def _usage(u) -> Usage:
    creation = getattr(u, "cache_creation", None)
    return Usage(
        input_tokens=u.input_tokens or 0,
        output_tokens=u.output_tokens or 0,
        cache_creation_input_tokens=getattr(u, "cache_creation_input_tokens", 0) or 0,
        cache_read_input_tokens=getattr(u, "cache_read_input_tokens", 0) or 0,
        cache_creation_1h_input_tokens=getattr(creation, "ephemeral_1h_input_tokens", 0) or 0,
    )


def _reply(message, request_id: str | None = None) -> Reply:
    # Newer models may open with a thinking block: pick text blocks by type.
    text = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
    return Reply(
        text=text,
        usage=_usage(message.usage),
        stop_reason=message.stop_reason,
        request_id=request_id or getattr(message, "_request_id", None),
        model=message.model,
    )


def _failure(e: Exception) -> Exception:
    """Map SDK errors to ours: a bad key stops the run; others fail one item."""
    if isinstance(e, anthropic.AuthenticationError | anthropic.PermissionDeniedError):
        return Fatal(
            f"the API rejected ANTHROPIC_API_KEY ({e.status_code}): check the key "
            "(and, in CI, the repository secret)",
            exit_code=2,
        )
    if isinstance(e, anthropic.APIStatusError):
        message = _error_message(e)
        retryable = e.status_code in (408, 409, 429) or e.status_code >= 500
        return RequestFailed(
            f"API error {e.status_code}: {message}",
            retryable=retryable,
            permanent=e.status_code in (400, 413),
        )
    if isinstance(e, anthropic.APITimeoutError):
        return RequestFailed("request timed out after retries", retryable=True)
    if isinstance(e, anthropic.APIConnectionError):
        return RequestFailed(f"cannot reach the API ({e.__class__.__name__})", retryable=True)
    return e


def _error_message(e: anthropic.APIStatusError) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    inner = body.get("error")
    err = inner if isinstance(inner, dict) else body
    return str(err.get("message") or e.message)[:200]


class Client:
    """The real `MessagesAPI`: SDK errors become RequestFailed (one item) or Fatal."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_wait: float = DEFAULT_MAX_WAIT,
    ):
        key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
        if not key:
            raise Fatal(NO_KEY, exit_code=2)
        self._sdk = anthropic.Anthropic(
            api_key=key,
            timeout=anthropic.Timeout(timeout, connect=5.0),
            max_retries=max_retries,
            middleware=[_ClampRetryWait(max_wait)],
        )

    def create(self, params: dict) -> Reply:
        try:
            raw = self._sdk.messages.with_raw_response.create(**params)
            message = raw.parse()
        except anthropic.APIError as e:
            raise _failure(e) from None
        return _reply(message, raw.headers.get("request-id"))

    def count_tokens(self, params: dict) -> int:
        body = {k: v for k, v in params.items() if k not in ("max_tokens",)}
        try:
            return self._sdk.messages.count_tokens(**body).input_tokens
        except anthropic.APIError as e:
            raise _failure(e) from None

    # --- Message Batches (50 % price; results within 24 h) -------------------------------

    def batch_create(self, requests: list[dict]) -> str:
        try:
            # Our bodies are plain dicts (api.message_params), not the SDK's TypedDicts;
            # the API validates them on arrival.
            return self._sdk.messages.batches.create(requests=cast("list[Request]", requests)).id
        except anthropic.APIError as e:
            raise _failure(e) from None

    def batch_status(self, batch_id: str) -> BatchStatus:
        try:
            batch = self._sdk.messages.batches.retrieve(batch_id)
        except anthropic.APIError as e:
            raise _failure(e) from None
        return BatchStatus(batch.processing_status, batch.request_counts.model_dump())

    def batch_results(self, batch_id: str) -> Iterator[BatchResult]:
        try:
            for entry in self._sdk.messages.batches.results(batch_id):
                result = entry.result
                kind = result.type
                if result.type == "succeeded":
                    yield BatchResult(entry.custom_id, kind, _reply(result.message))
                elif result.type == "errored":
                    err = result.error
                    inner = getattr(err, "error", err)
                    why = getattr(inner, "message", None) or json.dumps(err.model_dump())[:200]
                    error_type = str(getattr(inner, "type", "") or "")
                    yield BatchResult(entry.custom_id, kind, str(why), error_type)
                else:
                    yield BatchResult(entry.custom_id, kind, kind)
        except anthropic.APIError as e:
            raise _failure(e) from None
