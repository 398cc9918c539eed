"""The review page as a pure function: fixture input (JSON) beside the expected HTML.

The expected files were written by running `render_review` once and reading every line
(an accessible structure, each value escaped once); the assertions below say, without
the fixture, what must hold for any input: generated text never becomes markup.
"""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.render.review_page import (
    Flag,
    ImageEntry,
    PageEntry,
    Review,
    Thumbnail,
    Use,
    render_review,
)

FIXTURES = Path(__file__).parent / "fixtures" / "review_page"
CASES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_review(path: Path) -> Review:
    data = json.loads(path.read_text(encoding="utf-8"))

    def flags(d: dict) -> tuple[Flag, ...]:
        return tuple(Flag(**f) for f in d.get("flags", []))

    images = []
    for d in data["images"]:
        t = d.get("thumbnail")
        thumb = (
            Thumbnail(
                t["media_type"],
                base64.b64decode(t["data_base64"]),
                t["width"],
                t["height"],
                **{k: v for k, v in t.items() if k.startswith("sent_")},
            )
            if t
            else None
        )
        images.append(
            ImageEntry(
                **{k: v for k, v in d.items() if k not in ("thumbnail", "uses", "flags")},
                thumbnail=thumb,
                uses=tuple(Use(**u) for u in d.get("uses", [])),
                flags=flags(d),
            )
        )
    pages = [
        PageEntry(**{k: v for k, v in d.items() if k != "flags"}, flags=flags(d))
        for d in data["pages"]
    ]
    return Review(
        data["site_name"], data["since"], tuple(pages), tuple(images), tuple(data["notes"])
    )


@pytest.mark.parametrize("case", CASES)
def test_page_matches_the_fixture(case):
    html = render_review(load_review(FIXTURES / f"{case}.json"))
    expected = (FIXTURES / f"{case}.expected.html").read_text(encoding="utf-8")
    assert html == expected


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    p.close()
    return p


def test_hostile_text_stays_text():
    review = load_review(FIXTURES / "hostile-and-limits.json")
    parsed = parse(render_review(review))
    names = [t for t, _ in parsed.tags]
    # No element came from the data: no script, one img (the thumbnail), no h1 but the title.
    assert "script" not in names
    assert names.count("img") == 1
    assert names.count("h1") == 1
    text = "".join(parsed.text)
    # Each hostile value reads back exactly as it was written: escaped once, not twice.
    assert review.images[0].alt in text
    assert review.images[0].uses[0].context in text
    assert review.pages[0].abstract in text
    assert review.site_name in text
    assert "&amp;" not in text  # unescaped by the parser once: nothing was escaped twice
    (img,) = [a for t, a in parsed.tags if t == "img"]
    assert img["alt"] == ""  # the alt under review is beside it, as text
    assert "onerror" not in img


def test_thumbnail_is_the_given_bytes_inline():
    review = load_review(FIXTURES / "hostile-and-limits.json")
    html = render_review(review)
    thumb = review.images[0].thumbnail
    assert thumb is not None
    uri = "data:image/png;base64," + base64.b64encode(thumb.data).decode()
    assert f'src="{uri}"' in html
    # Self-contained: nothing is fetched from anywhere.
    for _, attrs in parse(html).tags:
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(?i)(https?:)?//", value), value


def test_lengths_are_shown_against_the_limits():
    review = load_review(FIXTURES / "hostile-and-limits.json")
    text = "".join(parse(render_review(review)).text)
    assert "161 / 160 characters: over the limit" in text  # the summary
    alt = len(review.images[0].alt)
    assert f"{alt} / 125 characters" in text
    assert f"{alt} / 125 characters: over" not in text
    assert "decorative" in text


def test_the_same_review_gives_the_same_bytes():
    review = load_review(FIXTURES / "hostile-and-limits.json")
    assert render_review(review) == render_review(load_review(FIXTURES / "hostile-and-limits.json"))


def test_only_relative_or_http_links_become_links():
    review = load_review(FIXTURES / "links-and-sent.json")
    parsed = parse(render_review(review))
    hrefs = [a["href"] for t, a in parsed.tags if t == "a"]
    # javascript: (any case), a tab inside the scheme and a protocol-relative URL stay text.
    assert hrefs == [review.images[0].file, review.images[0].sidecar, review.pages[0].file]
    text = "".join(parsed.text)
    assert "img/small.png.enrich.yml" in text and "guide.md.enrich.yml" in text


def test_the_page_states_the_size_sent_beside_the_smaller_thumbnail():
    review = load_review(FIXTURES / "links-and-sent.json")
    text = "".join(parse(render_review(review)).text)
    assert "Sent512 × 384 px, JPEG, 48,213 bytes (shown here at 4 × 3)" in text
    assert "Sent4 × 3 px, PNG, 75 bytes" in text  # shown as sent: no "shown here"
    assert "Sent4 × 3 px, PNG, 75 bytes (" not in text
