"""llms.txt (llmstxt.org, v2 discovery): the index file, per-section files, llms-full.txt.

Pure and generator-neutral: it takes the site's navigation as a tree of `NavNode`s and
the listable pages as `PageEntry`s keyed by their site-relative URL, and returns the
files to write as {site-relative path: text}. MkDocs, Zensical or anything else adapts
its own navigation to these dataclasses.

The file: an H1 (the site name), a blockquote (site_description, else the home page's
note), then one H2 per navigation section (nested sections get an H2 of their own,
titled by their path: the v1 grammar has no deeper levels), each a list of
`- [title](markdown copy URL): note`. Every item has a note. Pages not in the navigation
(blog posts) join the deepest section whose folder holds them, else "Other pages".

Markdown copies live at `page.md`: the page URL with its trailing slash (or `.html`)
replaced by `.md` (`guides/fix-a-flat/` -> `guides/fix-a-flat.md`, the home `` ->
`index.md`). That is the v2 "replace" form applied to the URL readers see, and what an
agent guesses from a pretty URL (the convention Stripe's and Anthropic's docs serve);
`index.html.md` would only match a URL nobody links to. The head link makes discovery
independent of guessing anyway.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from pipeline.text import clean

ROOT_FILE = "llms.txt"
FULL_FILE = "llms-full.txt"
# How a markdown copy's first line (the llms.txt directive) starts.
DIRECTIVE_PREFIX = "> For AI agents: the documentation index is "
LOOSE_SECTION = "Pages"
OTHER_SECTION = "Other pages"


@dataclass(frozen=True)
class NavNode:
    """A navigation entry: a page (url set), a section (children), or both (an index)."""

    title: str
    url: str | None = None  # site-relative URL of the page, as the generator writes it
    children: tuple[NavNode, ...] = ()


@dataclass(frozen=True)
class PageEntry:
    title: str
    url: str  # site-relative URL of the HTML page
    note: str  # one line of plain text (see `note_for`)


@dataclass(frozen=True)
class SiteInfo:
    name: str
    description: str = ""  # site_description
    site_url: str | None = None  # absolute links under it; relative links without
    home_url: str = ""  # the home page's URL: its note is the blockquote fallback


@dataclass
class _Section:
    title: str
    folder: str | None  # the folder holding all its pages ("guides/"), None at the root
    items: list[str] = field(default_factory=list)  # page URLs, in order
    subsections: list[_Section] = field(default_factory=list)


# --- text --------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?=#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_BLOCK_START = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|=+\s*$|-+\s*$)")
_ORDERED_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")
_CLOSING_HASHES = re.compile(r"(\s)(#+)$")


def md_text(text: str) -> str:
    """One line of plain text that markdown renders as itself inside a line (link text,
    a note after `: `), with no HTML entities and no backslash where markdown would not
    read a character as markup there. Control and bidi-override characters are dropped."""
    return escape_inline(" ".join(clean(str(text)).split()))


def md_inline(text: str) -> str:
    """`md_text` at the start of a line (a blockquote's): no block marker either."""
    return guard_line(md_text(text))


def md_heading(text: str) -> str:
    """`md_text` as an ATX heading's text: a closing run of `#` would be dropped."""
    return _CLOSING_HASHES.sub(r"\1\\\2", md_text(text))


_MAY_ESCAPE = re.compile(r"[\\`\[\]*_<~&]")


def escape_inline(text: str) -> str:
    """Backslash-escape what inline markdown would read as markup, and nothing else."""
    if not _MAY_ESCAPE.search(text):
        return text  # most text nodes: nothing below would change a character
    out = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if ch == "\\" and (after in _PUNCTUATION or i == len(text) - 1):
            # (at the end, whatever follows the text — `]`, a newline — is punctuation)
            out.append("\\\\")
        elif ch in "`[]":
            out.append("\\" + ch)
        elif ch == "*" and not (before.isspace() and after.isspace()):
            out.append("\\*")
        elif ch == "_" and not (before.isalnum() and after.isalnum()):
            out.append("\\_")
        elif ch == "<" and (after.isalpha() or after in "/!?"):
            out.append("\\<")  # would open a tag or an autolink
        elif ch == "~" and text.count("~") > 1:
            out.append("\\~")  # a pair would strike through (GFM)
        else:
            out.append(ch)
    return _ENTITY.sub(r"\\&", "".join(out))


def guard_line(text: str) -> str:
    """Escape what would make a line's start a block (heading, quote, list, setext
    underline) or its end a heading's closing hashes."""
    if _BLOCK_START.match(text):
        text = "\\" + text
    text = _ORDERED_START.sub(r"\1\\\2", text)
    return _CLOSING_HASHES.sub(r"\1\\\2", text)


_PUNCTUATION = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def note_for(
    *, description: str | None, abstract: str, summary: str, first_paragraph: str, title: str
) -> str:
    """The author's description first, else the abstract, else the summary, else the first
    paragraph; never empty (the title, as a last resort), on one line."""
    for text in (description, abstract, summary, first_paragraph, title):
        if text and text.strip():
            return " ".join(text.split())
    return ""


def copy_path(url: str) -> str:
    """Site-relative path of a page's markdown copy, from its site-relative URL."""
    path = url.split("#", 1)[0].split("?", 1)[0].lstrip("/")
    if path in ("", "index.html"):
        return "index.md"
    if path.endswith("/"):
        return path.rstrip("/") + ".md"
    if path.endswith(".html"):
        return path[: -len(".html")] + ".md"
    return path + ".md"


def _link_url(url: str) -> str:
    """A URL that cannot end or break a markdown link destination."""
    return (
        url.replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


# --- sections ------------------------------------------------------------------------------


def _folder(url: str) -> str:
    """The folder a URL's page sits in or heads: `guides/` for `guides/` and `guides/x/`."""
    path = url.split("#", 1)[0].lstrip("/")
    if path.endswith("/") or not path:
        return path
    return posixpath.dirname(path) + "/" if "/" in path else ""


def _urls_under(node: NavNode) -> list[str]:
    urls = [node.url] if node.url is not None else []
    for child in node.children:
        urls += _urls_under(child)
    return urls


def _common_folder(urls: list[str]) -> str | None:
    """The deepest folder holding every URL, or None when that is the site root."""
    folders = [_folder(u) for u in urls]
    if not folders:
        return None
    common = posixpath.commonpath(["/" + f for f in folders]).lstrip("/")
    return common + "/" if common else None


def _sections(nav: list[NavNode], pages: dict[str, PageEntry]) -> list[_Section]:
    loose = _Section(LOOSE_SECTION, None)
    out: list[_Section] = []

    def build(node: NavNode) -> _Section:
        sec = _Section(node.title, _common_folder(_urls_under(node)))
        if node.url is not None:
            sec.items.append(node.url)
        for child in node.children:
            if child.children:
                sec.subsections.append(build(child))
            elif child.url is not None:
                sec.items.append(child.url)
        return sec

    for node in nav:
        if node.children:
            out.append(build(node))
        elif node.url is not None:
            if not loose.items:
                out.append(loose)  # loose top-level pages: one section where the first is
            loose.items.append(node.url)
    listed = {u for sec in out for u in _all_urls(sec)}
    other = _Section(OTHER_SECTION, None)
    for url in pages:
        if url not in listed:
            home = _deepest_covering(out, url)
            (home.items if home else other.items).append(url)
    if other.items:
        out.append(other)
    return out


def _all_urls(sec: _Section) -> list[str]:
    return sec.items + [u for sub in sec.subsections for u in _all_urls(sub)]


def _deepest_covering(sections: list[_Section], url: str) -> _Section | None:
    best, depth = None, -1
    folder = _folder(url)

    def visit(sec: _Section):
        nonlocal best, depth
        if sec.folder and folder.startswith(sec.folder) and sec.folder.count("/") > depth:
            best, depth = sec, sec.folder.count("/")
        for sub in sec.subsections:
            visit(sub)

    for sec in sections:
        visit(sec)
    return best


def section_files(nav: list[NavNode]) -> dict[str, str]:
    """{folder: llms.txt path} for each top-level section that can have a file of its own:
    its pages share a folder below the root, and no earlier section took that folder."""
    files: dict[str, str] = {}
    for node in nav:
        if not node.children:
            continue
        folder = _common_folder(_urls_under(node))
        if folder and folder not in files:
            files[folder] = folder + ROOT_FILE
    return files


def covering_file(url: str, files: dict[str, str]) -> str:
    """The llms.txt covering a page: the most specific folder holding it, else the root."""
    folder = _folder(url)
    best = max((f for f in files if folder.startswith(f)), key=len, default=None)
    return files[best] if best else ROOT_FILE


# --- the files -----------------------------------------------------------------------------


def build_llms(
    site: SiteInfo,
    nav: list[NavNode],
    pages: dict[str, PageEntry],
    *,
    sections: bool = False,
    copies: dict[str, str] | None = None,
    root_file: str = ROOT_FILE,
) -> dict[str, str]:
    """-> {site-relative path: text}. `sections` adds one llms.txt per top-level section
    (the root file then links to it instead of listing its pages); `copies` (markdown
    copy path -> text) adds llms-full.txt. `root_file` is where the main file goes
    (`fr/llms.txt` for a language built into its own folder); links are relative to it."""
    tree = _sections(nav, pages)
    own: dict[int, str] = {}  # id of a top-level section -> its own llms.txt
    if sections:
        free = section_files(nav)
        for sec in tree:
            if sec.folder in free:
                own[id(sec)] = free.pop(sec.folder)

    def link(url: str, from_file: str) -> str:
        return _link_url(_href(copy_path(url), from_file, site.site_url))

    def item(url: str, from_file: str) -> str | None:
        page = pages.get(url)
        if page is None:
            return None  # a listing, an opted-out page, a link: not listed
        note = md_text(page.note) or md_text(page.title)
        return f"- [{md_text(page.title)}]({link(url, from_file)}): {note}"

    def body(secs: list[_Section], from_file: str, prefix: str = "") -> list[str]:
        lines: list[str] = []
        for sec in secs:
            title = f"{prefix}{sec.title}"
            if from_file == root_file and id(sec) in own:
                lines += [f"## {md_heading(title)}", ""]
                lines += [_section_item(sec, own[id(sec)], pages, site), ""]
                continue
            entries = [x for x in (item(u, from_file) for u in sec.items) if x]
            if entries:
                lines += [f"## {md_heading(title)}", "", *entries, ""]
            lines += body(sec.subsections, from_file, f"{title} / ")
        return lines

    home = pages.get(site.home_url)
    quote = site.description or (home.note if home else "")
    files = {root_file: _file(site.name, quote, body(tree, root_file))}
    for sec in tree:
        if id(sec) in own:
            index = _index_page(sec, pages)
            files[own[id(sec)]] = _file(
                sec.title, index.note if index else "", body([sec], own[id(sec)])
            )
    if copies is not None:
        full = posixpath.join(posixpath.dirname(root_file), FULL_FILE)
        files[full] = _full(site, quote, tree, copies, pages)
    return files


def _href(target: str, from_file: str, site_url: str | None) -> str:
    if site_url:
        return urljoin(site_url if site_url.endswith("/") else site_url + "/", target)
    return posixpath.relpath(target, posixpath.dirname(from_file) or ".")


def _index_page(sec: _Section, pages: dict[str, PageEntry]) -> PageEntry | None:
    """The section's own page: the one at its folder (`guides/`, `guides/index.html`)."""
    for url in sec.items:
        if sec.folder and url in (sec.folder, sec.folder + "index.html") and url in pages:
            return pages[url]
    return None


def _section_item(sec: _Section, path: str, pages: dict[str, PageEntry], site: SiteInfo) -> str:
    index = _index_page(sec, pages)
    count = sum(1 for u in _all_urls(sec) if u in pages)
    note = index.note if index else f"Index of the {count} pages of this section."
    href = _link_url(_href(path, ROOT_FILE, site.site_url))
    return f"- [{md_text(sec.title)}]({href}): {md_text(note)}"


def _file(title: str, quote: str, body: list[str]) -> str:
    lines = [f"# {md_heading(title) or 'Documentation'}", ""]
    if quote.strip():
        lines += [f"> {md_inline(quote)}", ""]
    lines += body
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def _full(
    site: SiteInfo,
    quote: str,
    tree: list[_Section],
    copies: dict[str, str],
    pages: dict[str, PageEntry],
) -> str:
    """llms-full.txt (a community convention, not the spec): the site's H1 and quote, then
    every listed page's markdown copy in llms.txt order, each opening with the page's
    title (as H1, in place of the copy's own) and its URL (absolute under site_url, else
    root-relative), without the copy's directive line."""
    head = _file(site.name, quote, [])
    parts = [head.rstrip("\n")]
    for url in (u for sec in tree for u in _all_urls(sec)):
        text = copies.get(copy_path(url)) if url in pages else None
        if not text:
            continue
        lines = text.strip("\n").split("\n")
        if lines and lines[0].startswith(DIRECTIVE_PREFIX):
            lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
        if lines and lines[0].startswith("# "):
            lines = lines[1:]
        body = "\n".join(lines).strip("\n")
        where = _link_url(_page_href(url, site.site_url))
        part = f"# {md_heading(pages[url].title)}\n\nURL: <{where}>"
        parts.append(part + ("\n\n" + body if body else ""))
    return "\n\n".join(parts) + "\n"


def _page_href(url: str, site_url: str | None) -> str:
    """An HTML page's URL as llms-full.txt names it: absolute, else root-relative."""
    if site_url:
        return urljoin(site_url if site_url.endswith("/") else site_url + "/", url)
    return "/" + url.lstrip("/")
