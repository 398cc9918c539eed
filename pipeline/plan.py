"""Discovered items + sidecars -> a Plan: each item's state, before anything is spent.

A pure function of its inputs. States:

  new, changed   stale: enrich spends on these
  outdated       made with another model or prompt version: spend only on --upgrade
  up-to-date     nothing to do
  author         the author wrote the text (frontmatter description, alt in markdown,
                 or a sidecar with `source: author`)
  edited         a person changed the generated text: never overwritten
  edited-review  ... and the source changed since: a person should look
  skipped        cannot be processed (reason given); the rest go on
  failed         tried, and could not be made (a refusal, a cut-off reply twice, a request
                 the API rejects, two replies that broke the rules): remembered in its
                 sidecar, not sent again until the source, model or prompt version changes
                 (or `enrich --retry-failed`); renders from the author's text or the first
                 paragraph

A result is found by fingerprint anywhere in the tree, so a moved or renamed source,
or the same image bytes at several paths, costs nothing.

An image's alt is per language: the same bytes used on pages of two languages are one
item per language, each with only that language's pages (and so its own request, its own
sidecar). A page's language here is the one it declares: front matter `lang`, the i18n
file layout (`page.fr.md`, `fr/page.md`), else the site's (theme.language, or the i18n
plugin's default); "" when none says (a single-language site without theme.language: one
group, as before). One language, the image's first, keeps the plain sidecar
(`logo.png.enrich.yml`): the one that sidecar records (`lang:`); for a sidecar made
before alts were per language, the one its alt is written in (py3langid, among the
languages of the pages using the image; when too short to tell, that of the first page
using it, which is the one it was asked in); with no plain sidecar yet, the pages that
declare no language, else the site's language, else that of the first page using it.
Each other language has `logo.png.<lang>.enrich.yml`. An image used in one language only
keeps exactly the one plain sidecar it always had.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

from pipeline.errors import Problem
from pipeline.model import IMAGE_PROMPT_VERSION, PAGE_PROMPT_VERSION, ItemKind, Site
from pipeline.sidecars import SUFFIX, Sidecar, kind_of, lang_of, sidecar_path, source_of
from pipeline.source import language
from pipeline.source.discover import Discovery, ImageFile, ImageRef, PageSource


class State(StrEnum):
    NEW = "new"
    CHANGED = "changed"
    OUTDATED = "outdated"
    UP_TO_DATE = "up-to-date"
    AUTHOR = "author"
    EDITED = "edited"
    EDITED_REVIEW = "edited-review"
    SKIPPED = "skipped"
    FAILED = "failed"


STALE = frozenset({State.NEW, State.CHANGED})


@dataclass(frozen=True)
class Item:
    kind: ItemKind
    path: str  # docs_dir-relative; for an image, the first of its paths
    state: State
    fingerprint: str | None = None
    detail: str = ""
    sidecar: str | None = None  # the sidecar holding its text now, wherever it is
    home: str = ""  # where its sidecar belongs
    paths: tuple[str, ...] = ()  # images: every path holding these bytes
    pages: tuple[str, ...] = ()  # images: pages that use it (in its language)
    # An image used in several languages: the one this item is for ("" otherwise).
    lang: str = ""

    @property
    def stale(self) -> bool:
        return self.state in STALE


@dataclass
class Plan:
    site: Site
    model: str
    items: list[Item]
    discovery: Discovery
    orphans: list[str] = field(default_factory=list)
    # Each page's declared language (see page_language): which alt of an image it shows.
    languages: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        return self.discovery.problems

    @property
    def skipped_refs(self) -> list[ImageRef]:
        return [r for p in self.discovery.pages for r in p.refs if r.skip and r.skip != "error"]

    def counts(self) -> dict[ItemKind, Counter[State]]:
        out: dict[ItemKind, Counter[State]] = {"page": Counter(), "image": Counter()}
        for item in self.items:
            out[item.kind][item.state] += 1
        return out

    def stale(self) -> list[Item]:
        return [i for i in self.items if i.stale]

    def outdated(self) -> list[Item]:
        return [i for i in self.items if i.state is State.OUTDATED]

    def unshown(self) -> list[Item]:
        """Stale pages with borrowed words (an include, a docstring, a macro) that no
        build has shown as they are now (a new page, or its source edited since): text
        made now would be made from their source, not from what readers see."""
        unshown = {p.path for p in self.discovery.pages if _unshown(p, self.discovery)}
        return [i for i in self.stale() if i.kind == "page" and i.path in unshown]


def _unshown(page: PageSource, found: Discovery) -> bool:
    """The page borrows words, and no build has recorded them for its source as it is."""
    return bool(page.borrowed) and page.path not in found.rendered


def _excluded(site: Site, path: str) -> bool:
    return any(fnmatch.fnmatch(path, pat) for pat in site.options.exclude)


def page_language(site: Site, page: PageSource) -> str:
    """The language a page declares: front matter, the i18n file layout, else the
    site's; "" when none says (the request then detects it, as for a page)."""
    if page.lang:
        return page.lang
    found = language.from_path(page.path)
    if found:
        return found[0]
    return site.language or ""


def _state_of(sc: Sidecar, model: str, version: str) -> tuple[State, str]:
    if sc.failed:
        if sc.model != model or sc.prompt != version:
            # A new model or prompt may well answer: ask once more.
            return State.NEW, f"failed with {sc.model} / {sc.prompt}: asked again"
        return State.FAILED, f"{sc.failure}: {sc.reason}"
    if sc.source == "author":
        return State.AUTHOR, "written by a person"
    if sc.edited:
        return State.EDITED, "edited by a person"
    if sc.model != model or sc.prompt != version:
        return State.OUTDATED, f"made with {sc.model} / {sc.prompt}"
    return State.UP_TO_DATE, ""


def _classify(
    home: str,
    extra_homes: list[str],
    fp: str,
    found: Discovery,
    by_fp: dict[str, list[str]],
    model: str,
    version: str,
    serves=lambda rel, sc: True,
) -> tuple[State, str | None, str]:
    """-> (state, sidecar holding the text, detail). `serves(rel, sidecar)`: whether a
    sidecar holds text for this item's language (an image's)."""
    sidecars = found.sidecars
    if home in found.failed:
        return State.SKIPPED, None, f"corrupt sidecar {home}: {found.failed[home].message}"
    for h in [home, *extra_homes]:
        sc = sidecars.get(h)
        if sc is not None and sc.fingerprint == fp and serves(h, sc):
            state, detail = _state_of(sc, model, version)
            return state, h, detail
    sc = sidecars.get(home)
    if sc is not None and not serves(home, sc):
        sc = None  # another language's text: this language has none yet
    if sc is not None and sc.human:
        if sc.fingerprint is None:
            state, detail = _state_of(sc, model, version)
            return state, home, detail
        return State.EDITED_REVIEW, home, "source changed since this edited text: review"
    for other in by_fp.get(fp, ()):
        if not serves(other, sidecars[other]):
            continue
        state, detail = _state_of(sidecars[other], model, version)
        if source_of(other) not in found.files:
            how = f"moved: text found in {other}, re-homed by the next enrich"
        else:
            how = f"same content as {source_of(other)}"
        return state, other, "; ".join(x for x in (how, detail) if x)
    if sc is not None:
        if sc.failed:
            return State.NEW, home, "source changed since it failed: asked again"
        return State.CHANGED, home, "source changed since the text was made"
    return State.NEW, None, ""


def build_plan(site: Site, found: Discovery, model: str | None = None) -> Plan:
    model = model or site.options.model
    by_fp: dict[str, list[str]] = defaultdict(list)
    for rel, sc in sorted(found.sidecars.items()):
        if sc.fingerprint:
            by_fp[f"{sc.kind}:{sc.fingerprint}"].append(rel)
    page_fp = {k[5:]: v for k, v in by_fp.items() if k.startswith("page:")}
    image_fp = {k[6:]: v for k, v in by_fp.items() if k.startswith("image:")}

    items: list[Item] = []
    for path, problem in sorted(found.failed.items()):
        if not path.endswith(SUFFIX):
            items.append(Item(kind_of(path), path, State.SKIPPED, detail=problem.message))

    for page in found.pages:
        items.append(_page_item(site, page, found, page_fp, model))

    opted_out = frozenset(p.path for p in found.pages if not p.enrich)
    groups: dict[str, list[ImageFile]] = defaultdict(list)
    for img in found.images.values():
        groups[img.fingerprint].append(img)
    refs_by_target: dict[str, list[ImageRef]] = defaultdict(list)
    for page in found.pages:
        for ref in page.refs:
            if ref.target:
                refs_by_target[ref.target].append(ref)
    languages = {p.path: page_language(site, p) for p in found.pages}
    for files in groups.values():
        # The copy most pages use names the item: its file name is context for the model.
        files.sort(key=lambda f: (-len(refs_by_target[f.path]), len(f.path), f.path))
        refs = [r for f in files for r in refs_by_target[f.path]]
        by_lang: dict[str, list[ImageRef]] = defaultdict(list)
        for ref in refs:
            by_lang[languages.get(ref.page, "")].append(ref)
        if len(by_lang) <= 1:
            lang = next(iter(by_lang), "")
            primary = _primary(site, files, found, by_lang)
            items.append(
                _image_item(
                    site, files, refs, found, image_fp, model, opted_out, lang, primary, False
                )
            )
            continue
        primary = _primary(site, files, found, by_lang)
        for lang, lang_refs in sorted(by_lang.items()):
            # Named by the copy this language's pages use most (fr/img/logo.png).
            uses = Counter(r.target for r in lang_refs)
            mine = sorted(files, key=lambda f: (-uses[f.path], len(f.path), f.path))
            items.append(
                _image_item(
                    site, mine, lang_refs, found, image_fp, model, opted_out, lang, primary, True
                )
            )

    items.sort(key=lambda i: (i.kind != "page", i.path, i.lang))
    claimed = {i.sidecar for i in items if i.sidecar}
    orphans = sorted(
        rel
        for rel in list(found.sidecars) + [r for r in found.failed if r.endswith(SUFFIX)]
        if source_of(rel) not in found.files and rel not in claimed
    )
    return Plan(
        site=site,
        model=model,
        items=items,
        discovery=found,
        orphans=orphans,
        languages=languages,
    )


def _page_item(site, page: PageSource, found, page_fp, model) -> Item:
    home = sidecar_path(page.path)
    # Every outcome below is this page's item, in some state.
    item = partial(Item, "page", page.path, fingerprint=page.fingerprint, home=home)
    if not page.enrich:
        # Front matter `enrich: false`: never sent, and no generated text is used.
        return item(State.SKIPPED, detail="opted out")
    if _excluded(site, page.path):
        return item(State.SKIPPED, detail="excluded by config")
    if page.description:
        sidecar = home if home in found.sidecars else None
        return item(State.AUTHOR, detail="description in frontmatter", sidecar=sidecar)
    own = found.sidecars.get(home)
    if page.listing and not (own is not None and own.human):  # a person's text is kept
        return item(State.SKIPPED, detail=page.listing)
    state, sidecar, detail = _classify(
        home, [], page.fingerprint, found, page_fp, model, PAGE_PROMPT_VERSION
    )
    if state in STALE and found.recorded and _unshown(page, found):
        shown = "no build has shown its words yet: `python -m pipeline build` enriches it"
        detail = f"{detail}; {shown}" if detail else shown
    return item(state, detail=detail, sidecar=sidecar)


def _primary(site: Site, files: list[ImageFile], found: Discovery, by_lang) -> str:
    """The language the image's plain sidecar serves (see the module docstring)."""
    plain = [sc for f in files if (sc := found.sidecars.get(sidecar_path(f.path))) is not None]
    for sc in plain:
        if sc.lang:
            return sc.lang
    if plain and len(by_lang) > 1:
        return _made_for(plain[0], by_lang)
    if "" in by_lang or not by_lang:
        return ""
    if site.language and site.language in by_lang:
        return site.language
    return _first_page_language(by_lang)


def _made_for(sc: Sidecar, by_lang) -> str:
    """The language a sidecar made before alts were per language is in, among those of
    the pages using the image now: the language its alt is written in; else, when the
    alt is too short to tell (or decorative), that of the first page using it, which is
    the one it was asked in."""
    declared = sorted(k for k in by_lang if k)
    if sc.alt:
        detected = language.detect(sc.alt)
        if detected and detected in {k.split("-")[0] for k in declared}:
            return language.closest(sc.alt, declared) or ""
        if "" in by_lang:  # not a declared language: the pages that declare none
            return ""
        found = language.closest(sc.alt, declared)
        if found:
            return found
    return _first_page_language(by_lang)


def _first_page_language(by_lang) -> str:
    return min((r.page, lang) for lang, refs in by_lang.items() for r in refs)[1]


def _image_item(
    site, files, refs, found, image_fp, model, opted_out, lang, primary, several
) -> Item:
    first = files[0]
    paths = tuple(f.path for f in files)
    tag = "" if lang == primary else lang
    home = sidecar_path(first.path, tag)
    pages = tuple(sorted({r.page for r in refs}))
    # Every outcome below is this image's item, in some state.
    item = partial(
        Item,
        "image",
        first.path,
        fingerprint=first.fingerprint,
        home=home,
        paths=paths,
        pages=pages,
        # Recorded (and shown) whenever the plain sidecar's language could not be told
        # later from the pages alone: several languages, or not the site's.
        lang=lang if several or tag or lang not in ("", site.language) else "",
    )
    if all(_excluded(site, p) for p in paths):
        return item(State.SKIPPED, detail="excluded by config")
    if pages and all(p in opted_out for p in pages):
        return item(State.SKIPPED, detail="opted out (only on opted-out pages)")
    written = [r for r in refs if r.alt and r.alt.strip()]
    if written:
        detail = "alt text in the markdown"
        if len(written) < len(refs):
            detail = f"alt text from {written[0].page}:{written[0].line} reused where missing"
        return item(State.AUTHOR, detail=detail)

    def serves(rel: str, sc: Sidecar) -> bool:
        named = lang_of(rel)
        if named:
            return named == lang
        return (sc.lang or primary) == lang

    state, sidecar, detail = _classify(
        home,
        [sidecar_path(p, tag) for p in paths[1:]],
        first.fingerprint,
        found,
        image_fp,
        model,
        IMAGE_PROMPT_VERSION,
        serves,
    )
    return item(state, detail=detail, sidecar=sidecar)
