"""Progress: a tqdm bar on a terminal; one plain line per item otherwise (CI logs)."""

from __future__ import annotations

import sys

import click

from pipeline.model import ItemKind
from pipeline.text import printable


class Progress:
    def __init__(self, total: int, *, model: str, tty: bool | None = None):
        self.total = total
        self.done = 0
        self.tokens = 0
        self.dollars = 0.0
        self.model = model
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar = None
        if self.tty and total:
            # No stubs: tqdm ships no py.typed and types-tqdm is not on our package index.
            from tqdm import tqdm  # type: ignore[import-untyped]

            self._bar = tqdm(total=total, unit="item", file=sys.stderr, dynamic_ncols=True)

    def item(self, kind: ItemKind, path: str, outcome: str, tokens: int, dollars: float) -> None:
        self.done += 1
        self.tokens += tokens
        self.dollars += dollars
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self.tokens:,} tokens ${self.dollars:.4f}", refresh=False)
            self._bar.update(1)
        else:
            click.echo(
                f"[{self.done}/{self.total}] {outcome:<8} {kind:<5} {printable(path)}  "
                f"{tokens:,} tokens ${dollars:.5f}",
                err=True,
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
