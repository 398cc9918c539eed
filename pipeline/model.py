"""What every stage shares: the site, its options, item kinds, prompt versions, text limits.

Plain dataclasses, no generator and no SDK: the MkDocs plugin builds a `Site` from
MkDocs' config, pipeline.config from the config file for the CLI (every generator), and
the core never needs to know which one ran. `Layout` is the one page-URL rule.
"""

# ruff: noqa: RUF009  (`option()` is a dataclasses.field() with validation metadata)

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeGuard

import pathspec

# Item kinds: a page (markdown source) or an image (unique bytes, maybe at several paths).
ItemKind = Literal["page", "image"]
KINDS: tuple[ItemKind, ...] = ("page", "image")


def is_item_kind(value: object) -> TypeGuard[ItemKind]:
    """A kind read back from a file (a ledger line, batches.json) is checked, not trusted."""
    return value in KINDS


# The model new requests go to; prices and cache minimums are in enrich/pricing.py.
DEFAULT_MODEL = "claude-haiku-5-5"

# Prompt versions live beside the data they version, not in the prompts: plan decides
# `outdated` from them without importing the enrich stage. Bump one whenever its prompt
# changes (tests/test_prompts.py insists): existing items become outdated, never stale.
PAGE_PROMPT_VERSION = "page-3"
IMAGE_PROMPT_VERSION = "image-3"
PROMPT_VERSIONS: dict[ItemKind, str] = {"page": PAGE_PROMPT_VERSION, "image": IMAGE_PROMPT_VERSION}

# Text limits, shared by the prompts (what we ask for), the reply checks (what we accept)
# and the sinks (what fits): a meta description, a listing abstract, an alt text.
SUMMARY_MAX = 160
ABSTRACT_MAX = 400
ALT_MAX = 125
# A page title, cut to fit like the descriptions: social cards and JSON-LD (Google reads
# an Article headline up to 110 characters), and listings (llms.txt, the feed, the copy's H1).
CARD_TITLE_MAX = 110
LIST_TITLE_MAX = 200


# --- options -------------------------------------------------------------------------------


def _positive(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"expected a positive number, got {value!r}"
    if not math.isfinite(value) or value <= 0:
        return f"expected a positive number, got {value!r}"
    return None


def _non_negative(value: Any) -> str | None:
    if not math.isfinite(value) or value < 0:
        return f"expected a number >= 0, got {value!r}"
    return None


def _choice(*allowed: str):
    def check(value: Any) -> str | None:
        if value not in allowed:
            return f"expected one of {', '.join(allowed)}, got {value!r}"
        return None

    return check


def _site_path(value: Any) -> str | None:
    """A file inside site_dir: relative, and no `..` that climbs out of it."""
    norm = _normpath(value)
    if (
        not value.strip()
        or norm.startswith(("/", "../"))
        or norm in (".", "..")
        or re.match(r"^[a-zA-Z]:", norm)
    ):
        return f"expected a file path inside site_dir (relative, no '..' out of it), got {value!r}"
    return _not_taken(norm, value)


# Site paths the generator or our other outputs own: a feed there would replace a page
# (the home page as Atom XML), a markdown copy, llms.txt, the sitemap or the search index.
_TAKEN_SUFFIXES = (".html", ".htm", ".md")
_TAKEN_NAMES = ("llms.txt", "llms-full.txt", "sitemap.xml", "sitemap.xml.gz", "objects.inv")


def _not_taken(norm: str, value: str) -> str | None:
    name = norm.rsplit("/", 1)[-1]
    if value.rstrip().endswith(("/", "\\")) or name.lower().endswith(_TAKEN_SUFFIXES):
        why = "a folder" if value.rstrip().endswith(("/", "\\")) else "a page or its copy"
    elif name in _TAKEN_NAMES or norm == "search/search_index.json":
        why = "a file the generator or llms.txt writes"
    else:
        return None
    return f"{value!r} names {why}; choose a file of its own (the default is feed.xml)"


def _normpath(value: str) -> str:
    return posixpath.normpath(value.replace("\\", "/"))


def option(default: Any, kind: Any, check=None, *, optional: bool = False, normalize=None):
    """A typed option: its Python type(s) for validation, an extra check, a normal form."""
    meta = {"kind": kind, "check": check, "optional": optional, "normalize": normalize}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Options:
    """The pipeline's options (mkdocs.yml `plugins: - enrich: {...}`, or zensical.toml)."""

    enabled: bool = option(True, bool)
    # Model for new requests; a sidecar made by another model is `outdated`, not stale.
    model: str = option(DEFAULT_MODEL, str)
    # After a refusal (stop_reason "refusal"), one try on this model; without it the item
    # is failed at once (re-asking the same model brings the same refusal).
    fallback_model: str | None = option(None, str, optional=True)
    # What a page whose source changed since its summary does to a build.
    on_stale: str = option("warn", str, _choice("warn", "fail", "info"))
    concurrency: int = option(4, int, _positive)
    # Per-request timeout (seconds) and the SDK's retries; each retry waits at most
    # `max_retry_wait` seconds, whatever retry-after the server sends.
    timeout: float = option(60.0, (int, float), _positive)
    max_retries: int = option(3, int, _non_negative)
    max_retry_wait: float = option(20.0, (int, float), _positive)
    # How often `enrich --batch --wait` asks whether a batch has ended.
    batch_poll_seconds: float = option(30.0, (int, float), _positive)
    # Stop starting requests before a run would exceed these (None: no limit).
    max_cost: float | None = option(None, (int, float), _positive, optional=True)
    max_tokens: int | None = option(None, int, _positive, optional=True)
    # Page text sent for a summary is cut to about this many tokens (see README).
    page_token_budget: int = option(1500, int, _positive)
    # Images are downscaled so their long edge is at most this many pixels before sending.
    image_max_edge: int = option(512, int, _positive)
    # Pages and images (docs_dir-relative, gitignore-style) never sent to the model.
    exclude: list[str] = option([], list)
    # Ledger, pending batches and the local cache live here, relative to the config file.
    state_dir: str = option(".enrich", str)
    # Sinks written at build time.
    social_tags: bool = option(True, bool)
    json_ld: bool = option(True, bool)
    feed: bool = option(True, bool)
    feed_path: str = option("feed.xml", str, _site_path, normalize=_normpath)
    # og:image for pages with no raster image of their own (docs_dir-relative; optional).
    og_image: str | None = option(None, str, optional=True)
    llms_txt: bool = option(True, bool)
    # One llms.txt per top-level nav section too (big sites), and llms-full.txt.
    llms_txt_sections: bool = option(False, bool)
    llms_full_txt: bool = option(False, bool)
    # The llms.txt directive (agentdocsspec.com) in each page's body and atop each copy.
    llms_directive: bool = option(True, bool)
    # _headers and _hosting/ (nginx, Netlify, Cloudflare) answering Accept: text/markdown.
    host_configs: bool = option(True, bool)


_FIELDS = {f.name: f for f in fields(Options)}


class OptionError(ValueError):
    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def default_of(name: str) -> Any:
    f = _FIELDS[name]
    return f.default_factory() if callable(f.default_factory) else f.default


def check_option(name: str, value: Any) -> Any:
    """One option's value, checked and normalized; OptionError(name, message) if bad.

    The same check serves the CLI (reading mkdocs.yml or zensical.toml itself) and the
    MkDocs adapter's Config class, so both word a mistake the same way.
    """
    meta = _FIELDS[name].metadata
    if value is None:
        if meta["optional"]:
            return None
        return default_of(name)
    kind = meta["kind"]
    if isinstance(value, bool) and bool not in _as_tuple(kind):
        raise OptionError(name, f"expected {_kind_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise OptionError(name, f"expected {_kind_name(kind)}, got {value!r}")
    if kind is list and not all(isinstance(v, str) for v in value):
        raise OptionError(name, f"expected a list of strings, got {value!r}")
    problem = meta["check"](value) if meta["check"] else None
    if problem:
        raise OptionError(name, problem)
    if meta["normalize"]:
        value = meta["normalize"](value)
    return float(value) if kind == (int, float) else value


def parse_options(raw: dict[str, Any]) -> tuple[Options, list[str]]:
    """Validate user-written options -> (Options, names of unknown options, sorted).

    Raises OptionError(key, message) on the first bad value, for the caller to place in
    its file (the CLI with a line number, the plugin as a PluginError).
    """
    values = {name: check_option(name, raw[name]) for name in _FIELDS if name in raw}
    unknown = sorted(str(k) for k in raw if k not in _FIELDS)
    return Options(**values), unknown


def _as_tuple(kind) -> tuple:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind) -> str:
    names = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    names[list] = "a list"
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in _as_tuple(kind)))


# --- the site --------------------------------------------------------------------------------

# Files a folder's page may come from, in the order generators prefer them: MkDocs and
# Zensical both publish index.md and drop a README.md beside it (`readme.md` is a page).
INDEX_NAMES = ("index.md", "README.md")


@dataclass(frozen=True)
class Layout:
    """Where a generator puts each source page: its built file and URL, and which of
    several sources wins one output. The one page-URL rule of the core; each generator
    adapter hands its own (MkDocs, ProperDocs and Zensical share the default)."""

    # Stems that make a folder's page, in the order they win (index.md over README.md).
    index_stems: tuple[str, ...] = ("index", "README")
    page_suffixes: tuple[str, ...] = (".md", ".markdown")

    def is_page(self, src: str) -> bool:
        return src.lower().endswith(self.page_suffixes)

    def output_path(self, src: str, use_directory_urls: bool) -> str:
        """The built file of a page: `a/b.md` -> `a/b/index.html` (or `a/b.html`)."""
        folder, name = posixpath.split(src)
        stem = posixpath.splitext(name)[0]
        if stem in self.index_stems:
            return posixpath.join(folder, "index.html")
        if use_directory_urls:
            return posixpath.join(folder, stem, "index.html")
        return posixpath.join(folder, stem + ".html")

    def page_url(self, src: str, use_directory_urls: bool) -> str:
        """Site-relative URL of what `src` becomes: a page's URL, other files their path."""
        if not self.is_page(src):
            return src
        return self.url_of_output(self.output_path(src, use_directory_urls), use_directory_urls)

    @staticmethod
    def url_of_output(html_path: str, use_directory_urls: bool) -> str:
        """`a/b/index.html` -> `a/b/`; `index.html` -> "" (with directory URLs)."""
        if use_directory_urls and (html_path == "index.html" or html_path.endswith("/index.html")):
            return html_path[: -len("index.html")]
        return html_path

    def losers(self, pages: Iterable[str], use_directory_urls: bool) -> dict[str, str]:
        """Pages no generator publishes because another source of their folder makes
        the same file (README.md beside index.md) -> the page that wins."""
        by_output: dict[tuple[str, str], list[str]] = {}
        for src in pages:
            key = (posixpath.dirname(src), self.output_path(src, use_directory_urls))
            by_output.setdefault(key, []).append(src)
        out = {}
        for srcs in by_output.values():
            if len(srcs) > 1:
                winner = min(srcs, key=self._rank)
                out.update({s: winner for s in srcs if s != winner})
        return out

    def _rank(self, src: str) -> tuple[int, str]:
        # Same folder: an index stem by its order, then the `.md` spelling MkDocs keeps.
        stem, suffix = posixpath.splitext(posixpath.basename(src))
        order = self.index_stems.index(stem) if stem in self.index_stems else len(self.index_stems)
        return order, "" if suffix == ".md" else suffix


DEFAULT_LAYOUT = Layout()


@dataclass(frozen=True)
class Site:
    """One site, whichever generator builds it."""

    config_file: Path
    root: Path
    docs_dir: Path
    site_dir: Path
    site_name: str
    site_url: str | None
    use_directory_urls: bool
    exclude_docs: pathspec.PathSpec
    options: Options
    plugin_listed: bool
    site_description: str = ""
    # The generator's default page language (theme.language), when the config names one.
    language: str | None = None
    # One line each, as mkdocs words them (unknown plugin options): printed, not fatal.
    warnings: tuple[str, ...] = ()
    # Where the generator puts each page (its adapter's; the default fits all three).
    layout: Layout = DEFAULT_LAYOUT
    # `extra:` values mkdocs-macros fills `{{ name }}` with (only when it is listed):
    # a template image src made of them resolves to the file the built page shows.
    template_vars: Mapping[str, str] = field(default_factory=dict)
    # What pulls words into pages at build time here (pipeline.source.rendered.MARKS):
    # "snippets", "mkdocstrings", "macros", from the plugins and extensions listed.
    expanders: frozenset[str] = frozenset()

    @property
    def state_dir(self) -> Path:
        return (self.root / self.options.state_dir).resolve()

    def rel(self, path: Path) -> str:
        """docs_dir-relative posix path."""
        return path.relative_to(self.docs_dir).as_posix()

    def page_url(self, src: str) -> str:
        """The site-relative URL a source file is served at, as its generator does.

        `guides/flat.md` -> `guides/flat/` (directory URLs) or `guides/flat.html`;
        `guides/index.md` -> `guides/`; other files keep their path.
        """
        return self.layout.page_url(src, self.use_directory_urls)


def page_url(src: str, use_directory_urls: bool) -> str:
    """The default layout's URL of `src` (for callers holding no Site)."""
    return DEFAULT_LAYOUT.page_url(src, use_directory_urls)
