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

from .cache import ScanCache
from .config import EnrichConfig, Site
from .discover import discover
from .feeds import Entry, as_datetime, atom_feed, llms_txt
from .plan import State, build_plan
from .render import PageHead, first_image, head_for, inject_alts, rewrite_head
from .store import SUFFIX
from .texts import SiteTexts, collect, plain_text

log = get_plugin_logger(__name__)

# What og:image may point to: images every card renderer shows (never an SVG).
RASTER = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")

ON_STALE_ENV = "ENRICH_ON_STALE"


def site_from_mkdocs(config: MkDocsConfig, options: EnrichConfig) -> Site:
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
    )


class _AbstractPost:
    """What Material's blog Excerpt reads from its post, with the abstract as markdown."""

    def __init__(self, post: Page, markdown: str):
        self._post = post
        self.markdown = markdown

    def __getattr__(self, name):
        return getattr(self._post, name)


class EnrichPlugin(BasePlugin[EnrichConfig]):
    def on_config(self, config: MkDocsConfig) -> None:
        self._texts: SiteTexts | None = None
        self._dest_to_src: dict[str, str] | None = None
        self._first_image: dict[str, tuple[str, str]] = {}
        self._raster: set[str] = set()  # dest_uri of every raster image the site serves
        self._default_image: tuple[str, str] | None = None  # (dest_uri, alt)
        self._has_posts = False
        self._described: set[str] = set()
        self._posts: list[Entry] = []
        self._links: dict[str, list[tuple[str, str, str]]] = defaultdict(list)

    # Late, so pages and files added by other plugins (the blog) are already there.
    @event_priority(-100)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> None:
        if not self.config.enabled:
            return
        for file in files:
            if file.src_uri.endswith(SUFFIX):
                file.inclusion = InclusionLevel.EXCLUDED
        site = site_from_mkdocs(config, self.config)
        plan = build_plan(site, discover(site, ScanCache(site.state_dir / "cache" / "scan.json")))
        self._texts = collect(plan)
        self._check_stale(site, plan)
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
            excerpt.content = inject_alts(excerpt.content, self._lookup(view, config))

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
        body = f"<p>{escape(abstract)}</p>\n\n{separator}\n"
        if getattr(page, "_title_from_render", None):
            body = f"# {page.title}\n\n{body}"
        excerpt.post = _AbstractPost(page, body)

    def _lookup(self, page: Page, config: MkDocsConfig, files: Files | None = None):
        """src as written in the page's HTML -> (alt, decorative) of the image it shows."""
        if self._dest_to_src is None and files is not None:
            self._dest_to_src = {f.dest_uri: f.src_uri for f in files}
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
            return (found.alt, found.decorative) if found else None

        return lookup

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
        return rewrite_head(output, lambda printed: head_for(head, printed))

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
            text = llms_txt(
                title=config.site_name,
                description=config.site_description or "",
                sections={"Pages": self._links["Pages"], "Posts": self._links["Posts"]},
            )
            (site_dir / "llms.txt").write_text(text, encoding="utf-8")

    def _page_texts(self, page: Page):
        if self._texts is None:
            return None
        return self._texts.pages.get(page.file.src_uri)
