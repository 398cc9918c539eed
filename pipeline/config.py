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

import pathspec
import yaml

from pipeline.errors import Fatal
from pipeline.model import OptionError, Options, Site, parse_options
from pipeline.source.language import theme_language
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
    options, warnings = validate_options(raw, path)
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
        site_description=_plain(data.get("site_description")),
        language=theme_language(data.get("theme")),
        warnings=warnings,
        template_vars=template_vars(data.get("plugins"), data.get("extra")),
        expanders=expanders_of(
            [*_names(data.get("plugins")), *_names(data.get("markdown_extensions"))]
        ),
    )


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
