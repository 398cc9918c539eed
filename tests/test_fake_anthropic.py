"""The fake must speak the real wire format: every test drives the real SDK in strict mode."""

from __future__ import annotations

import base64
import io
import json
import math
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import anthropic
import fake_anthropic
import pytest
from anthropic.types.messages import MessageBatchIndividualResponse
from fake_anthropic import FakeAnthropic
from PIL import Image

# Bound here so pytest finds the fixture without the project's conftest.
fake_api = fake_anthropic.fake_api

MODEL = "claude-haiku-4-5"
NEW_MODEL = "claude-haiku-5-5"


def make_client(**kwargs: Any) -> anthropic.Anthropic:
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 5.0)
    return anthropic.Anthropic(_strict_response_validation=True, **kwargs)


def image_b64(width: int, height: int, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 160)).save(buf, format=fmt)
    return base64.b64encode(buf.getvalue()).decode()


def image_block(data: str, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


def raw(
    fake: FakeAnthropic,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """A request the SDK would refuse to send (no key, missing fields), straight over HTTP."""
    all_headers = {"anthropic-version": "2023-06-01", "content-type": "application/json"}
    all_headers.update(headers if headers is not None else {"x-api-key": "test-key"})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(fake.url + path, data=data, method=method)
    for name, value in all_headers.items():
        request.add_header(name, value)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=5) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def test_text_message(fake_api: FakeAnthropic) -> None:
    prompt = "Hello there, Claude"
    msg = make_client().messages.create(model=MODEL, max_tokens=64, messages=user(prompt))

    assert msg.type == "message" and msg.role == "assistant" and msg.model == MODEL
    assert msg.content[0].type == "text" and msg.content[0].text == "Fake reply."
    assert msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == math.ceil(len(prompt) / 4)
    assert msg.usage.output_tokens == math.ceil(len("Fake reply.") / 4)
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0
    assert msg._request_id and msg._request_id.startswith("req_")
    [recorded] = fake_api.requests
    assert recorded.headers["authorization"] == "Bearer test-key"
    assert "anthropic-version" in recorded.headers
    assert recorded.status == 200
    assert fake_api.messages() == [recorded.body]
    assert recorded.body["messages"][0]["content"] == prompt


def test_structured_output_json_schema(fake_api: FakeAnthropic) -> None:
    schema = {
        "type": "object",
        "properties": {
            "summary": {"type": "string"},
            "decorative": {"type": "boolean"},
        },
        "required": ["summary", "decorative"],
        "additionalProperties": False,
    }
    client = make_client()

    def ask(text: str) -> dict[str, Any]:
        msg = client.messages.create(
            model=MODEL,
            max_tokens=200,
            messages=user(text),
            output_config={"effort": "low", "format": {"type": "json_schema", "schema": schema}},
        )
        return json.loads(msg.content[0].text)

    first = ask("Summarise the install page: pip install it.")
    assert first["decorative"] is False
    assert first["summary"].startswith("Fake text ")
    assert first["summary"].endswith("about Summarise the install.")
    assert len(first["summary"]) < 100
    assert ask("Summarise the install page: pip install it.") == first
    assert ask("Summarise the other page.")["summary"] != first["summary"]
    # The schema is billed as input, so the count must include it.
    body = fake_api.messages()[0]
    assert fake_api.count_tokens(body).rest > math.ceil(len(body["messages"][0]["content"]) / 4)


def test_markers_and_responder(fake_api: FakeAnthropic) -> None:
    client = make_client()
    fake_api.responses_by_marker["page-42"] = {"summary": "Forty-two."}
    fake_api.responder = lambda body: "not json {"

    hit = client.messages.create(model=MODEL, max_tokens=50, messages=user("Page page-42 text"))
    miss = client.messages.create(model=MODEL, max_tokens=50, messages=user("Other page"))

    assert json.loads(hit.content[0].text) == {"summary": "Forty-two."}
    assert miss.content[0].text == "not json {"


def test_responder_bug_is_a_500_that_is_not_retried(fake_api: FakeAnthropic) -> None:
    def broken(body: dict[str, Any]) -> str:
        raise KeyError("summary")

    fake_api.responder = broken
    with pytest.raises(anthropic.InternalServerError):
        make_client(max_retries=2).messages.create(model=MODEL, max_tokens=10, messages=user("x"))
    assert fake_api.calls("/v1/messages") == 1
    assert isinstance(fake_api.handler_errors[0], KeyError)


def test_output_cut_at_max_tokens(fake_api: FakeAnthropic) -> None:
    fake_api.responder = lambda body: "x" * 400
    msg = make_client().messages.create(model=MODEL, max_tokens=10, messages=user("Long"))
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 10 and len(msg.content[0].text) == 40


def test_image_message(fake_api: FakeAnthropic) -> None:
    prompt = "Alt text for photo.png"
    msg = make_client().messages.create(
        model=MODEL,
        max_tokens=50,
        messages=user([image_block(image_b64(300, 200)), {"type": "text", "text": prompt}]),
    )
    assert msg.content[0].text == "Fake reply."
    assert msg.usage.input_tokens == math.ceil(300 * 200 / 750) + math.ceil(len(prompt) / 4)


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        (image_block("PHN2Zz48L3N2Zz4=", "image/svg+xml"), "media_type"),
        (image_block("not base64!!"), "not valid base64"),
        (image_block(image_b64(20, 20, "JPEG"), "image/png"), "does not match"),
        (image_block(image_b64(8001, 10)), "8000 pixels"),
        (
            image_block(
                base64.b64encode(
                    base64.b64decode(image_b64(4, 4)) + b"\0" * (5 * 1024 * 1024)
                ).decode()
            ),
            "5 MB",
        ),
    ],
    ids=["svg", "bad-base64", "jpeg-as-png", "too-wide", "too-big"],
)
def test_invalid_images_are_400(
    fake_api: FakeAnthropic, block: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        make_client().messages.create(
            model=MODEL, max_tokens=50, messages=user([block, {"type": "text", "text": "alt?"}])
        )
    assert info.value.status_code == 400
    assert isinstance(info.value.body, dict)
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert fragment in info.value.body["error"]["message"]
    assert fake_api.messages() == []


def test_prompt_cache_usage(fake_api: FakeAnthropic) -> None:
    client = make_client()
    MODEL = "claude-haiku-5-5"  # 512-token minimum; 4.5 Haiku needs 4,096
    long_system = "You write concise page summaries. " * 70  # ~600 tokens
    system_tokens = math.ceil(len(long_system) / 4)
    assert system_tokens >= fake_api.min_cacheable(MODEL)
    cached = [{"type": "text", "text": long_system, "cache_control": {"type": "ephemeral"}}]
    prompt = "Summarise page one"

    first = client.messages.create(model=MODEL, max_tokens=50, system=cached, messages=user(prompt))
    second = client.messages.create(
        model=MODEL, max_tokens=50, system=cached, messages=user(prompt)
    )

    assert first.usage.cache_creation_input_tokens == system_tokens
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == system_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.cache_read_input_tokens == system_tokens
    assert first.usage.input_tokens == second.usage.input_tokens == math.ceil(len(prompt) / 4)

    short = [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        msg = client.messages.create(model=MODEL, max_tokens=50, system=short, messages=user("x"))
        assert msg.usage.cache_creation_input_tokens == 0
        assert msg.usage.cache_read_input_tokens == 0
        assert msg.usage.input_tokens == math.ceil(len("Be brief.") / 4) + 1


def _cached_call(client, model: str, system: str, ttl: str | None = None, text: str = "x"):
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl:
        control["ttl"] = ttl
    blocks = [{"type": "text", "text": system, "cache_control": control}]
    return client.messages.create(
        model=model, max_tokens=50, system=blocks, messages=user(text)
    ).usage


def test_prompt_cache_minimum_is_per_model(fake_api: FakeAnthropic) -> None:
    client = make_client()
    system = "Rules. " * 400  # 700 tokens: over Haiku 5.5's 512, under Haiku 4.5's 4,096
    for _ in range(2):
        u = _cached_call(client, "claude-haiku-4-5", system)
        assert (u.cache_creation_input_tokens, u.cache_read_input_tokens) == (0, 0)
        assert u.input_tokens == 700 + 1
    first = _cached_call(client, "claude-haiku-5-5", system)
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (700, 0)
    # The cache is per model: another model writes its own entry.
    other = _cached_call(client, "claude-opus-5-5", system)
    assert (other.cache_creation_input_tokens, other.cache_read_input_tokens) == (700, 0)


def test_prompt_cache_expires_after_its_ttl_and_reads_refresh_it(fake_api: FakeAnthropic) -> None:
    client = make_client()
    model, system = "claude-haiku-5-5", "Rules. " * 400
    assert _cached_call(client, model, system).cache_creation_input_tokens == 700
    fake_api.advance(240)
    assert _cached_call(client, model, system).cache_read_input_tokens == 700  # refreshed
    fake_api.advance(240)  # 480 s after the write, 240 s after the read
    assert _cached_call(client, model, system).cache_read_input_tokens == 700
    fake_api.advance(301)
    expired = _cached_call(client, model, system)
    assert (expired.cache_creation_input_tokens, expired.cache_read_input_tokens) == (700, 0)

    hour = "Hour rules. " * 300
    written = _cached_call(client, model, hour, ttl="1h")
    assert written.cache_creation is not None
    assert written.cache_creation.ephemeral_1h_input_tokens == 900
    assert written.cache_creation.ephemeral_5m_input_tokens == 0
    fake_api.advance(3000)
    assert _cached_call(client, model, hour, ttl="1h").cache_read_input_tokens == 900
    fake_api.advance(3601)
    assert _cached_call(client, model, hour, ttl="1h").cache_creation_input_tokens == 900


def test_prompt_cache_prefix_ends_at_the_last_breakpoint(fake_api: FakeAnthropic) -> None:
    # Blocks after the breakpoint vary freely; a breakpoint in the messages caches the
    # system prompt and the marked message blocks together.
    client = make_client()
    model = "claude-haiku-5-5"
    system = [{"type": "text", "text": "S" * 400}]
    shared = {"type": "text", "text": "E" * 2000, "cache_control": {"type": "ephemeral"}}
    usages = [
        client.messages.create(
            model=model,
            max_tokens=50,
            system=system,
            messages=user([shared, {"type": "text", "text": f"item {n}"}]),
        ).usage
        for n in range(3)
    ]
    assert [u.cache_creation_input_tokens for u in usages] == [600, 0, 0]
    assert [u.cache_read_input_tokens for u in usages] == [0, 600, 600]
    assert {u.input_tokens for u in usages} == {2}  # "item n": the part after the breakpoint


def test_count_tokens_matches_message_usage(fake_api: FakeAnthropic) -> None:
    client = make_client()
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "system": "Describe images for screen readers.",
        "messages": user([image_block(image_b64(64, 64)), {"type": "text", "text": "alt?"}]),
    }
    counted = client.messages.count_tokens(**kwargs)
    sent = client.messages.create(max_tokens=50, **kwargs)

    assert counted.input_tokens == sent.usage.input_tokens
    assert counted.input_tokens == (
        math.ceil(len(kwargs["system"]) / 4) + math.ceil(64 * 64 / 750) + 1
    )
    assert fake_api.calls("/v1/messages/count_tokens") == 1
    assert len(fake_api.messages()) == 1


def test_authentication(fake_api: FakeAnthropic) -> None:
    with pytest.raises(anthropic.AuthenticationError) as info:
        make_client(api_key="bad-key").messages.create(
            model=MODEL, max_tokens=10, messages=user("hi")
        )
    assert info.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    assert info.value.response.headers["request-id"].startswith("req_")

    status, headers, body = raw(fake_api, "POST", "/v1/messages", {"model": MODEL}, headers={})
    assert status == 401 and "request-id" in headers
    assert json.loads(body)["error"]["type"] == "authentication_error"
    status, _, _ = raw(
        fake_api,
        "POST",
        "/v1/messages",
        {"model": MODEL, "max_tokens": 5, "messages": user("hi")},
        headers={"x-api-key": "other-key"},
    )
    assert status == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"max_tokens": 5, "messages": user("hi")}, "model"),
        ({"model": MODEL, "messages": user("hi")}, "max_tokens"),
        ({"model": MODEL, "max_tokens": 5}, "messages"),
        (
            {
                "model": MODEL,
                "max_tokens": 5,
                "messages": [*user("hi"), {"role": "assistant", "content": "Sure"}],
            },
            "final message",
        ),
        (
            {
                "model": "claude-sonnet-5-5",
                "max_tokens": 5000,
                "messages": user("hi"),
                "thinking": {"type": "enabled", "budget_tokens": 2000},
            },
            "thinking",
        ),
        (
            {"model": "claude-opus-5-5", "max_tokens": 5, "messages": user("hi"), "top_p": 0.9},
            "top_p",
        ),
    ],
    ids=["no-model", "no-max-tokens", "no-messages", "assistant-last", "thinking", "top_p"],
)
def test_request_validation(fake_api: FakeAnthropic, body: dict[str, Any], fragment: str) -> None:
    status, headers, payload = raw(fake_api, "POST", "/v1/messages", body)
    error = json.loads(payload)
    assert status == 400 and "request-id" in headers
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert fragment in error["error"]["message"]


def test_temperature_rejected_on_new_models_only(fake_api: FakeAnthropic) -> None:
    # SDK 2.13 dropped temperature/top_p/top_k from create(); callers can only send them raw.
    client = make_client()
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=NEW_MODEL, max_tokens=10, messages=user("hi"), extra_body={"temperature": 0.2}
        )
    assert info.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert "temperature" in info.value.body["error"]["message"]  # type: ignore[index]

    ok = client.messages.create(
        model=NEW_MODEL,
        max_tokens=10,
        messages=user("hi"),
        thinking={"type": "disabled"},
        system=[{"type": "text", "text": "Be brief."}],
        metadata={"user_id": "build-42"},
    )
    assert ok.model == NEW_MODEL
    older = client.messages.create(
        model=MODEL, max_tokens=10, messages=user("hi"), extra_body={"temperature": 0.2}
    )
    assert older.content[0].text == "Fake reply."
    assert [r.status for r in fake_api.requests] == [400, 200, 200]


def test_rate_limit_is_retried(fake_api: FakeAnthropic) -> None:
    fake_api.add_fault(429, retry_after_ms=1)
    start = time.monotonic()
    msg = make_client(max_retries=2).messages.create(
        model=MODEL, max_tokens=10, messages=user("hi")
    )
    assert msg.content[0].text == "Fake reply."
    # The SDK's own backoff would wait at least 0.375 s; retry-after-ms: 1 must win.
    assert time.monotonic() - start < 0.3
    assert fake_api.calls("/v1/messages") == 2
    first, second = fake_api.requests
    assert (first.status, second.status) == (429, 200)
    assert second.headers.get("x-stainless-retry-count") == "1"


def test_overloaded_after_retries_exhausted(fake_api: FakeAnthropic) -> None:
    fake_api.add_fault(529, times=5, retry_after_ms=1)
    with pytest.raises(anthropic.APIStatusError) as info:
        make_client(max_retries=2).messages.create(model=MODEL, max_tokens=10, messages=user("hi"))
    overloaded = getattr(anthropic, "OverloadedError", anthropic.APIStatusError)
    assert isinstance(info.value, overloaded)
    assert info.value.status_code == 529
    assert info.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]
    assert fake_api.calls("/v1/messages") == 3


def test_should_retry_false_is_obeyed_and_match_targets(fake_api: FakeAnthropic) -> None:
    fake_api.add_fault(500, should_retry=False, match=lambda path, body: "target" in str(body))
    client = make_client(max_retries=2)
    assert client.messages.create(model=MODEL, max_tokens=10, messages=user("other")).content
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model=MODEL, max_tokens=10, messages=user("target"))
    assert [r.status for r in fake_api.requests] == [200, 500]


def test_random_faults_are_seeded_and_retried(fake_api: FakeAnthropic) -> None:
    def run() -> list[int]:
        fake_api.reset()
        fake_api.fault_rate = 0.5
        fake_api.seed = 7
        client = make_client(max_retries=10)
        for i in range(6):
            client.messages.create(model=MODEL, max_tokens=10, messages=user(f"page {i}"))
        return [r.status for r in fake_api.requests]

    statuses = run()
    assert statuses.count(200) == 6
    assert {s for s in statuses if s != 200} <= {429, 500, 529}
    assert len(statuses) > 6
    assert run() == statuses


def test_timeout_on_hang_and_stop_does_not_wait(fake_api: FakeAnthropic) -> None:
    fake_api.add_hang(5.0)
    start = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        make_client(timeout=0.3, max_retries=0).messages.create(
            model=MODEL, max_tokens=10, messages=user("hi")
        )
    assert time.monotonic() - start < 2.0
    start = time.monotonic()
    fake_api.stop()
    assert time.monotonic() - start < 1.0


def test_latency_and_concurrency(fake_api: FakeAnthropic) -> None:
    fake_api.latency = 0.3
    client = make_client()
    errors: list[BaseException] = []

    def call(i: int) -> None:
        try:
            client.messages.create(model=MODEL, max_tokens=10, messages=user(f"page {i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(6)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    assert not errors
    assert 0.3 <= elapsed < 1.2  # concurrent, not 6 x 0.3 s
    assert len(fake_api.messages()) == 6


def test_batch_flow(fake_api: FakeAnthropic) -> None:
    client = make_client()
    fake_api.batch_outcomes["expired-3"] = "expired"
    batch = client.messages.batches.create(
        requests=[
            {
                "custom_id": "ok-1",
                "params": {"model": MODEL, "max_tokens": 20, "messages": user("a")},
            },
            {
                "custom_id": "bad-2",
                "params": {
                    "model": NEW_MODEL,
                    "max_tokens": 20,
                    "temperature": 0.5,
                    "messages": user("b"),
                },
            },
            {
                "custom_id": "expired-3",
                "params": {"model": MODEL, "max_tokens": 20, "messages": user("c")},
            },
        ]
    )
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.request_counts.processing == 3
    assert batch.results_url is None

    polled = client.messages.batches.retrieve(batch.id)
    assert polled.processing_status == "in_progress"
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at is not None
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.expired) == (0, 1, 1, 1)
    assert ended.results_url == f"{fake_api.url}/v1/messages/batches/{batch.id}/results"

    results = {r.custom_id: r.result for r in client.messages.batches.results(batch.id)}
    assert results["ok-1"].type == "succeeded"
    assert results["ok-1"].message.content[0].text == "Fake reply."  # type: ignore[union-attr]
    assert results["ok-1"].message.usage.service_tier == "batch"  # type: ignore[union-attr]
    assert results["bad-2"].type == "errored"
    assert results["bad-2"].error.error.type == "invalid_request_error"  # type: ignore[union-attr]
    assert results["expired-3"].type == "expired"

    # The SDK decodes result lines without validation, so validate them strictly here.
    status, headers, payload = raw(fake_api, "GET", f"/v1/messages/batches/{batch.id}/results")
    assert status == 200 and headers["content-type"] == "application/binary"
    lines = payload.decode().splitlines()
    assert len(lines) == 3
    for line in lines:
        MessageBatchIndividualResponse.model_validate(json.loads(line))

    assert fake_api.messages() == []  # batch work is not a /v1/messages call


def test_batch_validation(fake_api: FakeAnthropic) -> None:
    client = make_client()
    params = {"model": MODEL, "max_tokens": 20, "messages": user("a")}
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve("msgbatch_missing")
    for bad in (
        [{"custom_id": "has space", "params": params}],
        [{"custom_id": "z" * 65, "params": params}],
        [{"custom_id": "dup", "params": params}, {"custom_id": "dup", "params": params}],
    ):
        with pytest.raises(anthropic.BadRequestError):
            client.messages.batches.create(requests=bad)  # type: ignore[arg-type]
