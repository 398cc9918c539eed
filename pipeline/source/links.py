"""Where an image src points: the one resolver every stage uses.

Discovery (a src in the markdown source), the MkDocs plugin and the post-build pass (a
src in the built HTML) and write-back (is this the same image?) all ask the same
question: given a src as written on a page, which file is it? The answer depends only on
the src, the folder it is read from, the site's URL path (a root-absolute src carries
it when the site is served below a path) and the files that exist. Pure: the caller
hands in the set of files and, for discovery, a check that a path stays inside docs_dir.

A src is read as a browser reads it: %-escapes decoded, `?query` and `#fragment`
dropped, `.`/`..` collapsed; a `..` that climbs above the site root is an escape.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pipeline.model import page_url


@dataclass(frozen=True)
class Resolved:
    """Exactly one of target, skip, problem is set (or none: not found, `path` says where)."""

    target: str | None = None  # a path among the files
    skip: str | None = None  # not ours to resolve: remote, data-uri, template, …
    problem: str | None = None  # a user mistake to report (empty src, escape, not found)
    path: str | None = None  # where the src points, even when nothing is there


_VARIABLE = re.compile(r"\{\{\s*(?:(?:config\.)?extra\.)?([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def fill_template(src: str, variables: Mapping[str, str]) -> str | None:
    """A template src whose every `{{ … }}` is a plain variable of `variables` (as
    mkdocs-macros fills them from `extra:`), filled in; None when anything else is left
    (a filter, a call, a `{% %}` block, an unknown name)."""
    if not variables:
        return None
    missing = False

    def fill(m: re.Match) -> str:
        nonlocal missing
        value = variables.get(m.group(1))
        missing = missing or value is None
        return value or ""

    filled = _VARIABLE.sub(fill, src)
    if missing or "{{" in filled or "{%" in filled or "%7B" in filled.upper():
        return None
    return filled


def skip_reason(src: str) -> str | None:
    """Why a src is not a file of this site (None: it may be one)."""
    src = src.strip()
    # Either spacing, and as CommonMark percent-encodes the braces of `{{x}}`.
    if "{{" in src or "{%" in src or "%7b%7b" in src.lower() or "%7b%25" in src.lower():
        return "template"
    parts = urlsplit(src)
    if parts.scheme == "data":
        return "data-uri"
    if parts.scheme or parts.netloc:
        if parts.scheme in ("http", "https", "") and parts.netloc:
            return "remote"
        return f"{parts.scheme}-url"
    if not parts.path:
        return "fragment-only"
    return None


def url_dir(url: str) -> str:
    """The folder a page's site-relative URL resolves relative links from."""
    return url.rstrip("/") if url.endswith("/") else posixpath.dirname(url)


def site_prefix(site_url: str | None) -> str:
    """site_url's path (`harbor-street` for https://example.org/harbor-street/)."""
    return urlsplit(site_url or "").path.strip("/")


def candidates(src: str, bases: Iterable[str], prefix: str) -> list[str]:
    """The normalized paths a (non-skipped) src may mean, in order. A root-absolute src
    is tried as written and without the site's URL path; a relative one from each base.
    A path climbing above the root is kept as `../…` for the caller to call an escape."""
    path = unquote(urlsplit(src.strip()).path)
    if path.startswith("/"):
        rooted = path.lstrip("/")
        found = [rooted]
        if prefix and rooted.startswith(prefix + "/"):
            found.append(rooted[len(prefix) + 1 :])
        return [posixpath.normpath(p) if p else "" for p in found]
    return [posixpath.normpath(posixpath.join(b, path)) for b in dict.fromkeys(bases)]


def escapes(path: str) -> bool:
    return path == ".." or path.startswith("../")


class Resolver:
    """A src -> the file it shows, among `files` (docs-relative or site-relative paths)."""

    def __init__(
        self,
        files: Collection[str],
        *,
        site_url: str | None = None,
        use_directory_urls: bool = True,
        inside: Callable[[str], bool] | None = None,
    ):
        self.files = files
        self.prefix = site_prefix(site_url)
        self.use_directory_urls = use_directory_urls
        self._inside = inside
        self._by_name: dict[str, list[str]] | None = None

    # --- a src in the built HTML (plugin, post-build pass) ------------------------------

    def in_built(self, page_url: str, src: str) -> Resolved:
        """A src in the HTML of the page served at `page_url` (site-relative): resolved as
        the browser will, against the files the built site serves."""
        skip = skip_reason(src)
        if skip or not src.strip():
            return Resolved(skip=skip or "empty")
        paths = candidates(src, [url_dir(page_url)], self.prefix)
        for path in paths:
            if not escapes(path) and path in self.files:
                return Resolved(target=path, path=path)
        last = paths[-1]
        if escapes(last):
            return Resolved(problem=f"image path escapes the site: {src}", path=last)
        return Resolved(path=last)

    # --- a src in the markdown source (discovery, write-back) ---------------------------

    def in_source(self, page: str, src: str, syntax: str) -> Resolved:
        """A src written in the source page `page` (docs-relative). Markdown images are
        relative to the source file (MkDocs rewrites them); raw HTML is left as written,
        so the browser resolves it from the page's URL: both are tried, the likelier
        first. Raw HTML written for a URL we cannot know (a blog post's dated URL) falls
        back to the one file whose path ends with the src without its leading `../`."""
        src = src.strip()
        if not src:
            return Resolved(problem="image has an empty src")
        skip = skip_reason(src)
        if skip:
            return Resolved(skip=skip)
        source_dir = posixpath.dirname(page)
        served_dir = url_dir(page_url(page, self.use_directory_urls))
        bases = [served_dir, source_dir] if syntax == "html" else [source_dir, served_dir]
        escaped = False
        for path in candidates(src, bases, self.prefix):
            if escapes(path):
                escaped = True
                continue
            if path in self.files:
                if self._inside is not None and not self._inside(path):
                    return Resolved(problem=f"image path escapes docs_dir through a symlink: {src}")
                return Resolved(target=path, path=path)
        written = unquote(urlsplit(src).path)
        if not written.startswith("/"):
            found = self._by_suffix(written)
            if found:
                return Resolved(target=found, path=found)
        if escaped:
            return Resolved(problem=f"image path escapes docs_dir: {src}")
        return Resolved(problem=f"image not found: {src}")

    def _by_suffix(self, path: str) -> str | None:
        rest = posixpath.normpath(path)
        while rest.startswith("../"):
            rest = rest[3:]
        if rest.startswith("..") or not rest or rest == path:
            return None
        if self._by_name is None:
            self._by_name = {}
            for f in self.files:
                self._by_name.setdefault(posixpath.basename(f), []).append(f)
        hits = [
            f
            for f in self._by_name.get(posixpath.basename(rest), [])
            if f == rest or f.endswith("/" + rest)
        ]
        return hits[0] if len(hits) == 1 else None
