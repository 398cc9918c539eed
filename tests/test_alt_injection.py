"""Alt injection edits only an <img>'s real alt attribute: generated text never adds one.

Fixture files (tests/fixtures/alt/<case>.html beside <case>.expected.html, alts by src
in alts.json) pin the exact bytes; seeded random tags check the property on thousands
of shapes: after injection a parser sees exactly the tag's attributes plus alt. Both
sinks are covered: the built site (`inject_alts`) and `enrich --write-back`.
"""

from __future__ import annotations

import html
import json
import random
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import png_bytes
from sitebuild import mkdocs_build

from pipeline.render.html import inject_alts, scan
from pipeline.render.htmltag import parse_start_tag

FIXTURES = Path(__file__).parent / "fixtures" / "alt"
ALTS = {k: v for k, v in json.loads((FIXTURES / "alts.json").read_text()).items() if k[0] != "_"}
CASES = sorted(
    p.name[: -len(".html")] for p in FIXTURES.glob("*.html") if ".expected." not in p.name
)


def fixture_lookup(src: str):
    found = ALTS.get(src)
    return (found[0], found[1]) if found else None


@pytest.mark.parametrize("case", CASES)
def test_alt_fixture(case):
    given = (FIXTURES / f"{case}.html").read_text(encoding="utf-8")
    expected = (FIXTURES / f"{case}.expected.html").read_text(encoding="utf-8")
    assert inject_alts(given, fixture_lookup) == expected


# --- random tags --------------------------------------------------------------------------


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[list[tuple[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(list(attrs))

    handle_startendtag = handle_starttag


def img_attrs(text: str) -> list[list[tuple[str, str | None]]]:
    parser = _Imgs()
    parser.feed(text)
    parser.close()
    return parser.imgs


NAMES = ["src", "title", "class", "data-alt", "alt-text", "width", "data-x", "id", "x-alt", "ALTX"]
PIECES = [
    "a", "b c", " alt ", "alt", "alt=", 'alt=""', "alt=''", "alt=x", '"', "'", ">", "/", "/>",
    "=", "&", "&amp;", "<", "é", "\n", "\t", " ", "<img alt=''>", "onload=x",
]  # fmt: skip
EMPTY_ALTS = ["alt", 'alt=""', "alt=''", 'ALT=""', 'alt = ""', "Alt\n=\n''", 'alt=" "']
HOSTILE = [
    "onload=alert(1)", " x", '"', "'", ">", "<", "/>", ' alt="', "&quot;", "&", "\n", "é",
    "`", "=", " onerror=", "<script>", "alt=", " ",
]  # fmt: skip
SPACES = [" ", "\n", "  ", "\t", "\n  ", " \n "]


def random_value(rng: random.Random, commonmark: bool) -> str:
    pieces = [p for p in PIECES if not (commonmark and "\n" in p)]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))


def random_attr(rng: random.Random, name: str, commonmark: bool) -> tuple[str, bool]:
    """(text, ends with a quote) of one attribute written in a random style."""
    value = random_value(rng, commonmark)
    eq = rng.choice(["=", "=", " = ", "\n=", "= "]) if not commonmark else "="
    styles = ["valueless"]
    if '"' not in value:
        styles += ["double", "double"]
    if "'" not in value:
        styles += ["single"]
    bare = value and not set(value) & set(" \t\n\"'<>`=&") and (not commonmark or "/" not in value)
    if bare:
        styles += ["unquoted"]
    style = rng.choice(styles)
    if style == "valueless":
        return name, False
    if style == "double":
        return f'{name}{eq}"{value}"', True
    if style == "single":
        return f"{name}{eq}'{value}'", True
    return f"{name}{eq}{value}", False


def random_tag(rng: random.Random, *, commonmark: bool = False, src: str | None = None) -> str:
    names = rng.sample(NAMES, rng.randint(0, 5))
    if src is not None and "src" in names:
        names.remove("src")
    attrs = [random_attr(rng, rng.choice([n, n.upper()]), commonmark) for n in names]
    if src is not None:
        attrs.insert(rng.randint(0, len(attrs)), (f'src="{src}"', True))
    alt_last = False
    if rng.random() < 0.6:  # an empty alt to fill, anywhere
        empty = rng.choice(EMPTY_ALTS if not commonmark else ['alt=""', "alt=''", "alt"])
        attrs.insert(rng.randint(0, len(attrs)), (empty, empty[-1] in "\"'"))
    elif not commonmark and rng.random() < 0.2:
        alt_last = True  # `alt=` right before ">": a missing value
    out = rng.choice(["<img", "<IMG", "<Img"]) if not commonmark else "<img"
    quoted_before = False
    for text, quoted in attrs:
        # After a quoted value the next attribute may follow with no space at all.
        sep = rng.choice(SPACES if commonmark else [*SPACES, " / "])
        if quoted_before and not commonmark and rng.random() < 0.2:
            sep = ""
        out += (rng.choice(SPACES) if out in ("<img", "<IMG", "<Img") else sep) + text
        quoted_before = quoted
    if alt_last:
        out += " alt=" + rng.choice(["", " "])
    if not commonmark and rng.random() < 0.15 and not alt_last:
        out += " width="  # another missing value right before ">"
    out += rng.choice([">", "/>", " />", "\n>", " >"] if not commonmark else [">", " />", "/>"])
    return out


def random_alt(rng: random.Random) -> str:
    return "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 6)))


def expected_attrs(before, alt: str):
    """The tag's attributes with its first alt replaced (a browser keeps the first), or
    alt added at the end."""
    names = [name for name, _ in before]
    if "alt" in names:
        at = names.index("alt")
        return [*before[:at], ("alt", alt), *before[at + 1 :]]
    return [*before, ("alt", alt)]


def test_random_tags_keep_exactly_their_attributes_plus_alt():
    rng = random.Random(14)
    checked = 0
    for _ in range(3000):
        tags = [random_tag(rng) for _ in range(rng.randint(1, 3))]
        alts = [random_alt(rng) for _ in tags]
        doc = "<p>before " + " text ".join(tags) + " after</p>"
        before = img_attrs(doc)
        assert len(before) == len(tags), doc
        alt_by_src: dict[str, str] = {}
        for attrs, alt in zip(before, alts, strict=True):
            alt_by_src.setdefault(dict(attrs).get("src") or "", alt)
        after = inject_alts(
            doc, lambda src, alts=alt_by_src: (alts[src], False) if src in alts else None
        )
        for attrs_before, attrs_after in zip(before, img_attrs(after), strict=True):
            current = dict(attrs_before).get("alt")
            if current is None or not current.strip():
                want = expected_attrs(attrs_before, alt_by_src[dict(attrs_before).get("src") or ""])
                checked += 1
            else:
                want = attrs_before  # an author's alt is never changed
            assert attrs_after == want, f"\n{doc!r}\n->\n{after!r}"
        assert after.startswith("<p>before ") and after.endswith(" after</p>")
    assert checked > 2000  # most random tags had an alt to fill


def test_tokenizer_finds_every_attribute_html_parser_finds():
    """Spans, names and values of the tokenizer agree with an independent parser."""
    rng = random.Random(7)
    for _ in range(3000):
        tag = random_tag(rng)
        (want,) = img_attrs(tag)
        parsed = parse_start_tag(tag)
        got = []
        for a in parsed.attributes:
            assert tag[a.start : a.end].lower().startswith(a.name), tag
            got.append((a.name, None if a.value is None else _unescape(a.value)))
        assert got == want, tag


def _unescape(value: str) -> str:
    return html.unescape(value)


# --- the two real sinks -------------------------------------------------------------------


def test_write_back_edits_only_the_real_alt(site, fake_api):
    rng = random.Random(1414)
    tags, want_alts = [], []
    handwritten = [
        '<img title="an alt text" alt="" src="{src}">',
        '<img src="{src}" title=\'x alt="" y\' alt>',
        '<img alt="" data-alt="alt" src="{src}" />',
    ]
    for n in range(18):
        src = f"img/i{n:02}.png"
        site.write(src, png_bytes((n * 13 % 256, 40, 90)))
        tag = handwritten[n].format(src=src) if n < len(handwritten) else None
        tag = tag or random_tag(rng, commonmark=True, src=src)
        alt = f"\"X{n}\" onload=alert({n}) alt='y' />"
        fake_api.responses_by_marker[f"File name: i{n:02}.png"] = {"alt": alt, "decorative": False}
        tags.append(tag)
        want_alts.append(alt)
    page = "# Tags\n\n" + "\n\n".join(f"Text {tag} text" for tag in tags) + "\n"
    site.write("page.md", page)
    before = img_attrs(page)
    assert len(before) == len(tags)

    result = site.run("enrich", "--write-back")
    assert result.code == 0, result.err

    after = (site.docs / "page.md").read_text(encoding="utf-8")
    got = img_attrs(after)
    for attrs_before, attrs_after, alt in zip(before, got, want_alts, strict=True):
        if (dict(attrs_before).get("alt") or "").strip():
            assert attrs_after == attrs_before
        else:
            assert attrs_after == expected_attrs(attrs_before, alt), after
    # Outside the tags not a byte moved.
    assert _without_imgs(after) == _without_imgs(page)


def _without_imgs(text: str) -> list[str]:
    """The text between the <img> tags."""
    out, last = [], 0
    for tag in scan(text, {"img"}).tags:
        out.append(text[last : tag.start])
        last = tag.end
    return [*out, text[last:]]


def test_built_site_fills_only_the_real_alt(site, fake_api):
    site.write("img/a.png", png_bytes((9, 9, 9)))
    site.write(
        "index.md",
        '# Home\n\nSome words.\n\n<img title="an alt text" alt="" src="img/a.png">\n',
    )
    hostile = 'Onload=alert(1) x "y"'
    fake_api.responses_by_marker["File name: a.png"] = {"alt": hostile, "decorative": False}
    assert site.run("enrich").code == 0
    proc = mkdocs_build(site.config, site.root / "out", cwd=site.root, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (img,) = img_attrs((site.root / "out" / "index.html").read_text(encoding="utf-8"))
    assert img == [("title", "an alt text"), ("alt", hostile), ("src", "img/a.png")]
