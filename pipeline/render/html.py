"""Edit rendered HTML with a real parser: alt text into <img>, tags into <head>.

`html.parser` finds each tag and its exact position; we splice a rebuilt tag in its
place and leave every other byte as it was. Every value is escaped for the attribute
or element it lands in: generated text is untrusted input.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

from pipeline.model import CARD_TITLE_MAX
from pipeline.render.htmltag import parse_start_tag
from pipeline.render.texts import plain_text
from pipeline.text import clean, fit


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


def first_image(
    tags: list[Tag], lookup: AltLookup, served: Callable[[str], str | None]
) -> tuple[str, str] | None:
    """(absolute URL, alt) of the first <img> among a page content's scanned `tags` fit
    for og:image; an empty alt is looked up, as inject_alts fills it.

    `served(src)` gives the absolute URL of a raster image the built site serves, or
    None: remote images, SVGs, emoji and `{{ … }}` template srcs are passed over.
    """
    for tag in tags:
        if tag.name != "img":
            continue
        src = tag.get("src") or ""
        url = served(src)
        if url:
            alt = (tag.get("alt") or "").strip()
            if not alt:
                found = lookup(src)
                alt = found[0] if found and not found[1] else ""
            return url, alt
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
    """(identity, html) for each tag: identity lets us skip what the theme already has.

    Values are plain text: control and bidi-override characters are dropped and each
    value is escaped once, for the attribute or script it lands in.
    """
    tags: list[tuple[tuple[str, str], str]] = []
    title, description, site_name, image_alt = map(
        clean, (title, description, site_name, image_alt)
    )

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


@dataclass(frozen=True)
class PageHead:
    """What one page's head tags are made of, as the plugin knows it after rendering."""

    title: str  # as MkDocs has it: HTML text (entities, possibly tags)
    summary: str  # the page's description for its meta tags ("" when none)
    site_name: str
    site_description: str  # "" when mkdocs.yml has none
    url: str | None = None  # canonical, absolute (None without site_url)
    image: str | None = None  # absolute URL of a raster image the site serves
    image_alt: str = ""
    date: dt.date | None = None  # a post's publication date
    feed_url: str | None = None  # only when the site has a feed
    social_tags: bool = True
    json_ld: bool = True


def head_for(page: PageHead, theme_description: str) -> HeadTags:
    """The head tags of one page, given the meta description its theme printed.

    The page's summary wins over the site's description (which the `mkdocs` theme
    prints on the home page and Material on any page without one); the theme's text is
    kept only when we have none, and never a "None" printed for a missing site
    description.
    """
    if theme_description == "None" and page.site_description != "None":
        theme_description = ""
    description = clean(page.summary or theme_description or page.site_description)
    title = fit(plain_text(page.title) or page.site_name, CARD_TITLE_MAX)
    is_post = page.date is not None
    json_ld = None
    if page.json_ld:
        json_ld = {
            "@context": "https://schema.org",
            "@type": "BlogPosting" if is_post else "WebPage",
            "headline" if is_post else "name": title,
            "description": description,
        }
        if page.url:
            json_ld["url"] = page.url
        if page.date:
            json_ld["datePublished"] = page.date.isoformat()
    tags = head_tags(
        title=title,
        description=description,
        url=page.url,
        image=page.image,
        image_alt=page.image_alt,
        kind="article" if is_post else "website",
        site_name=page.site_name,
        feed_url=page.feed_url,
        json_ld=json_ld,
    )
    if not page.social_tags:
        tags = [t for t in tags if t[0][0] in ("script", "link") or t[0][1] == "description"]
    return tags


_IMG = re.compile(r"<img", re.I)


def may_hold_images(content: str) -> bool:
    """False when no <img> can be in `content`: a page without one needs no parse."""
    return _IMG.search(content) is not None


def inject_alts(content: str, lookup: AltLookup) -> str:
    """Fill missing or empty alt on every <img> of an HTML fragment (a page's content)."""
    return splice(content, alt_edits(scan(content, {"img"}).tags, lookup))


_IMAGE_TAGS = {"og:image", "og:image:alt", "twitter:image", "twitter:image:alt"}


def _alt_for_theme_image(tags: HeadTags) -> HeadTags:
    """The theme prints its own og:image (Material's social card: the page title and
    description drawn on a banner): ours would describe another image. Its alt is the
    title the card shows; our image and its alt are left out."""
    title = ""
    for ident, markup in tags:
        if ident == ("property", "og:title"):
            title = scan(markup, {"meta"}).tags[0].get("content") or ""
    kept = [t for t in tags if t[0][1] not in _IMAGE_TAGS]
    at = sum(1 for t in kept if t[0][0] in ("name", "property"))  # metas come first
    if title:
        for key, name in (("name", "twitter:image:alt"), ("property", "og:image:alt")):
            kept.insert(at, ((key, name), f'<meta {key}="{name}" content="{attr(title)}">'))
    return kept


def rewrite_head(page_html: str, tags_for: Callable[[str], HeadTags]) -> str:
    """Insert head tags the theme does not already emit, and set the description.

    Only the <head> is parsed: with a large navigation every page holds the whole site's
    nav, and parsing all of it would cost more than the build. `tags_for` gets the meta
    description the theme printed (or "") and returns the tags. The description it
    returns is the page's: a theme's different one (the site's, or "None") is replaced
    in place, and removed when `tags_for` gives none.
    """
    end = page_html.find("</head>")
    if end < 0:
        return page_html
    scanner = scan(page_html[: end + len("</head>")], {"meta", "link", "script"})
    if scanner.head_end is None:
        return page_html
    present: set[tuple[str, str]] = set()
    theme_description: Tag | None = None
    for tag in scanner.tags:
        if tag.name == "meta":
            # Themes differ in which attribute names a tag (Material's social cards print
            # `property="twitter:card"`, the Twitter docs say `name=`): either one counts
            # as that tag, so no page ends up with two sets.
            for key in ("name", "property"):
                if tag.get(key):
                    present.add(("name", tag.get(key) or ""))
                    present.add(("property", tag.get(key) or ""))
            if (tag.get("name") or "").lower() == "description" and theme_description is None:
                theme_description = tag
        elif tag.name == "link" and tag.get("type") == "application/atom+xml":
            present.add(("link", "alternate-atom"))
        elif tag.name == "link" and tag.get("type") == "text/markdown":
            present.add(("link", "alternate-markdown"))
        elif tag.name == "link" and (tag.get("rel") or "").lower() == "describedby":
            present.add(("link", "describedby"))
        elif tag.name == "script" and tag.get("type") == "application/ld+json":
            present.add(("script", "ld+json"))
    printed = (theme_description.get("content") or "") if theme_description else ""
    tags = tags_for(printed)
    edits = []
    if theme_description is not None:
        ours = next((m for ident, m in tags if ident == ("name", "description")), "")
        if not ours or scan(ours, {"meta"}).tags[0].get("content") != printed:
            edits.append((theme_description.start, theme_description.end, ours))
    if ("property", "og:image") in present or ("name", "twitter:image") in present:
        tags = _alt_for_theme_image(tags)
    new = [markup for ident, markup in tags if ident not in present]
    if new:
        at = scanner.head_end
        edits.append((at, at, "".join(f"  {m}\n" for m in new)))
    return splice(page_html, edits) if edits else page_html
