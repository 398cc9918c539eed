"""The plugin's options and the site they apply to, read from mkdocs.yml.

One home for configuration: the MkDocs plugin and the CLI both validate the
`plugins: - enrich:` block with `EnrichConfig`. The CLI reads mkdocs.yml with a
tolerant loader, so `status` works on any MkDocs site before it adopts the plugin,
even when the site's themes and extensions are not installed here.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pathspec
import yaml
from mkdocs.config import base
from mkdocs.config import config_options as c

from pipeline.enrich.pricing import DEFAULT_MODEL
from pipeline.errors import Fatal

PLUGIN_NAME = "enrich"


class _Positive(c.Type):
    def __init__(self, kind: type = int, default=None):
        super().__init__(kind, default=default)

    def run_validation(self, value):
        if isinstance(value, bool):
            raise c.ValidationError(f"expected a positive number, got {value!r}")
        value = super().run_validation(value)
        if value <= 0:
            raise c.ValidationError(f"expected a positive number, got {value!r}")
        return value


class EnrichConfig(base.Config):
    """Options of the `enrich` plugin (mkdocs.yml `plugins: - enrich: {...}`)."""

    enabled = c.Type(bool, default=True)
    # Model for new requests; a sidecar made by another model is `outdated`, not stale.
    model = c.Type(str, default=DEFAULT_MODEL)
    # What a page whose source changed since its summary does to `mkdocs build`.
    on_stale = c.Choice(("warn", "fail", "info"), default="warn")
    concurrency = _Positive(int, default=4)
    # Per-request timeout (seconds) and the SDK's retries; each retry waits at most
    # `max_retry_wait` seconds, whatever retry-after the server sends.
    timeout = _Positive(float, default=60.0)
    max_retries = c.Type(int, default=3)
    max_retry_wait = _Positive(float, default=20.0)
    # How often `enrich --batch --wait` asks whether a batch has ended.
    batch_poll_seconds = _Positive(float, default=30.0)
    # Stop starting requests before a run would exceed these (None: no limit).
    max_cost = c.Optional(_Positive(float))
    max_tokens = c.Optional(_Positive(int))
    # Page text sent for a summary is cut to about this many tokens (see README).
    page_token_budget = _Positive(int, default=1500)
    # Images are downscaled so their long edge is at most this many pixels before sending.
    image_max_edge = _Positive(int, default=512)
    # Pages and images (docs_dir-relative, gitignore-style) never sent to the model.
    exclude = c.ListOfItems(c.Type(str), default=[])
    # Ledger, pending batches and the local cache live here, relative to mkdocs.yml.
    state_dir = c.Type(str, default=".enrich")
    # Sinks the plugin writes at build time.
    social_tags = c.Type(bool, default=True)
    json_ld = c.Type(bool, default=True)
    feed = c.Type(bool, default=True)
    feed_path = c.Type(str, default="feed.xml")
    llms_txt = c.Type(bool, default=True)


@dataclass(frozen=True)
class Site:
    config_file: Path
    root: Path
    docs_dir: Path
    site_dir: Path
    site_name: str
    site_url: str | None
    use_directory_urls: bool
    exclude_docs: pathspec.PathSpec
    options: EnrichConfig
    plugin_listed: bool
    site_description: str = ""

    @property
    def state_dir(self) -> Path:
        return (self.root / self.options.state_dir).resolve()

    def rel(self, path: Path) -> str:
        """docs_dir-relative posix path."""
        return path.relative_to(self.docs_dir).as_posix()


# --- a YAML loader that tolerates MkDocs' tags -------------------------------------------


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that understands `!ENV` and `!relative`, and ignores Python tags.

    mkdocs.yml files name Python objects (`!!python/name:material.extensions.emoji.to_svg`)
    that we neither need nor want to import; they load as None.
    """


def _env_tag(loader: _TolerantLoader, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    else:
        items = loader.construct_sequence(node)
        names, default = items[:-1], items[-1] if items else None
    for name in names:
        if isinstance(name, str) and name in os.environ:
            return yaml.safe_load(os.environ[name])
    return default


def _relative_tag(loader: _TolerantLoader, node: yaml.Node):
    return loader.construct_scalar(node)


def _ignore_tag(loader: _TolerantLoader, suffix: str, node: yaml.Node):
    return None


_TolerantLoader.add_constructor("!ENV", _env_tag)
_TolerantLoader.add_constructor("!relative", _relative_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _ignore_tag)
_TolerantLoader.add_multi_constructor("!", _ignore_tag)


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise Fatal(f"{path}: file not found (pass the site's config with -f PATH)") from None
    except UnicodeDecodeError as e:
        raise Fatal(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise Fatal(f"{path}: cannot read ({e.strerror})") from None
    try:
        data = yaml.load(text, Loader=_TolerantLoader) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise Fatal(f"{where}: invalid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise Fatal(f"{path}: expected a mapping of MkDocs settings")
    parent = data.pop("INHERIT", None)
    if isinstance(parent, str):
        base_data = _read_yaml((path.parent / parent).resolve())
        data = _merge(base_data, data)
    return data


def _merge(parent: dict, child: dict) -> dict:
    out = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _plugin_options(plugins) -> tuple[bool, dict]:
    """Find our entry in `plugins`, which may be a list of names/mappings or a mapping."""
    entries: list[tuple[str, object]] = []
    if isinstance(plugins, dict):
        entries = list(plugins.items())
    elif isinstance(plugins, list):
        for entry in plugins:
            if isinstance(entry, str):
                entries.append((entry, None))
            elif isinstance(entry, dict):
                entries.extend(entry.items())
    for name, opts in entries:
        if name == PLUGIN_NAME:
            return True, dict(opts or {}) if isinstance(opts, dict) else {}
    return False, {}


def _line_of(path: Path, pattern: str) -> int | None:
    try:
        for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
            if re.search(pattern, line):
                return n
    except (OSError, UnicodeDecodeError):
        pass
    return None


def validate_options(raw: dict, config_file: Path) -> EnrichConfig:
    """Validate our plugin options exactly as MkDocs would, with one-line errors."""
    cfg = EnrichConfig(config_file_path=str(config_file))
    cfg.load_dict(raw)
    errors, _warnings = cfg.validate()
    for key, err in errors:
        line = _line_of(config_file, rf"^\s*{re.escape(str(key))}\s*:")
        where = f"{config_file}:{line}" if line else str(config_file)
        raise Fatal(f"{where}: plugins.{PLUGIN_NAME}.{key}: {err}")
    return cfg


_DEFAULT_EXCLUDE = [".*", "/templates/"]


def _read_toml(path: Path) -> dict:
    """zensical.toml: its `[project]` table holds the same settings as mkdocs.yml."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise Fatal(f"{path}: file not found (pass the site's config with -f PATH)") from None
    except UnicodeDecodeError as e:
        raise Fatal(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise Fatal(f"{path}: cannot read ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise Fatal(f"{path}: invalid TOML ({e})") from None
    project = data.get("project", data)
    if not isinstance(project, dict):
        raise Fatal(f"{path}: expected a [project] table of settings")
    return project


def _config_path(config_file: str | os.PathLike | None) -> Path:
    """The site's config: mkdocs.yml, else zensical.toml beside it when there is none."""
    path = Path(config_file or "mkdocs.yml")
    if path.is_dir():
        path = path / "mkdocs.yml"
    if not path.exists() and path.name == "mkdocs.yml":
        toml = path.with_name("zensical.toml")
        if toml.is_file():
            path = toml
    return path.absolute()


def load_site(config_file: str | os.PathLike | None = None) -> Site:
    path = _config_path(config_file)
    data = _read_toml(path) if path.suffix.lower() == ".toml" else _read_yaml(path)
    root = path.parent
    docs = data.get("docs_dir", "docs")
    if not isinstance(docs, str):
        raise Fatal(f"{path}: docs_dir must be a path, got {docs!r}")
    docs_dir = (root / docs).resolve()
    if not docs_dir.is_dir():
        line = _line_of(path, r"^\s*docs_dir\s*:")
        where = f"{path}:{line}" if line else str(path)
        raise Fatal(f"{where}: docs_dir '{docs}' does not exist ({docs_dir})")
    listed, raw = _plugin_options(data.get("plugins"))
    options = validate_options(raw, path)
    exclude_lines = list(_DEFAULT_EXCLUDE)
    extra = data.get("exclude_docs")
    if isinstance(extra, str):
        exclude_lines += extra.splitlines()
    site_url = data.get("site_url") or None
    return Site(
        config_file=path,
        root=root,
        docs_dir=docs_dir,
        site_dir=(root / str(data.get("site_dir") or "site")).resolve(),
        site_name=str(data.get("site_name") or ""),
        site_url=str(site_url) if site_url else None,
        use_directory_urls=bool(data.get("use_directory_urls", True)),
        exclude_docs=pathspec.GitIgnoreSpec.from_lines(exclude_lines),
        options=options,
        plugin_listed=listed,
        site_description=str(data.get("site_description") or ""),
    )
