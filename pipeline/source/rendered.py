"""What a page shows when its words come from somewhere else: the rendered record.

A page whose body pulls words in at build time (pymdownx.snippets `--8<--`, an
mkdocstrings `::: module` directive, mkdocs-macros `{{ … }}`/`{% … %}`) says little in
its source: readers see the included file, the docstrings, the filled-in values. For such
a page, and only when the site runs the plugin or extension that expands it, the MkDocs
plugin records the article as rendered (the HTML our markdown copies are made from, as
plain text) in `state_dir/rendered.json`, committed beside the ledger. The page's
fingerprint is then the hash of those words, and enrich sends them.

Every other page keeps its source fingerprint, so adopting this costs nothing where the
rendered words are the source's own. A sidecar made from a page's source before the
record existed still matches: the first build that writes the record keeps, for each
page, the rendered fingerprint it saw (`first`), and discovery maps the source
fingerprint to it, as it does for sidecars made before `<!-- more -->` was left out. An
edit to the included file, docstring or `extra:` value changes `rendered` (not `first`):
exactly that page is changed. Once the record exists, a page's source edit or a new page
adopts nothing (`first` is empty): text made from its source before a build showed its
words is not what it shows, so it is made again from them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from pipeline.fsutil import atomic_write, read_regular
from pipeline.source.fingerprint import SCHEME, normalize_text
from pipeline.source.markdown import shorten_code

FILE = "rendered.json"
VERSION = "rendered-1"
# Characters of rendered text kept per page (the record is committed): about 4,000
# tokens, well over the default page_token_budget (1,500). The fingerprint covers all of it.
MAX_TEXT = 16_000

# What pulls words in at build time, and which plugin or extension does it.
MARKS = {
    "snippets": re.compile(r"-{1,}8<-{1,}"),
    "mkdocstrings": re.compile(r"^[ \t]*:::[ \t]+[A-Za-z_][\w.:-]*", re.M),
    "macros": re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S),
}
# The names under which a site enables each (plugins, markdown_extensions).
EXPANDERS = {
    "pymdownx.snippets": "snippets",
    "mkdocstrings": "mkdocstrings",
    "macros": "macros",
}


def marks_of(body: str) -> list[str]:
    """Which kinds of build-time words a page body asks for."""
    return [name for name, pattern in MARKS.items() if pattern.search(body)]


def expanders_of(names: Iterable[object]) -> frozenset[str]:
    """Plugin and markdown extension names -> the marks this site expands."""
    return frozenset(EXPANDERS[n] for n in names if isinstance(n, str) and n in EXPANDERS)


def words_fingerprint(text: str) -> str:
    """sha256 of rendered words, whitespace collapsed."""
    return SCHEME + hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    source: str  # the source fingerprint the page had when it was rendered
    rendered: str  # fingerprint of the rendered words
    first: str  # what a sidecar made from `source` before the record existed matches ("")
    text: str  # the rendered words, as plain text (what enrich sends)
    # A page made at build time (mkdocs-gen-files): no file in docs_dir; `source` is the
    # fingerprint of the markdown the generator wrote, `title` the page's title.
    title: str = ""
    generated: bool = False


class Record:
    """state_dir/rendered.json: page -> Entry. A missing or damaged file is an empty
    record (pages then use their source fingerprint until the next build)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.pages: dict[str, Entry] = {}
        if path is None:
            return
        try:
            data = json.loads(read_regular(path).decode("utf-8"))
        except (OSError, ValueError):
            return
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return
        keys = ("source", "rendered", "first", "text")
        for rel, e in (data.get("pages") or {}).items():
            if isinstance(e, dict) and all(isinstance(e.get(k), str) for k in keys):
                title = e["title"] if isinstance(e.get("title"), str) else ""
                made = e.get("generated") is True
                self.pages[rel] = Entry(
                    e["source"], e["rendered"], e["first"], e["text"], title, made
                )
        self._saved = self._dump()

    _saved = ""

    def put(
        self,
        rel: str,
        source: str,
        text: str,
        *,
        title: str = "",
        generated: bool = False,
        adopt: bool = False,
    ) -> Entry:
        rendered = words_fingerprint(text)
        text = text[:MAX_TEXT]
        old = self.pages.get(rel)
        same_source = old is not None and old.source == source
        first = old.first if old is not None and same_source else (rendered if adopt else "")
        entry = Entry(source, rendered, first, text, title if generated else "", generated)
        self.pages[rel] = entry
        return entry

    def keep_only(self, rels: Iterable[str]) -> None:
        wanted = set(rels)
        self.pages = {k: v for k, v in self.pages.items() if k in wanted}

    def _dump(self) -> str:
        pages: dict[str, dict] = {}
        for rel, e in sorted(self.pages.items()):
            pages[rel] = {"source": e.source, "rendered": e.rendered, "first": e.first}
            if e.generated:
                pages[rel].update(generated=True, title=e.title)
            pages[rel]["text"] = e.text
        return json.dumps({"version": VERSION, "pages": pages}, ensure_ascii=False, indent=1) + "\n"

    def save(self) -> bool:
        """Write when anything changed (byte-stable otherwise); True when written."""
        if self.path is None:
            return False
        data = self._dump()
        if data == self._saved or (not self.pages and not self.path.exists()):
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, data.encode("utf-8"))
        self._saved = data
        return True


def in_use(entry: Entry | None, source: str) -> bool:
    return entry is not None and entry.source == source


# --- the article as text -------------------------------------------------------------------

_BLOCKS = {
    "p", "div", "li", "tr", "table", "blockquote", "section", "article", "dl", "dt", "dd",
    "ul", "ol", "details", "summary", "figure", "figcaption", "br", "hr",
}  # fmt: skip
_SKIP = {"script", "style", "template", "svg", "button"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.buf: list[str] = []
        self.skip = 0
        self.pre = 0
        self.code: list[str] = []
        self.heading = 0

    def _flush(self) -> None:
        text = " ".join("".join(self.buf).split())
        self.buf = []
        if text:
            self.parts.append(("#" * self.heading + " " if self.heading else "") + text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag in _SKIP or "headerlink" in classes or self.skip:
            self.skip += tag not in ("br", "hr", "img", "input", "wbr")
            return
        if tag == "pre":
            self._flush()
            self.pre += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading = int(tag[1])
        elif tag in _BLOCKS and not self.pre:
            self._flush()

    def handle_startendtag(self, tag, attrs):
        if tag in ("br", "hr") and not self.pre:
            self._flush()

    def handle_endtag(self, tag):
        if self.skip:
            self.skip -= 1
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
            if not self.pre:
                code = "".join(self.code)
                self.code = []
                if code.strip():
                    self.parts.append(shorten_code(code))
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.heading = 0
        elif tag in _BLOCKS and not self.pre:
            self._flush()

    def handle_data(self, data):
        if self.skip:
            return
        (self.code if self.pre else self.buf).append(data)


def article_text(html: str) -> str:
    """A page's rendered article (its content HTML) as the plain text a summary is made
    from: headings as `#`, paragraphs apart, code shortened, permalinks and scripts left
    out, images left out (their alt is not the page's words)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser._flush()
    return "\n\n".join(parser.parts)
