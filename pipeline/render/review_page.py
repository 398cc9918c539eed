"""The review page: one self-contained HTML file to judge generated text with the image in view.

A pure function of plain data (`Review` -> str): the CLI gathers what changed, the
thumbnails (made from the downscaled bytes the model was sent, whose size the page
states) and the review heuristic's flags; this module only lays them out. No external
asset and no script: styles are inline and images are `data:` URIs, so the file reads
the same from a CI artifact, a mail attachment or a laptop without a network. Every
value is escaped once, with `html.escape`, at the point it enters the markup: generated
or committed text can never add an element or an attribute. A link is written only if
it is relative or http(s): the CLI checks the base it was given, and this module does
not take it on trust.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from html import escape

from pipeline.model import ABSTRACT_MAX, ALT_MAX, SUMMARY_MAX


@dataclass(frozen=True)
class Flag:
    what: str  # a short label: "cut", "retried", "review", "alt", "too long"…
    why: str


@dataclass(frozen=True)
class Use:
    """One place an image is used: the page, its line, the heading above, the words around."""

    page: str
    line: int
    heading: str = ""
    context: str = ""


@dataclass(frozen=True)
class Thumbnail:
    """What the page shows (`data`, at most a few hundred pixels), and what the model was
    sent (`sent_*`, from prepare()): the page states the latter, the size that was paid for."""

    media_type: str  # image/png, image/jpeg or image/webp
    data: bytes
    width: int
    height: int
    sent_media_type: str = ""  # "" when nothing is known of what was sent
    sent_bytes: int = 0
    sent_width: int = 0
    sent_height: int = 0


@dataclass(frozen=True)
class ImageEntry:
    path: str  # docs_dir-relative
    state: str
    source: str = ""  # generated | edited | author | "" (no text yet)
    alt: str = ""
    decorative: bool = False
    sidecar: str = ""  # the link to the sidecar: relative to the HTML file, or http(s)
    sidecar_name: str = ""  # the sidecar's docs-relative path, as shown
    file: str = ""  # the link to the image file itself, the same way ("" for none)
    thumbnail: Thumbnail | None = None
    thumbnail_note: str = ""  # why there is none
    uses: tuple[Use, ...] = ()
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class PageEntry:
    path: str
    state: str
    title: str = ""
    source: str = ""
    summary: str = ""
    abstract: str = ""
    sidecar: str = ""
    sidecar_name: str = ""
    file: str = ""  # the link to the page's source file
    flags: tuple[Flag, ...] = ()


@dataclass(frozen=True)
class Review:
    site_name: str
    since: str  # what the list covers, in words ("changes since abc1234 (merge base with main)")
    pages: tuple[PageEntry, ...] = ()
    images: tuple[ImageEntry, ...] = ()
    notes: tuple[str, ...] = field(default=())  # lines about the run (problems, skipped refs)


STYLE = """\
body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;background:#fff;margin:0}
main{max-width:68rem;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-bottom:2px solid #ccc;margin-top:2.5rem}
h3{font-size:1.05rem;margin:0 0 .5rem;word-break:break-all}
article{border:1px solid #bbb;border-radius:6px;padding:1rem;margin:1rem 0}
.image{display:grid;grid-template-columns:minmax(8rem,16rem) 1fr;gap:1rem;align-items:start}
.image>div:first-child{background:#f0f0f0;padding:.25rem;text-align:center}
.image img{max-width:100%;height:auto;display:block;margin:0 auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dt{font-weight:600}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
.text{background:#f7f7f7;padding:.1rem .3rem}
.over{color:#8b1a00;font-weight:600}
.flags{margin:.75rem 0 0;padding:.5rem .75rem;background:#fff4e5;border-left:4px solid #8b4a00}
.flags ul{margin:0;padding-left:1.2rem}
.none{color:#4d4d4d;font-style:italic}
blockquote{margin:.25rem 0;padding-left:.75rem;border-left:3px solid #999;color:#333}
@media (max-width:40rem){.image{grid-template-columns:1fr}}
"""


def _length(text: str, limit: int) -> str:
    n = len(text)
    if n > limit:
        return f'<span class="over">{n} / {limit} characters: over the limit</span>'
    return f"{n} / {limit} characters"


def _text(value: str) -> str:
    if not value:
        return '<span class="none">none</span>'
    return f'<span class="text">{escape(value)}</span>'


# A relative reference (no scheme before the first `/`, `?` or `#`), or http(s) with a host.
_SAFE_HREF = re.compile(r"(?i)^(https?://[^/?#\s]+|(?!//)(?![a-z][a-z0-9+.-]*:)\S*$)")


def _link(link: str, name: str) -> str:
    """`name` as code, linked to `link` when it is a link this page may hold."""
    code = f"<code>{escape(name or link)}</code>"
    if not link or not _SAFE_HREF.match(link) or any(ord(c) < 32 or ord(c) == 127 for c in link):
        return code
    return f'<a href="{escape(link)}">{code}</a>'


def _sidecar(link: str, name: str) -> str:
    if not link:
        return '<span class="none">no sidecar yet</span>'
    return _link(link, name)


def _file(link: str, name: str) -> str:
    return f"<dt>File</dt><dd>{_link(link, name)}</dd>" if link else ""


def _sent(t: Thumbnail) -> str:
    if not t.sent_bytes:
        return ""
    kind = t.sent_media_type.removeprefix("image/").upper()
    shown = ""
    if (t.width, t.height) != (t.sent_width, t.sent_height):
        shown = f" (shown here at {t.width} × {t.height})"
    return (
        f"<dt>Sent</dt><dd>{t.sent_width} × {t.sent_height} px, {escape(kind)}, "
        f"{t.sent_bytes:,} bytes{shown}</dd>"
    )


def _flags(flags: tuple[Flag, ...]) -> str:
    if not flags:
        return ""
    items = "".join(f"<li><strong>{escape(f.what)}</strong>: {escape(f.why)}</li>" for f in flags)
    return f'<div class="flags"><p><strong>Look at this:</strong></p><ul>{items}</ul></div>'


def _state(state: str, source: str) -> str:
    return escape(state + (f", {source} text" if source and source != state else ""))


def _use(u: Use) -> str:
    where = f"<code>{escape(u.page)}</code>, line {u.line}"
    if u.heading:
        where += f", under “{escape(u.heading)}”"
    quote = f"<blockquote>{escape(u.context)}</blockquote>" if u.context.strip() else ""
    return f"<li>{where}{quote}</li>"


def _image(e: ImageEntry) -> str:
    sent = ""
    if e.thumbnail is not None:
        t = e.thumbnail
        uri = f"data:{t.media_type};base64,{base64.b64encode(t.data).decode('ascii')}"
        # alt="": the alt text under review is written out beside it, as text.
        thumb = f'<img src="{escape(uri)}" alt="" width="{t.width}" height="{t.height}">'
        sent = _sent(t)
    else:
        thumb = f'<p class="none">{escape(e.thumbnail_note or "no thumbnail")}</p>'
    if e.decorative:
        alt = '<span class="text">decorative</span> (<code>alt=""</code>)'
        length = ""
    else:
        alt = _text(e.alt)
        length = f"<dt>Length</dt><dd>{_length(e.alt, ALT_MAX)}</dd>" if e.alt else ""
    uses = "".join(_use(u) for u in e.uses)
    uses_dd = f"<ul>{uses}</ul>" if uses else '<span class="none">not used on any page</span>'
    return (
        f'<article class="image-item"><h3><code>{escape(e.path)}</code></h3>'
        f'<div class="image"><div>{thumb}</div><div><dl>'
        f"<dt>Alt text</dt><dd>{alt}</dd>{length}"
        f"<dt>State</dt><dd>{_state(e.state, e.source)}</dd>"
        f"<dt>Used on</dt><dd>{uses_dd}</dd>{sent}{_file(e.file, e.path)}"
        f"<dt>Sidecar</dt><dd>{_sidecar(e.sidecar, e.sidecar_name)}</dd>"
        f"</dl>{_flags(e.flags)}</div></div></article>\n"
    )


def _page(e: PageEntry) -> str:
    title = f"<dt>Title</dt><dd>{escape(e.title)}</dd>" if e.title else ""
    return (
        f'<article class="page-item"><h3><code>{escape(e.path)}</code></h3><dl>{title}'
        f"<dt>Summary</dt><dd>{_text(e.summary)}</dd>"
        f"<dt>Length</dt><dd>{_length(e.summary, SUMMARY_MAX)}</dd>"
        f"<dt>Abstract</dt><dd>{_text(e.abstract)}</dd>"
        f"<dt>Length</dt><dd>{_length(e.abstract, ABSTRACT_MAX)}</dd>"
        f"<dt>State</dt><dd>{_state(e.state, e.source)}</dd>{_file(e.file, e.path)}"
        f"<dt>Sidecar</dt><dd>{_sidecar(e.sidecar, e.sidecar_name)}</dd>"
        f"</dl>{_flags(e.flags)}</article>\n"
    )


def render_review(review: Review) -> str:
    """The whole page. Byte-stable: the same review gives the same bytes (no clock)."""
    flagged = sum(1 for e in review.pages if e.flags) + sum(1 for e in review.images if e.flags)
    counts = (
        f"{len(review.images)} image(s), {len(review.pages)} page(s); "
        f"{flagged} with something to look at."
    )
    out = [
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>Review: {escape(review.site_name)}</title>\n<style>\n{STYLE}</style>\n"
        "</head>\n<body>\n<main>\n",
        f"<h1>Review: {escape(review.site_name)}</h1>\n",
        f"<p>{escape(review.since)}</p>\n<p>{escape(counts)}</p>\n",
    ]
    if review.notes:
        notes = "".join(f"<li>{escape(n)}</li>" for n in review.notes)
        out.append(f"<ul>{notes}</ul>\n")
    out.append('<h2 id="images">Images</h2>\n')
    out += [_image(e) for e in review.images] or ['<p class="none">No image to review.</p>\n']
    out.append('<h2 id="pages">Pages</h2>\n')
    out += [_page(e) for e in review.pages] or ['<p class="none">No page to review.</p>\n']
    out.append("</main>\n</body>\n</html>\n")
    return "".join(out)
