"""A page's rendered article HTML -> its markdown copy (llms.txt v2 `page.md`).

Made from what readers see: the HTML the generator rendered from the page's markdown
(snippets and includes resolved, alt text filled, front matter gone), not the source.
Pure and generator-neutral: it takes the article HTML and two site-relative paths.

Converted with `markdownify` (MIT, BeautifulSoup-based, one overridable method per
tag). `html2text` was the other candidate: GPL-3.0 (this project is MIT), wraps lines
by default and has no per-element hooks for code languages or admonitions.

Before conversion the tree is tidied of what only makes sense in a browser: permalink
anchors, line-number columns, tab radio buttons; admonitions and `<details>` become
quotes with their title in bold, content tabs become a bold label before each tab.

What the copy keeps of the source:
- Links and image sources are portable: absolute under `site_url`, root-relative
  (`/guides/x/`) without it. A copy is read away from its URL (pasted, chunked, joined
  into llms-full.txt), where a relative link resolves to nothing.
- Every code block keeps its language: from the rendered page when it carries one (a
  `language-x` class, as Pygments with `pygments_lang_class`, highlight.js and the mkdocs
  theme write it: that is the lexer that actually ran, after snippets and includes),
  else from the source's fence info string (`languages`, matched by the code's text),
  since Pygments without that option writes no language into the HTML at all.
- A fence is one backtick longer than the longest backtick run inside it (at least
  three), so code that shows a fence cannot close its own.
- Images stay images everywhere, table cells and headings included.

The conversion is bounded: a page nested deeper than MAX_DEPTH elements, larger than
MAX_HTML characters or slower than MAX_SECONDS to convert raises `CopyTooLarge`, and the
caller skips that page's copy with one line (markdownify recurses per element: about 350
nested elements overflowed Python's stack and stopped the whole build).
"""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Mapping
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from markdownify import ATX, MarkdownConverter

from pipeline.render.html import Tag as HtmlTag
from pipeline.render.llms import DIRECTIVE_PREFIX, escape_inline, guard_line, md_heading, md_text

# Bounds of one conversion (issue 23.3). Real pages: the deepest article of the three
# corpora nests 20 elements, the largest is 0.6 MB of HTML.
MAX_DEPTH = 100
MAX_HTML = 2_000_000
MAX_SECONDS = 20.0


class CopyTooLarge(Exception):
    """The page is beyond what a copy is made of; the message says which bound."""


# Only makes sense in a browser: permalink anchors (the ¶ after headings), line-number
# columns, tab radio buttons, scripts.
_DROP_TAGS = frozenset({"input", "script", "style", "button"})
_DROP_CLASSES = frozenset({"headerlink", "linenos", "linenodiv"})


def markdown_copy(
    content_html: str,
    *,
    title: str,
    page_url: str,
    copy_path: str,
    site_url: str | None = None,
    languages: Mapping[str, str] | None = None,
    directive: str | None = None,
) -> str:
    """`content_html` is the page's article (MkDocs: `page.content`); `page_url` the
    site-relative URL of the HTML page; `copy_path` where the copy is written (kept in
    the signature: the cache keys on it). `languages` maps a code block's text (see
    `code_key`) to its source fence's language; `directive` is the URL of the llms.txt
    covering the page, announced on the copy's first line. Raises CopyTooLarge."""
    if len(content_html) > MAX_HTML:
        raise CopyTooLarge(f"{len(content_html):,} characters of HTML, over {MAX_HTML:,}")
    soup = BeautifulSoup(content_html, "html.parser", element_classes={Tag: _Tag})
    depth = _depth(soup)
    if depth > MAX_DEPTH:
        raise CopyTooLarge(f"elements nested {depth} deep, over {MAX_DEPTH}")
    _tidy(soup)
    _portable(soup, page_url, site_url)
    body = _Converter(languages or {}).convert_soup(soup)
    body = re.sub(r"[ \t]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    if soup.find("h1") is None and title:
        # Themes print the title as the H1 when the content has none: so does the copy.
        body = f"# {md_heading(title)}\n\n{body}" if body else f"# {md_heading(title)}"
    return _with_directive(body, directive) + "\n"


class _Tag(Tag):
    """bs4's Tag, with `find_parent(name)` as a plain walk up the tree: markdownify asks
    it of every tag it converts (`find_parent('pre')`), and bs4's general matcher builds
    a filter for each call (a sixth of a copy's time). Any other search is bs4's own."""

    def find_parent(self, name=None, attrs=None, **kwargs):
        if not isinstance(name, str) or attrs or kwargs:
            return super().find_parent(name, attrs, **kwargs)
        parent = self.parent
        while parent is not None:
            if parent.name == name:
                return parent
            parent = parent.parent
        return None


# Tag edges for a depth estimate. `[^<>]` keeps every attempt short (linear over any
# input); a `>` inside a quoted value only ends a tag early, which the estimate can bear.
_TAG_EDGE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)


def may_exceed_bounds(content_html: str) -> bool:
    """A quick look, no parse: could this page be refused (CopyTooLarge) for its size
    or depth? True for anything near a bound, so a False is safe to convert elsewhere
    and collect later. (Unclosed elements only make the count larger.)"""
    if len(content_html) > MAX_HTML:
        return True
    depth = deepest = 0
    for m in _TAG_EDGE.finditer(content_html):
        if m.group(1):
            depth = max(depth - 1, 0)
        elif not m.group(3) and m.group(2).lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest > MAX_DEPTH // 2


def directive_line(llms_url: str) -> str:
    """The llms.txt directive (agentdocsspec.com) as the copy's first line."""
    return (
        f"{DIRECTIVE_PREFIX}[llms.txt]({_destination(llms_url)}); "
        "it lists every page with its markdown copy."
    )


def _with_directive(body: str, directive: str | None) -> str:
    if not directive:
        return body
    return directive_line(directive) + ("\n\n" + body if body else "")


def listing_copy(
    title: str, posts: list[tuple[str, str, str, str]], *, directive: str | None = None
) -> str:
    """A blog index, archive or category page -> the list of its posts: (title, date as
    YYYY-MM-DD or "", URL of the post's copy, abstract) each, in the listing's order."""
    lines = [f"# {md_heading(title)}" if title else "# Posts", ""]
    for name, date, url, abstract in posts:
        item = f"- [{md_text(name) or 'Untitled'}]({_destination(url)})"
        item += f" ({date})" if date else ""
        note = md_text(abstract)
        lines.append(f"{item}: {note}" if note else item)
    return _with_directive("\n".join(lines).rstrip("\n"), directive) + "\n"


class _Excerpts(HTMLParser):
    """The links of each `<article class="md-post--excerpt">` (Material's and Zensical's
    blog listings): those in its heading first, where the post's title links the post."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[list[str]] = []
        self._heading: list[str] = []
        self._other: list[str] = []
        self._depth = 0  # articles open, counting from the excerpt's own
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "article":
            if self._depth:
                self._depth += 1
            elif "md-post--excerpt" in (values.get("class") or "").split():
                self._depth, self._heading, self._other = 1, [], []
        elif not self._depth:
            return
        elif tag in ("h1", "h2", "h3"):
            self._in_heading = True
        elif tag == "a" and values.get("href"):
            (self._heading if self._in_heading else self._other).append(str(values["href"]))

    def handle_endtag(self, tag):
        if not self._depth:
            return
        if tag in ("h1", "h2", "h3"):
            self._in_heading = False
        elif tag == "article":
            self._depth -= 1
            if not self._depth:
                self.found.append(self._heading + self._other)


def excerpt_links(page_html: str) -> list[list[str]]:
    """A built listing page -> for each post excerpt on it, its links (hrefs as written)."""
    start, end = page_html.find("<article"), page_html.rfind("</article>")
    if start < 0 or end < start:
        return []
    parser = _Excerpts()
    parser.feed(page_html[start : end + len("</article>")])
    parser.close()
    return parser.found


# What a page shows only to people, and its copy leaves out or writes another way:
# permalink anchors (the ¶ after headings) and a tab set's row of labels (the copy puts
# each label before its block).
_HUMAN_ONLY = frozenset({"headerlink", "tabbed-labels"})
HUMAN_ONLY_ATTR = "data-markdown-ignore"


def may_hold_human_only(content_html: str) -> bool:
    """False when nothing in `content_html` can be marked: no parse needed."""
    return any(name in content_html for name in _HUMAN_ONLY)


def human_only_edits(tags: list[HtmlTag]) -> list[tuple[int, int, str]]:
    """The insertions that mark each human-only <a> or <div> of scanned `tags`."""
    edits = []
    for tag in tags:
        if tag.name not in ("a", "div"):
            continue
        classes = set((tag.get("class") or "").split())
        if classes & _HUMAN_ONLY and not tag.has(HUMAN_ONLY_ATTR):
            at = tag.start + 1 + len(tag.name)
            edits.append((at, at, " " + HUMAN_ONLY_ATTR))
    return edits


def _depth(soup: BeautifulSoup) -> int:
    """The deepest element nesting, walked without recursion."""
    deepest = 0
    stack: list[tuple[Tag, int]] = [(soup, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in node.contents if isinstance(child, Tag))
    return deepest


# --- code languages from the source ------------------------------------------------------------

_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?(?P<fence>`{3,}|~{3,})(?P<info>.*)$"
)
_ATTR_LANG = re.compile(r"(?:^|\s)\.([\w+#.-]+)")
_LANG = re.compile(r"^[\w+#.-]+$")


def code_key(code: str) -> str:
    """What a code block is matched by between source and page: its text, whitespace
    collapsed (highlighters re-indent, trim and wrap lines in spans)."""
    return " ".join(code.split())


def fence_languages(markdown: str) -> dict[str, str]:
    """A page's source -> {code_key of each fenced block: its language}, from the fence
    info string (```python, ``` py title="x", ```{ .python .numberLines }). Fences are
    found line by line, so those inside admonitions, tabs and lists count too; a block
    whose text appears twice with different languages is left out (ambiguous)."""
    found: dict[str, str] = {}
    clashes: set[str] = set()
    lines = markdown.split("\n")
    i = 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if not opened or ("`" in opened["info"] and opened["fence"][0] == "`"):
            i += 1
            continue
        fence, lang = opened["fence"], info_language(opened["info"])
        body: list[str] = []
        i += 1
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                break
            body.append(lines[i])
            i += 1
        i += 1
        key = code_key("\n".join(body))
        if lang and key:
            if found.get(key, lang) != lang:
                clashes.add(key)
            found[key] = lang
    for key in clashes:
        del found[key]
    return found


def info_language(info: str) -> str:
    """A fence's info string -> its language, or "" (no language, or only attributes)."""
    info = info.strip()
    if info.startswith("{"):
        found = _ATTR_LANG.search(info.strip("{}"))
        return found.group(1) if found else ""
    word = info.split(None, 1)[0] if info else ""
    return word if _LANG.match(word) and "=" not in word else ""


# --- the tree ------------------------------------------------------------------------------


def _tidy(soup: BeautifulSoup) -> None:
    """One pass over the tree (CSS selectors cost more than the conversion itself)."""
    tabs, boxes, numbered, terms = [], [], [], []
    for el in soup.find_all(True):
        # Not `el.decomposed`: bs4 reads it through getattr, and on a tag that was never
        # decomposed its __getattr__ searches the whole subtree for a <_decomposed> tag
        # (a fifth of a copy's time on pages with large inline SVGs).
        if vars(el).get("_decomposed"):
            continue
        classes = el.get("class") or ()
        if el.name in _DROP_TAGS or _DROP_CLASSES.intersection(classes):
            el.decompose()
        elif el.name == "table" and "highlighttable" in classes:
            numbered.append(el)
        elif el.name == "dl":
            terms.append(el)
        elif el.name == "div" and "tabbed-set" in classes:
            tabs.append(el)
        elif (el.name == "div" and "admonition" in classes) or el.name == "details":
            boxes.append(el)
    for el in numbered:
        # Pygments' line numbers as a table (linenums): the code cell is the block; a
        # <pre> left in a table cell would become a table row, not a fence.
        code = el.find("td", class_="code")
        if code is not None:
            for child in list(code.contents):
                el.insert_before(child.extract())
        el.decompose()
    for el in terms:
        _flatten_definitions(soup, el)
    for el in tabs:
        _flatten_tabs(soup, el)
    for el in boxes:
        _quote(soup, el)


def _flatten_tabs(soup: BeautifulSoup, tabs: Tag) -> None:
    """pymdownx.tabbed: labels in one row, blocks in another -> label, block, label..."""
    row = tabs.find("div", class_="tabbed-labels", recursive=False)
    content = tabs.find("div", class_="tabbed-content", recursive=False)
    if row is not None and content is not None:  # alternate style: labels row, blocks row
        labels = row.find_all("label", recursive=False)
        blocks = content.find_all("div", class_="tabbed-block", recursive=False)
    else:  # legacy style: label, content, label, content
        labels = tabs.find_all("label", recursive=False)
        blocks = tabs.find_all("div", class_="tabbed-content", recursive=False)
    names = [lab.get_text(" ", strip=True) for lab in labels]
    out = soup.new_tag("div")
    for i, block in enumerate(blocks):
        label = soup.new_tag("p")
        strong = soup.new_tag("strong")
        strong.string = names[i] if i < len(names) else f"Tab {i + 1}"
        label.append(strong)
        out.append(label)
        block.extract()
        out.append(block)
    tabs.replace_with(out)


def _flatten_definitions(soup: BeautifulSoup, dl: Tag) -> None:
    """A definition list -> each term as a bold paragraph, then its definition's blocks.
    CommonMark has no definition lists: written as `:   text` with the blocks indented
    under it, a fenced block in a definition became an indented code block showing its
    fence (mkdocs-material's option references)."""
    out = soup.new_tag("div")
    for child in list(dl.children):
        if not isinstance(child, Tag):
            continue
        if child.name == "dt":
            if not child.get_text(strip=True):
                continue
            para, strong = soup.new_tag("p"), soup.new_tag("strong")
            for part in list(child.contents):
                strong.append(part.extract())
            para.append(strong)
            out.append(para)
        elif child.name == "dd":
            block = soup.new_tag("div")
            for part in list(child.contents):
                block.append(part.extract())
            out.append(block)
    dl.replace_with(out)


def _quote(soup: BeautifulSoup, box: Tag) -> None:
    """An admonition (or <details>) -> a blockquote starting with its title in bold."""
    title_el = box.find(class_="admonition-title") or box.find("summary")
    title = title_el.get_text(" ", strip=True) if title_el else ""
    if title_el:
        title_el.decompose()
    quote = soup.new_tag("blockquote")
    if title:
        p = soup.new_tag("p")
        strong = soup.new_tag("strong")
        strong.string = title
        p.append(strong)
        quote.append(p)
    for child in list(box.contents):
        quote.append(child.extract())
    box.replace_with(quote)


def portable_url(url: str, page_url: str, site_url: str | None) -> str:
    """A URL as written in the page's HTML -> one that resolves without the page's own
    URL: absolute under `site_url`, else root-relative. Absolute URLs, other schemes and
    fragments of the page itself are left as they are, and so is a path that climbs
    above the site root (the author's business)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return url
    page_dir = page_url if page_url.endswith("/") or not page_url else posixpath.dirname(page_url)
    joined = posixpath.normpath(posixpath.join(page_dir, parts.path))
    if joined == ".." or joined.startswith("../"):
        return url
    target = "" if joined == "." else joined
    if parts.path.endswith("/") and target:
        target += "/"
    target += ("?" + parts.query if parts.query else "") + (
        "#" + parts.fragment if parts.fragment else ""
    )
    if site_url:
        return urljoin(site_url if site_url.endswith("/") else site_url + "/", target)
    return "/" + target


def _portable(soup: BeautifulSoup, page_url: str, site_url: str | None) -> None:
    for el, key in [(a, "href") for a in soup.find_all("a", href=True)] + [
        (img, "src") for img in soup.find_all("img", src=True)
    ]:
        el[key] = portable_url(str(el[key]), page_url, site_url)


# --- the conversion ------------------------------------------------------------------------


def _destination(url: str) -> str:
    """A URL that cannot end or break a markdown link destination."""
    for ch, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(ch, code)
    return url


def _title_part(el: Tag) -> str:
    title = el.get("title")
    if not title:
        return ""
    return ' "{}"'.format(" ".join(str(title).split()).replace("\\", "\\\\").replace('"', '\\"'))


_SAFE_LANG = re.compile(r"[^\w+#.-]")


def _rendered_language(el: Tag) -> str:
    """The code block's language from the classes the renderer set: `language-x` on the
    <pre>, its <code> or the highlight <div> around it (a few levels up when line
    numbers wrapped it); `mermaid` for diagrams."""
    around = [el.parent, el.parent.parent if el.parent else None]
    for node in (el, el.find("code"), *around):
        if not isinstance(node, Tag):
            continue
        for cls in node.get("class") or []:
            if cls.startswith("language-"):
                return cls[len("language-") :]
            if cls == "mermaid":
                return "mermaid"
    return ""


def fence(code: str, language: str) -> str:
    """A fenced block that holds `code` whatever it contains: one backtick more than the
    longest run inside it, three at least."""
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    marks = "`" * max(3, longest + 1)
    return f"{marks}{_SAFE_LANG.sub('', language)}\n{code}\n{marks}"


class _Converter(MarkdownConverter):
    def __init__(self, languages: Mapping[str, str]):
        super().__init__(
            heading_style=ATX,
            bullets="-",
            # Paragraphs as one line each: a source line starting with "- " inside a
            # paragraph would otherwise become a list item.
            wrap=True,
            wrap_width=None,
            escape_asterisks=False,
            escape_underscores=False,
            escape_misc=False,
        )
        self._languages = languages
        self._deadline = time.monotonic() + MAX_SECONDS

    def process_tag(self, node, parent_tags=None):
        if time.monotonic() > self._deadline:
            raise CopyTooLarge(f"conversion took over {MAX_SECONDS:g} s")
        return super().process_tag(node, parent_tags)

    def convert_pre(self, el, text, parent_tags):
        if not text:
            return ""
        code = text.strip("\n")
        language = _rendered_language(el) or self._languages.get(code_key(code), "")
        return "\n\n" + fence(code, language) + "\n\n"

    def escape(self, text, parent_tags):
        text = escape_inline(text) if text else ""
        if parent_tags & {"td", "th"}:
            text = text.replace("|", "\\|")
        return text

    def convert_p(self, el, text, parent_tags):
        out = super().convert_p(el, text, parent_tags)
        if "_inline" in parent_tags:
            return out
        stripped = out.strip("\n")
        return "\n\n" + guard_line(stripped) + "\n\n" if stripped else out

    def convert_a(self, el, text, parent_tags):
        href = el.get("href")
        if not href or "_noformat" in parent_tags:
            return text
        prefix, suffix = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        inner = text.strip()
        if not inner:
            return ""
        return f"{prefix}[{inner}]({_destination(str(href))}{_title_part(el)}){suffix}"

    def convert_img(self, el, text, parent_tags):
        alt = escape_inline(" ".join(str(el.get("alt") or "").split()))
        src = str(el.get("src") or "")
        if not src:
            return alt
        # Also in headings and table cells: an image is inline content in markdown.
        return f"![{alt}]({_destination(src)}{_title_part(el)})"
