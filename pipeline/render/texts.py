"""The text each sink gets, from a Plan: pure functions, no I/O.

Each sink takes the length that fits it, falling back in a fixed order:
  meta description, social cards:  author description > summary > abstract > first paragraph
  listings, feeds, llms.txt:       abstract > summary > author description > first paragraph
An image's alt: the author's alt for that reference > the author's alt for the same
image elsewhere in the page's language > the sidecar's alt for that language (or empty
when it says decorative). An image used in several languages has one text per language
(`ImageText.in_language`); a page in a language with none yet shows no alt rather than
another language's.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field

from pipeline.model import ABSTRACT_MAX, SUMMARY_MAX
from pipeline.plan import Plan
from pipeline.text import clean, fit

# A tag or comment, as MkDocs strips them from a heading: `<` starts one only when a
# letter, `/` or `!` follows, so "5 < 6" stays text.
_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][^>]*>", re.S)


def plain_text(markup: str) -> str:
    """A title as MkDocs holds it (HTML text: `&mdash;`, `&lt;`, tags) as plain text.

    Tags go and entities become their characters, once; every sink then escapes the
    result for itself. Control and bidi-override characters are dropped.
    """
    return clean(html.unescape(_TAG.sub("", markup)))


@dataclass(frozen=True)
class PageTexts:
    summary: str
    abstract: str


@dataclass(frozen=True)
class ImageText:
    alt: str
    decorative: bool
    # An image used in several languages: each language's text (None: none yet).
    languages: dict[str, ImageText | None] = field(default_factory=dict, compare=False)

    def in_language(self, lang: str | None) -> ImageText | None:
        """The text a page in `lang` shows (a page of no known language: this one)."""
        if lang is None or lang not in self.languages:
            return self
        return self.languages[lang]


@dataclass(frozen=True)
class SiteTexts:
    pages: dict[str, PageTexts]
    images: dict[str, ImageText]  # by every docs-relative path holding the image
    languages: dict[str, str] = field(default_factory=dict)  # page -> its language


def collect(plan: Plan) -> SiteTexts:
    sidecars = plan.discovery.sidecars
    sources = {p.path: p for p in plan.discovery.pages}
    pages: dict[str, PageTexts] = {}
    images: dict[str, ImageText] = {}
    # image -> language -> the first alt an author wrote for it on a page in that language
    author_alt: dict[str, dict[str, str]] = {}
    for page in plan.discovery.pages:
        lang = plan.languages.get(page.path, "")
        for ref in page.refs:
            if ref.target and ref.alt and ref.alt.strip():
                author_alt.setdefault(ref.target, {}).setdefault(lang, ref.alt.strip())
    # An image used in several languages has one item each, all of the same bytes.
    per_image = Counter(i.fingerprint for i in plan.items if i.kind == "image")
    several: dict[str | None, dict[str, ImageText | None]] = {}  # fingerprint -> lang -> text
    for item in plan.items:
        sc = sidecars.get(item.sidecar) if item.sidecar else None
        if sc is not None and sc.failed:
            sc = None  # a remembered failure has no text: the fallbacks below apply
        if item.kind == "page" and item.path in sources:
            src = sources[item.path]
            summary_gen = sc.summary if sc else ""
            abstract_gen = sc.abstract if sc else ""
            first = src.first_paragraph
            # Themes print `description:` into HTML as written, so an author's `&mdash;`
            # shows as the dash: read it as they do, once.
            author = clean(html.unescape(src.description)) if src.description else ""
            summary = author or summary_gen or abstract_gen or first
            abstract = abstract_gen or summary_gen or author or first
            pages[item.path] = PageTexts(
                # An author's description is used as written, never cut.
                summary=summary if summary == author else fit(summary, SUMMARY_MAX),
                abstract=fit(abstract, ABSTRACT_MAX) if abstract else "",
            )
        elif item.kind == "image":
            split = item.fingerprint is not None and per_image[item.fingerprint] > 1
            written = [
                alts.get(item.lang) if split else next(iter(alts.values()))
                for p in item.paths
                if (alts := author_alt.get(p))
            ]
            text: ImageText | None = None
            if any(written):
                text = ImageText(next(a for a in written if a), False)
            elif sc is not None:
                # A person may have typed a newline or a tab into the sidecar: fold it.
                text = ImageText("" if sc.decorative else clean(sc.alt), sc.decorative)
            if split:
                several.setdefault(item.fingerprint, {})[item.lang] = text
            elif text is not None:
                for path in item.paths or (item.path,):
                    images[path] = text
    for item in plan.items:
        if item.kind != "image" or item.fingerprint not in several:
            continue
        texts = several.pop(item.fingerprint)
        # A page of no known language (one a plugin made) shows the first language's.
        base = next((t for t in texts.values() if t is not None), ImageText("", False))
        shared = ImageText(base.alt, base.decorative, texts)
        for path in item.paths or (item.path,):
            images[path] = shared
    return SiteTexts(pages=pages, images=images, languages=dict(plan.languages))
