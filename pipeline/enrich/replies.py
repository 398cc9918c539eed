"""Check what the model returned before anything is stored. Generated text is untrusted.

Here we make sure it is plain, non-empty text of the right length with no control
characters. Escaping for HTML, XML and JSON is the renderer's job, at each sink.
"""

from __future__ import annotations

import json
import re

from pipeline.model import ABSTRACT_MAX, ALT_MAX, SUMMARY_MAX
from pipeline.text import clean, fit


class Invalid(ValueError):
    """The reply broke a rule; `too_long` replies may still be cut to fit on a last try."""

    def __init__(self, message: str, too_long: bool = False):
        super().__init__(message)
        self.too_long = too_long


_MARKUP = re.compile(
    r"<\s*/?\s*[a-zA-Z!?][^>]*>"  # HTML tags, comments, processing instructions
    r"|!?\[[^\]]*\]\([^)]*\)"  # markdown links and images
    r"|\*\*|__|```|`[^`]+`"  # emphasis, code
    r"|^\s*#{1,6}\s"  # headings
    r"|&[a-zA-Z]+;|&#\d+;",  # entities: the model should write the character itself
    re.M,
)

_LEADING_FILLER = re.compile(
    r"^(?:an?\s+)?(?:image|picture|photo(?:graph)?|graphic|screenshot|illustration)\s+(?:of|showing)\s+",
    re.I,
)


def _object(text: str, keys: dict[str, type]) -> dict:
    try:
        data = json.loads(text)
    except RecursionError:
        # json's C parser recurses once per level: a reply nested a thousand deep.
        raise Invalid("reply is nested too deeply") from None
    except (ValueError, TypeError):
        raise Invalid("reply is not JSON") from None
    if not isinstance(data, dict):
        raise Invalid("reply is not a JSON object")
    for key, kind in keys.items():
        if key not in data:
            raise Invalid(f"reply has no {key!r}")
        if not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool)):
            raise Invalid(f"{key!r} is not {kind.__name__}")
    return data


def _text(value: str, name: str, limit: int, *, allow_empty: bool = False) -> str:
    value = clean(value)
    if not value and not allow_empty:
        raise Invalid(f"{name} is empty")
    if _MARKUP.search(value):
        raise Invalid(f"{name} contains markup")
    if len(value) > limit:
        raise Invalid(f"{name} is {len(value)} characters (at most {limit})", too_long=True)
    return value


def page_reply(text: str, *, cut: bool = False) -> tuple[str, str]:
    data = _object(text, {"summary": str, "abstract": str})
    if cut:
        data = {
            "summary": fit(data["summary"], SUMMARY_MAX),
            "abstract": fit(data["abstract"], ABSTRACT_MAX),
        }
    return (
        _text(data["summary"], "summary", SUMMARY_MAX),
        _text(data["abstract"], "abstract", ABSTRACT_MAX),
    )


def image_reply(text: str, *, cut: bool = False) -> tuple[str, bool]:
    data = _object(text, {"alt": str, "decorative": bool})
    if data["decorative"]:
        # Decorative means empty alt, whatever else came with it (W3C decision tree).
        return "", True
    alt = _LEADING_FILLER.sub("", clean(data["alt"]))
    alt = alt[:1].upper() + alt[1:]
    if cut:
        alt = fit(alt, ALT_MAX)
    return _text(alt, "alt", ALT_MAX), False
