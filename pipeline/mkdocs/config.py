"""The plugin's options as MkDocs wants them: a `Config` class, generated from `Options`.

Options have one home (`pipeline.model.Options`); this class only lets MkDocs validate
`plugins: - enrich: {...}` with the same check the CLI runs, so a mistake fails the
build with the same words, and unknown names get MkDocs' own warning.
"""

from __future__ import annotations

import types
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from mkdocs.config import base
from mkdocs.config import config_options as c

from pipeline.model import OptionError, Options, check_option, default_of


class _Checked(c.OptionallyRequired):
    def __init__(self, name: str):
        super().__init__(default=default_of(name))
        self._option = name

    def validate(self, value: Any, /) -> Any:
        # Skip OptionallyRequired's own None handling: check_option knows which
        # options may be null (max_cost) and what the default is otherwise.
        try:
            return check_option(self._option, value)
        except OptionError as e:
            raise c.ValidationError(str(e)) from None


if TYPE_CHECKING:
    EnrichConfig = base.Config
else:
    EnrichConfig = types.new_class(
        "EnrichConfig",
        (base.Config,),
        exec_body=lambda ns: ns.update({f.name: _Checked(f.name) for f in fields(Options)}),
    )
    EnrichConfig.__doc__ = "Options of the `enrich` plugin (mkdocs.yml `plugins: - enrich:`)."


def options_of(config: base.Config) -> Options:
    """The validated plugin config as the core's plain Options."""
    return Options(**{f.name: config[f.name] for f in fields(Options)})
