"""Read a site's configuration file into a `Site` with its `Options`, without a generator.

The CLI reads mkdocs.yml with a tolerant loader, so `status` works on any MkDocs site
before it adopts the plugin, even when the site's themes, extensions and MkDocs itself
are not installed here. Options are checked by `model.check_option`, the same check the
MkDocs adapter's Config class runs, so a mistake reads the same in both.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pathspec
import yaml

from pipeline.errors import Fatal
from pipeline.fsutil import inside
from pipeline.model import OptionError, Options, Site, parse_options
from pipeline.source.language import i18n_default, theme_language
from pipeline.source.rendered import expanders_of

PLUGIN_NAME = "enrich"


# --- a YAML loader that tolerates MkDocs' tags -------------------------------------------


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that understands `!ENV` and `!relative`, and ignores Python tags.

    mkdocs.yml files name Python objects (`!!python/name:material.extensions.emoji.to_svg`)
    that we neither need nor want to import; they load as None.
    """


def _env_tag(loader: _TolerantLoader, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        names, default = [loader.construct_scalar(node)], None
    elif isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node)
        names, default = items[:-1], items[-1] if items else None
    else:
        raise _wrong_node(node, "a scalar or sequence")
    for name in names:
        if isinstance(name, str) and name in os.environ:
            return yaml.safe_load(os.environ[name])
    return default


def _relative_tag(loader: _TolerantLoader, node: yaml.Node):
    if not isinstance(node, yaml.ScalarNode):
        raise _wrong_node(node, "a scalar")
    return loader.construct_scalar(node)


def _wrong_node(node: yaml.Node, expected: str) -> yaml.constructor.ConstructorError:
    # Worded as PyYAML words it (and mkdocs for `!ENV`); reported like any YAMLError.
    # "mapping", "sequence": PyYAML's `id`, which only the concrete node classes carry.
    found = type(node).__name__.removesuffix("Node").lower()
    return yaml.constructor.ConstructorError(
        None, None, f"expected {expected} node, but found {found}", node.start_mark
    )


def _ignore_tag(loader: _TolerantLoader, suffix: str, node: yaml.Node):
    return None


_TolerantLoader.add_constructor("!ENV", _env_tag)
_TolerantLoader.add_constructor("!relative", _relative_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _ignore_tag)
_TolerantLoader.add_multi_constructor("!", _ignore_tag)


class _TagRecorder(_TolerantLoader):
    """The tolerant loader, noting every local tag (`!relative`, `!ENV`) and its line."""

    def __init__(self, stream):
        super().__init__(stream)
        self.tags: list[tuple[str, int]] = []


def _record(loader: _TagRecorder, node: yaml.Node, *rest):
    node = rest[-1] if rest else node
    loader.tags.append((node.tag, node.start_mark.line + 1))
    return None


_TagRecorder.add_constructor("!ENV", _record)
_TagRecorder.add_constructor("!relative", _record)
_TagRecorder.add_multi_constructor("!", lambda loader, suffix, node: _record(loader, node))


def yaml_tags(path: Path) -> list[tuple[str, int]]:
    """The local YAML tags a config file uses (`!relative`, `!ENV`, ...), with their
    line; Python tags (`!!python/name:`) are not local. [] for TOML or a file we
    cannot read (reading it for real reports that)."""
    if path.suffix.lower() == ".toml":
        return []
    try:
        loader = _TagRecorder(path.read_text(encoding="utf-8-sig"))
        try:
            loader.get_single_data()
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    return sorted(loader.tags, key=lambda t: t[1])


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise Fatal(f"{path}: file not found (pass the site's config with -f PATH)") from None
    except UnicodeDecodeError as e:
        raise Fatal(f"{path}: not valid UTF-8 ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise Fatal(f"{path}: cannot read ({e.strerror})") from None


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        line = _line_of(seen[-1], r"^\s*INHERIT\s*:")
        where = f"{seen[-1]}:{line}" if line else str(seen[-1])
        raise Fatal(f"{where}: INHERIT loop ({chain})")
    text = _read_text(path)
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
        base_data = _read_yaml((path.parent / parent).resolve(), (*seen, path))
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


def template_vars(plugins, extra) -> dict[str, str]:
    """`extra:` strings, as mkdocs-macros exposes them to pages (`{{ name }}`), when the
    site lists macros; {} otherwise (nothing fills a `{{ … }}` then)."""
    if "macros" not in _names(plugins) or not isinstance(extra, dict):
        return {}
    return {str(k): v for k, v in extra.items() if isinstance(v, str)}


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


def _where(config_file: Path, key: str) -> str:
    line = _line_of(config_file, rf"^\s*{re.escape(str(key))}\s*:")
    return f"{config_file}:{line}" if line else str(config_file)


def validate_options(raw: dict, config_file: Path) -> tuple[Options, tuple[str, ...]]:
    """Validate our plugin options with one-line errors; -> the options, and warnings
    about them (unknown names) worded as MkDocs words them, one line each."""
    try:
        options, unknown = parse_options(raw)
    except OptionError as e:
        raise Fatal(f"{_where(config_file, e.key)}: plugins.{PLUGIN_NAME}.{e.key}: {e}") from None
    lines = tuple(
        f"{_where(config_file, key)}: warning: Config value 'plugins': "
        f"Plugin '{PLUGIN_NAME}' option '{key}': Unrecognised configuration name: {key}"
        for key in unknown
    )
    return options, lines


_DEFAULT_EXCLUDE = [".*", "/templates/"]


def _read_toml(path: Path) -> dict:
    """zensical.toml: its `[project]` table holds the same settings as mkdocs.yml."""
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise Fatal(f"{path}: invalid TOML ({e})") from None
    project = data.get("project", data)
    if not isinstance(project, dict):
        raise Fatal(f"{path}: expected a [project] table of settings")
    return project


# What a command reads when -f names no file: the adapters' config files, in the order
# of the CLI's generator table (pipeline/cli/generators.py passes its own).
CONFIG_FILES = ("properdocs.yml", "zensical.toml", "mkdocs.yml")


def config_path(
    config_file: str | os.PathLike | None, candidates: tuple[str, ...] = CONFIG_FILES
) -> Path:
    """The site's config: the file named; in a folder (or none named), the first of
    `candidates` present there, as each generator looks for its own (ProperDocs reads
    properdocs.yml before mkdocs.yml); an absent mkdocs.yml falls back to zensical.toml."""
    path = Path(config_file) if config_file else None
    folder = path if path is None or path.is_dir() else None
    if path is None or folder is not None:
        here = folder or Path()
        found = next((here / n for n in candidates if (here / n).is_file()), None)
        path = found or here / candidates[0]
    if not path.exists() and path.name == "mkdocs.yml":
        toml = path.with_name("zensical.toml")
        if toml.is_file():
            path = toml
    return path.absolute()


def load_site(
    config_file: str | os.PathLike | None = None, candidates: tuple[str, ...] = CONFIG_FILES
) -> Site:
    path = config_path(config_file, candidates)
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
    options, warnings = validate_options(raw, path)
    exclude_lines = list(_DEFAULT_EXCLUDE)
    extra = data.get("exclude_docs")
    if isinstance(extra, str):
        exclude_lines += extra.splitlines()
    site_url = check_site_url(data.get("site_url"), lambda: _where(path, "site_url"))
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
        site_description=_plain(data.get("site_description")),
        # mkdocs-static-i18n sets theme.language per build: its default is the site's.
        language=i18n_default(data.get("plugins")) or theme_language(data.get("theme")),
        warnings=warnings,
        template_vars=template_vars(data.get("plugins"), data.get("extra")),
        expanders=expanders_of(
            [*_names(data.get("plugins")), *_names(data.get("markdown_extensions"))]
        ),
    )


def check_site_dir(site: Site, site_dir: Path | None = None) -> Path:
    """The folder a build writes (and a generator empties): Fatal when it is, or holds,
    docs_dir or the config file (emptying it would take the sources with it), or sits
    inside docs_dir (the site would be published into itself). -> the folder, resolved."""
    folder = (site_dir or site.site_dir).resolve()
    where = _where(site.config_file, "site_dir") if site_dir is None else "--site-dir"
    for what, path in (("docs_dir", site.docs_dir), ("the config file", site.config_file)):
        if inside(path, folder):
            raise Fatal(
                f"{where}: site_dir {str(folder)!r} is or contains {what}: a build writes "
                "and deletes files there; choose a folder of its own (the default is site)"
            )
    if inside(folder, site.docs_dir):
        raise Fatal(f"{where}: site_dir {str(folder)!r} is inside docs_dir; choose one outside")
    return folder


def site_url_problem(value: object) -> str | None:
    """Why `site_url` is refused, or None. MkDocs' rule (a string with a scheme and a
    host), narrowed to http and https: the feed and every canonical link are built on it,
    and `javascript:` or `data:` there would reach readers as a link."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return f"expected a URL, got {value!r}"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "unable to parse the URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"{value!r} is not an http:// or https:// URL"
    return None


def check_site_url(value: object, where) -> str | None:
    """`site_url` checked (Fatal naming `where()`) and, as MkDocs keeps it, ending in "/"."""
    problem = site_url_problem(value)
    if problem:
        raise Fatal(f"{where()}: site_url: {problem}")
    if not value:
        return None
    parts = urlsplit(str(value))
    if not parts.path.endswith("/"):
        parts = parts._replace(path=parts.path + "/")
    return urlunsplit(parts)


def _names(entries) -> list[object]:
    """Names in a plugins or markdown_extensions setting (a list of names/mappings, or
    a mapping)."""
    if isinstance(entries, dict):
        return list(entries)
    names: list[object] = []
    for entry in entries if isinstance(entries, list) else []:
        names.extend([entry] if isinstance(entry, str) else list(entry or {}))
    return names


def nav_of(config_file: Path) -> object:
    """The config's `nav:` as written (mkdocs.yml, or zensical.toml's [project]), for a
    generator that does not hand us its navigation; None when there is none."""
    path = Path(config_file)
    data = _read_toml(path) if path.suffix.lower() == ".toml" else _read_yaml(path)
    return data.get("nav")


def _plain(value) -> str:
    # A bare `site_description:` loads as None: never the text "None".
    return str(value).strip() if value is not None else ""
