"""Sidecars: small YAML files next to each source, holding its generated (or written) text.

`content/guides/fix-a-flat.md` -> `content/guides/fix-a-flat.md.enrich.yml`
`content/img/workshop.png`     -> `content/img/workshop.png.enrich.yml`

An image's alt is per language: the same bytes on an English and a French page have two
alts. One language keeps the plain sidecar; each other language of the image has its own,
named by its language tag before the suffix (`workshop.png.fr.enrich.yml`). A sidecar
made for one of several languages records it (`lang: fr`); one without `lang` (all made
before, and every image used in one language only) serves the image's first language
(see pipeline.plan).

The format is stable and byte-deterministic (fixed key order, one key per line, no
timestamps beyond the generation date), so a no-op run rewrites nothing and a review
diff shows only what changed. A person may edit `summary`, `abstract`, `alt` or
`decorative` by hand: `generated` keeps a hash of the text as generated, and any
difference marks the sidecar edited, after which it is never overwritten.

A sidecar with `source: failed` holds no text: it remembers that this version of the
source could not be enriched (`failure`, `reason`, with the fingerprint, model and prompt
version it was tried with), so no later run, on any clone, pays for it again until one of
those changes. Text a person adds to it (or `source: author`) wins, as everywhere.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from pipeline.errors import SidecarError
from pipeline.fsutil import atomic_write, read_regular
from pipeline.model import ItemKind

SUFFIX = ".enrich.yml"

# A language tag in a sidecar's name (`logo.png.fr.enrich.yml`), in the canonical case
# pipeline.source.language.normalize gives: a two-letter primary subtag (or `fil`, the
# one three-letter code we know), an optional script and region. Three-letter tags are
# left out so that `my.logo.png.enrich.yml` never reads as language "png" of `my.logo`.
LANG_TAG = re.compile(r"^(?:[a-z]{2}|fil)(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|\d{3}))?$")

# The same prefix as the content fingerprints (pipeline.source.fingerprint.SCHEME).
HASH_SCHEME = "sha256:"

# A sidecar holds at most ~600 characters of text and a few short fields (well under
# 2 KiB); 64 KiB leaves room for any hand edit while a committed multi-megabyte file (or
# /dev/zero behind a symlink) is refused before it is read into memory, parsed or cached.
MAX_BYTES = 64 * 1024

SOURCES = ("generated", "author", "edited", "failed")

PAGE_FIELDS = ("summary", "abstract")
IMAGE_FIELDS = ("alt", "decorative")

HEADER: dict[ItemKind, str] = {
    "page": "# Page summary for {name}. Edit summary/abstract freely: edited text is kept.\n",
    "image": "# Alt text for {name}. Edit alt/decorative freely: edited text is kept.\n",
}
FAILED_HEADER: dict[ItemKind, str] = {
    "page": "# No summary could be made for {name} (see reason). Write one: add summary and\n"
    "# abstract here and set `source: author`. Or: python -m pipeline enrich --retry-failed\n",
    "image": "# No alt text could be made for {name} (see reason). Write one: add alt here and\n"
    "# set `source: author`. Or: python -m pipeline enrich --retry-failed\n",
}


def sidecar_path(source_rel: str, lang: str = "") -> str:
    """The sidecar of a source; `lang`: the one of an image for that language."""
    return f"{source_rel}.{lang}{SUFFIX}" if lang else source_rel + SUFFIX


def split(sidecar_rel: str) -> tuple[str, str]:
    """(source, language tag or "") of a sidecar's path."""
    base = sidecar_rel[: -len(SUFFIX)]
    head, dot, tag = base.rpartition(".")
    if (
        dot
        and LANG_TAG.match(tag)
        and "." in head.rpartition("/")[2]
        and kind_of(head) == "image"
        and kind_of(base) == "image"
    ):
        return head, tag
    return base, ""


def source_of(sidecar_rel: str) -> str:
    return split(sidecar_rel)[0]


def lang_of(sidecar_rel: str) -> str:
    """The language a sidecar's name gives it ("" for the plain one)."""
    return split(sidecar_rel)[1]


MARKDOWN_EXTENSIONS = (".md", ".markdown", ".mdown", ".mkdn", ".mkd")

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def kind_of(source_rel: str) -> ItemKind:
    return "page" if source_rel.lower().endswith(MARKDOWN_EXTENSIONS) else "image"


@dataclass(frozen=True)
class Sidecar:
    kind: ItemKind
    summary: str = ""
    abstract: str = ""
    alt: str = ""
    decorative: bool = False
    source: str = "generated"
    fingerprint: str | None = None
    model: str | None = None
    prompt: str | None = None
    generated: str | None = None  # hash of the text as the model produced it
    lang: str | None = None  # an image's: the language it was made for, when it has several
    failure: str | None = None  # source: failed: refusal | max_tokens | invalid_request | ...
    reason: str | None = None  # ... and what the API or the reply checks said
    input_tokens: int = 0
    output_tokens: int = 0
    date: str | None = None

    @property
    def text_hash(self) -> str:
        if self.kind == "page":
            return text_hash(self.summary, self.abstract)
        return text_hash(self.alt, self.decorative)

    @property
    def has_text(self) -> bool:
        return bool(self.summary or self.abstract or self.alt or self.decorative)

    @property
    def failed(self) -> bool:
        """A remembered failure, with no text of a person's in it."""
        return self.source == "failed" and not self.has_text

    @property
    def edited(self) -> bool:
        """A person changed the generated text (or said so with `source: edited`), or
        wrote text into a failed one."""
        if self.source == "edited":
            return True
        if self.source == "failed":
            return self.has_text
        return self.source == "generated" and self.generated != self.text_hash

    @property
    def human(self) -> bool:
        """Text a person wrote or changed: never overwritten, never paid for."""
        return self.source == "author" or self.edited


def _dump_scalar(key: str, value) -> str:
    return yaml.safe_dump(
        {key: value}, allow_unicode=True, sort_keys=False, width=1_000_000, default_flow_style=False
    )


def dumps(sc: Sidecar, name: str) -> str:
    """The exact text of a sidecar. Same value -> same bytes, always."""
    fields = PAGE_FIELDS if sc.kind == "page" else IMAGE_FIELDS
    if sc.failed:
        out = [FAILED_HEADER[sc.kind].format(name=name)]
    else:
        out = [HEADER[sc.kind].format(name=name)]
        for key in fields:
            out.append(_dump_scalar(key, getattr(sc, key)))
    out.append(_dump_scalar("source", sc.source))
    for key in ("lang", "failure", "reason", "fingerprint", "model", "prompt", "generated"):
        value = getattr(sc, key)
        if value is not None:
            out.append(_dump_scalar(key, value))
    if sc.source != "author" or sc.input_tokens or sc.output_tokens:
        out.append(_dump_scalar("input_tokens", sc.input_tokens))
        out.append(_dump_scalar("output_tokens", sc.output_tokens))
    if sc.date:
        out.append(_dump_scalar("date", sc.date))
    return "".join(out)


def loads(text: str, rel: str, kind: ItemKind) -> Sidecar:
    """Parse a sidecar; any problem is a SidecarError naming the file and line.

    Unknown keys are ignored (a newer version may add some) and never kept: nothing
    from them reaches the scan cache or a rewritten sidecar.
    """
    try:
        _refuse_aliases(text, rel)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        what = getattr(e, "problem", None) or "cannot be parsed"
        raise SidecarError(
            rel, f"corrupt sidecar: {what}", mark.line + 1 if mark else None
        ) from None
    except RecursionError:
        raise SidecarError(rel, "corrupt sidecar: nested too deeply") from None
    if not isinstance(data, dict):
        raise SidecarError(rel, "corrupt sidecar: expected a mapping of keys to values", 1)
    fields = PAGE_FIELDS if kind == "page" else IMAGE_FIELDS
    values: dict = {"kind": kind}
    for key in fields:
        if key not in data:
            continue
        value = data[key]
        if key == "decorative":
            if not isinstance(value, bool):
                raise SidecarError(rel, "decorative must be true or false", _line(text, key))
        elif value is None:
            value = ""
        elif not isinstance(value, str):
            raise SidecarError(rel, f"{key} must be text", _line(text, key))
        values[key] = value
    source = data.get("source", "author")
    if source not in SOURCES:
        raise SidecarError(
            rel,
            f"source must be one of {', '.join(SOURCES)}, got {source!r}",
            _line(text, "source"),
        )
    if source != "failed":  # a remembered failure holds no text
        if kind == "page" and not (values.get("summary") or values.get("abstract")):
            raise SidecarError(rel, "page sidecar has neither summary nor abstract", 1)
        if kind == "image" and not values.get("alt") and not values.get("decorative"):
            raise SidecarError(rel, "image sidecar has no alt text and is not marked decorative", 1)
    values["source"] = source
    lang = data.get("lang")
    if lang is not None:
        if kind != "image" or not isinstance(lang, str) or not LANG_TAG.match(lang):
            raise SidecarError(
                rel, "lang must be a language tag such as fr or pt-BR", _line(text, "lang")
            )
        values["lang"] = lang
    for key in ("fingerprint", "model", "prompt", "generated", "date", "failure", "reason"):
        if data.get(key) is not None:
            values[key] = str(data[key])
    for key in ("input_tokens", "output_tokens"):
        value = data.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SidecarError(rel, f"{key} must be a whole number", _line(text, key))
        values[key] = value
    return Sidecar(**values)


def _refuse_aliases(text: str, rel: str) -> None:
    """Anchors and aliases have no use in a sidecar, and a few hundred bytes of nested
    aliases expand to gigabytes once loaded (or written to the cache as JSON)."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            mark = getattr(event, "start_mark", None)
            raise SidecarError(
                rel,
                "corrupt sidecar: YAML anchors and aliases (&, *) are not allowed",
                mark.line + 1 if mark else None,
            )


def _line(text: str, key: str) -> int | None:
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith(key + ":"):
            return n
    return None


def read(docs_dir: Path, rel: str) -> Sidecar:
    try:
        raw = read_regular(docs_dir / rel, MAX_BYTES, root=docs_dir)
    except OSError as e:
        raise SidecarError(rel, f"cannot read sidecar: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SidecarError(rel, "corrupt sidecar: not valid UTF-8") from None
    return loads(text, rel, kind_of(source_of(rel)))


def write(docs_dir: Path, rel: str, sc: Sidecar) -> bool:
    """Atomically write a sidecar; False when the file already holds these exact bytes."""
    source, lang = split(rel)
    name = Path(source).name + (f" ({lang})" if lang else "")
    return atomic_write(docs_dir / rel, dumps(sc, name).encode("utf-8"), root=docs_dir)


def to_dict(sc: Sidecar) -> dict:
    # Shallow: dataclasses.asdict deep-copies, which was a fifth of reading 10,000 sidecars.
    return {f.name: getattr(sc, f.name) for f in fields(sc)}


def from_dict(data: dict) -> Sidecar:
    return Sidecar(**data)


def text_hash(*parts: str | bool | None) -> str:
    """Hash of generated text as written, so a later edit by a person can be told apart."""
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return HASH_SCHEME + hashlib.sha256(joined.encode("utf-8")).hexdigest()
