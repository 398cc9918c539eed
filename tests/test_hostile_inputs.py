"""Hostile committed state and hostile replies (issue 14, point 8): SVGs that reach out of
docs_dir, replies that cannot be parsed, config values that escape or never end, and a
damaged ledger. Each: one line naming the file (and line), that item skipped, the rest
processed, exit 1, no traceback, nothing read or written outside docs_dir and site_dir."""

from __future__ import annotations

import base64
import io
import itertools
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import png_bytes
from PIL import Image
from sitebuild import mkdocs_build

from pipeline.enrich.prepare import prepare
from pipeline.errors import ItemError

RED = (255, 0, 0)
WHITE = (255, 255, 255)
SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(body: str, size: str = 'width="40" height="40"', head: str = "") -> bytes:
    return f"{head}<svg {SVG_NS} {size}>{body}</svg>".encode()


def image_el(href: str, attr: str = "href") -> str:
    return f'<image {attr}="{href}" x="0" y="0" width="40" height="40"/>'


def pixels(data: bytes) -> set[tuple[int, int, int]]:
    im = Image.open(io.BytesIO(data)).convert("RGB")
    return {color for _count, color in im.getcolors(maxcolors=im.width * im.height)}


def rasterize(docs: Path, rel: str, data: bytes):
    path = docs / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return prepare(path, rel, 512)


@pytest.fixture
def outside(tmp_path) -> Path:
    """A red PNG beside the site, outside docs_dir: what a hostile SVG reaches for."""
    path = tmp_path / "secret.png"
    path.write_bytes(png_bytes(RED, size=(40, 40)))
    return path


# --- SVG: nothing read from outside docs_dir, nothing from the network --------------------


@pytest.mark.parametrize(
    "href",
    [
        "{abs}",
        "file://{abs}",
        "../../secret.png",
        "img/../../../secret.png",
        "data:image/svg+xml;base64,{nested}",
        "{abs_svg}",
    ],
    ids=["absolute", "file-url", "dot-dot", "dot-dot-inside", "nested-svg-data", "nested-svg"],
)
@pytest.mark.parametrize("attr", ["href", "xlink:href"])
def test_svg_image_outside_docs_dir_is_not_embedded(site, outside, href, attr):
    nested = svg(image_el(str(outside)))
    (outside.parent / "nested.svg").write_bytes(nested)
    href = href.format(
        abs=outside,
        abs_svg=outside.parent / "nested.svg",
        nested=base64.b64encode(nested).decode(),
    )
    hostile = rasterize(site.docs, "img/hostile.svg", svg(image_el(href, attr)))
    plain = rasterize(site.docs, "img/plain.svg", svg(""))
    assert pixels(hostile.data) == {WHITE}
    assert hostile.data == plain.data
    assert "1 external reference(s) dropped" in hostile.note


def test_svg_through_a_symlink_leaving_docs_dir_is_not_embedded(site, outside):
    (site.docs / "img").mkdir(parents=True)
    (site.docs / "img" / "link.png").symlink_to(outside)
    hostile = rasterize(site.docs, "img/a.svg", svg(image_el("link.png")))
    assert pixels(hostile.data) == {WHITE}


def test_svg_feimage_outside_docs_dir_is_not_embedded(site, outside):
    body = (
        f'<filter id="f" x="0" y="0" width="1" height="1"><feImage href="{outside}"/></filter>'
        '<rect width="40" height="40" fill="white" filter="url(#f)"/>'
    )
    assert pixels(rasterize(site.docs, "a.svg", svg(body)).data) == {WHITE}


def test_svg_raster_inside_docs_dir_is_still_embedded(site):
    """The confinement drops only what leaves docs_dir: a sibling PNG, or a PNG data:
    URI, still draws (so the tests above are not passing on a renderer that draws none)."""
    site.write("img/red.png", png_bytes(RED, size=(40, 40)))
    beside = rasterize(site.docs, "img/a.svg", svg(image_el("red.png")))
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes(RED, (40, 40))).decode()
    inline = rasterize(site.docs, "img/b.svg", svg(image_el(data_uri, "xlink:href")))
    assert pixels(beside.data) == {RED}
    assert pixels(inline.data) == {RED}


@pytest.fixture
def recorder():
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = png_bytes(RED, size=(40, 40))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_svg_rasterizing_makes_no_network_request(site, recorder):
    url, hits = recorder
    body = image_el(f"{url}/pixel.png") + f'<use href="{url}/sprite.svg#a"/>'
    style = f"<style>@import url({url}/style.css);</style>"
    result = rasterize(site.docs, "a.svg", svg(style + body))
    assert hits == []
    assert pixels(result.data) == {WHITE}


def test_svg_entity_declarations_are_refused_with_one_line(site):
    """Discovery already skips most such files; rasterizing refuses them on its own."""
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40">'
        b"<title>&b;</title></svg>"
    )
    with pytest.raises(ItemError) as caught:
        rasterize(site.docs, "img/bomb.svg", bomb)
    assert str(caught.value) == "img/bomb.svg: cannot rasterize SVG: SVG declares XML entities"


def test_svg_outside_reference_never_reaches_the_api(site, fake_api, outside):
    site.write("img/a.svg", svg(image_el(str(outside))))
    site.write("index.md", "# Home\n\nText.\n\n![](img/a.svg)\n")
    assert site.run("enrich").code == 0
    sent = [
        base64.b64decode(b["source"]["data"])
        for body in fake_api.messages()
        for b in body["messages"][-1]["content"]
        if b.get("type") == "image"
    ]
    assert len(sent) == 1
    assert pixels(sent[0]) == {WHITE}


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        # Worked by hand at 96 px per inch (CSS), then capped at image_max_edge 512.
        ('width="100mm" height="50mm"', (378, 189)),  # 377.95 x 188.98 px
        ('width="10cm" height="5cm"', (378, 189)),
        ('width="300pt" height="150pt"', (400, 200)),  # 4/3 px per pt
        ('width="10in" height="5in"', (512, 256)),  # 960 x 480, downscaled
        ('width="2in" viewBox="0 0 20 10"', (192, 96)),  # height from the viewBox ratio
        ('width="30pc" height="15pc"', (480, 240)),  # 16 px per pica
    ],
)
def test_svg_in_physical_units_rasterizes(site, size, expected):
    body = '<rect width="100%" height="100%" fill="red"/>'
    result = rasterize(site.docs, "units.svg", svg(body, size))
    assert (result.width, result.height) == expected
    assert pixels(result.data) == {RED}


# --- replies that cannot be parsed ---------------------------------------------------------


PAGES = {
    "index.md": "# Home\n\nThe co-op fixes bikes every Tuesday.\n",
    "guide.md": "# Guide\n\nHow to patch a tube in five steps.\n",
    "blog/post.md": "# Post\n\nWe moved to a new workshop.\n",
}


@pytest.fixture
def pages(site):
    for rel, text in PAGES.items():
        site.write(rel, text)
    return site


def ledger_lines(site) -> list[dict]:
    text = (site.root / ".enrich" / "ledger.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        # Within the 400-token output cap (the fake cuts longer replies, as the API
        # would), so unclosed: json gives up only when it runs out of stack.
        ("[" * 1500, "reply is nested too deeply"),
        ('{"summary": ' + "[" * 1400, "reply is nested too deeply"),
        ("[" * 700 + "]" * 700, "reply is not a JSON object"),
    ],
    ids=["deep-list", "deep-in-object", "shallow-enough"],
)
def test_unparseable_reply_fails_that_item_only_and_is_in_the_ledger(pages, fake_api, reply, why):
    fake_api.responses_by_marker["five steps"] = reply
    result = pages.run("enrich")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert f"guide.md: failed (invalid_reply): {why};" in result.err
    states = pages.states()
    assert states.pop("guide.md") == "failed"  # remembered: not paid for again
    assert set(states.values()) == {"up-to-date"}
    guide = [r for r in ledger_lines(pages) if r["item"] == "guide.md"]
    assert [(r["attempt"], r["status"]) for r in guide] == [(1, "invalid"), (2, "invalid")]
    assert all(r["input_tokens"] > 0 and r["output_tokens"] > 0 for r in guide)
    assert len(ledger_lines(pages)) == len(fake_api.messages())  # every billed request


def test_a_key_revoked_after_a_billed_reply_still_logs_that_reply(pages, fake_api):
    fake_api.responses_by_marker["five steps"] = "not json at all"
    fake_api.add_fault(
        401, times=10, match=lambda path, body: "previous reply was rejected" in json.dumps(body)
    )
    result = pages.run("enrich", "--only", "pages")
    assert result.code == 2
    assert "Traceback" not in result.err
    guide = [r for r in ledger_lines(pages) if r["item"] == "guide.md"]
    assert [(r["attempt"], r["status"]) for r in guide] == [(1, "invalid")]
    assert len(ledger_lines(pages)) == len(fake_api.messages())


def test_a_torn_ledger_line_does_not_swallow_the_next_record(pages, fake_api):
    state = pages.root / ".enrich"
    state.mkdir()
    (state / "ledger.jsonl").write_text('{"v": 1, "run": "killed mid-wri')
    assert pages.run("enrich").code == 0
    lines = (state / "ledger.jsonl").read_text().splitlines()
    assert lines[0] == '{"v": 1, "run": "killed mid-wri'
    assert len(lines) == 1 + len(fake_api.messages())
    assert all(json.loads(line)["status"] == "ok" for line in lines[1:])
    result = pages.run("report", "--json")
    assert result.code == 1
    assert result.err == (
        ".enrich/ledger.jsonl:1: malformed ledger line, skipped: not JSON (a torn or edited line)\n"
    )
    assert json.loads(result.out)["total"]["requests"] == 3


# --- config values ---------------------------------------------------------------------------


CONFIG = "site_name: x\ndocs_dir: content\nplugins:\n  - enrich:\n      {option}\n"


@pytest.mark.parametrize(
    "option",
    [
        "max_retries: -1",
        "timeout: .inf",
        "timeout: .nan",
        "timeout: 0",
        "max_retry_wait: -.inf",
        "max_cost: .inf",
        "feed_path: ../../x.xml",
        "feed_path: sub/../../x.xml",
        "feed_path: /tmp/x.xml",
        "feed_path: ''",
    ],
)
def test_bad_option_is_one_line_naming_mkdocs_yml_and_its_line(site, option):
    site.set_config(CONFIG.format(option=option))
    site.write("index.md", "# Home\n\nText.\n")
    result = site.run("status")
    key = option.split(":")[0]
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1
    assert result.err.startswith(f"error: {site.config}:5: plugins.enrich.{key}: ")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout: 30", 30.0),  # a whole number of seconds
        ("max_retries: 0", 0),
        ("feed_path: feeds/./atom.xml", "feeds/atom.xml"),
    ],
)
def test_good_edge_values_are_accepted(site, option, value):
    from pipeline.config import load_site

    site.set_config(CONFIG.format(option=option))
    key = option.split(":")[0]
    assert getattr(load_site(site.config).options, key) == value


def test_feed_path_escaping_site_dir_fails_the_build_and_writes_nothing_outside(site, tmp_path):
    site.set_config(CONFIG.format(option="feed_path: ../../escaped.xml"))
    site.write("blog/posts/p.md", "---\ndate: 2024-01-02\n---\n\n# Post\n\nText.\n")
    result = mkdocs_build(site.config, site.root / "site", cwd=site.root)
    assert result.returncode == 1
    assert "feed_path" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("escaped.xml"))


@pytest.mark.parametrize("chain", [["mkdocs.yml"], ["mkdocs.yml", "a.yml", "b.yml"]])
def test_inherit_loop_is_one_line(site, chain):
    files = [*chain, chain[0]]
    for name, parent in itertools.pairwise(files):
        (site.root / name).write_text(f"INHERIT: {parent}\nsite_name: x\ndocs_dir: content\n")
    result = site.run("status")
    assert result.code == 1
    assert "Traceback" not in result.err
    last = site.root / chain[-1]
    loop = " -> ".join(files)
    assert result.err == f"error: {last}:1: INHERIT loop ({loop})\n"


def test_unknown_option_is_warned_as_mkdocs_words_it(site, caplog):
    from mkdocs.config import load_config

    site.set_config(CONFIG.format(option="max_retires: 0"))
    site.write("index.md", "# Home\n\nText.\n")
    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        load_config(str(site.config))
    mkdocs_says = [r.getMessage() for r in caplog.records if "max_retires" in r.getMessage()]
    assert mkdocs_says == [
        "Config value 'plugins': Plugin 'enrich' option 'max_retires': "
        "Unrecognised configuration name: max_retires"
    ]
    result = site.run("status")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err == f"{site.config}:5: warning: {mkdocs_says[0]}\n"


# --- a damaged ledger --------------------------------------------------------------------------


def record(**changes) -> dict:
    base = {
        "v": 1,
        "run": "20260101T000000Z-aaaaaa",
        "kind": "page",
        "item": "index.md",
        "fingerprint": "sha256:0",
        "status": "ok",
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cost_usd": 0.001,
    }
    return {**base, **changes}


GOOD = json.dumps(record()).encode()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (b"not json", "not JSON (a torn or edited line)"),
        (GOOD.replace(b"0.001", b"Infinity"), "not JSON (a torn or edited line)"),
        (GOOD.replace(b"0.001", b"NaN"), "not JSON (a torn or edited line)"),
        (GOOD.replace(b"0.001", b"1e999"), "'cost_usd' is not an amount: inf"),
        (GOOD.replace(b"0.001", b"-5"), "'cost_usd' is not an amount: -5"),
        (GOOD.replace(b"0.001", b'"0.001"'), "'cost_usd' is not an amount: 0.001"),
        (
            json.dumps(record(input_tokens="lots")).encode(),
            "'input_tokens' is not a token count: lots",
        ),
        (
            json.dumps(record(output_tokens=1.5)).encode(),
            "'output_tokens' is not a token count: 1.5",
        ),
        (
            json.dumps(record(input_tokens=True)).encode(),
            "'input_tokens' is not a token count: True",
        ),
        (json.dumps(record(kind=["page"])).encode(), "'kind' is not text"),
        (json.dumps(record(kind="video")).encode(), "kind 'video' is neither page nor image"),
        (json.dumps(record(item=None)).encode(), "'item' is not text"),
        (json.dumps(record(v=2)).encode(), "unknown version 2"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_malformed_ledger_line_is_named_and_skipped(site, bad, why):
    site.write("index.md", "# Home\n\nText.\n")
    state = site.root / ".enrich"
    state.mkdir()
    (state / "ledger.jsonl").write_bytes(GOOD + b"\n" + bad + b"\n" + GOOD + b"\n")
    for argv in (["report", "--json"], ["report"], ["report", "--review"]):
        result = site.run(*argv)
        assert result.code == 1
        assert "Traceback" not in result.err
        assert result.err == f".enrich/ledger.jsonl:2: malformed ledger line, skipped: {why}\n"
    total = json.loads(site.run("report", "--json").out)["total"]
    # The two good lines only: 2 x (100 + 20) tokens and 2 x $0.001.
    assert total == {
        "requests": 2,
        "tokens": 240,
        "cost_usd": 0.002,
        "outputs": 2,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "token_equivalents": 240,
    }


def test_a_ledger_that_is_not_a_file_is_one_line(site):
    site.write("index.md", "# Home\n\nText.\n")
    (site.root / ".enrich" / "ledger.jsonl").mkdir(parents=True)
    result = site.run("report")
    assert result.code == 1
    assert "Traceback" not in result.err
    assert result.err == ".enrich/ledger.jsonl: not a regular file; not read\n"
