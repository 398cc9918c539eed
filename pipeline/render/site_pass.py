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
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urljoin

from pipeline.errors import Fatal
from pipeline.fsutil import atomic_write, replace_bytes
from pipeline.model import INDEX_NAMES, Site
from pipeline.plan import Plan, State
from pipeline.render.feeds import Entry, as_datetime, atom_feed
from pipeline.render.html import (
    AltLookup,
    HeadTags,
    PageHead,
    attr,
    first_image,
    head_for,
    inject_alts,
    rewrite_head,
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
from pipeline.render.markdown_copy import markdown_copy
from pipeline.render.texts import ImageText, PageTexts, SiteTexts, collect, plain_text
from pipeline.sidecars import SUFFIX
from pipeline.source.links import Resolver, url_dir

ON_STALE_ENV = "ENRICH_ON_STALE"

# What og:image may point to: images every card renderer shows (never an SVG).
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")

Say = Callable[[str, str], None]  # (level: "warning" | "info", message)


# --- stale text and corrupt sidecars -------------------------------------------------------


def stale_mode(site: Site) -> str:
    """warn | fail | info; ENRICH_ON_STALE overrides the configured `on_stale`."""
    return os.environ.get(ON_STALE_ENV) or site.options.on_stale


def stale_messages(site: Site, plan: Plan) -> list[str]:
    """One line per item whose source changed since its text was made."""
    return [
        f"{os.path.relpath(site.docs_dir / i.path)}: changed since its "
        f"{'summary' if i.kind == 'page' else 'alt text'} was made; "
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
            where += f":{problem.line}" if problem.line else ""
            out.append(f"{where}: {problem.message}; its text is not used")
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
        head = fh.read(12)
    is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if not dest.lower().endswith(RASTER) or not (head.startswith(_MAGIC) or is_webp):
        raise Fatal(f"enrich: og_image: {rel!r} is not a raster image (png, jpg, gif or webp)")
    return dest, wanted


class CopyCache:
    """Markdown copies by a hash of their input, under state_dir/cache: a warm build
    converts no page whose rendered HTML did not change (the conversion is most of what
    copies cost). Entries not used by a build are dropped when it saves."""

    VERSION = "copy-1"  # bump when markdown_copy's output changes for the same input

    def __init__(self, path: Path | None):
        self.path = path
        self._old: dict[str, str] = {}
        self._new: dict[str, str] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("version") == self.VERSION:
                    self._old = {
                        k: v
                        for k, v in (data.get("copies") or {}).items()
                        if isinstance(k, str) and isinstance(v, str)
                    }
            except (OSError, ValueError):
                pass  # no cache, or a damaged one: convert everything

    def get(self, content: str, title: str, page_url: str, path: str) -> str:
        key = hashlib.sha256(
            "\0".join((self.VERSION, title, page_url, path, content)).encode()
        ).hexdigest()
        text = self._new.get(key) or self._old.get(key)
        if text is None:
            text = markdown_copy(content, title=title, page_url=page_url, copy_path=path)
        self._new[key] = text
        return text

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
        # A language a generator builds into its own folder of site_dir, one build each
        # (mkdocs-static-i18n): its llms.txt goes there, and its copies keep their cache.
        self.language = language
        self.other_languages = other_languages  # (name, its llms.txt, site-relative)
        self._llms_root = f"{language}/llms.txt" if language else "llms.txt"
        name = f"markdown-copies.{language}.json" if language else "markdown-copies.json"
        cache = site.state_dir / "cache" / name if self.options.llms_txt else None
        self._copy_cache = CopyCache(cache)

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

        def lookup(src: str):
            found = self._resolver.in_built(unquote(page.url), src)
            image = self._image_at(found.target) if found.target else None
            if image is None and found.target is None and found.path is not None:
                image = self._broken_src(page, refs_of or page.src, src, found.path, warn)
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
        lookup = self.lookup(page)
        html = inject_alts(html, lookup)
        image = first_image(html, lookup, self._served_raster(page))
        if image:
            self._first_image[page.url] = image
        return html

    def canonical(self, page: PageInfo) -> str | None:
        return urljoin(self.site.site_url, page.url) if self.site.site_url else None

    def head(self, page: PageInfo) -> PageHead:
        texts = self.page_texts(page)
        image, image_alt = self._first_image.get(page.url) or (None, "")
        if image is None and self.default_image and self.site.site_url:
            dest, src = self.default_image
            image = urljoin(self.site.site_url, quote(dest))
            found = self.texts.images.get(src)
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
        title = plain_text(page.title) or plain_text(self.site.site_name)
        self._list(page, title)
        links = self._markdown_copy(page, content, title)
        return rewrite_head(output, lambda printed: head_for(head, printed) + links)

    def _list(self, page: PageInfo, title: str) -> None:
        texts = self.page_texts(page)
        date = self.post_date(page)
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
        if not self.options.llms_txt or texts is None or page.front.get("llms") is False:
            return []
        path = copy_path(page.url)
        if path in self._copies:
            self.say("warning", f"{page.src}: markdown copy {path} already written; skipped")
            return []
        text = self._copy_cache.get(content, title, page.url, path)
        replace_file(self.site_dir / unquote(path), text.encode("utf-8"))
        self._copies[path] = text if self.options.llms_full_txt else ""
        author = page.front.get("description")
        note = note_for(
            description=plain_text(str(author)) if author and page.src else None,
            abstract=texts.abstract,
            summary=texts.summary,
            first_paragraph="",
            title=title,
        )
        self._llms_pages[page.url] = PageEntry(title, page.url, note)
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
        if self.options.feed and self._posts:
            if site.site_url:
                feed = atom_feed(
                    title=site.site_name,
                    site_url=site.site_url,
                    feed_url=urljoin(site.site_url, self.options.feed_path),
                    entries=self._posts,
                )
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
                atomic_write(self.site_dir / unquote(rel), text.encode("utf-8"))
            notes.append(f"llms.txt ({len(self._llms_pages)} pages, {len(files)} file(s))")
        self._copy_cache.save()
        return notes


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
