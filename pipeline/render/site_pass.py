"""What every generator adapter renders, per page and per site, decided in one place.

The MkDocs plugin's hooks and the post-build pass (Zensical, or any generator) are thin
callers of `SitePass`: they describe each page (`PageInfo`) and hand over its HTML; the
pass decides the alt text of its images, its head tags (description, OpenGraph,
Twitter, JSON-LD, feed link), its og:image, its markdown copy and llms.txt v2 links, and
after the last page writes the feed and llms.txt. No generator types here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import posixpath
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from pipeline.errors import Fatal
from pipeline.fsutil import CACHE_MAX, atomic_write, inside, read_regular, replace_bytes
from pipeline.model import INDEX_NAMES, LIST_TITLE_MAX, Site
from pipeline.plan import Plan, State
from pipeline.render.feeds import Entry, as_datetime, atom_feed
from pipeline.render.hosting import HEADERS_FILE, MARKER, host_files
from pipeline.render.html import (
    AltLookup,
    HeadTags,
    PageHead,
    alt_edits,
    attr,
    first_image,
    head_for,
    may_hold_images,
    rewrite_head,
    scan,
    splice,
)
from pipeline.render.llms import (
    NavNode,
    PageEntry,
    SiteInfo,
    build_llms,
    copy_path,
    covering_file,
    md_text,
    note_for,
    section_files,
)
from pipeline.render.markdown_copy import (
    CopyTooLarge,
    excerpt_links,
    fence_languages,
    human_only_edits,
    listing_copy,
    markdown_copy,
    may_exceed_bounds,
    may_hold_human_only,
)
from pipeline.render.texts import ImageText, PageTexts, SiteTexts, collect, plain_text
from pipeline.sidecars import SUFFIX
from pipeline.source.discover import API_TYPES, sniff
from pipeline.source.links import Resolver, url_dir
from pipeline.text import fit, printable

ON_STALE_ENV = "ENRICH_ON_STALE"

# What og:image may point to: images every card renderer shows (never an SVG).
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp")

Say = Callable[[str, str], None]  # (level: "warning" | "info", message)

# What generators of the MkDocs family write beside the files they were given.
GENERATOR_FILES = frozenset(
    {"404.html", "sitemap.xml", "sitemap.xml.gz", "search/search_index.json", "objects.inv"}
)

# agentdocsspec.com: agents truncate what is longer (llms.txt, a page's markdown).
AGENT_READ_LIMIT = 50_000
MAX_SOURCE = 5_000_000  # a page's markdown read for fence languages, at most
DIRECTIVE_CLASS = "enrich-llms-directive"  # the <div> holding the directive in a page's body


# --- stale text and corrupt sidecars -------------------------------------------------------


def stale_mode(site: Site) -> str:
    """warn | fail | info; ENRICH_ON_STALE overrides the configured `on_stale`."""
    return os.environ.get(ON_STALE_ENV) or site.options.on_stale


def stale_messages(site: Site, plan: Plan) -> list[str]:
    """One line per item whose source changed since its text was made."""
    return [
        f"{os.path.relpath(site.docs_dir / i.path)}: changed since its "
        f"{'summary' if i.kind == 'page' else 'alt text'}"
        f"{f' ({i.lang})' if i.lang else ''} was made; "  # an image used in several languages
        "run `python -m pipeline enrich`"
        for i in plan.items
        if i.state is State.CHANGED
    ]


def check_stale(site: Site, plan: Plan, mode: str | None = None) -> tuple[str, list[str]]:
    """-> (level, messages): level "fail" stops the build; else each message is said at
    that level. A bad mode is a Fatal naming the variable."""
    mode = mode or stale_mode(site)
    if mode not in ("warn", "fail", "info"):
        raise Fatal(f"{ON_STALE_ENV}={mode!r}: expected warn, fail or info")
    messages = stale_messages(site, plan)
    level = {"warn": "warning", "info": "info", "fail": "fail"}[mode]
    return (level if messages else "info"), messages


def corrupt_sidecars(site: Site, plan: Plan) -> list[str]:
    """A corrupt sidecar is skipped, so its page or image goes without its text: one
    line each, naming the file and line as `status` does."""
    out = []
    for rel, problem in sorted(plan.discovery.failed.items()):
        if rel.endswith(SUFFIX):
            where = os.path.relpath(site.docs_dir / rel)
            out.append(f"{problem.shown(where)}; its text is not used")
    return out


def frontmatter_problems(site: Site, plan: Plan) -> list[str]:
    """A page whose front matter has a wrong type (`enrich: "false"`, `llms: []`) is
    skipped by discovery, so it goes without its text, copy and llms.txt entry: one line
    each, as `status` names them (the generator builds the page anyway)."""
    out = []
    for rel, problem in sorted(plan.discovery.failed.items()):
        if not rel.endswith(SUFFIX) and problem.message.startswith("frontmatter "):
            where = os.path.relpath(site.docs_dir / rel)
            where += f":{problem.line}" if problem.line else ""
            out.append(f"{where}: {problem.message}; the page gets none of our text")
    return out


# --- pages ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageInfo:
    """One built page, as its generator knows it."""

    url: str  # site-relative, URL-encoded ("" for the home page, "guides/", "a.html")
    src: str | None  # docs-relative source; a page no source backs has none of our text
    title: str  # as the generator holds it: HTML text (entities, maybe tags)
    meta: Mapping | None = None  # front matter
    authors: tuple[str, ...] = ()  # a post's authors, by name

    @property
    def front(self) -> Mapping:
        return self.meta or {}


def relative_url(target: str, from_url: str) -> str:
    """`target` (site-relative) as a link from the page at `from_url` (site-relative)."""
    rel = posixpath.relpath(target or ".", url_dir(from_url) or ".")
    return rel + "/" if target.endswith("/") and not rel.endswith("/") else rel


def replace_file(path: Path, data: bytes) -> None:
    """Atomic, but not fsync'd like fsutil.atomic_write: site/ is rebuilt by every build,
    and an fsync per page was a third of the post-build pass on 1,000 pages (about 1 s)."""
    replace_bytes(path, data, durable=False)


def default_image(site: Site, served: Mapping[str, str]) -> tuple[str, str] | None:
    """The `og_image` option -> (site path, docs path): a raster image the site serves.
    A Fatal names the option when it is anything else."""
    rel = site.options.og_image
    if not rel:
        return None
    wanted = posixpath.normpath(rel)
    dest = next((d for d, s in served.items() if s == wanted), None)
    path = site.docs_dir / wanted
    if dest is None or not path.is_file():
        raise Fatal(f"enrich: og_image: {rel!r} is not an image file in docs_dir")
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not dest.lower().endswith(RASTER) or sniff(head) not in API_TYPES:
        raise Fatal(f"enrich: og_image: {rel!r} is not a raster image (png, jpg, gif or webp)")
    return dest, wanted


# Copies converted in this process before workers start: a pool takes ~50 ms to start,
# more than a few conversions, and a small site or a warm build never needs one.
WORKERS_AFTER = 8


def _can_fork() -> bool:
    """Forking a process that runs other threads can deadlock the child on a lock one of
    them held (a dev server's reloader, a test's HTTP server): no workers then."""
    return threading.active_count() == 1


@dataclass
class _CopyJob:
    """A markdown copy handed to a worker process: what it is for, and its result."""

    page: PageInfo
    path: str  # where the copy goes (site path, URL-quoted)
    key: str  # its CopyCache key
    content: str  # markdown_copy's arguments, to convert here if no worker took it
    args: dict[str, Any]
    future: Future[str]


class CopyCache:
    """Markdown copies by a hash of their input, under state_dir/cache: a warm build
    converts no page whose rendered HTML did not change (the conversion is most of what
    copies cost). Entries not used by a build are dropped when it saves."""

    VERSION = "copy-2"  # bump when markdown_copy's output changes for the same input

    def __init__(self, path: Path | None):
        self.path = path
        self._new: dict[str, str] = {}
        self._old: dict[str, str] = self._load(path) if path is not None else {}

    @classmethod
    def _load(cls, path: Path) -> dict[str, str]:
        """The one read of the cache file: anything odd is a cold cache."""
        try:
            # Committed state is untrusted: a FIFO or a link to /dev/zero is a cold cache.
            data = json.loads(read_regular(path, CACHE_MAX).decode("utf-8"))
        except (OSError, ValueError):
            return {}  # no cache, or a damaged one: convert everything
        if not isinstance(data, dict) or data.get("version") != cls.VERSION:
            return {}
        copies = data.get("copies")
        if not isinstance(copies, dict):
            return {}
        return {k: v for k, v in copies.items() if isinstance(k, str) and isinstance(v, str)}

    def key(self, content: str, **args) -> str:
        """The cache key of a copy: a hash of everything markdown_copy is given."""
        langs = json.dumps(sorted((args.get("languages") or {}).items()), ensure_ascii=False)
        parts = (
            self.VERSION,
            args["title"],
            args["page_url"],
            args["copy_path"],
            args.get("site_url") or "",
            langs,
            args.get("directive") or "",
        )
        return hashlib.sha256("\0".join((*parts, content)).encode()).hexdigest()

    def cached(self, key: str) -> str | None:
        """The copy made for `key` by this build or the last one (kept for the next)."""
        text = self._new.get(key) or self._old.get(key)
        if text is not None:
            self._new[key] = text
        return text

    def put(self, key: str, text: str) -> None:
        self._new[key] = text

    def save(self) -> None:
        if self.path is None or self._new.keys() == self._old.keys():
            return
        data = json.dumps({"version": self.VERSION, "copies": self._new}, ensure_ascii=False)
        with contextlib.suppress(OSError):  # a cache we cannot write is only slower
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, data.encode("utf-8"))


class SitePass:
    """One site's rendering: page by page, then the site files.

    `served` maps each non-page file the built site serves (site-relative path) to its
    source in docs_dir; `image_at(site path)` may find an image some other way (the
    post-build pass matches a copy the generator moved by its bytes).
    """

    def __init__(
        self,
        site: Site,
        texts: SiteTexts,
        served: Mapping[str, str],
        *,
        html_refs: Mapping[str, Mapping[str, tuple[str, int]]] | None = None,
        image_at: Callable[[str], ImageText | None] | None = None,
        site_dir: Path | None = None,
        generated: Iterable[str] | None = None,
        say: Say = lambda level, message: None,
        language: str = "",
        other_languages: tuple[tuple[str, str], ...] = (),
    ):
        self.site = site
        self.site_dir = site_dir or site.site_dir
        self.options = site.options
        self.texts = texts
        self.say = say
        self._served = served
        self._resolver = Resolver(
            served, site_url=site.site_url, use_directory_urls=site.use_directory_urls
        )
        self._image_at = image_at or self._image_by_path
        self._html_refs = html_refs or {}
        self._src_to_dest = {s: d for d, s in served.items()}
        self._warned: set[tuple[str, str]] = set()
        self._first_image: dict[str, tuple[str, str]] = {}
        self.default_image = default_image(site, served)
        self.has_posts = False
        self._posts: list[Entry] = []
        self._llms_pages: dict[str, PageEntry] = {}
        self._copies: dict[str, str] = {}
        self._llms_files: dict[str, str] = {}
        self._copy_of: dict[str, str] = {}  # page URL -> its copy's path, as written
        self._seen: dict[str, tuple[str, str, str, str]] = {}  # URL -> title, date, note, link
        self._listings: list[tuple[PageInfo, str, list[list[str]]]] = []
        self._pending: list[_CopyJob] = []  # copies being converted beside the build
        self._misses = 0  # copies the cache did not have, so far
        self._pool: ProcessPoolExecutor | None = None
        # A language a generator builds into its own folder of site_dir, one build each
        # (mkdocs-static-i18n): its llms.txt goes there, and its copies keep their cache.
        self.language = language
        self.other_languages = other_languages  # (name, its llms.txt, site-relative)
        self._llms_root = f"{language}/llms.txt" if language else "llms.txt"
        name = f"markdown-copies.{language}.json" if language else "markdown-copies.json"
        cache = site.state_dir / "cache" / name if self.options.llms_txt else None
        self._copy_cache = CopyCache(cache)
        # Site paths the generator writes (`generated`, default: `served`): ours never
        # replace one, nor a folder of one, nor each other.
        self._generated = set(GENERATOR_FILES.union(served if generated is None else generated))
        self._ours: dict[str, str] = {}  # site path -> what of ours it is
        self._folders = {f for rel in self._generated for f in _folders(rel)}

    @classmethod
    def from_plan(cls, site: Site, plan: Plan, served: Mapping[str, str], **kw) -> SitePass:
        return cls(site, collect(plan), served, html_refs=html_refs(plan), **kw)

    # --- what a page is --------------------------------------------------------------------

    def page_texts(self, page: PageInfo) -> PageTexts | None:
        """The page's texts; None for a page no source of ours backs (a listing)."""
        return self.texts.pages.get(page.src) if page.src else None

    def post_date(self, page: PageInfo) -> dt.datetime | None:
        """A post is a page of ours (not one a plugin generated) with a `date`."""
        if self.page_texts(page) is None:
            return None
        return as_datetime(page.front.get("date"))

    def set_nav(self, nav: list[NavNode]) -> None:
        """Known before pages render (for the `describedby` link of each page)."""
        if self.options.llms_txt and self.options.llms_txt_sections:
            self._llms_files = section_files(nav)

    # --- images ------------------------------------------------------------------------------

    def _image_by_path(self, path: str) -> ImageText | None:
        return self.texts.images.get(self._served.get(path, path))

    def lookup(self, page: PageInfo, *, refs_of: str | None = None, warn: bool = True) -> AltLookup:
        """src as written in the page's HTML -> (alt, decorative) of the image it shows.

        A src that shows nothing in the built site falls back to the file discovery
        resolved in the source `refs_of` (default: this page's), with a warning.
        """
        if page.front.get("enrich") is False:
            return _no_alt  # an opted-out page shows no generated text
        # An image used in several languages shows the text of the page's language.
        lang = self.texts.languages.get(page.src) if page.src else None

        def lookup(src: str):
            found = self._resolver.in_built(unquote(page.url), src)
            image = self._image_at(found.target) if found.target else None
            if image is None and found.target is None and found.path is not None:
                image = self._broken_src(page, refs_of or page.src, src, found.path, warn)
            image = image.in_language(lang) if image else None
            return (image.alt, image.decorative) if image else None

        return lookup

    def _broken_src(self, page: PageInfo, source, src: str, path: str, warn: bool):
        hit = self._html_refs.get(source or "", {}).get(src.strip())
        if hit is None:
            return None
        target, line = hit
        if warn and (source, src) not in self._warned:
            self._warned.add((source, src))
            fixed = quote(relative_url(self._src_to_dest.get(target, target), unquote(page.url)))
            where = os.path.relpath(self.site.docs_dir / source)
            self.say(
                "warning",
                f'{where}:{line}: <img src="{src}"> points to {path} in the built site, '
                f'which does not exist; write "{fixed}"',
            )
        return self.texts.images.get(target)

    def _served_raster(self, page: PageInfo) -> Callable[[str], str | None]:
        """src -> absolute URL, when it is a raster image this site serves (not remote,
        not an SVG, not a `{{ … }}` template)."""

        def served(src: str) -> str | None:
            if not self.site.site_url:
                return None
            found = self._resolver.in_built(unquote(page.url), src)
            if found.target is None or not found.target.lower().endswith(RASTER):
                return None
            return urljoin(self.site.site_url, quote(found.target))

        return served

    # --- a page --------------------------------------------------------------------------------

    def content(self, html: str, page: PageInfo) -> str:
        """The page's content with alt text filled; remembers its og:image."""
        # One parse of the content for all three edits, and none when a quick look finds
        # nothing they would touch: parsing is most of what a warm build adds.
        images = may_hold_images(html)
        human = self.options.llms_txt and may_hold_human_only(html)
        if not images and not human:
            return html
        tags = scan(html, {"img", "a", "div"}).tags
        lookup = self.lookup(page)
        edits = alt_edits(tags, lookup) + (human_only_edits(tags) if human else [])
        image = first_image(tags, lookup, self._served_raster(page)) if images else None
        if image:
            self._first_image[page.url] = image
        return splice(html, edits) if edits else html

    def canonical(self, page: PageInfo) -> str | None:
        return urljoin(self.site.site_url, page.url) if self.site.site_url else None

    def head(self, page: PageInfo) -> PageHead:
        texts = self.page_texts(page)
        image, image_alt = self._first_image.get(page.url) or (None, "")
        if image is None and self.default_image and self.site.site_url:
            dest, src = self.default_image
            image = urljoin(self.site.site_url, quote(dest))
            found = self.texts.images.get(src)
            if found is not None:
                found = found.in_language(self.texts.languages.get(page.src or ""))
            image_alt = found.alt if found and not found.decorative else ""
        date = self.post_date(page)
        # Page-relative: Material's JavaScript fetches sitemap.xml beside every
        # link[rel=alternate] href, so an absolute one would call the production host
        # from every local preview. Only a site with posts has a feed to advertise.
        feed = self.options.feed and self.site.site_url and self.has_posts
        return PageHead(
            title=page.title,
            summary=texts.summary if texts else "",
            site_name=self.site.site_name,
            site_description=self.site.site_description,
            url=self.canonical(page),
            image=image,
            image_alt=image_alt,
            date=date.date() if date else None,
            feed_url=relative_url(self.options.feed_path, unquote(page.url)) if feed else None,
            social_tags=self.options.social_tags,
            json_ld=self.options.json_ld,
        )

    def finish_page(self, output: str, page: PageInfo, content: str) -> str:
        """The built page with its head tags; lists the page for the feed and llms.txt
        and writes its markdown copy (from `content`, the rendered article)."""
        head = self.head(page)
        title = fit(plain_text(page.title) or plain_text(self.site.site_name), LIST_TITLE_MAX)
        self._list(page, title)
        excerpts = excerpt_links(output) if "md-post--excerpt" in output else []
        if excerpts and self._wants_copy(page):
            # A blog index, archive or category page: its copy is the list of its posts,
            # written when every post is known (finish).
            self._listings.append((page, title, excerpts))
            links = self._copy_links(page, copy_path(page.url))
            if self.page_texts(page) is not None:
                self._llms_pages[page.url] = PageEntry(title, page.url, self._note(page, title))
        else:
            links = self._markdown_copy(page, content, title)
        output = rewrite_head(output, lambda printed: head_for(head, printed) + links)
        return self._with_directive(output, page) if links else output

    def _wants_copy(self, page: PageInfo) -> bool:
        return self.options.llms_txt and page.front.get("llms") is not False

    def _note(self, page: PageInfo, title: str) -> str:
        texts = self.page_texts(page)
        author = page.front.get("description")
        return note_for(
            description=plain_text(str(author)) if author and page.src else None,
            abstract=texts.abstract if texts else "",
            summary=texts.summary if texts else "",
            first_paragraph="",
            title=title,
        )

    def _portable(self, path: str) -> str:
        """A site-relative path as copies link it: absolute under site_url, else from /."""
        if self.site.site_url:
            base = self.site.site_url
            return urljoin(base if base.endswith("/") else base + "/", path)
        return "/" + path

    def _directive_url(self, page: PageInfo, *, in_copy: bool) -> str | None:
        """The llms.txt covering the page, as its directive links it; None when off."""
        if not (self.options.llms_directive and self.options.llms_txt):
            return None
        index = covering_file(page.url, self._llms_files)
        if in_copy or self.site.site_url:
            return self._portable(index)
        rel = relative_url(index, unquote(page.url))
        return rel if "/" in rel else "./" + rel  # agents look for a path with /llms.txt

    def _with_directive(self, output: str, page: PageInfo) -> str:
        """The directive as the body's first element: agents rarely read <head>, and
        fetch tools strip it. Visually hidden, read by agents and screen readers."""
        url = self._directive_url(page, in_copy=False)
        body = output.find("<body")
        end = output.find(">", body) if body >= 0 else -1
        if url is None or end < 0 or DIRECTIVE_CLASS in output:
            return output  # (already there: the post-build pass ran twice)
        directive = (
            f'<div class="{DIRECTIVE_CLASS}" style="position:absolute;width:1px;'
            'height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap">'
            f'For AI agents: the documentation index is <a href="{attr(url)}">llms.txt</a>; '
            "it lists every page with its markdown copy.</div>"
        )
        return output[: end + 1] + directive + output[end + 1 :]

    def _list(self, page: PageInfo, title: str) -> None:
        texts = self.page_texts(page)
        date = self.post_date(page)
        if texts is not None:
            self._seen[unquote(page.url)] = (
                title,
                date.date().isoformat() if date else "",
                self._note(page, title),
                page.url,
            )
        if texts is None or date is None:
            return
        raw = page.front.get("date")
        updated = as_datetime(raw.get("updated")) if isinstance(raw, dict) else None
        # Without site_url the feed is not written: the link is only a placeholder.
        link = self.canonical(page) or page.url or "./"
        self._posts.append(
            Entry(title, link, date, updated or date, texts.abstract, authors=page.authors)
        )

    def _markdown_copy(self, page: PageInfo, content: str, title: str) -> HeadTags:
        """Write the page's markdown copy, list it for llms.txt, and return its two head
        links (llms.txt v2 discovery). Not for pages no source backs (listings) nor
        pages whose front matter says `llms: false`."""
        texts = self.page_texts(page)
        if texts is None or not self._wants_copy(page):
            return []
        path = copy_path(page.url)
        if not self._claim(unquote(path), f"the markdown copy of {page.src}"):
            return []
        args: dict[str, Any] = {
            "title": title,
            "page_url": page.url,
            "copy_path": path,
            "site_url": self.site.site_url,
            "languages": self._source_languages(page),
            "directive": self._directive_url(page, in_copy=True),
        }
        key = self._copy_cache.key(content, **args)
        text = self._copy_cache.cached(key)
        # A page near a bound is converted here, so a refusal is known before the page's
        # head links its copy.
        deferrable = text is None and not may_exceed_bounds(content)
        pool = self._converter() if deferrable else None
        if pool is not None:
            # Converted beside the build, collected by finish(): the places it takes in
            # llms.txt, llms-full.txt and the host configs are taken now, in page order,
            # so the output is the same byte for byte as converting here.
            job = _CopyJob(
                page, path, key, content, args, pool.submit(markdown_copy, content, **args)
            )
            self._pending.append(job)
            self._copies[path] = ""
            self._copy_of[page.url] = path
        else:
            try:
                if text is None:
                    text = markdown_copy(content, **args)
                    self._copy_cache.put(key, text)
            except CopyTooLarge as e:
                self._no_copy(page, e)
                return []
            self._write_copy(page, path, text)
        self._llms_pages[page.url] = PageEntry(title, page.url, self._note(page, title))
        return self._copy_links(page, path)

    def _no_copy(self, page: PageInfo, why: CopyTooLarge) -> None:
        where = os.path.relpath(self.site.docs_dir / page.src) if page.src else page.url
        self.say("warning", f"{where}: no markdown copy ({why}); the page itself is built")

    def _converter(self) -> ProcessPoolExecutor | None:
        """Worker processes for copies the cache does not have (a cold build converts
        every page, most of what copies cost), so conversion runs on the cores the
        generator leaves idle. None on one core, or where forking is unsafe (a process
        with other threads, such as a dev server's)."""
        if self._pool is None:
            self._misses += 1
            if self._misses <= WORKERS_AFTER:
                return None
            workers = min((os.cpu_count() or 1) - 1, 4)
            if workers < 1 or not _can_fork():
                return None
            self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
        return self._pool

    def collect_copies(self) -> None:
        """Write the copies converted beside the build, in page order; a page whose copy
        could not be made loses its entries and the link its HTML already carries."""
        for job in self._pending:
            page, path = job.page, job.path
            try:
                # A job no worker has started yet is converted here: the build is done,
                # so this core would otherwise only wait.
                if job.future.cancel():
                    text = markdown_copy(job.content, **job.args)
                else:
                    text = job.future.result()
            except CopyTooLarge as e:
                self._no_copy(page, e)
                del self._copies[path], self._copy_of[page.url], self._llms_pages[page.url]
                self._unlink_copy(page, path)
                continue
            self._copy_cache.put(job.key, text)
            self._write_copy(page, path, text)
        self._pending = []
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _unlink_copy(self, page: PageInfo, path: str) -> None:
        """Take the link to a copy that was not made out of the page the build wrote."""
        rel = unquote(page.url)
        rel = rel + "index.html" if rel == "" or rel.endswith("/") else rel
        markup = next(
            m for ident, m in self._copy_links(page, path) if ident[1] == "alternate-markdown"
        )
        try:
            text = read_regular(self.site_dir / rel, CACHE_MAX, root=self.site_dir).decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return
        if markup in text:
            replace_file(self.site_dir / rel, text.replace(f"  {markup}\n", "", 1).encode("utf-8"))

    def _write_copy(self, page: PageInfo, path: str, text: str) -> None:
        replace_file(self.site_dir / unquote(path), text.encode("utf-8"))
        self._copies[path] = text if self.options.llms_full_txt else ""
        self._copy_of[page.url] = path
        if len(text) > AGENT_READ_LIMIT:
            # Advice, not a fault: a long changelog must not fail a --strict build.
            self.say(
                "info",
                f"{unquote(path)}: markdown copy is {len(text):,} characters, over the "
                f"{AGENT_READ_LIMIT:,} agents read whole; split the page",
            )

    def _source_languages(self, page: PageInfo) -> dict[str, str]:
        """Code text -> fence language, from the page's markdown (for code blocks the
        rendered page writes no language for)."""
        if not page.src:
            return {}
        try:
            docs = self.site.docs_dir
            data = read_regular(docs / page.src, MAX_SOURCE, root=docs)
        except OSError:
            return {}  # odd or too large: languages come from the rendered page alone
        return fence_languages(data.decode("utf-8", "replace").replace("\r\n", "\n"))

    def _copy_links(self, page: PageInfo, path: str) -> HeadTags:
        index = covering_file(page.url, self._llms_files)
        if index == "llms.txt":
            index = self._llms_root
        here = unquote(page.url)
        return [
            (
                ("link", "alternate-markdown"),
                '<link rel="alternate" type="text/markdown" '
                f'href="{attr(relative_url(path, here))}">',
            ),
            (
                ("link", "describedby"),
                f'<link rel="describedby" href="{attr(relative_url(index, here))}">',
            ),
        ]

    # --- where our files go ------------------------------------------------------------------

    def _claim(self, rel: str, what: str) -> bool:
        """Whether `what` may be written at site path `rel`: not a file or a folder the
        generator writes (nor below one of its files), not another output of ours, and
        inside site_dir. Else a warning naming both, and ours is not written."""
        other = None
        if rel in self._generated:
            other = "the built site has this file (yours or the generator's): kept it"
        elif rel in self._ours:
            other = f"already written as {self._ours[rel]}"
        elif rel in self._folders:
            other = "a folder of the built site"
        elif any(p in self._generated or p in self._ours for p in _folders(rel)):
            other = "below a file of the built site"
        elif not inside(self.site_dir / rel, self.site_dir):
            other = "reached through a symlink that leaves site_dir"
        if other is not None:
            self.say("warning", f"{printable(rel)}: {other}; {what} is not written")
            return False
        self._ours[rel] = what
        self._folders.update(_folders(rel))
        return True

    # --- the site --------------------------------------------------------------------------------

    def _with_languages(self, text: str) -> str:
        """Each language's llms.txt names the others, so an agent that reads one finds all."""
        lines = [
            f"- [{md_text(name)}]({_language_link(path, self._llms_root, self.site.site_url)})"
            for name, path in self.other_languages
        ]
        return text.rstrip("\n") + "\n\n## Other languages\n\n" + "\n".join(lines) + "\n"

    def finish(self, nav: list[NavNode], home_url: str) -> list[str]:
        """Write the feed and llms.txt; return one line per file written or skipped."""
        notes = []
        site = self.site
        self.collect_copies()
        self._write_listings()
        if self.options.feed and self._posts:
            if site.site_url:
                feed = atom_feed(
                    title=site.site_name,
                    site_url=site.site_url,
                    feed_url=urljoin(site.site_url, self.options.feed_path),
                    entries=self._posts,
                )
                if self._claim(self.options.feed_path, "the Atom feed (feed_path)"):
                    atomic_write(self.site_dir / self.options.feed_path, feed)
                    notes.append(f"{self.options.feed_path} ({len(self._posts)} posts)")
            else:
                self.say("info", "no site_url: the Atom feed needs absolute links; skipped")
        if self.options.llms_txt:
            files = build_llms(
                SiteInfo(site.site_name, site.site_description, site.site_url, home_url),
                nav,
                self._llms_pages,
                sections=self.options.llms_txt_sections,
                copies=self._copies if self.options.llms_full_txt else None,
                root_file=self._llms_root,
            )
            if self.other_languages:
                files[self._llms_root] = self._with_languages(files[self._llms_root])
            for rel, text in files.items():
                if self._claim(unquote(rel), f"our {posixpath.basename(rel)}"):
                    atomic_write(self.site_dir / unquote(rel), text.encode("utf-8"))
                if len(text) > AGENT_READ_LIMIT and rel != "llms-full.txt":
                    hint = (
                        "split the largest section into a folder of its own"
                        if self.options.llms_txt_sections
                        else "set `llms_txt_sections: true` to give each section its own file"
                    )
                    self.say(
                        "info",
                        f"{unquote(rel)} is {len(text):,} characters, over the "
                        f"{AGENT_READ_LIMIT:,} agents read whole; {hint}",
                    )
            notes.append(f"llms.txt ({len(self._llms_pages)} pages, {len(files)} file(s))")
            if self.options.host_configs and self._copy_of:
                notes.append(self._write_host_files())
        self._copy_cache.save()
        return notes

    def _write_listings(self) -> None:
        """Each listing's copy: its posts (title, date, link to the copy, abstract)."""
        for page, title, excerpts in self._listings:
            posts = []
            for hrefs in excerpts:
                found = self._post_at(page, hrefs)
                if found is None:
                    continue
                name, date, note, url = found
                copy = self._copy_of.get(url)
                posts.append((name, date, self._portable(copy or url), note))
            path = copy_path(page.url)
            if not self._claim(unquote(path), f"the markdown copy of listing {page.url}"):
                continue
            text = listing_copy(title, posts, directive=self._directive_url(page, in_copy=True))
            self._write_copy(page, path, text)

    def _post_at(self, page: PageInfo, hrefs: list[str]):
        """The first link of an excerpt that leads to a page of ours."""
        base = "http://site/" + unquote(page.url)
        for href in hrefs:
            path = unquote(urlsplit(urljoin(base, href)).path.lstrip("/"))
            for key in (path, path + "/", path.removesuffix("index.html")):
                if key in self._seen and key != unquote(page.url):
                    return self._seen[key]
        return None

    def _write_host_files(self) -> str:
        files, skipped = host_files(self._copy_of, self.site.site_url)
        for page in skipped:
            self.say("warning", f"{page!r}: nginx cannot name this path; left out of its map")
        headers = self.site_dir / HEADERS_FILE
        if headers.exists() or headers.is_symlink():
            try:  # the site's own file, maybe hostile: read it only as a capped regular file
                ours = read_regular(headers, CACHE_MAX, root=self.site_dir).startswith(
                    MARKER.encode()
                )
            except OSError:
                ours = False
            if not ours:
                self.say("info", f"{HEADERS_FILE}: the site has its own; left as it is")
                files.pop(HEADERS_FILE)
            else:  # ours from an earlier pass over this site/: rewritten, not a collision
                self._generated.discard(HEADERS_FILE)
        for rel, text in files.items():
            if not self._claim(rel, f"our {rel}"):
                continue
            (self.site_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.site_dir / rel, text.encode("utf-8"))
        return f"host configs for Accept: text/markdown ({len(files)} files)"


def _language_link(path: str, root_file: str, site_url: str | None) -> str:
    if site_url:
        return urljoin(site_url if site_url.endswith("/") else site_url + "/", path)
    return posixpath.relpath(path, posixpath.dirname(root_file) or ".")


def html_refs(plan: Plan) -> dict[str, dict[str, tuple[str, int]]]:
    """page source -> raw <img> src as written -> (file discovery found, line): the
    fallback for a src that breaks in the built site (written relative to the source
    file while directory URLs put the page a folder deeper)."""
    refs: dict[str, dict[str, tuple[str, int]]] = {}
    for page in plan.discovery.pages:
        for ref in page.refs:
            if ref.syntax == "html" and ref.target:
                refs.setdefault(page.path, {}).setdefault(ref.src.strip(), (ref.target, ref.line))
    return refs


def _folders(rel: str) -> list[str]:
    """The folders a site path sits in: `a/b/c.md` -> [`a/b`, `a`]."""
    return [rel.rsplit("/", n)[0] for n in range(1, rel.count("/") + 1)]


def _no_alt(src: str) -> None:
    return None


# --- navigation for generators that do not hand us theirs -----------------------------------


def nav_from_config(
    nav, url_of: Callable[[str], str | None], title_of: Callable[[str], str]
) -> list[NavNode]:
    """mkdocs.yml's `nav:` (also zensical.toml's) -> NavNode tree. Entries are a path,
    `{title: path}`, or `{title: [entries]}`; links to other sites are left out."""
    nodes = []
    for entry in nav if isinstance(nav, list) else []:
        title, value = (None, entry) if not isinstance(entry, dict) else next(iter(entry.items()))
        if isinstance(value, list):
            children = tuple(nav_from_config(value, url_of, title_of))
            nodes.append(NavNode(str(title or ""), None, children))
        elif isinstance(value, str):
            url = url_of(value)
            if url is not None:
                nodes.append(NavNode(str(title or title_of(value)), url))
    return nodes


def nav_from_tree(pages: Iterable[tuple[str, str, str]]) -> list[NavNode]:
    """(source path, url, title) of every page -> the navigation MkDocs makes with no
    `nav:`: top-level pages, then one section per folder (index first, titled after
    the folder), sorted by path."""
    root: dict = {}
    for src, url, title in sorted(pages, key=lambda p: _nav_key(p[0])):
        folder = root
        for part in src.split("/")[:-1]:
            folder = folder.setdefault(part + "/", {})
        folder[src] = NavNode(title, url)
    return _nodes(root)


def _nav_key(src: str) -> tuple:
    folder, name = posixpath.split(src)
    return (tuple(folder.split("/")) if folder else (), 0 if name in INDEX_NAMES else 1, name)


def _nodes(folder: dict) -> list[NavNode]:
    out = []
    for key, value in folder.items():
        if isinstance(value, NavNode):
            out.append(value)
        else:
            name = key.rstrip("/").replace("-", " ").replace("_", " ")
            out.append(NavNode(name[:1].upper() + name[1:], None, tuple(_nodes(value))))
    return out
