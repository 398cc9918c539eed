"""Edit rendered HTML with a real parser: alt text into <img>, tags into <head>.

`html.parser` finds each tag and its exact position; we splice a rebuilt tag in its
place and leave every other byte as it was. Every value is escaped for the attribute
or element it lands in: generated text is untrusted input.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from pipeline.render.htmltag import parse_start_tag


@dataclass(frozen=True)
class Tag:
    name: str
    attrs: list[tuple[str, str | None]]
    start: int
    end: int
    raw: str

    def get(self, name: str) -> str | None:
        for key, value in self.attrs:
            if key == name:
                return value
        return None

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.attrs)


_NEWLINE = re.compile("\n")


class _Scanner(HTMLParser):
    def __init__(self, text: str, wanted: set[str]):
        super().__init__(convert_charrefs=True)
        self.wanted = wanted
        self.tags: list[Tag] = []
        self.head_end: int | None = None
        self._line_starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]

    def _offset(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag in self.wanted:
            raw = self.get_starttag_text() or ""
            start = self._offset()
            self.tags.append(Tag(tag, list(attrs), start, start + len(raw), raw))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "head" and self.head_end is None:
            self.head_end = self._offset()


def scan(text: str, wanted: set[str]) -> _Scanner:
    scanner = _Scanner(text, wanted)
    scanner.feed(text)
    scanner.close()
    return scanner


def attr(value: str) -> str:
    """Escape for a double-quoted attribute value."""
    return html.escape(value, quote=True)


def with_alt(tag: Tag, alt: str) -> str:
    """The tag's own text with alt set, every other byte of it unchanged.

    The tag's real alt attribute is found by tokenizing it as a browser does, never by
    searching its text: the letters `alt` inside another attribute's value are not it.
    The first alt is the one a browser keeps, so that is the one replaced.
    """
    value = f'alt="{attr(alt)}"'
    raw = tag.raw
    parsed = parse_start_tag(raw)
    existing = parsed.first("alt")
    if existing is not None:
        return raw[: existing.start] + value + raw[existing.end :]
    at = parsed.insert_at
    return raw[:at] + ('""' if parsed.open_value else "") + " " + value + raw[at:]


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, new in sorted(edits):
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


AltLookup = Callable[[str], "tuple[str, bool] | None"]
HeadTags = list[tuple[tuple[str, str], str]]


def alt_edits(tags: list[Tag], lookup: AltLookup) -> list[tuple[int, int, str]]:
    """Give every <img> with a missing or empty alt the text `lookup(src)` returns.

    An author's non-empty alt is never changed. A decorative image gets an explicit
    alt="" so screen readers skip it.
    """
    edits = []
    for tag in tags:
        if tag.name != "img":
            continue
        current = tag.get("alt")
        if current is not None and current.strip():
            continue
        found = lookup(tag.get("src") or "")
        if found is None:
            continue
        alt, decorative = found
        if decorative:
            alt = ""
        elif not alt:
            continue
        if current == alt and tag.has("alt"):
            continue
        edits.append((tag.start, tag.end, with_alt(tag, alt)))
    return edits


def first_image(content: str, lookup: AltLookup) -> tuple[str, str] | None:
    """(src, alt) of the first <img> in a page's content, for og:image."""
    for tag in scan(content, {"img"}).tags:
        src = tag.get("src")
        if src and not src.startswith("data:"):
            alt = (tag.get("alt") or "").strip()
            if not alt:
                found = lookup(src)
                alt = found[0] if found and not found[1] else ""
            return src, alt
    return None


def json_for_script(data: dict) -> str:
    """JSON that cannot close or confuse the <script> element it sits in."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def head_tags(
    *,
    title: str,
    description: str,
    url: str | None,
    image: str | None,
    image_alt: str,
    kind: str,
    site_name: str,
    feed_url: str | None,
    json_ld: dict | None,
) -> HeadTags:
    """(identity, html) for each tag: identity lets us skip what the theme already has."""
    tags: list[tuple[tuple[str, str], str]] = []

    def meta(key: str, name: str, content: str):
        if content:
            tags.append(((key, name), f'<meta {key}="{attr(name)}" content="{attr(content)}">'))

    meta("name", "description", description)
    meta("property", "og:type", kind)
    meta("property", "og:title", title)
    meta("property", "og:description", description)
    meta("property", "og:site_name", site_name)
    if url:
        meta("property", "og:url", url)
    if image:
        meta("property", "og:image", image)
        meta("property", "og:image:alt", image_alt)
    meta("name", "twitter:card", "summary_large_image" if image else "summary")
    meta("name", "twitter:title", title)
    meta("name", "twitter:description", description)
    if image:
        meta("name", "twitter:image", image)
        meta("name", "twitter:image:alt", image_alt)
    if feed_url:
        tags.append(
            (
                ("link", "alternate-atom"),
                f'<link rel="alternate" type="application/atom+xml" title="{attr(site_name)}" '
                f'href="{attr(feed_url)}">',
            )
        )
    if json_ld:
        tags.append(
            (
                ("script", "ld+json"),
                f'<script type="application/ld+json">{json_for_script(json_ld)}</script>',
            )
        )
    return tags


def inject_alts(content: str, lookup: AltLookup) -> str:
    """Fill missing or empty alt on every <img> of an HTML fragment (a page's content)."""
    return splice(content, alt_edits(scan(content, {"img"}).tags, lookup))


def rewrite_head(page_html: str, tags_for: Callable[[str], HeadTags]) -> str:
    """Insert head tags the theme does not already emit.

    Only the <head> is parsed: with a large navigation every page holds the whole site's
    nav, and parsing all of it would cost more than the build. `tags_for` gets the meta
    description the theme printed (or "") and returns the tags.
    """
    end = page_html.find("</head>")
    if end < 0:
        return page_html
    scanner = scan(page_html[: end + len("</head>")], {"meta", "link", "script"})
    if scanner.head_end is None:
        return page_html
    present: set[tuple[str, str]] = set()
    description = ""
    for tag in scanner.tags:
        if tag.name == "meta":
            for key in ("name", "property"):
                if tag.get(key):
                    present.add((key, tag.get(key) or ""))
            if (tag.get("name") or "").lower() == "description" and not description:
                description = tag.get("content") or ""
        elif tag.name == "link" and tag.get("type") == "application/atom+xml":
            present.add(("link", "alternate-atom"))
        elif tag.name == "script" and tag.get("type") == "application/ld+json":
            present.add(("script", "ld+json"))
    new = [markup for ident, markup in tags_for(description) if ident not in present]
    if not new:
        return page_html
    at = scanner.head_end
    return page_html[:at] + "".join(f"  {m}\n" for m in new) + page_html[at:]
