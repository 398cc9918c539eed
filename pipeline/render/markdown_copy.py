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
Relative links and image sources are rewritten for the copy's own folder (`page.md`
sits beside `page/`, one level up from the HTML).
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit, urlunsplit

from bs4 import BeautifulSoup, Tag
from markdownify import ATX, MarkdownConverter

from pipeline.render.llms import escape_inline, guard_line, md_heading

# Only makes sense in a browser: permalink anchors (the ¶ after headings), line-number
# columns, tab radio buttons, scripts.
_DROP_TAGS = frozenset({"input", "script", "style", "button"})
_DROP_CLASSES = frozenset({"headerlink", "linenos", "linenodiv"})


def markdown_copy(content_html: str, *, title: str, page_url: str, copy_path: str) -> str:
    """`content_html` is the page's article (MkDocs: `page.content`); `page_url` the
    site-relative URL of the HTML page; `copy_path` where the copy is written."""
    soup = BeautifulSoup(content_html, "html.parser")
    _tidy(soup)
    _rebase(soup, page_url, copy_path)
    body = _Converter().convert_soup(soup)
    body = re.sub(r"[ \t]+\n", "\n", body)
    body = re.sub(r"\n{3,}", "\n\n", body).strip("\n")
    if soup.find("h1") is None and title:
        # Themes print the title as the H1 when the content has none: so does the copy.
        body = f"# {md_heading(title)}\n\n{body}" if body else f"# {md_heading(title)}"
    return body + "\n"


# --- the tree ------------------------------------------------------------------------------


def _tidy(soup: BeautifulSoup) -> None:
    """One pass over the tree (CSS selectors cost more than the conversion itself)."""
    tabs, boxes = [], []
    for el in soup.find_all(True):
        if el.decomposed:
            continue
        classes = el.get("class") or ()
        if el.name in _DROP_TAGS or _DROP_CLASSES.intersection(classes):
            el.decompose()
        elif el.name == "div" and "tabbed-set" in classes:
            tabs.append(el)
        elif (el.name == "div" and "admonition" in classes) or el.name == "details":
            boxes.append(el)
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


def rebase_url(url: str, page_url: str, copy_path: str) -> str:
    """A URL as written in the page's HTML -> the same target, written from the copy."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return url  # absolute, root-relative, or a fragment/query of this page
    page_dir = page_url if page_url.endswith("/") or not page_url else posixpath.dirname(page_url)
    joined = posixpath.normpath(posixpath.join(page_dir, parts.path))
    if joined == ".." or joined.startswith("../"):
        return url  # above the site root: leave as the author wrote it
    if joined == ".":
        joined = ""
    new = posixpath.relpath(joined or ".", posixpath.dirname(copy_path) or ".")
    if parts.path.endswith("/") and not new.endswith("/"):
        new = "./" if new == "." else new + "/"
    return urlunsplit(("", "", new, parts.query, parts.fragment))


def _rebase(soup: BeautifulSoup, page_url: str, copy_path: str) -> None:
    for el, key in [(a, "href") for a in soup.find_all("a", href=True)] + [
        (img, "src") for img in soup.find_all("img", src=True)
    ]:
        el[key] = rebase_url(str(el[key]), page_url, copy_path)


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


def _language(el: Tag) -> str:
    """The code block's language from the classes Pygments/highlight.js themes set."""
    candidates = [el, el.find("code"), el.parent]
    for node in candidates:
        if not isinstance(node, Tag):
            continue
        for cls in node.get("class") or []:
            if cls.startswith("language-"):
                return cls[len("language-") :]
            if cls == "mermaid":
                return "mermaid"
    return ""


class _Converter(MarkdownConverter):
    def __init__(self):
        super().__init__(
            heading_style=ATX,
            bullets="-",
            code_language_callback=_language,
            # Paragraphs as one line each: a source line starting with "- " inside a
            # paragraph would otherwise become a list item.
            wrap=True,
            wrap_width=None,
            escape_asterisks=False,
            escape_underscores=False,
            escape_misc=False,
        )

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
        if "_inline" in parent_tags:
            return alt  # in a heading or a table cell: markdown has no room for an image
        return f"![{alt}]({_destination(src)}{_title_part(el)})"
