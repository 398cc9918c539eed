"""What every generator adapter renders per page and per site, with no generator types.

The MkDocs plugin builds these inline today; the post-build pass (and so Zensical) uses
them from here. Pure functions, except `write_site_files`, which writes the feed and
llms.txt into the built site.
"""

from __future__ import annotations

import datetime as dt
import os
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from pipeline.fsutil import atomic_write
from pipeline.model import Options, Site
from pipeline.plan import Plan, State
from pipeline.render.feeds import Entry, as_datetime, atom_feed, llms_txt
from pipeline.render.html import HeadTags, head_tags

ON_STALE_ENV = "ENRICH_ON_STALE"


@dataclass(frozen=True)
class PageFacts:
    """What the head tags of one built page say, whoever built it."""

    title: str
    url: str | None  # absolute, or None without site_url
    summary: str  # "" for a page no source backs (blog archive, category)
    date: dt.datetime | None  # a post's date: BlogPosting, og:type article
    image: str | None  # absolute og:image
    image_alt: str
    feed_url: str | None  # page-relative


def relative_url(target: str, from_url: str) -> str:
    """`target` (site-relative) as a link from the page at `from_url` (site-relative)."""
    here = from_url if from_url.endswith("/") or not from_url else posixpath.dirname(from_url)
    rel = posixpath.relpath(target, here.rstrip("/") or ".")
    return rel + "/" if target.endswith("/") and not rel.endswith("/") else rel


def json_ld(facts: PageFacts, description: str) -> dict:
    is_post = facts.date is not None
    data = {
        "@context": "https://schema.org",
        "@type": "BlogPosting" if is_post else "WebPage",
        "headline" if is_post else "name": facts.title,
        "description": description,
    }
    if facts.url:
        data["url"] = facts.url
    if facts.date:
        data["datePublished"] = facts.date.date().isoformat()
    return data


def tags_for(
    facts: PageFacts, *, site_name: str, site_description: str, options: Options
) -> Callable[[str], HeadTags]:
    """The `tags_for` that render.html.rewrite_head calls with the theme's description."""

    def build(theme_description: str) -> HeadTags:
        # Social tags repeat the meta description the page carries, so the two agree.
        description = theme_description or facts.summary or site_description or ""
        tags = head_tags(
            title=facts.title,
            description=description,
            url=facts.url,
            image=facts.image,
            image_alt=facts.image_alt,
            kind="article" if facts.date else "website",
            site_name=site_name,
            feed_url=facts.feed_url,
            json_ld=json_ld(facts, description) if options.json_ld else None,
        )
        if not options.social_tags:
            tags = [t for t in tags if t[0][0] in ("script", "link") or t[0][1] == "description"]
        return tags

    return build


@dataclass
class Listing:
    """Pages and posts gathered while pages are rendered, for the feed and llms.txt."""

    posts: list[Entry] = field(default_factory=list)
    pages: list[tuple[str, str, str]] = field(default_factory=list)
    post_links: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, *, title: str, link: str, summary: str, abstract: str, raw_date) -> None:
        date = as_datetime(raw_date)
        if date is None:
            self.pages.append((title, link, summary))
            return
        updated = as_datetime(raw_date.get("updated")) if isinstance(raw_date, dict) else None
        self.posts.append(Entry(title, link, date, updated or date, abstract))
        self.post_links.append((title, link, summary))


def write_site_files(
    site_dir: Path,
    listing: Listing,
    *,
    site_name: str,
    site_url: str | None,
    site_description: str,
    options: Options,
) -> list[str]:
    """Write the Atom feed and llms.txt; return one line per file written or skipped."""
    notes = []
    if options.feed:
        if site_url:
            feed = atom_feed(
                title=site_name,
                site_url=site_url,
                feed_url=urljoin(site_url, options.feed_path),
                entries=listing.posts,
            )
            atomic_write(site_dir / options.feed_path, feed)
            notes.append(f"{options.feed_path} ({len(listing.posts)} posts)")
        else:
            notes.append("no feed: it needs site_url for absolute links")
    if options.llms_txt:
        text = llms_txt(
            title=site_name,
            description=site_description,
            sections={"Pages": listing.pages, "Posts": listing.post_links},
        )
        atomic_write(site_dir / "llms.txt", text.encode("utf-8"))
        notes.append("llms.txt")
    return notes


def stale_mode(options: Options) -> str:
    """warn | fail | info; ENRICH_ON_STALE overrides the configured `on_stale`."""
    return os.environ.get(ON_STALE_ENV) or options.on_stale


def stale_messages(site: Site, plan: Plan) -> list[str]:
    """One line per item whose source changed since its text was made."""
    return [
        f"{os.path.relpath(site.docs_dir / i.path)}: changed since its "
        f"{'summary' if i.kind == 'page' else 'alt text'} was made; "
        "run `python -m pipeline enrich`"
        for i in plan.items
        if i.state is State.CHANGED
    ]
