"""The MkDocs plugin: render the committed sidecars. No model, no network, no key.

It reads sidecars only: it never imports `anthropic` and opens no socket, so a build
is reproducible from git alone. Per page it sets the meta description, adds OpenGraph,
Twitter Card and JSON-LD tags, fills missing alt text, and gives Material blog posts
without a `<!-- more -->` separator the abstract as their excerpt. After the build it
writes an Atom feed of posts and llms.txt.
"""

from __future__ import annotations

import os
import posixpath
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pathspec
from markupsafe import escape
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import Files, InclusionLevel
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from pipeline.fsutil import atomic_write
from pipeline.mkdocs.config import EnrichConfig, options_of
from pipeline.model import Options, Site
from pipeline.plan import State, build_plan
from pipeline.render.feeds import Entry, as_datetime, atom_feed
from pipeline.render.html import PageHead, attr, first_image, head_for, inject_alts, rewrite_head
from pipeline.render.llms import (
    NavNode,
    PageEntry,
    SiteInfo,
    build_llms,
    copy_path,
    covering_file,
    note_for,
    section_files,
)
from pipeline.render.markdown_copy import markdown_copy
from pipeline.render.texts import SiteTexts, collect, plain_text
from pipeline.sidecars import SUFFIX
from pipeline.source.cache import ScanCache
from pipeline.source.discover import discover

log = get_plugin_logger(__name__)

# What og:image may point to: images every card renderer shows (never an SVG).
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")

ON_STALE_ENV = "ENRICH_ON_STALE"


def site_from_mkdocs(config: MkDocsConfig, options: Options) -> Site:
    config_file = Path(config.config_file_path or "mkdocs.yml").absolute()
    return Site(
        config_file=config_file,
        root=config_file.parent,
        docs_dir=Path(config.docs_dir).resolve(),
        site_dir=Path(config.site_dir).resolve(),
        site_name=config.site_name or "",
        site_url=config.site_url or None,
        use_directory_urls=config.use_directory_urls,
        exclude_docs=config.exclude_docs
        or pathspec.GitIgnoreSpec.from_lines([".*", "/templates/"]),
        options=options,
        plugin_listed=True,
        site_description=config.site_description or "",
        language=(config.theme.get("language") if config.theme else None) or None,
    )


def _html_refs(pages) -> dict[str, dict[str, tuple[str, int]]]:
    refs: dict[str, dict[str, tuple[str, int]]] = {}
    for page in pages:
        for ref in page.refs:
            if ref.syntax == "html" and ref.target:
                refs.setdefault(page.path, {}).setdefault(ref.src.strip(), (ref.target, ref.line))
    return refs


class _AbstractPost:
    """What Material's blog Excerpt reads from its post, with the abstract as markdown.

    The excerpt then takes Material's own path for a post with a separator: Excerpt.render
    puts `# {post.title}` first (its link to the post), and the text after the separator
    becomes `more`, which the listing template turns into "Continue reading".
    """

    # The post's own H1 is not in this markdown, so Excerpt.render must add the title.
    _title_from_render = None

    def __init__(self, post: Page, markdown: str):
        self._post = post
        self.markdown = markdown

    def __getattr__(self, name):
        return getattr(self._post, name)


class EnrichPlugin(BasePlugin[EnrichConfig]):
    def on_config(self, config: MkDocsConfig) -> None:
        self._texts: SiteTexts | None = None
        self._dest_to_src: dict[str, str] | None = None
        self._src_to_dest: dict[str, str] = {}
        # page -> raw <img> src as written -> (file discovery found, line): the fallback
        # for a src that breaks in the built site (written relative to the source file).
        self._html_refs: dict[str, dict[str, tuple[str, int]]] = {}
        self._warned_srcs: set[tuple[str, str]] = set()
        self._first_image: dict[str, tuple[str, str]] = {}
        self._raster: set[str] = set()  # dest_uri of every raster image the site serves
        self._default_image: tuple[str, str] | None = None  # (dest_uri, alt)
        self._has_posts = False
        self._described: set[str] = set()
        self._posts: list[Entry] = []
        self._links: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        self._nav_items: list = []
        self._home_url = ""
        self._llms_files: dict[str, str] = {}  # folder -> its own llms.txt
        self._llms_pages: dict[str, PageEntry] = {}
        self._copies: dict[str, str] = {}  # markdown copy path -> text (for llms-full.txt)

    # Late, so pages and files added by other plugins (the blog) are already there.
    @event_priority(-100)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> None:
        if not self.config.enabled:
            return
        for file in files:
            if file.src_uri.endswith(SUFFIX):
                file.inclusion = InclusionLevel.EXCLUDED
        site = site_from_mkdocs(config, options_of(self.config))
        plan = build_plan(site, discover(site, ScanCache(site.state_dir / "cache" / "scan.json")))
        self._texts = collect(plan)
        self._html_refs = _html_refs(plan.discovery.pages)
        self._check_stale(site, plan)
        self._check_sidecars(site, plan)
        self._raster = {
            f.dest_uri
            for f in files
            if not f.is_documentation_page() and f.dest_uri.lower().endswith(RASTER)
        }
        self._default_image = self._configured_image(files)

    def _configured_image(self, files: Files) -> tuple[str, str] | None:
        """The `og_image` option: a raster image in docs_dir that the site serves."""
        rel = self.config.og_image
        if not rel:
            return None
        file = files.get_file_from_path(posixpath.normpath(rel))
        if file is None or not file.inclusion.is_included() or file.is_documentation_page():
            raise PluginError(f"enrich: og_image: {rel!r} is not an image file in docs_dir")
        with open(file.abs_src_path, "rb") as fh:
            head = fh.read(12)
        is_webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
        if not file.dest_uri.lower().endswith(RASTER) or not (head.startswith(_MAGIC) or is_webp):
            raise PluginError(
                f"enrich: og_image: {rel!r} is not a raster image (png, jpg, gif or webp)"
            )
        found = self._texts.images.get(file.src_uri) if self._texts else None
        alt = found.alt if found and not found.decorative else ""
        return file.dest_uri, alt

    def on_env(self, env, *, config: MkDocsConfig, files: Files):
        # Every page's front matter is read by now and none is rendered yet: whether the
        # site has posts decides if any page advertises the feed.
        self._has_posts = any(self._post_date(f.page) for f in files.documentation_pages())
        return env

    def _post_date(self, page: Page | None):
        """A post is a page of ours (not one a plugin generated) with a `date`."""
        if page is None or self._page_texts(page) is None:
            return None
        return as_datetime(page.meta.get("date"))

    def _check_sidecars(self, site: Site, plan) -> None:
        """A corrupt sidecar is skipped, so its page or image goes without its text: a
        warning (so `--strict` fails), naming the file and line as `status` does."""
        for rel, problem in sorted(plan.discovery.failed.items()):
            if rel.endswith(SUFFIX):
                where = os.path.relpath(site.docs_dir / rel)
                where += f":{problem.line}" if problem.line else ""
                log.warning(f"{where}: {problem.message}; its text is not used")

    def _check_stale(self, site: Site, plan) -> None:
        mode = os.environ.get(ON_STALE_ENV) or self.config.on_stale
        if mode not in ("warn", "fail", "info"):
            raise PluginError(f"{ON_STALE_ENV}={mode!r}: expected warn, fail or info")
        stale = [i for i in plan.items if i.state is State.CHANGED]
        messages = [
            f"{os.path.relpath(site.docs_dir / i.path)}: changed since its "
            f"{'summary' if i.kind == 'page' else 'alt text'} was made; "
            "run `python -m pipeline enrich`"
            for i in stale
        ]
        if mode == "fail" and messages:
            raise PluginError("stale enrichment (on_stale: fail):\n  " + "\n  ".join(messages))
        for message in messages:
            (log.warning if mode == "warn" else log.info)(message)

    @event_priority(-100)
    def on_nav(self, nav, *, config: MkDocsConfig, files: Files):
        self._nav_items = nav.items
        self._home_url = nav.homepage.url if nav.homepage else ""
        if self.config.llms_txt and self.config.llms_txt_sections:
            self._llms_files = section_files(_nav_nodes(nav.items))
        return nav

    @event_priority(-100)
    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files):
        if self._texts is None:
            return None
        texts = self._page_texts(page)
        excerpt = getattr(page, "excerpt", None)  # a Material blog post
        if excerpt is not None:
            self._fill_excerpt_alts(excerpt, config)
            if texts:
                self._use_abstract_as_excerpt(page, excerpt, markdown, texts.abstract, config)
        return None

    def _fill_excerpt_alts(self, excerpt, config: MkDocsConfig) -> None:
        """Material renders a post's excerpt separately for each listing it appears on,
        after on_page_content: fill its alts there, relative to the listing's URL."""
        render = excerpt.render

        def render_with_alts(view: Page, separator: str):
            render(view, separator)
            # The post's own page already warned about a broken src: fill, don't repeat.
            lookup = self._lookup(view, config, refs_of=excerpt.file.src_uri, warn=False)
            excerpt.content = inject_alts(excerpt.content, lookup)

        excerpt.render = render_with_alts

    def _use_abstract_as_excerpt(
        self, page: Page, excerpt, markdown: str, abstract: str, config
    ) -> None:
        if not abstract:
            return
        blog = config.plugins.get("material/blog") or config.plugins.get("blog")
        separator = getattr(
            getattr(blog, "config", None), "post_excerpt_separator", "<!-- more -->"
        )
        if separator in markdown:
            return  # the author chose the excerpt
        # The whole post after the separator, as for an author's excerpt: it is what
        # `more` means, and without it Material shows no "Continue reading".
        body = f"<p>{escape(abstract)}</p>\n\n{separator}\n\n{markdown}"
        excerpt.post = _AbstractPost(page, body)

    def _lookup(
        self,
        page: Page,
        config: MkDocsConfig,
        files: Files | None = None,
        *,
        refs_of: str | None = None,
        warn: bool = True,
    ):
        """src as written in the page's HTML -> (alt, decorative) of the image it shows.

        A src that shows nothing in the built site falls back to the file discovery
        resolved for the page `refs_of` (default: this page), with a warning.
        """
        if self._dest_to_src is None and files is not None:
            self._dest_to_src = {f.dest_uri: f.src_uri for f in files}
            self._src_to_dest = {f.src_uri: f.dest_uri for f in files}
        dest_to_src = self._dest_to_src or {}
        images = self._texts.images if self._texts else {}
        url = page.url
        url_dir = url.rstrip("/") if url.endswith("/") else posixpath.dirname(url)
        prefix = urlsplit(config.site_url or "").path.strip("/")

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
            found = images.get(dest_to_src.get(path, path))
            if found is None and dest_to_src and path not in dest_to_src:
                found = self._broken_src(page, config, refs_of, src, path, warn)
            return (found.alt, found.decorative) if found else None

        return lookup

    def _broken_src(self, page: Page, config, refs_of: str | None, src: str, path: str, warn):
        """The text of the image discovery resolved for a src that breaks in the built site
        (raw HTML written relative to the source file, while the page's URL is a folder
        deeper), warning once per (page, src) with the src that would work."""
        source = refs_of or page.file.src_uri
        hit = self._html_refs.get(source, {}).get(src.strip())
        if hit is None:
            return None
        target, line = hit
        if warn and (source, src) not in self._warned_srcs:
            self._warned_srcs.add((source, src))
            fixed = quote(get_relative_url(self._src_to_dest.get(target, target), page.url))
            where = os.path.relpath(Path(config.docs_dir) / source)
            log.warning(
                f'{where}:{line}: <img src="{src}"> points to {path} in the built site, '
                f'which does not exist; write "{fixed}"'
            )
        return self._texts.images.get(target) if self._texts else None

    @event_priority(-100)
    def on_page_context(self, context, *, page: Page, config: MkDocsConfig, nav):
        texts = self._page_texts(page)
        if texts and texts.summary and not page.meta.get("description"):
            # Themes print page.meta.description into an attribute without escaping
            # (MkDocs' Jinja environment has autoescape off): hand them escaped markup.
            # Set only while this page's template renders (removed in on_post_page):
            # Material's navigation looks into every page's meta on every page, and a
            # non-empty meta on all of them made a 1,000-page build 35 % slower.
            page.meta["description"] = escape(texts.summary)
            self._described.add(page.file.src_uri)
        return context

    @event_priority(-100)
    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files):
        if self._texts is None:
            return None
        lookup = self._lookup(page, config, files)
        if page.meta.get("enrich") is False:
            lookup = _no_alt  # an opted-out page shows no generated text
        html = inject_alts(html, lookup)
        image = first_image(html, lookup, self._served_image(page, config))
        if image:
            self._first_image[page.file.src_uri] = image
        return html

    def _served_image(self, page: Page, config: MkDocsConfig):
        """src as written in the page's HTML -> absolute URL, when it is a raster image
        this site serves (not remote, not an SVG, not a `{{ … }}` template)."""
        url_dir = page.url.rstrip("/") if page.url.endswith("/") else posixpath.dirname(page.url)
        prefix = urlsplit(config.site_url or "").path.strip("/")

        def served(src: str) -> str | None:
            parts = urlsplit(src)
            if not config.site_url or parts.scheme or parts.netloc or "{" in src:
                return None
            path = unquote(parts.path)
            if path.startswith("/"):
                path = path.lstrip("/")
                if prefix and path.startswith(prefix + "/"):
                    path = path[len(prefix) + 1 :]
            else:
                path = posixpath.normpath(posixpath.join(url_dir, path))
            if path not in self._raster:
                return None
            return urljoin(config.site_url, quote(path))

        return served

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str | None:
        if self._texts is None:
            return None
        if page.file.src_uri in self._described:
            page.meta.pop("description", None)
        texts = self._page_texts(page)
        url = page.canonical_url
        image, image_alt = self._first_image.get(page.file.src_uri) or (None, "")
        if image is None and self._default_image and config.site_url:
            dest, image_alt = self._default_image
            image = urljoin(config.site_url, quote(dest))
        date = self._post_date(page)
        # Page-relative: Material's JavaScript fetches sitemap.xml beside every
        # link[rel=alternate] href, so an absolute one would call the production host
        # from every local preview. Only a site with posts has a feed to advertise.
        feed_url = (
            get_relative_url(self.config.feed_path, page.url)
            if config.site_url and self.config.feed and self._has_posts
            else None
        )
        head = PageHead(
            title=page.title or "",
            summary=texts.summary if texts else "",
            site_name=config.site_name or "",
            site_description=config.site_description or "",
            url=url,
            image=image,
            image_alt=image_alt,
            date=date.date() if date else None,
            feed_url=feed_url,
            social_tags=self.config.social_tags,
            json_ld=self.config.json_ld,
        )
        title = plain_text(page.title or "") or plain_text(config.site_name or "")
        self._list(page, texts, title, url, date)
        llms_tags = self._llms_copy(page, config, texts, title)
        return rewrite_head(output, lambda printed: head_for(head, printed) + llms_tags)

    def _llms_copy(self, page: Page, config: MkDocsConfig, texts, title: str):
        """Write the page's markdown copy, list it for llms.txt, and return the two head
        links (llms.txt v2 discovery). Not for pages another plugin generated (listings)
        or pages whose front matter says `llms: false`."""
        if not self.config.llms_txt or texts is None or page.meta.get("llms") is False:
            return []
        path = copy_path(page.url)
        if path in self._copies:
            log.warning(f"{page.file.src_uri}: markdown copy {path} already written; skipped")
            return []
        text = markdown_copy(page.content or "", title=title, page_url=page.url, copy_path=path)
        atomic_write(Path(config.site_dir) / unquote(path), text.encode("utf-8"))
        self._copies[path] = text if self.config.llms_full_txt else ""
        author = page.meta.get("description")
        note = note_for(
            description=str(author) if author else None,
            abstract=texts.abstract,
            summary=texts.summary,
            first_paragraph="",
            title=title,
        )
        self._llms_pages[page.url] = PageEntry(title, page.url, note)
        index = covering_file(page.url, self._llms_files)
        return [
            (
                ("link", "alternate-markdown"),
                '<link rel="alternate" type="text/markdown" '
                f'href="{attr(get_relative_url(path, page.url))}">',
            ),
            (
                ("link", "describedby"),
                f'<link rel="describedby" href="{attr(get_relative_url(index, page.url))}">',
            ),
        ]

    def _list(self, page: Page, texts, title: str, url: str | None, date):
        """Remember the page for the feed and llms.txt, written after the build."""
        if texts is None:
            return  # a page another plugin generated (blog archive, category): not listed
        # Without site_url, relative to the site root, where llms.txt is (never empty).
        link = url or page.url or "./"
        if date is not None:
            raw = page.meta.get("date")
            updated = as_datetime(raw.get("updated")) if isinstance(raw, dict) else None
            # Material's blog resolves `authors: [id]` through .authors.yml.
            authors = tuple(
                name
                for a in getattr(page, "authors", None) or ()
                if isinstance(name := getattr(a, "name", None), str)
            )
            self._posts.append(
                Entry(title, link, date, updated or date, texts.abstract, authors=authors)
            )
            self._links["Posts"].append((title, link, texts.summary))
        else:
            self._links["Pages"].append((title, link, texts.summary))

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self._texts is None:
            return
        site_dir = Path(config.site_dir)
        if self.config.feed and self._posts:
            if config.site_url:
                feed = atom_feed(
                    title=config.site_name,
                    site_url=config.site_url,
                    feed_url=urljoin(config.site_url, self.config.feed_path),
                    entries=self._posts,
                )
                (site_dir / self.config.feed_path).write_bytes(feed)
            else:
                log.info("no site_url in mkdocs.yml: the Atom feed needs absolute links; skipped")
        if self.config.llms_txt:
            files = build_llms(
                SiteInfo(
                    config.site_name,
                    config.site_description or "",
                    config.site_url or None,
                    self._home_url,
                ),
                _nav_nodes(self._nav_items),
                self._llms_pages,
                sections=self.config.llms_txt_sections,
                copies=self._copies if self.config.llms_full_txt else None,
            )
            for rel, text in files.items():
                atomic_write(site_dir / unquote(rel), text.encode("utf-8"))

    def _page_texts(self, page: Page):
        if self._texts is None:
            return None
        return self._texts.pages.get(page.file.src_uri)


def _no_alt(src: str) -> None:
    return None


def _nav_nodes(items) -> list[NavNode]:
    """MkDocs navigation -> the generator-neutral tree llms.txt is built from (links to
    other sites are left out: llms.txt lists this site's pages)."""
    nodes = []
    for item in items or []:
        children = tuple(_nav_nodes(item.children)) if item.is_section else ()
        if item.is_section or item.is_page:
            url = item.url if item.is_page else None
            nodes.append(NavNode(item.title or "", url, children))
    return nodes
