"""What every stage shares: the site, its options, item kinds, prompt versions, text limits.

Plain dataclasses, no generator and no SDK: the MkDocs and Zensical adapters build a
`Site` from their own configuration, and the core never needs to know which one ran.
"""

# ruff: noqa: RUF009  (`option()` is a dataclasses.field() with validation metadata)

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping
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
    return None


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

INDEX_NAMES = ("index.md", "README.md", "readme.md")


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
        """The site-relative URL a source file is served at, as MkDocs and Zensical do.

        `guides/flat.md` -> `guides/flat/` (directory URLs) or `guides/flat.html`;
        `guides/index.md` -> `guides/`; other files keep their path.
        """
        return page_url(src, self.use_directory_urls)


def page_url(src: str, use_directory_urls: bool) -> str:
    if not src.endswith((".md", ".markdown")):
        return src
    folder, name = posixpath.split(src)
    stem = name.rsplit(".", 1)[0]
    if name in INDEX_NAMES or stem == "index":
        return f"{folder}/" if folder else ""
    if use_directory_urls:
        return f"{folder}/{stem}/" if folder else f"{stem}/"
    return f"{folder}/{stem}.html" if folder else f"{stem}.html"
