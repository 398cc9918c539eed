"""`FakeAnthropic`: the fake API served over real HTTP, for tests that drive the real SDK.

The SDK is built on httpx2, which respx and pytest-httpx cannot intercept, so the only
faithful double is a server: a `ThreadingHTTPServer` on 127.0.0.1 that the SDK reaches
through `ANTHROPIC_BASE_URL`. Every success body is shaped so that
`anthropic.Anthropic(_strict_response_validation=True)` accepts it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from fake_anthropic.batches import Batches
from fake_anthropic.caching import PromptCache
from fake_anthropic.faults import ApiError, FaultRules, bad_request, error_body, fault_headers
from fake_anthropic.messages import Replies, analyse
from fake_anthropic.wire import JSON


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: JSON
    time: float
    # On the fake's clock: a request reads only cache entries written before it arrived,
    # as requests already in flight when a prefix is written do not see it.
    arrived: float = 0.0
    # Filled in once the reply is sent; 0 means the handler never replied (e.g. the server stopped).
    status: int = 0


class FakeAnthropic(Replies, PromptCache, Batches, FaultRules):
    """A local HTTP server that answers like the Claude Messages API.

    Configure it through public attributes (`responder`, `responses_by_marker`,
    `invalid_keys`, `min_cacheable_tokens`, `batch_polls_before_end`, `batch_outcomes`,
    `fault_rate`, `seed`, `latency`) and the `add_fault` / `add_hang` rules; read what it
    saw through `requests`, `messages()` and `calls()`.
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
        # Exceptions raised by a responder; they surface to the client as 500s, and here for tests.
        self.handler_errors: list[BaseException] = []
        self._init_rules()

    def _init_rules(self) -> None:
        # Seconds added to every /v1/messages and count_tokens reply.
        self.latency = 0.0
        self._reset_replies()
        self._reset_cache()
        self._reset_batches()
        self._reset_faults()

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

    def _results_url(self, batch_id: str) -> str | None:
        return f"{self.url}/v1/messages/batches/{batch_id}/results"

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
            return 200, "application/json", json.dumps(message).encode()
        if path == "/v1/messages/count_tokens" and method == "POST":
            total = analyse(body, validate=True, need_max_tokens=False).total
            return 200, "application/json", json.dumps({"input_tokens": total}).encode()
        if parts[:3] == ["v1", "messages", "batches"]:
            result: dict[str, Any] | None = None
            if len(parts) == 3 and method == "POST":
                result = self._create_batch(body)
            elif len(parts) == 4 and method == "GET":
                result = self._retrieve_batch(parts[3])
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
                extra_headers = fault_headers(fault)
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


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""


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
