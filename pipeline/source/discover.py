"""docs_dir -> pages, image references and image files. The first stage; reads, never writes.

Every user mistake becomes a `Problem` naming the file (and line), and the item is left
out; nothing here raises for bad content. Parsing and hashing results are kept in an
untracked cache keyed by (path, size, mtime), so a warm `status` reads no file twice;
correctness never depends on it (a stale key just means the file is read again).
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import posixpath
import re
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

import frontmatter
import yaml
from PIL import Image, UnidentifiedImageError

from pipeline.errors import Problem, SidecarError
from pipeline.fsutil import UnsafePath, read_regular
from pipeline.model import Site
from pipeline.sidecars import (
    MARKDOWN_EXTENSIONS,
    SUFFIX,
    Sidecar,
    from_dict,
    loads,
    source_of,
    to_dict,
)
from pipeline.sidecars import MAX_BYTES as MAX_SIDECAR_BYTES
from pipeline.sidecars import kind_of as _kind_of
from pipeline.source import language, links
from pipeline.source import rendered as rendered_words
from pipeline.source.cache import ScanCache
from pipeline.source.fingerprint import (
    bytes_fingerprint,
    legacy_page_fingerprint,
    page_fingerprint,
)
from pipeline.source.markdown import parse_page

# Types the Messages API takes as they are; others Pillow can read are converted first.
API_TYPES = {"png", "jpeg", "gif", "webp"}


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One use of an image on a page."""

    page: str
    line: int
    src: str
    alt: str | None
    syntax: str
    heading: str
    context: str
    target: str | None = None  # docs_dir-relative path of the file, when local and found
    skip: str | None = None  # why it is not an item: "remote", "data-uri", "template", ...


@dataclass(frozen=True, slots=True)
class PageSource:
    path: str
    fingerprint: str
    title: str
    description: str | None  # written by the author in frontmatter
    first_paragraph: str
    headings: tuple[str, ...]
    input_chars: int  # plain text length, before the token cut
    refs: tuple[ImageRef, ...]
    line_offset: int  # lines of frontmatter above the body
    enrich: bool = True  # False: front matter `enrich: false`, never sent to the model
    # Why the page has nothing of its own to summarise (a tags index, a title only):
    # never sent; its description is what its generator fills in, or the theme's.
    listing: str = ""
    # Words pulled in at build time that this site expands (snippets, mkdocstrings,
    # macros): the fingerprint is then that of the rendered words once a build recorded
    # them (pipeline.source.rendered), and `source_fingerprint` is the source's own.
    borrowed: tuple[str, ...] = ()
    source_fingerprint: str = ""
    lang: str = ""  # front matter `lang` / `language`, normalized; "" when it names none


@dataclass(frozen=True, slots=True)
class ImageFile:
    path: str
    fingerprint: str
    media: str  # png | jpeg | gif | webp | svg | another type Pillow reads
    width: int
    height: int
    size: int
    frames: int = 1
    svg_text: str = ""  # <title>/<desc> of an SVG


@dataclass
class Discovery:
    pages: list[PageSource] = field(default_factory=list)
    images: dict[str, ImageFile] = field(default_factory=dict)
    sidecars: dict[str, Sidecar] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Files that could not be read as what they are (page, image or sidecar): path -> why.
    failed: dict[str, Problem] = field(default_factory=dict)
    files: frozenset[str] = frozenset()
    # Pages whose fingerprint is their rendered words': page -> the recorded entry.
    rendered: dict[str, rendered_words.Entry] = field(default_factory=dict)
    # A build has written the rendered record (text made from a page's source is then
    # no longer adopted: pipeline.source.rendered).
    recorded: bool = False


# --- walking docs_dir ---------------------------------------------------------------------


def walk(site: Site, problems: list[Problem]) -> Iterator[tuple[str, os.stat_result]]:
    """Every file MkDocs would see, as (docs-relative path, stat); symlink loops reported."""
    docs = site.docs_dir
    seen: set[str] = {os.path.realpath(docs)}
    stack = [docs]
    while stack:
        here = stack.pop()
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as e:
            problems.append(Problem(_rel(site, here), f"cannot read folder ({e.strerror})"))
            continue
        for entry in entries:
            rel = _rel(site, entry.path)
            if site.exclude_docs.match_file(rel + ("/" if entry.is_dir() else "")):
                continue
            try:
                if entry.is_dir(follow_symlinks=True):
                    if entry.name.endswith(SUFFIX):
                        # Where a sidecar goes: its item cannot be stored, so it is skipped.
                        problems.append(Problem(rel, "not a regular file (a folder): skipped"))
                        continue
                    real = os.path.realpath(entry.path)
                    if real in seen or _is_ancestor(real, here):
                        problems.append(Problem(rel, "symlink loop: folder already visited"))
                        continue
                    seen.add(real)
                    stack.append(Path(entry.path))
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError as e:
                why = "symlink loop" if e.errno == 40 else (e.strerror or "cannot stat")
                if entry.is_symlink() and not os.path.exists(entry.path):
                    why = "broken symlink" if e.errno != 40 else why
                problems.append(Problem(rel, why))
                continue
            yield rel, st


def _is_ancestor(real: str, here: Path) -> bool:
    here_real = os.path.realpath(here)
    return here_real == real or here_real.startswith(real.rstrip(os.sep) + os.sep)


def _rel(site: Site, path) -> str:
    # String slicing: Path.relative_to was a tenth of a cold run on large sites.
    return str(path)[len(str(site.docs_dir)) + 1 :].replace(os.sep, "/")


# --- pages --------------------------------------------------------------------------------


def split_page(rel: str, data: bytes) -> tuple[dict, str, int] | Problem:
    """A page's bytes -> (frontmatter, body, lines of frontmatter above the body)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return Problem(rel, f"not valid UTF-8 (byte 0x{data[e.start]:02x}); save it as UTF-8", line)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    handler = frontmatter.YAMLHandler()
    if not handler.detect(text):
        return {}, text, 0
    try:
        _, fm, body = handler.FM_BOUNDARY.split(text, 2)
    except ValueError:
        return Problem(rel, "frontmatter opened with '---' but never closed", 1)
    offset = text[: len(text) - len(body)].count("\n")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            meta = handler.load(fm)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        what = getattr(e, "problem", None) or "cannot be parsed"
        return Problem(rel, f"invalid YAML frontmatter: {what}", line)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        return Problem(rel, "frontmatter must be a mapping of keys to values", 2)
    return meta, body, offset


def read_page(rel: str, data: bytes) -> dict | Problem:
    """One page's bytes -> a cacheable dict of what we need from it, or a Problem."""
    split = split_page(rel, data)
    if isinstance(split, Problem):
        return split
    meta, body, offset = split
    for key in ("enrich", "llms"):  # opt-outs: a typo must not quietly opt a page in
        if key in meta and not isinstance(meta[key], bool):
            return Problem(
                rel,
                f"frontmatter {key}: expected true or false, got {meta[key]!r}",
                _meta_line(data, key, offset),
            )
    parsed = parse_page(body)
    title = meta.get("title")
    listing = ""
    if _TAGS_MARKER.search(body):
        listing = "a tags index: the tags plugin fills it"
    elif (
        not any(part and not part.startswith("#") for part in parsed.plain_text.split("\n\n"))
        and not parsed.refs
    ):
        listing = "nothing of its own to summarise (a title only)"
    description = meta.get("description")
    return {
        "fingerprint": page_fingerprint(body),
        "legacy_fingerprint": legacy_page_fingerprint(body),
        "title": str(title).strip() if title else (parsed.h1 or _title_from_path(rel)),
        "description": str(description).strip() if description else None,
        "first_paragraph": parsed.first_paragraph,
        "headings": list(parsed.headings),
        "input_chars": len(parsed.plain_text),
        "offset": offset,
        "enrich": meta.get("enrich") is not False,
        # The language the page says it is in (front matter), "" when it says none.
        "lang": language.normalize(meta.get("lang"))
        or language.normalize(meta.get("language"))
        or "",
        "listing": listing,
        "marks": rendered_words.marks_of(body),
        "refs": [
            [r.src, r.alt, r.syntax, r.line + offset, r.heading, r.context] for r in parsed.refs
        ],
    }


# Where Material's tags plugin writes its index (9.6 `<!-- material/tags … -->`; `[TAGS]`
# before it).
_TAGS_MARKER = re.compile(r"<!--\s*material/tags\b[^>]*-->|^\[TAGS\]\s*$", re.M)


def _meta_line(data: bytes, key: str, offset: int) -> int:
    lines = data.decode("utf-8-sig").splitlines()[:offset]
    return next((n for n, line in enumerate(lines, 1) if re.match(rf"{key}\s*:", line)), 1)


def _title_from_path(rel: str) -> str:
    stem = posixpath.splitext(posixpath.basename(rel))[0]
    if stem in ("index", "README"):
        parent = posixpath.basename(posixpath.dirname(rel))
        stem = parent or "Home"
    return re.sub(r"[-_]+", " ", stem).strip().capitalize()


class Resolver:
    """Discovery's view of pipeline.source.links.Resolver: files under docs_dir, and a
    symlink that leaves docs_dir is a problem, not a target."""

    def __init__(self, site: Site, files: frozenset[str]):
        self.site = site
        self._docs_real = os.path.realpath(site.docs_dir)
        self._inside_cache: dict[str, bool] = {}
        self._links = links.Resolver(
            files,
            site_url=site.site_url,
            use_directory_urls=site.use_directory_urls,
            inside=self._inside,
        )

    def resolve(
        self, page: str, src: str, syntax: str
    ) -> tuple[str | None, str | None, str | None]:
        """-> (target, skip reason, problem message); exactly one is set. A template src
        that mkdocs-macros fills from `extra:` is the file it is filled in as; any other
        is skipped (`template`), never an error."""
        found = self._links.in_source(page, src, syntax)
        if found.skip == "template":
            filled = links.fill_template(src, self.site.template_vars)
            if filled is None:
                return None, "template", None
            found = self._links.in_source(page, filled, syntax)
            if found.problem:  # what the build will show is not ours to judge from here
                return None, "template", None
        return found.target, found.skip, found.problem

    def _inside(self, rel: str) -> bool:
        if rel not in self._inside_cache:
            real = os.path.realpath(self.site.docs_dir / rel)
            self._inside_cache[rel] = real.startswith(self._docs_real.rstrip(os.sep) + os.sep)
        return self._inside_cache[rel]


# --- images -------------------------------------------------------------------------------

_SVG_HEAD = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg\b", re.S
)


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if _SVG_HEAD.match(data[:4096]):
        return "svg"
    return None


def read_image(rel: str, data: bytes) -> dict | Problem:
    """An image's bytes -> a cacheable dict (type, size, fingerprint), or a Problem."""
    if not data:
        return Problem(rel, "image file is empty")
    kind = sniff(data)
    if kind == "svg":
        return _read_svg(rel, data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                fmt = (im.format or "").lower()
                width, height = im.size
                frames = getattr(im, "n_frames", 1)
                im.verify()
            if kind in ("jpeg", "webp"):
                # verify() checks little for these; decoding a tiny draft catches truncation.
                with Image.open(io.BytesIO(data)) as im:
                    im.draft("RGB", (64, 64))
                    im.load()
    except UnidentifiedImageError:
        if kind is not None:
            return Problem(rel, f"corrupt image: not a readable {kind.upper()} file")
        return Problem(
            rel, "unknown image type: not PNG, JPEG, GIF, WebP, SVG or another format Pillow reads"
        )
    except Exception as e:  # Pillow raises many types for damaged files
        return Problem(rel, f"corrupt image ({type(e).__name__}: {str(e)[:80]})")
    if kind is None and fmt not in ("bmp", "tiff", "ico", "avif", "jpeg2000", "tga", "ppm"):
        return Problem(rel, f"unsupported image type: {fmt or 'unknown'}")
    return {
        "fingerprint": bytes_fingerprint(data),
        "media": kind or fmt,
        "width": width,
        "height": height,
        "frames": frames,
        "size": len(data),
        "svg_text": "",
    }


def _read_svg(rel: str, data: bytes) -> dict | Problem:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as e:
        return Problem(rel, f"corrupt SVG: {e}", e.position[0] if e.position else None)
    width, height = _svg_size(root)
    texts = []
    for el in root:
        tag = el.tag.rsplit("}", 1)[-1]
        words = (el.text or "").split()
        if tag in ("title", "desc") and words:
            texts.append(" ".join(words))
    return {
        "fingerprint": bytes_fingerprint(data),
        "media": "svg",
        "width": width,
        "height": height,
        "frames": 1,
        "size": len(data),
        "svg_text": " — ".join(texts)[:400],
    }


def _svg_size(root: ElementTree.Element) -> tuple[int, int]:
    def num(value: str | None) -> float | None:
        m = re.match(r"\s*([0-9.]+)\s*(px)?\s*$", value or "")
        return float(m.group(1)) if m else None

    w, h = num(root.get("width")), num(root.get("height"))
    if w and h:
        return round(w), round(h)
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if len(box) == 4:
        try:
            return round(float(box[2])), round(float(box[3]))
        except ValueError:
            pass
    return 300, 150  # the browser default for a replaced element with no size


# --- the stage ----------------------------------------------------------------------------


def discover(site: Site, cache: ScanCache | None = None, *, parallel: bool = False) -> Discovery:
    """Read the tree. `parallel` spreads a cold run's parsing over the CPU cores."""
    cache = cache or ScanCache(None)
    found = Discovery()
    stats: dict[str, os.stat_result] = {}
    for rel, st in walk(site, found.problems):
        stats[rel] = st
    for problem in found.problems:
        if problem.path.endswith(SUFFIX):  # a folder, a broken link: its item is skipped
            found.failed[problem.path] = problem
    found.files = frozenset(stats)
    resolver = Resolver(site, found.files)

    def read_all(kind: str, rels: list[str], reader) -> dict[str, dict]:
        return _read_all(cache, kind, site, rels, stats, reader, found, parallel)

    page_rels = sorted(r for r in stats if r.lower().endswith(MARKDOWN_EXTENSIONS))
    # README.md beside index.md is not published (by MkDocs, ProperDocs or Zensical):
    # not a page of ours, so nothing is asked or paid for it and no text of its reaches
    # the index page.
    unpublished = site.layout.losers(page_rels, site.use_directory_urls)
    pages = read_all("page", [r for r in page_rels if r not in unpublished], read_page)
    wanted_images: set[str] = set()
    record = rendered_words.Record(site.state_dir / rendered_words.FILE)
    found.recorded = (site.state_dir / rendered_words.FILE).exists()
    # Sidecars made from the source of a page now fingerprinted by its rendered words
    # still match: source fingerprint -> the first rendered one recorded for it.
    adopted: dict[str, str] = {}
    for rel, data in pages.items():
        refs = []
        for src, alt, syntax, line, heading, context in data["refs"]:
            target, skip, why = resolver.resolve(rel, src, syntax)
            if why:
                found.problems.append(Problem(rel, why, line))
                skip = "error"
            elif target:
                wanted_images.add(target)
            refs.append(ImageRef(rel, line, src, alt, syntax, heading, context, target, skip))
        borrowed = tuple(m for m in data.get("marks", ()) if m in site.expanders)
        fingerprint, chars = data["fingerprint"], data["input_chars"]
        entry = record.pages.get(rel) if borrowed else None
        if entry is not None and rendered_words.in_use(entry, fingerprint):
            found.rendered[rel] = entry
            if entry.first:
                adopted[fingerprint] = entry.first
            fingerprint, chars = entry.rendered, len(entry.text)
        found.pages.append(
            PageSource(
                path=rel,
                fingerprint=fingerprint,
                title=data["title"],
                description=data["description"],
                first_paragraph=data["first_paragraph"],
                headings=tuple(data["headings"]),
                input_chars=chars,
                refs=tuple(refs),
                line_offset=data["offset"],
                enrich=data["enrich"],
                listing=data.get("listing", ""),
                borrowed=borrowed,
                source_fingerprint=data["fingerprint"],
                lang=data.get("lang", ""),
            )
        )
    found.pages += _generated_pages(record, {p.path for p in found.pages}, found)
    for rel, data in read_all("image", sorted(wanted_images), read_image).items():
        found.images[rel] = ImageFile(path=rel, **data)
    sidecar_rels = sorted(r for r in stats if r.endswith(SUFFIX))
    # Sidecars made before `<!-- more -->` was left out of the fingerprint still match.
    legacy = {d["legacy_fingerprint"]: d["fingerprint"] for d in pages.values()}
    legacy.pop(None, None)
    legacy = {old: adopted.get(new, new) for old, new in legacy.items()}
    legacy.update(adopted)
    for rel, data in read_all("sidecar", sidecar_rels, read_sidecar).items():
        sc = from_dict(data)
        if sc.kind == "page" and sc.fingerprint in legacy:
            sc = replace(sc, fingerprint=legacy[sc.fingerprint])
        found.sidecars[rel] = sc
    cache.save()
    return found


def _generated_pages(
    record: rendered_words.Record, real: set[str], found: Discovery
) -> list[PageSource]:
    """Pages a generator made at build time (mkdocs-gen-files), as the last build
    recorded them: summarised from their rendered words like any page; their sidecars sit
    where a source would (docs_dir/<page>.enrich.yml)."""
    pages = []
    for rel, entry in sorted(record.pages.items()):
        if not entry.generated or rel in real or rel in found.failed:
            continue
        found.rendered[rel] = entry
        paragraphs = [p for p in entry.text.split("\n\n") if p and not p.startswith("#")]
        pages.append(
            PageSource(
                path=rel,
                fingerprint=entry.rendered,
                title=entry.title or _title_from_path(rel),
                description=None,
                first_paragraph=paragraphs[0] if paragraphs else "",
                headings=tuple(
                    p.lstrip("#").strip() for p in entry.text.split("\n\n") if p.startswith("#")
                ),
                input_chars=len(entry.text),
                refs=(),
                line_offset=0,
                borrowed=("generated",),
                source_fingerprint=entry.source,
            )
        )
    return pages


def read_sidecar(rel: str, data: bytes) -> dict | Problem:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem(rel, "corrupt sidecar: not valid UTF-8")
    try:
        return to_dict(loads(text, rel, _kind_of(source_of(rel))))
    except SidecarError as e:
        return e.problem


# Below this many files to read, starting worker processes costs more than it saves
# (a forked pool starts in ~50 ms; a page parses in ~10 ms).
PARALLEL_MIN = 40


# Only sidecars are capped (see store.MAX_BYTES); pages and images may be large.
_LIMITS = {"read_sidecar": MAX_SIDECAR_BYTES}


def _read_one(job: tuple[str, str, Path, Path]) -> dict:
    """Read and parse one file; module-level so worker processes can run it."""
    reader_name, rel, path, docs_dir = job
    try:
        data = read_regular(path, _LIMITS.get(reader_name), root=docs_dir)
    except UnsafePath as e:
        return {"problem": [f"{e}: skipped", None]}
    except OSError as e:
        return {"problem": [f"cannot read ({e.strerror})", None]}
    result = _READERS[reader_name](rel, data)
    out = {"problem": [result.message, result.line]} if isinstance(result, Problem) else result
    return {**out, _SHA: hashlib.sha256(data).hexdigest()}


_SHA = "\0sha"  # the bytes' sha256 beside a reader's result, for the scan cache only


def _sha_of(path: Path, docs_dir: Path, limit: int | None) -> str | None:
    try:
        return hashlib.sha256(read_regular(path, limit, root=docs_dir)).hexdigest()
    except OSError:
        return None


def _read_all(cache, kind, site, rels, stats, reader, found, parallel) -> dict[str, dict]:
    results: dict[str, dict] = {}
    misses = []
    limit = _LIMITS.get(reader.__name__)
    for rel in rels:
        path = site.docs_dir / rel
        hit = cache.get(kind, rel, stats[rel], lambda p=path: _sha_of(p, site.docs_dir, limit))
        if hit is None:
            misses.append(rel)
        else:
            results[rel] = hit
    jobs = [(reader.__name__, rel, site.docs_dir / rel, site.docs_dir) for rel in misses]
    workers = min(os.cpu_count() or 1, 8)
    if parallel and workers > 1 and len(jobs) >= PARALLEL_MIN:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            fresh = list(pool.map(_read_one, jobs, chunksize=32))
    else:
        fresh = [_read_one(job) for job in jobs]
    for rel, data in zip(misses, fresh, strict=True):
        sha = data.pop(_SHA, None)
        cache.put(kind, rel, stats[rel], data, sha)
        results[rel] = data
    out: dict[str, dict] = {}
    for rel in rels:  # in path order, whichever way each was read
        data = results[rel]
        if "problem" in data:
            message, line = data["problem"]
            problem = Problem(rel, message, line)
            found.problems.append(problem)
            found.failed[rel] = problem
        else:
            out[rel] = data
    return out


_READERS = {f.__name__: f for f in (read_page, read_image, read_sidecar)}
