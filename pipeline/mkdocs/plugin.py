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
from urllib.parse import unquote, urljoin, urlsplit

import pathspec
from markupsafe import escape
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import Files, InclusionLevel
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

from pipeline.config import EnrichConfig, Site
from pipeline.fsutil import atomic_write
from pipeline.plan import State, build_plan
from pipeline.render.feeds import Entry, as_datetime, atom_feed
from pipeline.render.html import attr, first_image, head_tags, inject_alts, rewrite_head
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
from pipeline.render.texts import SiteTexts, collect
from pipeline.sidecars import SUFFIX
from pipeline.source.cache import ScanCache
from pipeline.source.discover import discover

log = get_plugin_logger(__name__)

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
        site = site_from_mkdocs(config, self.config)
        plan = build_plan(site, discover(site, ScanCache(site.state_dir / "cache" / "scan.json")))
        self._texts = collect(plan)
        self._check_stale(site, plan)

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
        if page.meta.get("enrich") is False:
            lookup = _no_alt  # an opted-out page shows no generated text
        html = inject_alts(html, lookup)
        image = first_image(html, lookup)
        if image:
            self._first_image[page.file.src_uri] = image
        return html

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str | None:
        if self._texts is None:
            return None
        if page.file.src_uri in self._described:
            page.meta.pop("description", None)
        texts = self._page_texts(page)
        url = page.canonical_url
        image, image_alt = None, ""
        if page.file.src_uri in self._first_image and url:
            src, image_alt = self._first_image[page.file.src_uri]
            image = urljoin(url, src)
        date = as_datetime(page.meta.get("date"))
        is_post = date is not None
        # Page-relative: Material's JavaScript fetches sitemap.xml beside every
        # link[rel=alternate] href, so an absolute one would call the production host
        # from every local preview.
        feed_url = (
            get_relative_url(self.config.feed_path, page.url)
            if config.site_url and self.config.feed
            else None
        )
        title = page.title or config.site_name or ""

        def tags_for(theme_description: str):
            # Social tags repeat the meta description the theme printed (the author's,
            # ours, or the site's), so the two never disagree.
            description = (
                theme_description
                or (texts.summary if texts else "")
                or config.site_description
                or ""
            )
            json_ld = None
            if self.config.json_ld:
                json_ld = {
                    "@context": "https://schema.org",
                    "@type": "BlogPosting" if is_post else "WebPage",
                    "headline" if is_post else "name": title,
                    "description": description,
                }
                if url:
                    json_ld["url"] = url
                if date:
                    json_ld["datePublished"] = date.date().isoformat()
            tags = head_tags(
                title=title,
                description=description,
                url=url,
                image=image,
                image_alt=image_alt,
                kind="article" if is_post else "website",
                site_name=config.site_name or "",
                feed_url=feed_url,
                json_ld=json_ld,
            )
            if not self.config.social_tags:
                tags = [
                    t for t in tags if t[0][0] in ("script", "link") or t[0][1] == "description"
                ]
            return tags

        self._list(page, texts, title, url, date)
        llms_tags = self._llms_copy(page, config, texts, title)
        return rewrite_head(output, lambda found: tags_for(found) + llms_tags)

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
        link = url or page.url
        if date is not None:
            raw = page.meta.get("date")
            updated = as_datetime(raw.get("updated")) if isinstance(raw, dict) else None
            self._posts.append(Entry(title, link, date, updated or date, texts.abstract))
            self._links["Posts"].append((title, link, texts.summary))
        else:
            self._links["Pages"].append((title, link, texts.summary))

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self._texts is None:
            return
        site_dir = Path(config.site_dir)
        if self.config.feed:
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
