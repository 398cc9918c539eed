"""The Messages API wire format, as the fake checks it: request validation, content blocks,
images, and token counting.

Token usage is deterministic (text: ceil(chars / 4); an image: ceil(w * h / 750)) rather
than realistic, so tests can assert exact numbers for cost and caching logic.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

from fake_anthropic.faults import bad_request

JSON = Any

ALLOWED_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")

MAX_IMAGE_BYTES = 5 * 1024 * 1024

MAX_IMAGE_SIDE = 8000

# Models that refuse sampling parameters and manual extended thinking.
NO_SAMPLING_MODEL_PREFIXES = ("claude-haiku-5", "claude-sonnet-5", "claude-opus-5")

SAMPLING_PARAMS = ("temperature", "top_p", "top_k")


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


def image_tokens(width: int, height: int) -> int:
    return math.ceil(width * height / 750)


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


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


def blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]
    return []


def block_texts(content: Any) -> Iterator[str]:
    for block in blocks(content):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            yield block["text"]


def user_text(body: dict[str, Any]) -> str:
    """All text the user turns carry, joined by newlines (what markers are matched against)."""
    parts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user":
            parts.extend(block_texts(message.get("content")))
    return "\n".join(parts)


def last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return " ".join(block_texts(message.get("content")))
    return ""


def system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "".join(block_texts(system))


def check_image(source: Any, where: str, max_side: int = MAX_IMAGE_SIDE) -> tuple[int, int]:
    """Validate a base64 image source like the API; returns its size."""
    if not isinstance(source, dict):
        raise bad_request(f"{where}.source: Field required")
    if source.get("type") != "base64":
        raise bad_request(f"{where}.source.type: Input should be 'base64'")
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


def check_params(body: dict[str, Any], need_max_tokens: bool) -> None:
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
