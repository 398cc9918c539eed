"""The MkDocs plugin: render the committed sidecars. No model, no network, no key.

It reads sidecars only: it never imports `anthropic` and opens no socket, so a build
is reproducible from git alone. What each page and the site get is decided by
pipeline.render.site_pass (shared with the post-build pass other generators use); the
hooks here hand it MkDocs' pages and files, set the meta description the theme prints,
and give Material blog posts without a `<!-- more -->` separator the abstract as their
excerpt.
"""

from __future__ import annotations

from pathlib import Path

import pathspec
from markupsafe import escape
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import Files, InclusionLevel
from mkdocs.structure.pages import Page

from pipeline.config import site_url_problem, template_vars
from pipeline.errors import Fatal, Problem
from pipeline.mkdocs.config import EnrichConfig, options_of
from pipeline.model import Options, Site
from pipeline.plan import Plan, build_plan
from pipeline.render.html import inject_alts
from pipeline.render.llms import NavNode
from pipeline.render.shown import Recorder, pause
from pipeline.render.site_pass import (
    PageInfo,
    SitePass,
    check_stale,
    corrupt_sidecars,
    frontmatter_problems,
    stale_mode,
)
from pipeline.render.texts import PageTexts, collect, plain_text
from pipeline.sidecars import SUFFIX
from pipeline.source import rendered as rendered_words
from pipeline.source.cache import ScanCache
from pipeline.source.discover import discover, split_page
from pipeline.source.fingerprint import page_fingerprint
from pipeline.source.language import normalize
from pipeline.text import printable

log = get_plugin_logger(__name__)


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
        # mkdocs-static-i18n sets theme.language per build: its default is the site's.
        language=_i18n_default(config)
        or normalize(config.theme.get("language") if config.theme else None),
        template_vars=template_vars(list(config.plugins), dict(config.extra or {})),
        expanders=rendered_words.expanders_of(
            [*config.plugins, *(config.markdown_extensions or ())]
        ),
    )


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
        # MkDocs has validated `self.config` by now; the hooks read these typed Options
        # (EnrichConfig's attributes are generated, so a type checker cannot see them).
        self.options: Options = options_of(self.config)
        problem = site_url_problem(config.site_url)  # the post-build route's check, too
        if problem:
            raise PluginError(f"site_url: {problem}")
        self._pass: SitePass | None = None
        self._described: set[str] = set()
        self._nav: list[NavNode] = []
        self._home_url = ""
        self._recorder: Recorder | None = None
        self._site: Site | None = None
        # mkdocs-static-i18n builds each further language by running the whole build
        # again (same plugin instance, into site_dir/<lang>/): what was said about the
        # tree in the first language's build is not said again.
        i18n = config.plugins.get("i18n")
        if not getattr(i18n, "building", False):
            self._said: set[tuple[str, str]] = set()
        self._language = _i18n_language(config)
        if not getattr(i18n, "building", False):
            self._adopt: bool | None = None  # decided by the first on_files of the build

    # Late, so pages and files added by other plugins (the blog) are already there.
    @event_priority(-100)
    def on_files(self, files: Files, *, config: MkDocsConfig) -> None:
        if not self.options.enabled:
            return
        site = site_from_mkdocs(config, self.options)
        state = _under(site.state_dir, site.docs_dir)  # the ledger and caches: never published
        for file in files:
            if file.src_uri.endswith(SUFFIX) or (state and file.src_uri.startswith(state)):
                file.inclusion = InclusionLevel.EXCLUDED
        plan = _plan(site)
        try:
            level, messages = check_stale(site, plan)
        except Fatal as e:
            raise PluginError(str(e)) from None
        if level == "fail":
            lines = "\n  ".join(map(printable, messages))
            raise PluginError("stale enrichment (on_stale: fail):\n  " + lines)
        for message in messages:
            self._say(level, message)
        for message in corrupt_sidecars(site, plan) + frontmatter_problems(site, plan):
            self._say("warning", message)
        # Pages whose words come from elsewhere, and pages made at build time
        # (mkdocs-gen-files): their rendered words are recorded. Only the build that first
        # writes the record adopts sidecars made from sources (an upgrade).
        self._generated = _generated_pages(files, site.docs_dir, _nav_files(config))
        self._recorder = Recorder.for_plan(site, plan, self._generated, adopt=self._adopt)
        self._adopt = self._recorder.adopt
        self._site = site
        self._stale_mode = stale_mode(site)
        served = {
            f.dest_uri: f.src_uri
            for f in files
            if not f.is_documentation_page() and f.inclusion.is_included()
        }
        generated = [f.dest_uri for f in files if f.inclusion.is_included()]
        try:
            self._pass = SitePass.from_plan(
                site,
                plan,
                served,
                generated=generated,
                say=self._say,
                language=self._language,
                other_languages=_i18n_others(config),
            )
        except Fatal as e:
            raise PluginError(str(e)) from None
        for rel in self._generated:
            # Before its first enrich a made page still gets its copy, head links and
            # llms.txt entry, like a source page without a sidecar.
            self._pass.texts.pages.setdefault(rel, PageTexts("", ""))

    def on_env(self, env, *, config: MkDocsConfig, files: Files):
        # Every page's content is rendered by now and none is written yet: whether the
        # site has posts decides if any page advertises the feed.
        if self._pass is not None:
            self._pass.has_posts = any(
                f.page and self._pass.post_date(_info(f.page)) for f in files.documentation_pages()
            )
            self._show(config, files)
        return env

    def _show(self, config: MkDocsConfig, files: Files) -> None:
        """Where `pipeline build` enriches what this build shows (pipeline.render.shown):
        the record is written, the build pauses, and the texts are read again."""
        recorder, site, site_pass = self._recorder, self._site, self._pass
        if recorder is None or site is None or site_pass is None or not recorder.wants_enrich():
            return
        recorder.save()
        if not pause():
            return
        before = site_pass.texts.pages
        plan = _plan(site)
        site_pass.texts = collect(plan)
        for rel in self._generated:
            site_pass.texts.pages.setdefault(rel, PageTexts("", ""))
        recorder.know(plan)
        if _social_cards(config):
            changed = [
                f.page
                for f in files.documentation_pages()
                if f.page is not None
                and site_pass.texts.pages.get(f.src_uri) != before.get(f.src_uri)
            ]
            self._redraw_cards(changed, site_pass, config)

    def _redraw_cards(self, pages: list[Page], site_pass: SitePass, config: MkDocsConfig) -> None:
        """Material's social plugin drew these pages' cards (on_page_markdown) before the
        pause gave them their summary: draw them again with it. Through the plugin's
        own job table (Material 9.x, frozen since its end of life); a social plugin
        without one keeps the cards it drew."""
        social = config.plugins.get("material/social") or config.plugins.get("social")
        jobs = getattr(social, "card_pool_jobs", None)
        pool = getattr(social, "card_pool", None)
        generate = getattr(social, "_generate", None)
        layout_of = getattr(social, "_config", None)
        if not (isinstance(jobs, dict) and pool and callable(generate) and callable(layout_of)):
            return
        for page in pages:
            src = page.file.src_uri
            if src not in jobs:
                continue  # no card for this page (excluded)
            if src in self._described:
                page.meta.pop("description", None)
                self._described.discard(src)
            self._describe(page, site_pass.page_texts(_info(page)))
            jobs[src] = pool.submit(generate, layout_of("cards_layout", page), page, config)

    @event_priority(-100)
    def on_nav(self, nav, *, config: MkDocsConfig, files: Files):
        self._nav = _nav_nodes(nav.items)
        self._home_url = nav.homepage.url if nav.homepage else ""
        if self._pass is not None:
            self._pass.set_nav(self._nav)
        return nav

    # After the blog (-50) has made the post's excerpt; before Material's social plugin
    # (-100) starts drawing the page's card from page.meta.description.
    @event_priority(-90)
    def on_page_markdown(self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files):
        if self._pass is None:
            return None
        texts = self._pass.page_texts(_info(page))
        if _social_cards(config):
            self._describe(page, texts)
        excerpt = getattr(page, "excerpt", None)  # a Material blog post
        if excerpt is not None:
            self._fill_excerpt_alts(self._pass, excerpt)
            if texts:
                self._use_abstract_as_excerpt(page, excerpt, markdown, texts.abstract, config)
        return None

    def _fill_excerpt_alts(self, site_pass: SitePass, excerpt) -> None:
        """Material renders a post's excerpt separately for each listing it appears on,
        after on_page_content: fill its alts there, relative to the listing's URL."""
        render = excerpt.render

        def render_with_alts(view: Page, separator: str):
            render(view, separator)
            # The post's own page already warned about a broken src: fill, don't repeat.
            lookup = site_pass.lookup(_info(view), refs_of=excerpt.file.src_uri, warn=False)
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

    @event_priority(-100)
    def on_page_context(self, context, *, page: Page, config: MkDocsConfig, nav):
        self._describe(page, self._pass.page_texts(_info(page)) if self._pass else None)
        return context

    def _describe(self, page: Page, texts) -> None:
        """The summary as page.meta.description (an author's wins).

        Themes print page.meta.description into an attribute without escaping (MkDocs'
        Jinja environment has autoescape off): hand them escaped markup (Material's
        social cards unescape it before drawing). Set only while this page's template
        renders (removed in on_post_page): Material's navigation looks into every page's
        meta on every page, and a non-empty meta on all of them made a 1,000-page build
        35 % slower. With social cards it is set from on_page_markdown, when the card is
        drawn: that costs the slower build, only on sites that draw cards."""
        if page.file.src_uri in self._described:
            return
        if texts and texts.summary and not page.meta.get("description"):
            page.meta["description"] = escape(texts.summary)
            self._described.add(page.file.src_uri)

    @event_priority(-100)
    def on_page_content(self, html: str, *, page: Page, config: MkDocsConfig, files: Files):
        if self._pass is None:
            return None
        if self._recorder is not None:
            self._recorder.put(page.file.src_uri, html, plain_text(page.title or ""))
        return self._pass.content(html, _info(page))

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str | None:
        if self._pass is None:
            return None
        if page.file.src_uri in self._described:
            page.meta.pop("description", None)
            self._described.discard(page.file.src_uri)
        return self._pass.finish_page(output, _info(page), page.content or "")

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        if self._pass is not None:
            self._pass.finish(self._nav, self._home_url)
        self._save_record(config)

    def _save_record(self, config: MkDocsConfig) -> None:
        """Write the rendered record; say which pages' rendered words changed since their
        text was made (known only now: the plan was made from the last build's record)."""
        if self._recorder is None:
            return
        self._recorder.save()
        for level, message in self._recorder.changed_messages(
            Path(config.docs_dir), self._stale_mode
        ):
            self._say(level, message)

    def _say(self, level: str, message: str) -> None:
        if (level, message) not in self._said:
            self._said.add((level, message))
            _say(level, message)


def _plan(site: Site) -> Plan:
    """The plan from docs_dir as it is now. A cold scan cache (every CI build from a
    fresh clone) parses every page: on all cores."""
    scan_cache = ScanCache(site.state_dir / "cache" / "scan.json")
    return build_plan(site, discover(site, scan_cache, parallel=True))


def _nav_files(config: MkDocsConfig) -> set[str]:
    """mkdocs-literate-nav's navigation files (SUMMARY.md): a list of links, not a page
    to summarise."""
    nav = config.plugins.get("literate-nav")
    name = getattr(nav, "config", {}).get("nav_file") if nav is not None else None
    return {name} if isinstance(name, str) else set()


def _generated_pages(files: Files, docs_dir: Path, nav_files: set[str]) -> dict[str, str]:
    """Pages another plugin made at build time from nothing in docs_dir (mkdocs-gen-files)
    -> the fingerprint of the markdown it made. Material's blog listings (marked
    `generated_by: material/blog`) are the blog's own: not ours to summarise."""
    out = {}
    for f in files.documentation_pages():
        made_by = getattr(f, "generated_by", None) or ""
        if made_by.startswith("material/") or not f.abs_src_path:
            continue
        if f.src_uri.rsplit("/", 1)[-1] in nav_files:
            continue
        path = Path(f.abs_src_path).resolve()
        if path.is_relative_to(docs_dir):
            continue
        try:
            split = split_page(f.src_uri, path.read_bytes())
        except OSError:
            continue
        if not isinstance(split, Problem):
            out[f.src_uri] = page_fingerprint(split[1])
    return out


def _i18n_language(config: MkDocsConfig) -> str:
    """The language mkdocs-static-i18n is building into its own folder ("" for the
    default language, or without the plugin)."""
    i18n = config.plugins.get("i18n")
    current = getattr(i18n, "current_language", None)
    if not isinstance(current, str) or getattr(i18n, "is_default_language_build", True):
        return ""
    return current


def _i18n_default(config: MkDocsConfig) -> str | None:
    """mkdocs-static-i18n's default language (that of its unsuffixed pages), or None."""
    return normalize(getattr(config.plugins.get("i18n"), "default_language", None))


def _i18n_others(config: MkDocsConfig) -> tuple[tuple[str, str], ...]:
    """The other languages mkdocs-static-i18n builds: (name, their llms.txt)."""
    i18n = config.plugins.get("i18n")
    options = getattr(i18n, "config", None)
    current = getattr(i18n, "current_language", None)
    out = []
    for lang in getattr(options, "languages", None) or ():
        locale, name = getattr(lang, "locale", None), getattr(lang, "name", None)
        if not getattr(lang, "build", False) or locale in (None, "null", current):
            continue
        path = "llms.txt" if getattr(lang, "default", False) else f"{locale}/llms.txt"
        out.append((str(name or locale), path))
    return tuple(out)


def _social_cards(config: MkDocsConfig) -> bool:
    """Material's social plugin is on and draws cards (from page.meta.description)."""
    social = config.plugins.get("material/social") or config.plugins.get("social")
    options = getattr(social, "config", None)
    return bool(options and options.get("enabled", True) and options.get("cards", True))


def _under(path: Path, folder: Path) -> str | None:
    """`path` as a docs-relative folder prefix (`state/`) when it lies inside `folder`."""
    try:
        rel = path.relative_to(folder).as_posix()
    except ValueError:
        return None
    return rel + "/" if rel != "." else None


def _say(level: str, message: str) -> None:
    (log.warning if level == "warning" else log.info)(printable(message))


def _info(page: Page) -> PageInfo:
    """A MkDocs page as the site pass sees it."""
    # Material's blog resolves `authors: [id]` through .authors.yml.
    authors = tuple(
        name
        for a in getattr(page, "authors", None) or ()
        if isinstance(name := getattr(a, "name", None), str)
    )
    return PageInfo(
        url=page.url,
        src=page.file.src_uri,
        title=page.title or "",
        meta=page.meta,
        authors=authors,
    )


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
