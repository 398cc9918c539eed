"""Read one page's markdown as tokens: image references, title, plain text. Pure functions.

markdown-it-py parses CommonMark; MkDocs sites are written for Python-Markdown, whose
admonitions (`!!! note`) and content tabs (`=== "Tab"`) indent their bodies by four
spaces. CommonMark would read those bodies as indented code, hiding their images, so
`unindent_containers` first shifts such bodies left, keeping every line where it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark")

# Python-Markdown containers whose body is indented: admonitions, collapsible details
# (pymdownx.details) and content tabs (pymdownx.tabbed).
_OPENER = re.compile(r"(?:!!!|\?\?\?\+?|===\+?)(?:[ \t]|$)")
_FENCE = re.compile(r"(`{3,}|~{3,})")
_TAG = re.compile(r"<[^>]*>")
_MD_IN_HTML = re.compile(r"<[a-zA-Z][^>]*\smarkdown(?:\s*=|[\s>/])")


def unindent_containers(text: str) -> str:
    """Dedent the bodies of `!!!`/`???`/`===` blocks so CommonMark sees them as markdown."""
    lines = text.split("\n")
    out: list[str] = []
    bodies: list[int] = []  # column where each open container's body starts
    fence: tuple[str, int] | None = None
    for raw in lines:
        line = _expand_leading_tabs(raw)
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if stripped:
            while bodies and indent < bodies[-1]:
                bodies.pop()
        shift = bodies[-1] if bodies else 0
        shifted = line[min(shift, indent) :] if stripped else ""
        inner = shifted.lstrip(" ")
        inner_indent = len(shifted) - len(inner)
        if fence:
            m = _FENCE.match(inner)
            run = m.group(1) if m else ""
            if (
                run
                and run[0] == fence[0]
                and len(run) >= fence[1]
                and not inner[len(run) :].strip()
            ):
                fence = None
        elif inner_indent < 4:
            m = _FENCE.match(inner)
            if m:
                fence = (m.group(1)[0], len(m.group(1)))
            elif _OPENER.match(inner):
                bodies.append(indent + 4)
        out.append(shifted)
    return "\n".join(out)


def _expand_leading_tabs(line: str) -> str:
    if "\t" not in line:
        return line
    stripped = line.lstrip(" \t")
    lead = line[: len(line) - len(stripped)]
    return lead.expandtabs(4) + stripped


@dataclass(frozen=True, slots=True)
class RawRef:
    """An image reference as written: not yet resolved to a file."""

    src: str
    alt: str | None  # None: a raw <img> with no alt attribute
    syntax: str  # "inline" | "reference" | "html"
    line: int  # 1-based, in the body (callers add the frontmatter offset)
    heading: str
    context: str


@dataclass(frozen=True, slots=True)
class ParsedPage:
    h1: str | None
    first_paragraph: str
    headings: tuple[str, ...]
    refs: tuple[RawRef, ...]
    plain_text: str  # what a summary is made from (code shortened), before the token cut


class _ImgCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[dict[str, str | None], int]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.found.append((dict(attrs), self.getpos()[0]))

    handle_startendtag = handle_starttag


def html_images(fragment: str) -> list[tuple[dict[str, str | None], int]]:
    """`<img>` tags in an HTML fragment, with their 1-based line within it."""
    parser = _ImgCollector()
    parser.feed(fragment)
    parser.close()
    return parser.found


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline") or child.type == "image":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


CODE_KEEP_LINES = 6


def shorten_code(code: str, keep: int = CODE_KEEP_LINES) -> str:
    """Code costs tokens and rarely changes what a page is about: keep its head only."""
    lines = code.rstrip("\n").split("\n")
    if len(lines) <= keep:
        return "\n".join(lines)
    return "\n".join([*lines[:keep], f"[… {len(lines) - keep} more lines of code]"])


# A Jinja expression or statement on one line (mkdocs-macros fills them at build time).
# CommonMark refuses a link destination with spaces and percent-encodes braces, so
# `![]({{ logo }})` would be no image at all and `![]({{logo}})` a file named `%7B%7B…`:
# each is swapped for a space-free placeholder while parsing, then put back.
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_PLACEHOLDER = re.compile(r"(?:\{\{|%7B%7B)tpl(\d+)(?:\}\}|%7D%7D)")


def _hide_templates(text: str) -> tuple[str, list[str]]:
    found: list[str] = []

    def hide(m: re.Match) -> str:
        found.append(m.group(0))
        return "{{tpl" + str(len(found) - 1) + "}}"

    return _TEMPLATE.sub(hide, text), found


def _restore(text: str, found: list[str]) -> str:
    if not found or "tpl" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: found[int(m.group(1))], text)


def parse_page(body: str) -> ParsedPage:
    """Tokens of one page body -> its images, headings, first paragraph and plain text."""
    hidden, found = _hide_templates(body)
    parsed = _parse(hidden)
    if not found:
        return parsed
    return ParsedPage(
        h1=_restore(parsed.h1, found) if parsed.h1 is not None else None,
        first_paragraph=_restore(parsed.first_paragraph, found),
        headings=tuple(_restore(h, found) for h in parsed.headings),
        refs=tuple(
            RawRef(
                src=_restore(r.src, found),
                alt=_restore(r.alt, found) if r.alt is not None else None,
                syntax=r.syntax,
                line=r.line,
                heading=_restore(r.heading, found),
                context=_restore(r.context, found),
            )
            for r in parsed.refs
        ),
        plain_text=_restore(parsed.plain_text, found),
    )


def _parse(body: str) -> ParsedPage:
    source = unindent_containers(body)
    env: dict = {}
    tokens = _MD.parse(source, env)

    blocks: list[tuple[int, str]] = []  # (first line, plain text) of each text block
    pending: list[tuple[int, dict]] = []  # image refs waiting for their context
    headings: list[str] = []
    h1: str | None = None
    first_paragraph = ""
    heading = ""
    text_parts: list[str] = []
    list_depth = 0

    def add_ref(src, alt, syntax, line):
        pending.append(
            (
                len(blocks),
                {"src": src, "alt": alt, "syntax": syntax, "line": line, "heading": heading},
            )
        )

    for i, tok in enumerate(tokens):
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif tok.type == "inline":
            parent = tokens[i - 1] if i else None
            start = (tok.map[0] if tok.map else 0) + 1
            _collect_inline(tok, start, source, add_ref)
            text = _inline_text(tok)
            if parent is not None and parent.type == "heading_open":
                heading = text
                headings.append(text)
                if parent.tag == "h1" and h1 is None:
                    h1 = strip_attr_list(text)
                text_parts.append("#" * int(parent.tag[1]) + " " + text)
            elif text:
                in_paragraph = parent is not None and parent.type == "paragraph_open"
                if not first_paragraph and in_paragraph and _is_prose(tok):
                    first_paragraph = text
                text_parts.append(("- " if list_depth else "") + text)
            if text:
                blocks.append((start, text))
        elif tok.type in ("fence", "code_block"):
            text_parts.append(shorten_code(tok.content))
        elif tok.type == "html_block":
            start = (tok.map[0] if tok.map else 0) + 1
            for attrs, line in html_images(tok.content):
                add_ref(attrs.get("src") or "", attrs.get("alt"), "html", start + line - 1)
            if _MD_IN_HTML.search(tok.content):
                inner = "\n".join(_TAG.sub("", ln) for ln in tok.content.split("\n"))
                for sub in _MD.parse(inner, env):
                    if sub.type == "inline":
                        sub_start = start + (sub.map[0] if sub.map else 0)
                        _collect_inline(sub, sub_start, inner, add_ref, markdown_only=True)
            plain = " ".join(_TAG.sub(" ", tok.content).split())
            if plain:
                text_parts.append(plain)
                blocks.append((start, plain))

    refs = tuple(
        RawRef(heading=d["heading"], context=_context(blocks, at), **_ref_fields(d))
        for at, d in pending
    )
    return ParsedPage(
        h1=h1,
        first_paragraph=first_paragraph,
        headings=tuple(headings),
        refs=refs,
        plain_text="\n\n".join(text_parts),
    )


# `# Body - Fields { #body-fields }`: attr_list's braces are markup, never the title.
_ATTR_LIST = re.compile(r"\s*\{:?[ \t]*(?:[#.][^{}]*|[\w-]+=[^{}]*)\}\s*$")


def strip_attr_list(heading: str) -> str:
    """A heading's text without a trailing attribute list, as the generators render it."""
    return _ATTR_LIST.sub("", heading) or heading


def _ref_fields(d: dict) -> dict:
    return {"src": d["src"], "alt": d["alt"], "syntax": d["syntax"], "line": d["line"]}


def _is_prose(tok: Token) -> bool:
    """A paragraph made only of images or badges is not a page's first paragraph."""
    return any(c.type == "text" and c.content.strip() for c in tok.children or [])


def _collect_inline(tok: Token, start: int, source: str, add_ref, markdown_only=False) -> None:
    line = start
    cursor = 0  # images are matched to their source text in order, left to right
    for child in tok.children or []:
        if child.type in ("softbreak", "hardbreak"):
            line += 1
        elif child.type == "image":
            syntax, cursor = _syntax_of(child, tok.content, cursor)
            add_ref(child.attrs.get("src", ""), child.content, syntax, line)
        elif child.type == "html_inline" and not markdown_only:
            for attrs, _ in html_images(child.content):
                add_ref(attrs.get("src") or "", attrs.get("alt"), "html", line)
        elif child.type == "text":
            line += child.content.count("\n")


def _syntax_of(image: Token, content: str, cursor: int) -> tuple[str, int]:
    """Inline `![a](src)` or reference `![a][ref]` / `![a]`: markdown-it does not say, so
    find this image's `![` in the source, after the previous image's."""
    alt = image.content
    for m in re.finditer(r"!\[", content[cursor:]):
        at = cursor + m.end()
        close = _match_bracket(content[at:])
        if close is None:
            continue
        if _plain(content[at : at + close]) != alt:
            continue
        after = at + close + 1
        return ("inline" if content[after : after + 1] == "(" else "reference"), after
    return "inline", cursor


def _match_bracket(text: str) -> int | None:
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    return None


def _plain(label: str) -> str:
    return re.sub(r"[*_`]", "", label)


CONTEXT_CHARS = 400


def _context(blocks: list[tuple[int, str]], at: int) -> str:
    """Text of the block holding the image and its neighbours, about 400 characters."""
    if not blocks:
        return ""
    # `at` is the number of blocks completed before the image's block was added.
    here = min(at, len(blocks) - 1)
    before = blocks[here - 1][1] if here > 0 else ""
    current = blocks[here][1]
    after = blocks[here + 1][1] if here + 1 < len(blocks) else ""
    half = max(0, (CONTEXT_CHARS - len(current)) // 2)
    text = " ".join(p for p in (before[-half:] if half else "", current, after[:half]) if p)
    return text[: CONTEXT_CHARS + 200].strip()
