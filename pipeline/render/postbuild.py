"""Render the committed sidecars into a site another generator already built.

For generators that run no plugin of ours (Zensical drops unknown plugins silently),
this pass works on the built HTML alone: it maps each built page back to its source,
fills missing alt text in the page's content, sets the meta description from the
summary, adds the head tags, writes the feed and llms.txt, and removes any sidecar the
generator copied into the site. No model, no network: it reads files and writes files.

Mapping a built page to its source: a page at `a/b.md` is built to `a/b/index.html`
(or `a/b.html` without directory URLs). Pages a generator moves (a blog post gets a
dated URL) are matched by title, when exactly one unmatched source and one unmatched
built page carry it. An image is found by its path in the site, else by its bytes (a
blog may copy a post's images elsewhere; the same bytes are the same image to us).
"""

from __future__ import annotations

import contextlib
import html as htmllib
import os
import posixpath
import re
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from pipeline.errors import Fatal, Problem
from pipeline.model import Options, Site
from pipeline.plan import Plan
from pipeline.render.html import AltLookup, attr, first_image, inject_alts, rewrite_head, scan
from pipeline.render.site_pass import Listing, PageFacts, relative_url, tags_for, write_site_files
from pipeline.render.texts import ImageText, SiteTexts, collect
from pipeline.sidecars import SUFFIX
from pipeline.source.discover import split_page
from pipeline.source.fingerprint import bytes_fingerprint

# Not a page of the site: the generator's error page has no source and no canonical URL.
NOT_PAGES = frozenset({"404.html"})


# --- pure: paths and URLs --------------------------------------------------------------------


def output_path(src: str, use_directory_urls: bool) -> str:
    """Where a generator of the MkDocs family writes the page built from `src`."""
    folder, name = posixpath.split(src)
    stem = posixpath.splitext(name)[0]
    if stem in ("index", "README"):
        return posixpath.join(folder, "index.html")
    if use_directory_urls:
        return posixpath.join(folder, stem, "index.html")
    return posixpath.join(folder, stem + ".html")


def page_url(html_path: str, use_directory_urls: bool) -> str:
    """Site-relative URL of a built page: `a/b/index.html` -> `a/b/`."""
    if use_directory_urls and (html_path == "index.html" or html_path.endswith("/index.html")):
        return html_path[: -len("index.html")]
    return html_path


def match_pages(
    built: Iterable[str],
    sources: dict[str, str],
    use_directory_urls: bool,
    titles_of: Callable[[str], Iterable[str]],
) -> dict[str, str]:
    """built HTML path -> source path. `sources` maps each source path to its title;
    `titles_of` reads a built page's titles (its <h1>, its <title>), and is only asked
    about pages left unmatched by path."""
    built = list(built)
    present = set(built)
    mapping: dict[str, str] = {}
    for src in sources:
        out = output_path(src, use_directory_urls)
        if out in present and out not in mapping:
            mapping[out] = src
    taken = set(mapping.values())
    by_title: dict[str, list[str]] = defaultdict(list)
    for src, title in sources.items():
        if src not in taken and title:
            by_title[_norm(title)].append(src)
    if not by_title:
        return mapping
    built_by_title: dict[str, set[str]] = defaultdict(set)
    for path in built:
        if path not in mapping:
            for title in titles_of(path):
                if title:
                    built_by_title[_norm(title)].add(path)
    for title, srcs in by_title.items():
        found = built_by_title.get(title, set())
        if len(srcs) == 1 and len(found) == 1:
            (path,) = found
            mapping.setdefault(path, srcs[0])
    return mapping


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


_HEADERLINK = re.compile(r"<a\b[^>]*\bheaderlink\b[^>]*>.*?</a>", re.S | re.I)
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S | re.I)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
_TAGS = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(_TAGS.sub("", fragment)).split())


def heading_of(page_html: str) -> str:
    """The page's first <h1> in its content as plain text (permalink anchors dropped)."""
    start, end = content_span(page_html)
    found = _H1.search(page_html, start, end)
    return _text(_HEADERLINK.sub("", found.group(1))) if found else ""


def title_of(page_html: str, site_name: str) -> str:
    """The page's <title> without the theme's ` - Site name` suffix."""
    found = _TITLE.search(page_html)
    title = _text(found.group(1)) if found else ""
    suffix = f" - {site_name}"
    if site_name and title.endswith(suffix):
        title = title[: -len(suffix)]
    return title


_CONTENT = (("<article", "</article>"), ("<main", "</main>"), ("<body", "</body>"))


def content_span(page_html: str) -> tuple[int, int]:
    """Where the page's content is: from the first <article> to the last </article>
    (the Material family; a blog listing holds one per excerpt), else <main>, else <body>.
    Navigation and header stay out: they are not content, and parsing a large nav on
    every page would cost more than the rest of the pass."""
    for opening, closing in _CONTENT:
        start, end = page_html.find(opening), page_html.rfind(closing)
        if 0 <= start < end:
            return start, end
    return 0, len(page_html)


def alt_lookup(url: str, prefix: str, resolve: Callable[[str], ImageText | None]) -> AltLookup:
    """src as written in a built page at `url` -> (alt, decorative) of the image it shows.
    `prefix` is site_url's path: root-absolute srcs carry it when the site is served there."""
    url_dir = url.rstrip("/") if url.endswith("/") else posixpath.dirname(url)

    def lookup(src: str):
        parts = urlsplit(src)
        if parts.scheme or parts.netloc or not parts.path:
            return None
        path = unquote(parts.path)
        if path.startswith("/"):
            path = path.lstrip("/")
            if prefix and path.startswith(prefix + "/"):
                path = path[len(prefix) + 1 :]
        else:
            path = posixpath.normpath(posixpath.join(url_dir, path))
        if path == ".." or path.startswith("../"):
            return None
        found = resolve(path)
        return (found.alt, found.decorative) if found else None

    return lookup


def set_description(page_html: str, text: str) -> str:
    """Replace the content of the head's meta description with `text` (escaped once).
    A page without one is left alone: rewrite_head adds it."""
    end = page_html.find("</head>")
    if end < 0 or not text:
        return page_html
    for tag in scan(page_html[:end], {"meta"}).tags:
        if (tag.get("name") or "").lower() == "description":
            if tag.get("content") == text:
                return page_html
            new = f'<meta name="description" content="{attr(text)}">'
            return page_html[: tag.start] + new + page_html[tag.end :]
    return page_html


# --- pure: one page ------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteFacts:
    site_name: str
    site_url: str | None
    site_description: str
    use_directory_urls: bool
    options: Options

    @property
    def prefix(self) -> str:
        return urlsplit(self.site_url or "").path.strip("/")


@dataclass(frozen=True)
class BuiltPage:
    html_path: str  # site-relative
    title: str
    summary: str  # "" when no source backs the page
    raw_date: object = None  # frontmatter `date` (a post), as written


def render_page(
    page_html: str, page: BuiltPage, site: SiteFacts, resolve: Callable[[str], ImageText | None]
) -> tuple[str, PageFacts]:
    """One built page in, the page with alts, description and head tags out."""
    from pipeline.render.feeds import as_datetime

    url = page_url(page.html_path, site.use_directory_urls)
    lookup = alt_lookup(url, site.prefix, resolve)
    start, end = content_span(page_html)
    content = inject_alts(page_html[start:end], lookup)
    page_html = page_html[:start] + content + page_html[end:]
    canonical = urljoin(site.site_url, url) if site.site_url else None
    image, image_alt = None, ""
    found = first_image(content, lookup)
    if found and canonical:
        image, image_alt = urljoin(canonical, found[0]), found[1]
    feed = site.options.feed and site.site_url
    facts = PageFacts(
        title=page.title or site.site_name,
        url=canonical,
        summary=page.summary,
        date=as_datetime(page.raw_date),
        image=image,
        image_alt=image_alt,
        feed_url=relative_url(site.options.feed_path, url) if feed else None,
    )
    page_html = set_description(page_html, page.summary)
    tags = tags_for(
        facts,
        site_name=site.site_name,
        site_description=site.site_description,
        options=site.options,
    )
    return rewrite_head(page_html, tags), facts


# --- I/O: the whole site ----------------------------------------------------------------------


class ImageResolver:
    """A path in the built site -> the text of the image there, by path, else by bytes."""

    def __init__(self, site_dir: Path, texts: SiteTexts, fingerprints: dict[str, str]):
        self._site_dir = site_dir
        self._images = texts.images
        self._by_fingerprint = {
            fp: texts.images[path] for path, fp in fingerprints.items() if path in texts.images
        }
        self._memo: dict[str, ImageText | None] = {}

    def __call__(self, path: str) -> ImageText | None:
        found = self._images.get(path)
        if found is not None or not self._by_fingerprint:
            return found
        if path not in self._memo:
            self._memo[path] = self._by_bytes(path)
        return self._memo[path]

    def _by_bytes(self, path: str) -> ImageText | None:
        file = self._site_dir / path
        try:
            if not file.is_file():
                return None
            return self._by_fingerprint.get(bytes_fingerprint(file.read_bytes()))
        except OSError:
            return None


@dataclass
class PassResult:
    pages: int = 0
    from_sources: int = 0
    unmatched_sources: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def built_pages(site_dir: Path) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(site_dir):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, site_dir).replace(os.sep, "/")
        for name in sorted(filenames):
            if name.endswith(".html"):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                if rel not in NOT_PAGES:
                    out.append(rel)
    return out


def remove_unpublished(site: Site, site_dir: Path) -> list[str]:
    """Delete sidecars (and our state folder, if it sits in docs_dir) copied into the site."""
    removed = []
    for path in sorted(site_dir.rglob("*" + SUFFIX)):
        if path.is_file():
            path.unlink()
            removed.append(path.relative_to(site_dir).as_posix())
    try:
        state = site.state_dir.relative_to(site.docs_dir)
    except ValueError:
        return removed
    copied = site_dir / state
    if state.parts and copied.is_dir():
        shutil.rmtree(copied)
        removed.append(state.as_posix() + "/")
    return removed


def run(site: Site, plan: Plan, site_dir: Path | None = None) -> PassResult:
    site_dir = (site_dir or site.site_dir).resolve()
    if not site_dir.is_dir():
        raise Fatal(f"{site_dir}: no built site here; build the site first")
    result = PassResult(removed=remove_unpublished(site, site_dir))
    texts = collect(plan)
    sources = {p.path: p for p in plan.discovery.pages}
    facts = SiteFacts(
        site_name=site.site_name,
        site_url=site.site_url,
        site_description=site.site_description,
        use_directory_urls=site.use_directory_urls,
        options=site.options,
    )
    fingerprints = {path: image.fingerprint for path, image in plan.discovery.images.items()}
    resolve = ImageResolver(site_dir, texts, fingerprints)
    html_files = built_pages(site_dir)
    mapping = match_pages(
        html_files,
        {path: page.title for path, page in sources.items()},
        site.use_directory_urls,
        lambda rel: _titles(_read(site_dir / rel) or "", site.site_name),
    )
    result.unmatched_sources = sorted(set(sources) - set(mapping.values()))
    listing = Listing()
    for rel in html_files:
        page_html = _read(site_dir / rel)
        if page_html is None:
            result.problems.append(Problem(rel, "built page is not UTF-8 text: left as it is"))
            continue
        src = mapping.get(rel)
        page_texts = texts.pages.get(src) if src else None
        meta = _frontmatter(site.docs_dir, src) if src else {}
        page = BuiltPage(
            html_path=rel,
            title=sources[src].title if src else title_of(page_html, site.site_name),
            summary=page_texts.summary if page_texts else "",
            raw_date=meta.get("date"),
        )
        new_html, page_facts = render_page(page_html, page, facts, resolve)
        if new_html != page_html:
            replace_built(site_dir / rel, new_html.encode("utf-8"))
        result.pages += 1
        if src and page_texts:
            result.from_sources += 1
            listing.add(
                title=page_facts.title,
                link=page_facts.url or page_url(rel, site.use_directory_urls),
                summary=page_texts.summary,
                abstract=page_texts.abstract,
                raw_date=meta.get("date"),
            )
    result.notes = write_site_files(
        site_dir,
        listing,
        site_name=site.site_name,
        site_url=site.site_url,
        site_description=site.site_description,
        options=site.options,
    )
    return result


def _titles(page_html: str, site_name: str) -> tuple[str, str]:
    return heading_of(page_html), title_of(page_html, site_name)


def replace_built(path: Path, data: bytes) -> None:
    """Atomic (a reader sees the old page or the new one, never a torn one), but not
    fsync'd like fsutil.atomic_write: site/ is rebuilt by every build, and fsync of each
    page was a third of this pass on 1,000 pages (about 1 s)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _frontmatter(docs_dir: Path, src: str) -> dict:
    try:
        split = split_page(src, (docs_dir / src).read_bytes())
    except OSError:
        return {}
    return split[0] if isinstance(split, tuple) else {}
