"""Replies: what the fake answers a message with, and the message object around it.

A reply comes from the first of `responses_by_marker` found in the user text, else from
`responder`, which by default builds the simplest instance of the request's JSON schema
with sentences that are stable per request and differ between requests.

Besides text (a str, or a dict sent as JSON), a marker or responder may answer with
`Refusal(...)` (stop_reason "refusal", as a model that declines) or raise through an
`ApiError` value (e.g. `bad_request(...)`: a 400 invalid_request_error, which a batch
reports as an `errored` result of that type). A reply longer than `max_tokens` is cut
and stopped with "max_tokens", as the API does.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fake_anthropic.caching import cache_prefix
from fake_anthropic.faults import ApiError, bad_request
from fake_anthropic.wire import (
    JSON,
    TokenCount,
    block_texts,
    blocks,
    check_image,
    check_params,
    last_user_text,
    system_text,
    text_tokens,
    user_text,
)


@dataclass(frozen=True)
class Refusal:
    """A reply the model declines to give: stop_reason "refusal", with this text."""

    text: str = ""


Responder = Callable[[dict[str, Any]], "str | dict[str, Any] | Refusal | ApiError"]


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


def build_from_schema(schema: Any, body: dict[str, Any], name: str = "") -> Any:
    """The simplest instance of a JSON schema, with deterministic sentences for strings."""
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {key: build_from_schema(sub, body, f"{name}.{key}") for key, sub in props.items()}
    if kind == "string":
        text = fake_sentence(body, name)
        max_len = schema.get("maxLength")
        return text[:max_len] if isinstance(max_len, int) else text
    if kind == "boolean":
        return False
    return None


def default_responder(body: dict[str, Any]) -> str | dict[str, Any]:
    fmt = (body.get("output_config") or {}).get("format") or {}
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return build_from_schema(fmt.get("schema") or {}, body)
    return "Fake reply."


def analyse(body: JSON, *, validate: bool, need_max_tokens: bool = True) -> TokenCount:
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if validate:
        check_params(body, need_max_tokens)
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    image_blocks = [
        (f"messages.{i}.content.{j}", block)
        for i, m in enumerate(messages)
        for j, block in enumerate(blocks(m.get("content")))
        if block.get("type") == "image"
    ]
    images: list[tuple[int, int]] = []
    for where, block in image_blocks:
        if validate:
            images.append(check_image(block.get("source"), where))
        else:
            try:
                images.append(check_image(block.get("source"), where, 10**9))
            except ApiError:
                images.append((0, 0))

    system = body.get("system")
    sys_text = system_text(system) if system is not None else ""
    fmt = (body.get("output_config") or {}).get("format") or {}
    schema = fmt.get("schema") if isinstance(fmt, dict) else None
    schema_json = json.dumps(schema, separators=(",", ":")) if schema is not None else ""
    message_text = "".join("".join(block_texts(m.get("content"))) for m in messages)
    prefix, ttl, key = cache_prefix(system, messages)
    count = TokenCount(
        system=text_tokens(sys_text),
        rest=text_tokens(message_text + schema_json),
        images=images,
        prefix=prefix,
        cache_ttl=ttl,
        cache_key=key,
    )
    return count


class Replies:
    """Mixin: replies by marker or responder, and the message object they go out in."""

    _lock: threading.RLock

    def _reset_replies(self) -> None:
        # Called with the request body; a dict is sent as JSON text, a str verbatim.
        self.responder: Responder = default_responder
        # Checked before `responder`: the first marker found in the user text picks the reply.
        self.responses_by_marker: dict[str, str | dict[str, Any] | Refusal | ApiError] = {}

    def count_tokens(self, body: dict[str, Any]) -> TokenCount:
        """Price a request's input the way the fake reports it.

        system = ceil(len(system text) / 4); rest = ceil(len(all message text + compact JSON of
        the output schema) / 4); each image ceil(w * h / 750). Text of every turn counts, as the
        real API bills assistant prefill too.
        """
        return analyse(body, validate=False)

    def _respond(self, body: dict[str, Any]) -> tuple[str, str]:
        """(text, stop_reason) of the reply to `body`; an ApiError reply is raised."""
        text_in = user_text(body)
        with self._lock:
            markers = list(self.responses_by_marker.items())
            responder = self.responder
        reply: Any = next((resp for marker, resp in markers if marker in text_in), None)
        if reply is None:
            reply = responder(body)
        if isinstance(reply, ApiError):
            raise reply
        if isinstance(reply, Refusal):
            return reply.text, "refusal"
        return (reply if isinstance(reply, str) else json.dumps(reply)), "end_turn"

    def _create_message(
        self, body: JSON, tier: str = "standard", arrived: float | None = None
    ) -> dict[str, Any]:
        count = analyse(body, validate=True)
        text, stop_reason = self._respond(body)
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
