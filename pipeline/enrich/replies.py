"""The reply rules, in one place: what a model's answer must be before anything is stored.

Generated text is untrusted, and it is also plain text: a summary, an abstract or an alt.
Every sink escapes what it writes, so the characters technical prose is made of stay as
written: code names (`__init__.py`, `*args`, `**kwargs`), operators, generics
(`Result<T, E>`, `std::vector<int>`), arrows, quotes, `&`, `<`, CJK and emoji. What a
careful editor would turn into plain text is turned into plain text instead of refused:
backticks around a name, `**bold**` / `*emphasis*` / `_emphasis_` markers around words
(never the underscores of `__init__` or the stars of `**kwargs`), inline HTML formatting
around words (`<em>x</em>`), an entity written out (`&amp;` is `&`), a leading `#` or
bullet. Entities are read before the refusals are checked, so `&lt;script&gt;` is
refused. What no summary or alt should hold is refused: markup that would run or load
something if it were ever unescaped (`<script>`, `<style>`, `<iframe>`, `<img>`,
`<object>` and their kind, any tag with an attribute), `javascript:`-style URLs, markdown
links and images, autolinks, and text that is still over its limit after one cut.

One cut: a field over its limit is cut once, at the last sentence end that keeps at least
half of the limit. When there is none, the reply is refused as too long (a word cut would
leave half a sentence on the page).

`tests/fixtures/replies/replies.yml` is the table of these rules: realistic replies, each
with its stored text or its refusal reason.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass

from pipeline.model import ABSTRACT_MAX, ALT_MAX, SUMMARY_MAX
from pipeline.text import clean


class Invalid(ValueError):
    """The reply broke a rule: the reason is said to the model when it is asked again."""


# --- what is refused ----------------------------------------------------------------------

# Elements that run, load, embed or submit something, opening or closing, in any case.
_ACTIVE = (
    "script|style|iframe|frame|frameset|img|object|embed|applet|svg|math|link|meta|base|"
    "form|input|button|video|audio|source|picture|portal|area|noscript"
)
_REFUSED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"</?(?:{_ACTIVE})(?=[\s/>]|$)", re.I), "an HTML element that runs or loads"),
    # `a` only as a whole tag: "x <a and y" is a comparison.
    (re.compile(r"</?a(?:\s[^<>]*)?>", re.I), "an HTML link"),
    # A tag with an attribute: `<b class=x>`, `<div onclick="…">`, `<p style='…'>`.
    (re.compile(r"<[A-Za-z][\w:-]*\s[^<>]*?[\w:-]+\s*=[^<>]*>"), "an HTML tag with attributes"),
    (re.compile(r"!?\[[^\]\n]*\]\([^)\n]*\)"), "a markdown link or image"),
    (re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>"), "a link"),
    (re.compile(r"\b(?:javascript|vbscript|livescript):(?=\S)", re.I), "a script URL"),
    (re.compile(r"\bdata\s*:\s*[a-z]+/[\w.+-]+[;,]", re.I), "a data: URL"),
)


def refusal(text: str) -> str | None:
    """Why `text` may not be stored, or None."""
    for pattern, why in _REFUSED:
        if pattern.search(text):
            return why
    return None


# --- what is turned into plain text ---------------------------------------------------------

_CODE = re.compile(r"(`+)\s?(.+?)\s?\1(?!`)")
# Emphasis markers around words: the opening one after a start, space or opening
# punctuation and before a non-space; the closing one after a non-space and before an end,
# space or punctuation. `**kwargs`, `2**10`, `a * b` and `snake_case` have no such pair.
_OPEN = r"(?<![\w*_\\])"
_CLOSE = r"(?![\w*_])"
_STRONG_STAR = re.compile(_OPEN + r"\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*" + _CLOSE)
_STRONG_UNDER = re.compile(_OPEN + r"__(?=[^\s_])(.+?)(?<=[^\s_])__" + _CLOSE)
_EM_STAR = re.compile(_OPEN + r"\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*" + _CLOSE)
_EM_UNDER = re.compile(_OPEN + r"_(?=[^\s_])([^_]+?)(?<=[^\s_])_" + _CLOSE)
_DUNDER = re.compile(r"^\w+$")  # `__init__`, `__all__`: a name, not bold
_LEADING = re.compile(r"^(?:#{1,6}\s+|[-*•]\s+|>\s+)+")
# An entity written out in full (`&amp;`, `&#8212;`): the character it stands for. Never
# the legacy forms without `;` (`&para` in "&parameter" stays as written).
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Inline formatting around words, as HTML: `<em>x</em>`, `<code>f()</code>`.
_INLINE_TAG = re.compile(r"<(b|i|em|strong|code|kbd|mark|u|s|var|samp|q)>(.+?)</\1>", re.I)
_PLACEHOLDER = "\x00{}\x00"


def normalise(value: str) -> str:
    """Plain text from a reply field: control characters dropped, whitespace folded,
    harmless markdown unwrapped. Code spans are kept verbatim, without their backticks."""
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), clean(value))
    text = _LEADING.sub("", clean(text))
    text = _INLINE_TAG.sub(r"\2", text)
    spans: list[str] = []

    def keep(m: re.Match[str]) -> str:
        spans.append(m.group(2))
        return _PLACEHOLDER.format(len(spans) - 1)

    text = _CODE.sub(keep, text)
    text = _STRONG_STAR.sub(r"\1", text)
    text = _STRONG_UNDER.sub(
        lambda m: m.group(0) if _DUNDER.match(m.group(1)) else m.group(1), text
    )
    text = _EM_STAR.sub(r"\1", text)
    text = _EM_UNDER.sub(r"\1", text)
    text = re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], text)
    return " ".join(text.split())


# --- length: one cut ---------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?…](?=\s)|[。！？]")


def cut_once(text: str, limit: int) -> str | None:
    """`text` cut at its last sentence end within `limit`, keeping at least half of it;
    None when there is no such place."""
    if len(text) <= limit:
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text[: limit + 1]) if m.end() <= limit]
    if not ends or ends[-1] < limit // 2:
        return None
    return text[: ends[-1]].rstrip()


@dataclass(frozen=True)
class Checked:
    fields: dict  # summary + abstract, or alt + decorative
    cut: tuple[str, ...] = ()  # the fields that were cut to fit


def _field(value: str, name: str, limit: int, cut: list[str]) -> str:
    text = normalise(value)
    if not text:
        raise Invalid(f"{name} is empty")
    why = refusal(text)
    if why:
        raise Invalid(f"{name} contains {why}")
    fitted = cut_once(text, limit)
    if fitted is None:
        raise Invalid(
            f"{name} is {len(text)} characters (at most {limit}), with no sentence end to cut at"
        )
    if fitted != text:
        cut.append(name)
    return fitted


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


_LEADING_FILLER = re.compile(
    r"^(?:an?\s+)?(?:image|picture|photo(?:graph)?|graphic|screenshot|illustration)\s+(?:of|showing)\s+",
    re.I,
)


def page_reply(text: str) -> tuple[str, str]:
    """(summary, abstract) of a page reply; Invalid says why it cannot be stored."""
    fields = _page(text).fields
    return fields["summary"], fields["abstract"]


def image_reply(text: str) -> tuple[str, bool]:
    """(alt, decorative) of an image reply; Invalid says why it cannot be stored."""
    fields = _image(text).fields
    return fields["alt"], fields["decorative"]


def _page(text: str) -> Checked:
    data = _object(text, {"summary": str, "abstract": str})
    cut: list[str] = []
    summary = _field(data["summary"], "summary", SUMMARY_MAX, cut)
    abstract = _field(data["abstract"], "abstract", ABSTRACT_MAX, cut)
    return Checked({"summary": summary, "abstract": abstract}, tuple(cut))


def _image(text: str) -> Checked:
    data = _object(text, {"alt": str, "decorative": bool})
    if data["decorative"]:
        # Decorative means empty alt, whatever else came with it (W3C decision tree).
        return Checked({"alt": "", "decorative": True})
    alt = _LEADING_FILLER.sub("", normalise(data["alt"]))
    alt = alt[:1].upper() + alt[1:]
    cut: list[str] = []
    return Checked({"alt": _field(alt, "alt", ALT_MAX, cut), "decorative": False}, tuple(cut))


def check(kind: str, text: str) -> Checked:
    """The reply for an item of `kind`, checked; Invalid says why it cannot be stored."""
    try:
        return _page(text) if kind == "page" else _image(text)
    except Invalid:
        raise
    except Exception as e:
        # A reply is untrusted input: whatever it trips fails its item, never the run
        # (the request was billed, and its ledger line must still be written).
        raise Invalid(f"reply cannot be parsed ({type(e).__name__})") from None
