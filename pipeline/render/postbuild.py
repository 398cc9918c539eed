"""Render the committed sidecars into a site another generator already built.

For generators that run no plugin of ours (Zensical drops unknown plugins silently),
this pass works on the built HTML alone: it maps each built page back to its source,
fills missing alt text in the page's content, sets the meta description from the
summary, adds the head tags, writes the feed and llms.txt, and removes any sidecar the
generator copied into the site. No model, no network: it reads files and writes files.

Mapping a built page to its source: where the generator's Layout (pipeline.model) puts
it, `a/b.md` at `a/b/index.html` (or `a/b.html` without directory URLs). Pages a
generator moves (a blog post gets a dated URL) are matched by title, when exactly one
unmatched source and one unmatched built page carry it. An image is found by its path
in the site, else by its bytes (a blog may copy a post's images elsewhere; the same
bytes are the same image to us).
"""

from __future__ import annotations

import html as htmllib
import os
import posixpath
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import quote, unquote

from pipeline.errors import Fatal, Problem
from pipeline.fsutil import UnsafePath, read_regular
from pipeline.model import Site
from pipeline.plan import Plan
from pipeline.render.hosting import HOSTING_DIR
from pipeline.render.llms import FULL_FILE, ROOT_FILE
from pipeline.render.shown import Recorder
from pipeline.render.site_pass import (
    PageInfo,
    SitePass,
    html_refs,
    nav_from_config,
    nav_from_tree,
    replace_file,
    stale_mode,
)
from pipeline.render.texts import ImageText, SiteTexts, collect
from pipeline.sidecars import SUFFIX
from pipeline.source.discover import split_page
from pipeline.source.fingerprint import bytes_fingerprint
from pipeline.source.links import url_dir

# Where a blog post's author cuts its excerpt (Material's default separator).
EXCERPT_SEPARATOR = "<!-- more -->"

# Not a page of the site: the generator's error page has no source and no canonical URL.
NOT_PAGES = frozenset({"404.html"})
# A built page, an image or a page source is read up to this size (anything larger, or not
# a regular file inside its folder, is left as it is and named).
FILE_MAX = 64 << 20


# --- pure: paths and URLs --------------------------------------------------------------------


def match_pages(
    built: Iterable[str],
    sources: dict[str, str],
    output_path: Callable[[str], str],
    titles_of: Callable[[str], Iterable[str]],
) -> dict[str, str]:
    """built HTML path -> source path. `sources` maps each source path to its title;
    `output_path` is the generator's Layout (where a source's page is built);
    `titles_of` reads a built page's titles (its <h1>, its <title>), and is only asked
    about pages left unmatched by path."""
    built = list(built)
    present = set(built)
    mapping: dict[str, str] = {}
    for src in sources:
        out = output_path(src)
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


def rendered_title(page_html: str, page: PageInfo, nav_title: str | None = None) -> str:
    """A page's title as its generator holds it (HTML text), in MkDocs' order: the
    config's nav title, front matter `title`, its rendered <h1> (attribute lists and
    permalinks gone), else what we read."""
    if nav_title:
        return htmllib.escape(nav_title)
    written = page.front.get("title")
    if isinstance(written, str | int | float) and str(written).strip():
        return htmllib.escape(str(written).strip())
    heading = heading_of(page_html)
    return htmllib.escape(heading) if heading else page.title


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


# --- one page ----------------------------------------------------------------------------------


def render_page(
    page_html: str,
    page: PageInfo,
    site_pass: SitePass,
    abstract_of: Callable[[str], str] = lambda url: "",
) -> str:
    """One built page in; out, the page with alts in its content, its head tags, the
    v2 links (its markdown copy is written from the content). On a blog listing, a
    post the author did not cut shows its abstract (`abstract_of(post url)`)."""
    start, end = content_span(page_html)
    content = abstract_excerpts(page_html[start:end], page.url, abstract_of)
    content = site_pass.content(content, page)
    page_html = page_html[:start] + content + page_html[end:]
    return site_pass.finish_page(page_html, page, content)


# A blog listing's excerpt as the Material family writes it (Zensical, Material's blog):
# the post's title as an <h2> linking the post, then what the post's markdown holds
# before `<!-- more -->` (all of it when there is none), then "Continue reading".
_EXCERPT = re.compile(r'<article class="md-post md-post--excerpt">')
_EXCERPT_BODY = '<div class="md-post__content md-typeset">'
_TOCLINK = re.compile(r'<h2\b[^>]*>\s*<a class="toclink" href="([^"]*)"')


def abstract_excerpts(content: str, listing_url: str, abstract_of: Callable[[str], str]) -> str:
    """Each excerpt of a post with an abstract and no separator: its title, the abstract,
    "Continue reading" (what Material's blog shows on the MkDocs route). `abstract_of`
    takes a post's site-relative URL; "" leaves the excerpt as the generator wrote it."""
    out, at = [], 0
    for found in _EXCERPT.finditer(content):
        if found.start() < at:
            continue
        end = content.find("</article>", found.end())
        if end < 0:  # the last excerpt's end is where the page's content span stops
            end = len(content)
        body = content.find(_EXCERPT_BODY, found.end(), end)
        link = _TOCLINK.search(content, body, end) if body >= 0 else None
        if link is None:
            continue
        href = htmllib.unescape(link.group(1))
        abstract = abstract_of(_site_url(listing_url, href))
        heading_end = content.find("</h2>", link.end(), end)
        close = content.rfind("</div>", heading_end, end)
        if not abstract or heading_end < 0 or close < 0:
            continue
        excerpt = (
            f"\n<p>{htmllib.escape(abstract, quote=False)}</p>\n"
            f'<nav class="md-post__action">\n<a href="{htmllib.escape(href)}">\n'
            "Continue reading\n</a>\n</nav>\n"
        )
        out += [content[at : heading_end + len("</h2>")], excerpt]
        at = close
    return "".join(out) + content[at:]


def _site_url(from_url: str, href: str) -> str:
    """A link in the page at `from_url` (site-relative) -> the site-relative URL."""
    path = href.split("#")[0].split("?")[0]
    if path.startswith("/") or "://" in path:
        return ""
    joined = posixpath.normpath(posixpath.join(url_dir(unquote(from_url)) or ".", unquote(path)))
    joined = "" if joined == "." else joined
    return joined + "/" if path.endswith("/") and joined else joined


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
        try:
            data = read_regular(self._site_dir / path, FILE_MAX, root=self._site_dir)
        except OSError:
            return None
        return self._by_fingerprint.get(bytes_fingerprint(data))


@dataclass
class PassResult:
    pages: int = 0
    from_sources: int = 0
    unmatched_sources: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (level, text)


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
    if state.parts and copied.is_dir() and not copied.is_symlink():
        shutil.rmtree(copied)
        removed.append(state.as_posix() + "/")
    return removed


def run(
    site: Site,
    plan: Plan,
    site_dir: Path | None = None,
    nav: object = None,
    on_shown: Callable[[], Plan | None] | None = None,
) -> PassResult:
    """`nav` is the config's `nav:` as written (None: the folder tree, as MkDocs does).
    `on_shown` is where `pipeline build` enriches the pages whose rendered words are new
    (pipeline.render.shown): called once they are recorded and before any page is
    written, it returns the plan to render from (None: the same)."""
    site_dir = (site_dir or site.site_dir).resolve()
    if not site_dir.is_dir():
        raise Fatal(f"{site_dir}: no built site here; build the site first")
    result = PassResult(removed=remove_unpublished(site, site_dir))
    texts = collect(plan)
    sources = {p.path: p for p in plan.discovery.pages}
    html_files = built_pages(site_dir)
    served = {rel: rel for rel in served_files(site_dir)}
    # What the generator wrote: its pages, and every other file but those of ours a
    # previous run left (a copy, an llms.txt, the feed) that no static file in docs_dir
    # backs (a page's source is rendered, never copied: `a.md` in site/ is our copy).
    generated = html_files + [
        rel
        for rel in served
        if not _ours(rel, site) or (rel not in sources and (site.docs_dir / rel).is_file())
    ]
    fingerprints = {path: image.fingerprint for path, image in plan.discovery.images.items()}
    messages: list[tuple[str, str]] = []
    site_pass = SitePass(
        site,
        texts,
        served,
        html_refs=html_refs(plan),
        image_at=ImageResolver(site_dir, texts, fingerprints),
        site_dir=site_dir,
        generated=generated,
        say=lambda level, message: messages.append((level, message)),
    )
    mapping = match_pages(
        html_files,
        {path: page.title for path, page in sources.items()},
        lambda src: site.layout.output_path(src, site.use_directory_urls),
        lambda rel: _titles(_read(site_dir, rel)[0] or "", site.site_name),
    )
    result.unmatched_sources = sorted(set(sources) - set(mapping.values()))
    infos: dict[str, PageInfo] = {}
    uncut: set[str] = set()  # posts whose author wrote no excerpt separator
    for rel in html_files:
        src = mapping.get(rel)
        meta, body = _frontmatter(site.docs_dir, src) if src else ({}, "")
        if src and EXCERPT_SEPARATOR not in body:
            uncut.add(src)
        infos[rel] = PageInfo(
            url=quote(site.layout.url_of_output(rel, site.use_directory_urls)),
            src=src,
            title=htmllib.escape(sources[src].title) if src else "",
            meta=meta,
            authors=_authors(meta),
        )
    recorder = Recorder.for_plan(site, plan)
    if recorder.borrowed:
        shown_plan = _record_shown(site_dir, mapping, recorder, on_shown)
        if shown_plan is not None:
            site_pass.texts = collect(shown_plan)
            recorder.know(shown_plan)
        recorder.save()
        messages += recorder.changed_messages(site.docs_dir, stale_mode(site))
    site_pass.has_posts = any(site_pass.post_date(info) for info in infos.values())
    abstracts = {
        unquote(info.url): post.abstract
        for info in infos.values()
        if info.src in uncut
        and site_pass.post_date(info)
        and (post := site_pass.page_texts(info)) is not None
        and post.abstract
    }
    url_of_src = {info.src: info.url for info in infos.values() if info.src}
    nav_nodes = (
        nav_from_config(nav, url_of_src.get, lambda s: sources[s].title if s in sources else "")
        if isinstance(nav, list)
        else nav_from_tree(
            (info.src, info.url, sources[info.src].title) for info in infos.values() if info.src
        )
    )
    site_pass.set_nav(nav_nodes)
    titled = nav_titles(nav)
    for rel in html_files:
        page_html, why = _read(site_dir, rel)
        if page_html is None:
            # Named by its path in the site (a Problem's path is docs-relative or absolute).
            result.problems.append(Problem(str(site_dir / rel), f"{why}: left as it is"))
            continue
        info = infos[rel]
        if not info.src:
            info = PageInfo(info.url, None, htmllib.escape(title_of(page_html, site.site_name)))
        else:
            info = replace(info, title=rendered_title(page_html, info, titled.get(info.src)))
        new_html = render_page(page_html, info, site_pass, lambda url: abstracts.get(url, ""))
        if new_html != page_html:
            replace_file(site_dir / rel, new_html.encode("utf-8"))
        result.pages += 1
        result.from_sources += 1 if site_pass.page_texts(info) else 0
    home = next((i.url for i in infos.values() if i.url == ""), "")
    result.notes = site_pass.finish(nav_nodes, home)
    result.messages = messages
    return result


def _record_shown(
    site_dir: Path,
    mapping: dict[str, str],
    recorder: Recorder,
    on_shown: Callable[[], Plan | None] | None,
) -> Plan | None:
    """Record what each borrowing page's article shows (the text its markdown copy is
    made from); when that is new, pause for `on_shown`. -> the plan it returned."""
    for rel, src in mapping.items():
        if src in recorder.borrowed:
            page_html = _read(site_dir, rel)[0]
            if page_html is not None:
                start, end = content_span(page_html)
                recorder.put(src, page_html[start:end])
    if on_shown is None or not recorder.wants_enrich():
        return None
    recorder.save()  # what `on_shown` plans from
    return on_shown()


def nav_titles(nav: object) -> dict[str, str]:
    """Source path -> the title the config's `nav:` gives it (`- FAQ: faq.md`)."""
    out: dict[str, str] = {}
    for entry in nav if isinstance(nav, list) else []:
        if isinstance(entry, dict):
            for title, value in entry.items():
                if isinstance(value, list):
                    out.update(nav_titles(value))
                elif isinstance(value, str) and title is not None:
                    out.setdefault(value, str(title))
    return out


def _authors(meta: dict) -> tuple[str, ...]:
    """Front matter `authors:` as names (Material resolves ids through .authors.yml; a
    plain list of names is what a generator without that file shows)."""
    value = meta.get("authors")
    return tuple(str(a) for a in value if isinstance(a, str)) if isinstance(value, list) else ()


def served_files(site_dir: Path) -> list[str]:
    """Every file of the built site but its pages: what a page's <img> may show."""
    out = []
    for dirpath, _dirnames, filenames in os.walk(site_dir):
        rel_dir = os.path.relpath(dirpath, site_dir).replace(os.sep, "/")
        for name in filenames:
            if not name.endswith((".html", SUFFIX)):
                out.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    return out


def _titles(page_html: str, site_name: str) -> tuple[str, str]:
    return heading_of(page_html), title_of(page_html, site_name)


def _read(site_dir: Path, rel: str) -> tuple[str | None, str]:
    """A built page's text, or (None, why): never through a link out of site_dir, never
    a FIFO or a device, never more than FILE_MAX."""
    try:
        return read_regular(site_dir / rel, FILE_MAX, root=site_dir).decode("utf-8"), ""
    except UnicodeDecodeError:
        return None, "built page is not UTF-8 text"
    except OSError as e:
        reason = str(e) if isinstance(e, UnsafePath) else e.strerror or str(e)
        return None, f"built page cannot be read ({reason.replace('docs_dir', 'site_dir')})"


def _ours(rel: str, site: Site) -> bool:
    """A site path one of our outputs may have (a markdown copy, an llms file, the feed,
    the host configs; a `_headers` is told apart by its first line, when it is written)."""
    name = posixpath.basename(rel)
    return (
        rel.endswith(".md")
        or name in (ROOT_FILE, FULL_FILE)
        or rel == site.options.feed_path
        or rel.startswith(HOSTING_DIR + "/")
    )


def _frontmatter(docs_dir: Path, src: str) -> tuple[dict, str]:
    """A source's front matter and body ({}, "" when it cannot be read)."""
    try:
        split = split_page(src, read_regular(docs_dir / src, FILE_MAX, root=docs_dir))
    except OSError:
        return {}, ""
    return (split[0], split[1]) if isinstance(split, tuple) else ({}, "")
