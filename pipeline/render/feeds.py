"""Site-wide sinks written after the build: an Atom feed of posts, and llms.txt.

Written by hand rather than with a feed plugin: the common MkDocs feed plugins read
git history and fetch remote images at build time, and this build makes no network
calls. ElementTree escapes every text node and attribute; llms.txt is markdown, so
its values are folded to one line and a character is escaped only where markdown would
read it as markup in that position.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from pipeline.text import clean

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Entry:
    title: str  # plain text
    url: str  # absolute
    date: dt.datetime
    updated: dt.datetime
    abstract: str
    section: str = ""
    authors: tuple[str, ...] = ()  # names; the feed's title when none


def as_datetime(value) -> dt.datetime | None:
    """Frontmatter dates come as date, datetime, string, or Material's {created: ...}."""
    if isinstance(value, dict):
        value = value.get("created") or value.get("updated")
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            return as_datetime(dt.datetime.fromisoformat(value.strip()))
        except ValueError:
            return None
    return None


def atom_feed(*, title: str, site_url: str, feed_url: str, entries: list[Entry]) -> bytes:
    """An Atom feed of `entries` (at least one: a site without posts has no feed).

    Text is cleaned of control and bidi characters, which XML 1.0 cannot carry, so the
    feed is always well-formed; ElementTree escapes each text node once.
    """
    if not entries:
        raise ValueError("an Atom feed needs at least one entry")
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    title = clean(title)
    entries = sorted(entries, key=lambda e: (e.date, e.url), reverse=True)
    sub(feed, "title", title)
    sub(feed, "id", feed_url)
    sub(feed, "link", href=site_url)
    sub(feed, "link", rel="self", href=feed_url)
    sub(feed, "updated", max(e.updated for e in entries).isoformat())
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "title", clean(e.title))
        sub(entry, "id", e.url)
        sub(entry, "link", href=e.url)
        sub(entry, "published", e.date.isoformat())
        sub(entry, "updated", e.updated.isoformat())
        sub(entry, "summary", clean(e.abstract), type="text")
        for name in [n for n in map(clean, e.authors) if n] or [title]:
            sub(sub(entry, "author"), "name", name)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


# --- llms.txt: markdown, escaped only where a character would change the rendering ----

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_DELIMS = "*_~"


def _space(ch: str) -> bool:
    return ch.isspace()


def _punct(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PS"


def _emphasis(run: str, prev: str, nxt: str) -> bool:
    """Whether a run of `*`, `_` or `~` could open or close emphasis (CommonMark 6.2)."""
    left = not _space(nxt) and (not _punct(nxt) or _space(prev) or _punct(prev))
    right = not _space(prev) and (not _punct(prev) or _space(nxt) or _punct(nxt))
    if run[0] == "_":
        return (left and (not right or _punct(prev))) or (right and (not left or _punct(nxt)))
    return left or right


def md_inline(value: str, *, before: str = " ", after: str = "\n", link_text: bool = False) -> str:
    """One line of plain text that markdown renders as itself, between `before` and
    `after`: no entity, and a backslash only where a character would otherwise be read
    as markup there (`C++`, `5 > 4`, `(note)`, `Tom & Jerry`, `snake_case` stay as they are).
    """
    text = " ".join(clean(value).split())
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        prev = text[i - 1] if i else before
        if ch in _DELIMS:
            j = i
            while j < len(text) and text[j] == ch:
                j += 1
            run = text[i:j]
            nxt = text[j] if j < len(text) else after
            out.append("".join("\\" + c for c in run) if _emphasis(run, prev, nxt) else run)
            i = j
            continue
        nxt = text[i + 1] if i + 1 < len(text) else after
        if (
            ch == "`"
            or (ch == "\\" and nxt in string.punctuation)
            or (ch == "<" and ((nxt.isascii() and nxt.isalpha()) or nxt in "/!?"))
            or (ch == "&" and _ENTITY.match(text, i))
            or (ch in "[]" and link_text)
            or (ch == "]" and nxt in "([")
        ):
            out.append("\\")
        out.append(ch)
        i += 1
    return "".join(out)


_THEMATIC = re.compile(r"^([-*_])(?: *\1){2,} *$")


def md_line(value: str) -> str:
    """Text at the start of a line (a blockquote's): also no block marker it begins with."""
    text = md_inline(value)
    if _THEMATIC.match(text):
        return "\\" + text
    m = re.match(r"\d{1,9}(?=[.)](?: |$))", text)
    if m:
        return text[: m.end()] + "\\" + text[m.end() :]
    if re.match(r">|#{1,6}(?: |$)|[-+*](?: |$)|~~~", text):
        return "\\" + text
    return text


def md_heading(value: str) -> str:
    """An ATX heading's text: a closing run of `#` after a space would be dropped."""
    text = md_inline(value)
    m = re.search(r"(?:^| )(#+)$", text)
    return text[: m.start(1)] + "\\" + text[m.start(1) :] if m else text


def md_url(url: str) -> str:
    """A link destination without spaces, parentheses or angle brackets to trip on."""
    for ch, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(ch, code)
    return url


def llms_txt(
    *, title: str, description: str, sections: dict[str, list[tuple[str, str, str]]]
) -> str:
    """llmstxt.org format: H1, a blockquote, then one H2 per section of link lines.

    Links are (name, url, summary): the url absolute under site_url, or relative to the
    site root (where llms.txt is) when the site has no site_url.
    """
    lines = [f"# {md_heading(title)}", ""]
    if clean(description):
        lines += [f"> {md_line(description)}", ""]
    for section, links in sections.items():
        if not links:
            continue
        lines += [f"## {md_heading(section)}", ""]
        for name, url, summary in links:
            line = f"- [{md_inline(name, before='[', after=']', link_text=True)}]({md_url(url)})"
            if clean(summary):
                line += f": {md_inline(summary)}"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)
