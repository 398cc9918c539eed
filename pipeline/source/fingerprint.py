"""Content fingerprints: what an item's generated text depends on, and nothing else.

The model and the prompt version are deliberately not part of a fingerprint: they are
recorded beside it in the sidecar, so changing either makes items `outdated` (spend only
on request) instead of `stale` (spend on the next build).
"""

from __future__ import annotations

import hashlib
import re

SCHEME = "sha256:"

# What a summary does not depend on: where links and images point, and the images
# themselves (their alt text included). Leaving them out makes moving a linked page,
# renaming an image, or writing alt text back into the markdown free.
_ADDRESSES = [
    (re.compile(r"<img\b[^>]*>", re.I), "<img>"),
    (re.compile(r"!\[(?:[^\[\]\n]|\[[^\]\n]*\])*\](?:\([^)\n]*\)|\[[^\]\n]*\])?"), "![]"),
    (re.compile(r"\]\([^)\n]*\)"), "]()"),
    (re.compile(r"^( {0,3}\[[^\]\n]+\]:)[ \t]*\S.*$", re.M), r"\1"),
    (re.compile(r"\b(href|src)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I), r'\1=""'),
]


def strip_addresses(body: str) -> str:
    for pattern, replacement in _ADDRESSES:
        body = pattern.sub(replacement, body)
    return body


def normalize_text(body: str) -> str:
    """Collapse every run of whitespace (line endings, indentation, blank lines) to one space.

    A summary depends on the words, not on how a writer wrapped or indented them, so
    reflowing a paragraph or converting CRLF must not cost tokens.
    """
    return " ".join(body.split())


# Material's blog excerpt separator: where a listing cuts a post, not one of its words.
# Removed outright (not replaced by a space), so a page that never had one hashes exactly
# as before this rule existed: no committed sidecar looks changed because of it.
_EXCERPT_SEPARATOR = re.compile(r"<!--\s*more\s*-->")


def page_fingerprint(body: str) -> str:
    """sha256 of the page's words: body only (no frontmatter), whitespace collapsed,
    link and image addresses, images and the `<!-- more -->` separator left out."""
    return _hash_words(_EXCERPT_SEPARATOR.sub("", body))


def legacy_page_fingerprint(body: str) -> str | None:
    """The fingerprint sidecars made before the separator was left out recorded, for a
    page that has one (None otherwise: its fingerprint never changed)."""
    if not _EXCERPT_SEPARATOR.search(body):
        return None
    return _hash_words(body)


def _hash_words(body: str) -> str:
    text = normalize_text(strip_addresses(body))
    return SCHEME + hashlib.sha256(text.encode("utf-8")).hexdigest()


def bytes_fingerprint(data: bytes) -> str:
    return SCHEME + hashlib.sha256(data).hexdigest()
