"""Site-wide sinks written after the build: an Atom feed of posts, and llms.txt.

Written by hand rather than with a feed plugin: the common MkDocs feed plugins read
git history and fetch remote images at build time, and this build makes no network
calls. ElementTree escapes every text node and attribute; llms.txt is markdown, so
its values are folded to one line and markdown/HTML-significant characters escaped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Entry:
    title: str
    url: str  # absolute
    date: dt.datetime
    updated: dt.datetime
    abstract: str
    section: str = ""


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
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    entries = sorted(entries, key=lambda e: (e.date, e.url), reverse=True)
    newest = max((e.updated for e in entries), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    sub(feed, "title", title)
    sub(feed, "id", feed_url)
    sub(feed, "link", href=site_url)
    sub(feed, "link", rel="self", href=feed_url)
    sub(feed, "updated", newest.isoformat())
    for e in entries:
        entry = sub(feed, "entry")
        sub(entry, "title", e.title)
        sub(entry, "id", e.url)
        sub(entry, "link", href=e.url)
        sub(entry, "published", e.date.isoformat())
        sub(entry, "updated", e.updated.isoformat())
        sub(entry, "summary", e.abstract, type="text")
        sub(sub(entry, "author"), "name", title)
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|])")


def md_text(value: str) -> str:
    """One line of plain text that markdown renders as itself."""
    one_line = " ".join(value.split())
    return _MD_SPECIAL.sub(r"\\\1", one_line.replace("&", "&amp;"))


def llms_txt(
    *, title: str, description: str, sections: dict[str, list[tuple[str, str, str]]]
) -> str:
    """llmstxt.org format: H1, a blockquote, then one H2 per section of link lines."""
    lines = [f"# {md_text(title)}", ""]
    if description:
        lines += [f"> {md_text(description)}", ""]
    for section, links in sections.items():
        if not links:
            continue
        lines += [f"## {md_text(section)}", ""]
        for name, url, summary in links:
            url = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
            line = f"- [{md_text(name)}]({url})"
            if summary:
                line += f": {md_text(summary)}"
            lines.append(line)
        lines.append("")
    return "\n".join(lines)
