"""`report --review --html PATH`: gather what changed since a git ref into a review page.

Which items: those whose source, sidecar or image file changed since `--since REF`
(default: the merge base of HEAD with the default branch), uncommitted and untracked
files included. Without git, or with no default branch to compare with, every item with
generated (or edited) text. `--all`: every item.

Links to each item's file and sidecar are relative to the page's own folder (they work
where the page was written, inside the repository or not), or, with `--link-base URL`,
that URL followed by the file's path from the repository root: a page downloaded from
CI then links to the files on the forge at the reviewed commit.

Thumbnails are made from the very bytes the model was sent (prepare()), shrunk to
DISPLAY_EDGE for the page; the page states the size that was sent.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from urllib.parse import quote, urlsplit

import click
from PIL import Image

from pipeline.cli.report import review_rows
from pipeline.config import site_url_problem
from pipeline.enrich.prepare import Prepared, prepare
from pipeline.errors import Fatal, ItemError
from pipeline.fsutil import atomic_write
from pipeline.plan import Item, Plan, State
from pipeline.render.review_page import (
    Flag,
    ImageEntry,
    PageEntry,
    Review,
    Thumbnail,
    Use,
    render_review,
)

DEFAULT_BRANCHES = ("origin/HEAD", "origin/main", "origin/master", "main", "master")
# The longest side of a thumbnail on the page: the image column is 16rem (256 CSS px) wide.
DISPLAY_EDGE = 256
WEBP_QUALITY = 80


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True)
    except OSError as e:  # no git at all
        return subprocess.CompletedProcess(args, 127, "", str(e))


def default_base(cwd: Path) -> tuple[str, str] | None:
    """(merge-base sha, the branch it is with), or None outside git or with no default branch."""
    for ref in DEFAULT_BRANCHES:
        found = _git(cwd, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        if found.returncode != 0:
            continue
        base = _git(cwd, "merge-base", "HEAD", ref)
        if base.returncode == 0 and base.stdout.strip():
            name = ref
            if ref == "origin/HEAD":
                sym = _git(cwd, "rev-parse", "--abbrev-ref", "origin/HEAD")
                name = sym.stdout.strip() or ref
            return base.stdout.strip(), name
    return None


def changed_since(docs_dir: Path, ref: str) -> set[str]:
    """docs_dir-relative paths changed since ref: committed, staged, unstaged, untracked."""
    diff = _git(docs_dir, "diff", "--name-only", "--relative", "-z", ref, "--", ".")
    if diff.returncode != 0:
        why = (diff.stderr or diff.stdout).strip().splitlines()
        raise Fatal(f"--since {ref}: git diff failed: {why[-1] if why else 'unknown error'}")
    new = _git(docs_dir, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    return {p for p in (diff.stdout + "\0" + new.stdout).split("\0") if p}


def _selected(plan: Plan, since: str | None, everything: bool) -> tuple[list[Item], str]:
    sidecars = plan.discovery.sidecars
    if everything:
        return list(plan.items), "Every item."
    with_text = [i for i in plan.items if i.sidecar and i.sidecar in sidecars]
    docs = plan.site.docs_dir
    how = ""
    if since is None:
        found = default_base(docs)
        if found is not None:
            since, branch = found
            how = f" (merge base with {branch})"
    if since is None:
        generated = [i for i in with_text if sidecars[i.sidecar].source != "author"]  # type: ignore[index]
        return generated, "Every item with generated or edited text (no git base to compare with)."
    changed = changed_since(docs, since)
    picked = [i for i in plan.items if {i.path, *i.paths, i.home, i.sidecar or ""} & changed]
    return picked, f"Items generated or changed since {since[:12]}{how}."


def checked_link_base(url: str) -> str:
    """`--link-base`, ending in `/`; click.BadParameter (a usage error, one line saying
    why) for anything but an http(s) URL with a host, no query and no fragment."""
    # site_url's rule (http or https with a host, a URL that parses), then narrower: a
    # prefix for paths, so no query, fragment, whitespace, control character or backslash.
    bad = (
        not url
        or site_url_problem(url) is not None
        or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)
        or "\\" in url
    )
    parts = urlsplit(url) if not bad else None
    if parts is None or not parts.hostname or parts.query or parts.fragment:
        raise click.BadParameter(
            f"must be an http(s) URL such as https://github.com/OWNER/REPO/blob/SHA/, not {url!r}"
        )
    return url.rstrip("/") + "/"


def repository_root(site_root: Path, docs: Path) -> Path:
    """What `--link-base` paths start from: git's top level, else the config file's folder."""
    top = _git(docs, "rev-parse", "--show-toplevel")
    if top.returncode == 0 and top.stdout.strip():
        return Path(top.stdout.strip()).resolve()
    return site_root.resolve()


def _linker(html_path: Path, docs: Path, base: str | None, root: Path) -> Callable[[str], str]:
    """docs-relative path -> its link. Quoted: a space, `#` or `?` in a name stays a name."""
    html_dir = html_path.resolve().parent

    def link(rel: str) -> str:
        target = docs / rel
        if base is not None:
            try:
                return base + quote(target.relative_to(root).as_posix())
            except ValueError:  # docs_dir outside the repository: the local link is all there is
                pass
        return quote(Path(os.path.relpath(target, html_dir)).as_posix())

    return link


def display_thumbnail(p: Prepared, edge: int = DISPLAY_EDGE) -> Thumbnail:
    """What the page shows of the image the model was sent: those bytes when they are small
    enough, else them shrunk to `edge` px, as WebP or PNG, whichever is smaller (PNG,
    lossless, wins on flat diagrams). Never the original file: the reviewer sees what the
    model saw."""
    as_sent = Thumbnail(
        p.media_type, p.data, p.width, p.height, p.media_type, len(p.data), p.width, p.height
    )
    if max(p.width, p.height) <= edge:
        return as_sent
    with Image.open(io.BytesIO(p.data)) as opened:
        opened.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        im: Image.Image = opened
        if im.mode not in ("RGB", "RGBA"):  # prepare() makes L, LA, RGB or RGBA
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        webp, png = io.BytesIO(), io.BytesIO()
        im.save(webp, "WEBP", quality=WEBP_QUALITY)
        im.save(png, "PNG")  # optimize=True: 4x the time for 1-2 % here
        width, height = im.size
    media_type, data = min(
        ("image/webp", webp.getvalue()), ("image/png", png.getvalue()), key=lambda c: len(c[1])
    )
    return replace(as_sent, media_type=media_type, data=data, width=width, height=height)


def _thumbnail(plan: Plan, item: Item) -> tuple[Thumbnail | None, str]:
    try:
        p = prepare(plan.site.docs_dir / item.path, item.path, plan.site.options.image_max_edge)
    except ItemError as e:
        return None, f"no thumbnail: {e}"
    return display_thumbnail(p), ""


def build_review(
    plan: Plan,
    records: list[dict],
    html_path: Path,
    *,
    since: str | None,
    everything: bool,
    link_base: str | None = None,
) -> Review:
    items, covers = _selected(plan, since, everything)
    sidecars = plan.discovery.sidecars
    docs = plan.site.docs_dir
    root = repository_root(plan.site.root, docs) if link_base is not None else docs
    link_to = _linker(html_path, docs, link_base, root)
    flags: dict[str, list[Flag]] = {}
    for what, path, why in review_rows(plan, records):
        flags.setdefault(path, []).append(Flag(what, why))
    refs = [r for page in plan.discovery.pages for r in page.refs]
    titles = {p.path: p.title for p in plan.discovery.pages}
    pages: list[PageEntry] = []
    images: list[ImageEntry] = []
    for item in sorted(items, key=lambda i: (i.kind, i.path)):
        car = sidecars.get(item.sidecar) if item.sidecar else None
        link = link_to(item.sidecar) if item.sidecar else ""
        file = link_to(item.path)
        own = list(flags.get(item.path, []))
        if item.state is State.SKIPPED:  # changed, but cannot be used: say why
            own.append(Flag("skipped", item.detail))
        elif item.state is State.FAILED:  # remembered as failed: a person writes the text
            own.append(Flag("failed", item.detail))
        if item.kind == "page":
            pages.append(
                PageEntry(
                    path=item.path,
                    state=item.state.value,
                    title=titles.get(item.path, ""),
                    source=car.source if car else "",
                    summary=car.summary if car else "",
                    abstract=car.abstract if car else "",
                    sidecar=link,
                    sidecar_name=item.sidecar or "",
                    file=file,
                    flags=tuple(own),
                )
            )
            continue
        uses = [r for r in refs if r.target in (item.path, *item.paths)]
        if item.lang:  # one of the image's languages: the uses on its own pages
            uses = [r for r in uses if r.page in item.pages]
        for r in uses:
            own += flags.get(f"{r.page}:{r.line}", [])
        thumb, note = _thumbnail(plan, item)
        images.append(
            ImageEntry(
                path=item.path,
                state=item.state.value,
                source=car.source if car else "",
                alt=car.alt if car else "",
                decorative=bool(car and car.decorative),
                sidecar=link,
                sidecar_name=item.sidecar or "",
                file=file,
                thumbnail=thumb,
                thumbnail_note=note,
                uses=tuple(Use(r.page, r.line, r.heading, r.context) for r in uses),
                flags=tuple(own),
            )
        )
    notes = tuple(f"{p.path}{f':{p.line}' if p.line else ''}: {p.message}" for p in plan.problems)
    # Flagged items first: what most needs a person's eye is at the top.
    pages.sort(key=lambda e: (not e.flags, e.path))
    images.sort(key=lambda e: (not e.flags, e.path))
    return Review(plan.site.site_name, covers, tuple(pages), tuple(images), notes)


def page_writer(
    html: str, *, since: str | None, everything: bool, link_base: str | None = None
) -> Callable[[Plan, list[dict]], Review]:
    """What `report --review --html` calls with the plan and the ledger's records."""
    return partial(
        write_review_page, html=html, since=since, everything=everything, link_base=link_base
    )


def write_review_page(
    plan: Plan,
    records: list[dict],
    *,
    html: str,
    since: str | None,
    everything: bool,
    link_base: str | None = None,
) -> Review:
    path = Path(html)
    review = build_review(
        plan, records, path, since=since, everything=everything, link_base=link_base
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, render_review(review).encode("utf-8"))
    except OSError as e:
        raise Fatal(f"{html}: cannot write the review page ({e.strerror})") from None
    flagged = sum(1 for e in review.pages if e.flags) + sum(1 for e in review.images if e.flags)
    click.echo(
        f"Review page: {html} ({len(review.images)} image(s), {len(review.pages)} page(s), "
        f"{flagged} flagged). {review.since}",
        err=True,
    )
    return review
