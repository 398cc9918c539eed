"""The Atom feed of posts, written after the build (llms.txt is render/llms.py).

Written by hand rather than with a feed plugin: the common MkDocs feed plugins read
git history and fetch remote images at build time, and this build makes no network
calls. ElementTree escapes every text node and attribute.
"""

from __future__ import annotations

import datetime as dt
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
