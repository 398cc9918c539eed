"""The generators the CLI builds with: one row per adapter folder.

Adding a generator: a folder pipeline/NAME/ whose __init__ holds its `Generator`
(pipeline/generator.py), and one row here. Its Layout (pipeline/model.py) is the
default unless it builds pages elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from pipeline import mkdocs, properdocs, zensical
from pipeline.errors import Fatal
from pipeline.generator import Generator

# In the order `--generator auto` tries them when the config names none.
TABLE: tuple[Generator, ...] = (mkdocs.GENERATOR, properdocs.GENERATOR, zensical.GENERATOR)
BY_NAME = {g.name: g for g in TABLE}
AUTO = "auto"

# Config files a command reads when -f names none (or a folder): the first present. A
# file only one generator reads (properdocs.yml, zensical.toml) comes before one several
# read (mkdocs.yml), as that generator itself looks for its own first.
_NAMES = list(dict.fromkeys(name for g in TABLE for name in g.config_files))
CONFIG_FILES = tuple(sorted(_NAMES, key=lambda n: sum(n in g.config_files for g in TABLE) > 1))


def choose(name: str, config_file: Path) -> Generator:
    """`--generator NAME`; `auto`: the generator whose own config this is
    (properdocs.yml, zensical.toml), else the first of the table installed here."""
    if name != AUTO:
        return BY_NAME[name]
    own = [g for g in TABLE if g.config_files[0] == config_file.name]
    if len(own) == 1 and [g for g in TABLE if config_file.name in g.config_files] == own:
        return own[0]
    found = next((g for g in TABLE if g.installed()), None)
    if found is None:
        raise Fatal(
            "no site generator found (beside this Python or on PATH): "
            + "; ".join(g.install for g in TABLE)
        )
    return found
