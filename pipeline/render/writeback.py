"""`enrich --write-back`: put alt text into the markdown source, for those who want it there.

Only references with a missing or empty alt change, and only by inserting the text:
`![](src)` -> `![alt](src)`, `![][ref]` -> `![alt][ref]`, `<img src>` -> `<img src alt="...">`.
Every other byte of the file stays as it was (line endings included). Page fingerprints
leave images out, so this makes no page stale; the image becomes author-written.

Only the reference discovery found is edited: the tag in the reference's own paragraph
(from its line to the next blank line or fence), never one shown in a code span or a
code block; and never a page whose front matter says `enrich: false`.
"""

from __future__ import annotations

import re

from pipeline.errors import Problem
from pipeline.fsutil import atomic_write
from pipeline.plan import Plan
from pipeline.render.html import Tag, scan, splice, with_alt
from pipeline.render.texts import collect
from pipeline.source.discover import ImageRef, PageSource
from pipeline.source.links import Resolver

_INLINE = re.compile(r"!\[\s*\]\(\s*(<[^>\n]*>|[^\s)]+)")
_REFERENCE = re.compile(r"!\[\s*\]\[([^\]\n]+)\]")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_BLOCK_END = re.compile(r"\n[ \t\r]*(?:\n|```|~~~)")


def _md_alt(text: str) -> str:
    return re.sub(r"([\\\[\]])", r"\\\1", text)


def _same_image(resolver: Resolver, page: PageSource, written: str, ref: ImageRef) -> bool:
    """Whether a src written in the page shows the image `ref` found: by the resolver
    discovery used, so `a%20b.png`, `./a b.png` and `<a b.png>` are one image."""
    written = written.strip().removeprefix("<").removesuffix(">").strip()
    if written == ref.src.strip():
        return True
    return resolver.in_source(page.path, written, ref.syntax).target == ref.target


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
    return starts


def write_back(plan: Plan) -> tuple[list[str], list[Problem]]:
    texts = collect(plan)
    site = plan.site
    resolver = Resolver(
        plan.discovery.files, site_url=site.site_url, use_directory_urls=site.use_directory_urls
    )
    changed: list[str] = []
    problems: list[Problem] = []
    for page in plan.discovery.pages:
        if not page.enrich:
            continue  # opted out: no generated text goes into it
        # An image used in several languages: the alt of this page's language.
        lang = texts.languages.get(page.path)
        found = {
            ref.target: texts.images[ref.target].in_language(lang)
            for ref in page.refs
            if ref.target in texts.images
        }
        wanted = [
            (ref, image)
            for ref in page.refs
            if ref.target
            and (image := found.get(ref.target))
            and not (ref.alt or "").strip()
            and (image.alt or image.decorative)
        ]
        if not wanted:
            continue
        path = plan.site.docs_dir / page.path
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        bom = raw[:3] == b"\xef\xbb\xbf"
        edits, missed = _edits(page, text, wanted, resolver)
        problems += missed
        if edits:
            new = splice(text, edits)
            data = (b"\xef\xbb\xbf" if bom else b"") + new.encode("utf-8")
            try:
                atomic_write(path, data, root=plan.site.docs_dir)
            except OSError as e:  # a read-only folder, a link out of docs_dir
                problems.append(Problem(page.path, f"write-back: cannot write: {e.strerror or e}"))
                continue
            changed.append(page.path)
    return changed, problems


def _edits(page: PageSource, text: str, wanted, resolver: Resolver) -> tuple[list, list[Problem]]:
    starts = _line_starts(text)
    html_tags: list[Tag] | None = None
    edits: list[tuple[int, int, str]] = []
    taken: set[int] = set()
    problems = []
    for ref, image in wanted:
        line_start = starts[ref.line - 1] if ref.line - 1 < len(starts) else len(text)
        line_end = text.find("\n", line_start)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        block = _BLOCK_END.search(text, line_start)
        block_end = block.start() + 1 if block else len(text)
        code = [m.span() for m in _CODE_SPAN.finditer(text, line_start, block_end)]

        def in_code(pos: int, code=code) -> bool:
            return any(a <= pos < b for a, b in code)

        at = None
        if ref.syntax == "html":
            if html_tags is None:
                html_tags = scan(text, {"img"}).tags
            for tag in html_tags:
                if not line_start <= tag.start < block_end or in_code(tag.start):
                    continue  # not this reference's paragraph, or shown as code
                if tag.start in taken or not _same_image(resolver, page, tag.get("src") or "", ref):
                    continue
                if (tag.get("alt") or "").strip():
                    continue
                edits.append((tag.start, tag.end, with_alt(tag, image.alt)))
                taken.add(tag.start)
                at = tag.start
                break
        elif image.alt:  # a decorative image keeps its empty markdown alt
            pattern = _INLINE if ref.syntax == "inline" else _REFERENCE
            for m in pattern.finditer(line):
                pos = line_start + m.start() + 2  # just after "!["
                if pos in taken or in_code(pos):
                    continue
                if ref.syntax == "inline" and not _same_image(resolver, page, m.group(1), ref):
                    continue
                close = text.index("]", pos)
                edits.append((pos, close, _md_alt(image.alt)))
                taken.add(pos)
                at = pos
                break
        else:
            continue
        if at is None:
            problems.append(
                Problem(page.path, f"write-back: could not place alt for {ref.src}", ref.line)
            )
    return edits, problems
