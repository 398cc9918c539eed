"""What a generator adapter tells the CLI: how to find and run it, which versions it
takes, which config files it reads, who renders our texts, and its Layout.

Each generator folder (pipeline/mkdocs, pipeline/properdocs, pipeline/zensical) holds
one `Generator`; the CLI keeps them in one table (pipeline/cli/generators.py). No
generator is imported here: a generator is found as a module of the running Python,
else as an executable next to it (a venv called by its path, not activated), else on
PATH.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.errors import Fatal
from pipeline.model import DEFAULT_LAYOUT, Layout

Version = tuple[int, ...]


@dataclass(frozen=True)
class Generator:
    name: str  # `--generator NAME`, and the executable's name
    # Config files it reads when none is named, the first present winning.
    config_files: tuple[str, ...]
    tested: str  # the version the tests run
    supported: tuple[Version, Version]  # from, below
    install: str  # one line: how to install it
    # "plugin": our MkDocs plugin renders during the build; "postbuild": our pass
    # renders the built site afterwards (pipeline.render.postbuild).
    renders: Literal["plugin", "postbuild"]
    module: str | None = None  # `python -m MODULE` when the running Python has it
    distribution: str | None = None  # its package, for the version of that module
    env: str | None = None  # a variable naming its executable, which wins
    layout: Layout = DEFAULT_LAYOUT
    # The local YAML tags it reads in mkdocs.yml (None: all MkDocs reads). Zensical
    # reads `!ENV` and Python tags (`!!python/name:`), and stops on `!relative`.
    yaml_tags: tuple[str, ...] | None = None

    # --- finding it ---------------------------------------------------------------------

    def command(self) -> list[str] | None:
        """How to run it here, or None: $ENV, else a module of this Python, else an
        executable beside this Python (its venv's bin/), else on PATH."""
        named = os.environ.get(self.env) if self.env else None
        if named:
            return [named]
        if self.module and importlib.util.find_spec(self.module) is not None:
            return [sys.executable, "-m", self.module]
        beside = Path(sys.executable).parent / self.name
        if beside.is_file() and os.access(beside, os.X_OK):
            return [str(beside)]
        found = shutil.which(self.name)
        return [found] if found else None

    def installed(self) -> bool:
        return self.command() is not None

    def require(self) -> list[str]:
        """The command, checked: a one-line Fatal when missing or of an unsupported
        version (before anything is spent on a build that cannot run)."""
        command = self.command()
        if command is None:
            raise Fatal(f"--generator {self.name}: {self.name} is not installed ({self.install})")
        self.check_version(self.version_text(command))
        return command

    def version_text(self, command: list[str]) -> str:
        if command[:2] == [sys.executable, "-m"] and self.distribution:
            try:
                return importlib.metadata.version(self.distribution)
            except importlib.metadata.PackageNotFoundError:
                pass
        try:
            proc = subprocess.run(
                [*command, "--version"], capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.SubprocessError) as e:
            why = getattr(e, "strerror", None) or type(e).__name__
            raise Fatal(f"--generator {self.name}: cannot run {command[0]} ({why})") from None
        return proc.stdout or proc.stderr

    def check_version(self, text: str) -> str:
        """The version printed, or a Fatal naming it when unsupported."""
        version = parse_version(text)
        low, high = self.supported
        shown = ".".join(map(str, version)) if version else repr(text.strip()[:40])
        if version is None or not low <= version < high:
            raise Fatal(
                f"{self.name} {shown} is not supported: tested with {self.tested} "
                f"(supported from {_dotted(low)} below {_dotted(high)}); {self.install}"
            )
        return shown

    def check_tags(self, config_file: Path, tags: list[tuple[str, int]]) -> None:
        """One line, before it runs, when the config uses a YAML tag it cannot read."""
        if self.yaml_tags is None:
            return
        bad = [(tag, line) for tag, line in tags if tag not in self.yaml_tags]
        if not bad:
            return
        (tag, line), more = bad[0], len(bad) - 1
        also = f" (and {more} more)" if more else ""
        fix = " (write the path itself: relative paths start at the config's folder)"
        raise Fatal(
            f"{config_file}:{line}: {self.name} cannot read the YAML tag {tag}{also} and "
            f"would stop; remove it{fix if tag == '!relative' else ''}, "
            f"or build with MkDocs"
        )

    # --- running it -----------------------------------------------------------------------

    def build_argv(self, command: list[str], config_file: str | Path, *, strict: bool) -> list[str]:
        return [*command, "build", "-f", str(config_file), *(["--strict"] if strict else [])]


def parse_version(text: str) -> Version | None:
    found = re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return tuple(int(n) for n in found.groups()) if found else None


def _dotted(version: Version) -> str:
    return ".".join(map(str, version))
