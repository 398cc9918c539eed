"""What a build shows: the rendered record of pages whose words come from elsewhere, and
the pause that lets `pipeline build` enrich them before any page is written.

Both routes record the same way (`Recorder`): the MkDocs plugin from each page's content
as it renders, the post-build pass (Zensical) from each built page's article. Both then
reach the same point, every page's words known and no page written yet (MkDocs'
`on_env`; the pass between reading and writing pages), and pause there (`pause`) when a
page shows words its text was not made from. `pipeline build`, which owns spending,
enriches exactly those pages during the pause; the build then writes every page with the
new texts. So the generator runs once, and no page is built twice.

The pause between a generator's process and `pipeline build` is two pipes, named in the
environment (`ENRICH_CHECKPOINT=<write fd>,<read fd>`): the build writes `shown`, waits
for a line back, and reloads its texts. Without the variable (a plain `mkdocs build`,
`mkdocs serve`, a frozen build) nothing pauses and nothing is spent.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model import Site
from pipeline.plan import Plan, State
from pipeline.source import rendered as rendered_words

ENV = "ENRICH_CHECKPOINT"
SHOWN = b"shown\n"
GO = b"go\n"


# --- recording -----------------------------------------------------------------------------


@dataclass
class Recorder:
    """One build's record of the pages that borrow words (rendered.json)."""

    record: rendered_words.Record
    adopt: bool  # the build that first writes the record adopts text made from sources
    borrowed: dict[str, str]  # page -> its source (or made markdown) fingerprint
    made_from: dict[str, str]  # page -> the fingerprint its current text was made from
    unmade: set[str] = field(default_factory=set)  # borrowing pages with no text yet
    generated: frozenset[str] = frozenset()

    @classmethod
    def for_plan(
        cls, site: Site, plan: Plan, generated: Mapping[str, str] | None = None, *, adopt=None
    ) -> Recorder:
        """`generated`: pages a plugin made at build time -> the fingerprint of what it
        made. `adopt`: None decides from the record's absence (the first build after an
        upgrade); the i18n re-builds pass the first build's decision on."""
        path = site.state_dir / rendered_words.FILE
        borrowed = {
            p.path: p.source_fingerprint
            for p in plan.discovery.pages
            if p.borrowed and p.borrowed != ("generated",)
        }
        borrowed.update(generated or {})
        recorder = cls(
            record=rendered_words.Record(path),
            adopt=not path.exists() if adopt is None else adopt,
            borrowed=borrowed,
            made_from={},
            generated=frozenset(generated or ()),
        )
        recorder.know(plan)
        return recorder

    def know(self, plan: Plan) -> None:
        """What each borrowing page's text was made from, per `plan` (again after an
        enrich during the pause)."""
        sidecars = plan.discovery.sidecars
        self.made_from = {
            i.path: sidecars[i.sidecar].fingerprint or ""
            for i in plan.items
            if i.path in self.borrowed
            and i.sidecar in sidecars
            and i.state in (State.UP_TO_DATE, State.OUTDATED)
        }
        self.unmade = {i.path for i in plan.items if i.path in self.borrowed and i.stale}
        # A made page new to this build is not an item yet: it has no text either.
        self.unmade |= self.generated - {i.path for i in plan.items}

    def put(self, rel: str, content_html: str, title: str = "") -> None:
        """A borrowing page's rendered content (other pages are not recorded)."""
        source = self.borrowed.get(rel)
        if source is None:
            return
        self.record.put(
            rel,
            source,
            rendered_words.article_text(content_html),
            title=title,
            generated=rel in self.generated,
            adopt=self.adopt,
        )

    def save(self) -> None:
        self.record.keep_only(self.borrowed)
        self.record.save()

    def changed(self) -> list[str]:
        """Pages whose recorded words are not what their text was made from."""
        out = []
        for rel, made_from in sorted(self.made_from.items()):
            entry = self.record.pages.get(rel)
            if entry is None:
                continue
            if made_from == entry.source:  # made from the source before it was recorded
                made_from = entry.first
            if made_from != entry.rendered:
                out.append(rel)
        return out

    def changed_messages(self, docs_dir: Path, stale_mode: str) -> list[tuple[str, str]]:
        """(level, message) for each page in `changed()`: what the build says of it,
        a warning unless `on_stale` is info."""
        level = "info" if stale_mode == "info" else "warning"
        return [
            (
                level,
                f"{os.path.relpath(docs_dir / rel)}: its rendered words changed since its "
                "summary was made (an included file, a docstring or a macro); "
                "run `python -m pipeline enrich`",
            )
            for rel in self.changed()
        ]

    def wants_enrich(self) -> bool:
        """A page shows words no text was made from: worth a pause."""
        recorded = self.record.pages
        return bool(self.changed()) or any(rel in recorded for rel in self.unmade)


# --- the pause: the build's side -------------------------------------------------------------


def pause() -> bool:
    """Tell `pipeline build` what this build shows and wait until it has enriched it.
    True when it answered (texts must then be read again); False when no one asked for
    a pause, or the other side is gone (the build goes on with the texts it has)."""
    spec = os.environ.get(ENV, "")
    try:
        write_fd, read_fd = (int(part) for part in spec.split(","))
        os.write(write_fd, SHOWN)
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = os.read(read_fd, 64)
            if not chunk:
                return False
            reply += chunk
    except (OSError, ValueError):
        return False
    return reply == GO


# --- the pause: `pipeline build`'s side ------------------------------------------------------


def run_with_pauses(
    argv: list[str], env: Mapping[str, str], on_shown: Callable[[], None], cwd=None
) -> int:
    """Run a build that may pause (`pause`), calling `on_shown` at each pause (once per
    build the generator runs: mkdocs-static-i18n runs one per language). An exception
    in `on_shown` lets the build finish with the texts it has, then propagates."""
    to_parent_r, to_parent_w = os.pipe()
    to_child_r, to_child_w = os.pipe()
    child_env = {**env, ENV: f"{to_parent_w},{to_child_r}"}
    error: BaseException | None = None
    try:
        proc = subprocess.Popen(argv, env=child_env, cwd=cwd, pass_fds=(to_parent_w, to_child_r))
    finally:
        os.close(to_parent_w)
        os.close(to_child_r)
    with open(to_parent_r, "rb", buffering=0) as requests, open(to_child_w, "wb", 0) as replies:
        for line in _lines(requests):
            if line != SHOWN or error is not None:
                continue
            try:
                on_shown()
            except BaseException as e:  # re-raised once the build has stopped
                error = e
                with contextlib.suppress(OSError):
                    replies.close()  # the build reads EOF: it goes on as it is
                continue
            with contextlib.suppress(OSError):
                replies.write(GO)
    code = proc.wait()
    if error is not None:
        raise error
    return code


def _lines(stream) -> Iterable[bytes]:
    buf = b""
    while chunk := stream.read(64):
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            yield line + b"\n"
