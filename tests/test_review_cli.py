"""`report --review --html PATH`: which items the review page lists, and what it shows of them."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import png_bytes
from PIL import Image, ImageChops, ImageStat


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-qm", message)


def articles(html: str) -> dict[str, str]:
    """The path in each item's heading -> that item's markup."""
    return {
        m.group(2): m.group(0)
        for m in re.finditer(
            r'<article class="(\w+)-item"><h3><code>(.*?)</code>.*?</article>', html
        )
    }


def quadrants(size: tuple[int, int]) -> bytes:
    """A PNG of four coloured quarters: a thumbnail of it can be told from another image."""
    w, h = size
    im = Image.new("RGB", size, (230, 30, 30))
    im.paste((30, 160, 30), (w // 2, 0, w, h // 2))
    im.paste((30, 30, 200), (0, h // 2, w // 2, h))
    im.paste((240, 200, 20), (w // 2, h // 2, w, h))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def shown(article: str) -> tuple[str, bytes]:
    """The one thumbnail in an image item: its media type and bytes."""
    ((media_type, data),) = re.findall(r'src="data:(image/\w+);base64,([^"]+)"', article)
    return media_type, base64.b64decode(data)


def image_sent(fake_api, name: str) -> bytes:
    """The image bytes the request about `name` carried."""
    for r in fake_api.requests:
        content = (r.body or {}).get("messages", [{}])[-1].get("content", [])
        texts = "".join(b.get("text", "") for b in content if b.get("type") == "text")
        if f"File name: {name}" in texts:
            (img,) = [b for b in content if b.get("type") == "image"]
            return base64.b64decode(img["source"]["data"])
    raise AssertionError(f"no request about {name}")


def test_lists_what_changed_since_the_merge_base_with_the_thumbnail_that_was_sent(site3, fake_api):
    site = site3
    assert site.run("enrich").code == 0
    git(site.root, "init", "-q", "-b", "main")
    commit_all(site.root, "site with sidecars")
    git(site.root, "checkout", "-q", "-b", "feature")
    site.write("guide.md", "# Guide\n\nHow to patch a tube in six steps.\n\n![](img/new.png)\n")
    site.write("img/new.png", quadrants((900, 600)))
    assert site.run("enrich").code == 0
    commit_all(site.root, "feature")

    result = site.run("report", "--review", "--html", "review/index.html")
    assert result.code == 0, result.err
    base = git(site.root, "merge-base", "HEAD", "main")
    assert f"since {base[:12]} (merge base with main)" in result.err
    html = (site.root / "review" / "index.html").read_text(encoding="utf-8")
    found = articles(html)
    assert sorted(found) == ["guide.md", "img/new.png"]
    # The thumbnail is the image the model was sent, shrunk for the page to 256 px at most;
    # the page states what was sent: its pixels, format and bytes, as the request carried it.
    sent = image_sent(fake_api, "new.png")
    with Image.open(io.BytesIO(sent)) as im:
        sent_image, (w, h) = im.convert("RGB"), im.size
    assert (w, h) == (512, 341)  # image_max_edge, as the fixture site leaves it
    _, data = shown(found["img/new.png"])
    with Image.open(io.BytesIO(data)) as im:
        thumb = im.convert("RGB")
    assert max(thumb.size) == 256 and abs(thumb.width / thumb.height - w / h) < 0.02
    diff = ImageChops.difference(thumb, sent_image.resize(thumb.size))
    assert max(ImageStat.Stat(diff).mean) < 6  # the same picture, lossily encoded
    assert f"<dt>Sent</dt><dd>{w} × {h} px, PNG, {len(sent):,} bytes" in found["img/new.png"]
    # Beside it: its alt, the page that uses it and its words, and a link to its sidecar.
    assert "guide.md</code>, line 5, under “Guide”" in found["img/new.png"]
    assert "How to patch a tube in six steps." in found["img/new.png"]
    assert '<a href="../content/img/new.png.enrich.yml">' in found["img/new.png"]
    assert '<a href="../content/guide.md.enrich.yml">' in found["guide.md"]
    assert "/ 160 characters" in found["guide.md"]

    # --since names another base: everything since the first commit.
    first = git(site.root, "rev-list", "--max-parents=0", "HEAD")
    result = site.run("report", "--review", "--html", "all.html", "--since", first)
    assert result.code == 0, result.err
    assert sorted(articles((site.root / "all.html").read_text())) == ["guide.md", "img/new.png"]


def test_without_git_it_lists_every_item_with_generated_text(site3, fake_api):
    site = site3
    assert site.run("enrich").code == 0
    site.write("about.md", "# About\n\nWritten by us.\n")
    site.write(
        "about.md.enrich.yml",
        "summary: Who we are.\nabstract: Who we are, in two lines.\nsource: author\n",
    )
    result = site.run("report", "--review", "--html", "r.html")
    assert result.code == 0, result.err
    assert "no git base to compare with" in result.err
    found = articles((site.root / "r.html").read_text())
    assert sorted(found) == [
        "blog/post.md",
        "guide.md",
        "img/diagram.png",
        "img/photo.png",
        "index.md",
    ]


def test_all_lists_every_item_and_says_what_has_no_text_yet(site3):
    site = site3
    result = site.run("report", "--review", "--html", "r.html", "--all")
    assert result.code == 0, result.err
    found = articles((site.root / "r.html").read_text())
    assert len(found) == 5
    assert "no sidecar yet" in found["index.md"]
    assert "<dd>new</dd>" in found["index.md"]


def test_a_bad_ref_is_one_line_and_nothing_is_written(site3):
    site = site3
    git(site.root, "init", "-q", "-b", "main")
    commit_all(site.root, "site")
    result = site.run("report", "--review", "--html", "r.html", "--since", "no-such-ref")
    assert result.code == 1
    assert "Traceback" not in result.err
    (line,) = result.err.strip().splitlines()
    assert line == "error: --since no-such-ref: git diff failed: fatal: bad revision 'no-such-ref'"
    assert not (site.root / "r.html").exists()


def test_since_without_html_is_a_usage_error(site3):
    result = site3.run("report", "--review", "--since", "HEAD")
    assert result.code == 2
    assert "--since, --all and --link-base go with --html" in result.err


def test_flagged_items_come_first(site3, fake_api):
    site = site3
    # Too long: cut at a sentence end to fit, and flagged (index.md, last in path order).
    fake_api.responses_by_marker["Title: Home"] = {
        "summary": "The home page of the site. " * 10,
        "abstract": "It says what the site is for and where to start. " * 12,
    }
    assert site.run("enrich").code in (0, 1)
    result = site.run("report", "--review", "--html", "r.html")
    assert result.code == 0, result.err
    pages = [p for p in articles((site.root / "r.html").read_text()) if p.endswith(".md")]
    assert pages == ["index.md", "blog/post.md", "guide.md"]
    assert "<strong>cut</strong>" in articles((site.root / "r.html").read_text())["index.md"]


def test_a_failed_item_is_flagged_with_its_reason(site3, fake_api):
    from fake_anthropic import Refusal

    site = site3
    fake_api.responses_by_marker["Title: Home"] = Refusal("I can't help with that.")
    assert site.run("enrich").code == 1
    result = site.run("report", "--review", "--html", "r.html")
    assert result.code == 0, result.err
    found = articles((site.root / "r.html").read_text())
    pages = [p for p in found if p.endswith(".md")]
    assert pages[0] == "index.md"  # flagged, so first
    assert "<strong>failed</strong>" in found["index.md"] and "refusal" in found["index.md"]
    assert "<strong>failed</strong>" not in found["guide.md"]


def test_a_sent_image_small_enough_is_shown_as_those_very_bytes(site3, fake_api):
    site = site3
    site.write("guide.md", "# Guide\n\nHow to patch a tube.\n\n![](img/small.png)\n")
    site.write("img/small.png", quadrants((200, 120)))
    assert site.run("enrich").code == 0
    assert site.run("report", "--review", "--html", "r.html", "--all").code == 0
    article = articles((site.root / "r.html").read_text())["img/small.png"]
    sent = image_sent(fake_api, "small.png")
    assert shown(article) == ("image/png", sent)
    assert f"<dt>Sent</dt><dd>200 × 120 px, PNG, {len(sent):,} bytes</dd>" in article


def hrefs(article: str) -> dict[str, str]:
    """The shown name -> the link, for each link in an item (its file, its sidecar)."""
    found = re.findall(r'<a href="([^"]*)"><code>(.*?)</code></a>', article)
    return {unescape(name): unescape(href) for href, name in found}


def test_local_links_resolve_from_where_the_page_is_written(site3, fake_api, tmp_path):
    site = site3
    site.write("guide.md", "# Guide\n\nHow to patch a tube.\n\n![](img/new%20shot.png)\n")
    site.write("img/new shot.png", png_bytes(size=(40, 30)))
    assert site.run("enrich").code == 0
    # Outside the site and the repository, given as a path relative to the site's folder.
    out = tmp_path / "elsewhere" / "deep" / "review.html"
    result = site.run("report", "--review", "--html", "../elsewhere/deep/review.html", "--all")
    assert result.code == 0, result.err
    found = articles(out.read_text())
    checked = 0
    for path in ("guide.md", "img/new shot.png"):
        links = hrefs(found[path])
        assert set(links) == {path, f"{path}.enrich.yml"}
        for name, href in links.items():
            assert not href.startswith(("/", "http")), href
            assert (out.parent / unquote(href)).resolve() == (site.docs / name).resolve()
            checked += 1
    assert checked == 4


def test_link_base_links_files_and_sidecars_from_the_repository_root(site3, fake_api):
    site = site3
    assert site.run("enrich").code == 0
    git(site.root, "init", "-q", "-b", "main")
    commit_all(site.root, "site")
    base = "https://forge.example/o/r/blob/0123abc"  # no trailing slash: one is added
    result = site.run("report", "--review", "--html", "r.html", "--all", "--link-base", base)
    assert result.code == 0, result.err
    links = hrefs(articles((site.root / "r.html").read_text())["img/photo.png"])
    assert links == {
        "img/photo.png": f"{base}/content/img/photo.png",
        "img/photo.png.enrich.yml": f"{base}/content/img/photo.png.enrich.yml",
    }


@pytest.mark.parametrize(
    "base",
    [
        "javascript:alert(1)",
        "JavaScript://%0aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "//forge.example/o/r/blob/abc/",
        "ftp://forge.example/o/r/",
        "https://",
        "https://forge.example/o r/",
        "https://forge.example/o/r/?a=1",
        '" onmouseover="alert(1)',
        "http://[",  # does not parse (urlsplit raises): a usage error, not a traceback
    ],
)
def test_a_link_base_that_is_not_http_is_a_usage_error(site3, base):
    site = site3
    result = site.run("report", "--review", "--html", "r.html", "--link-base", base)
    assert result.code == 2
    assert "Traceback" not in result.err
    (line,) = [x for x in result.err.splitlines() if x.startswith("Error")]
    assert "--link-base" in line and "must be an http(s) URL" in line
    assert not (site.root / "r.html").exists()


def test_link_base_without_html_is_a_usage_error(site3):
    result = site3.run("report", "--review", "--link-base", "https://forge.example/")
    assert result.code == 2
    assert "--link-base go with --html" in result.err


def test_the_action_links_the_page_to_the_pull_requests_head(tmp_path):
    from test_action import demo_site, git_repo, run_action

    root = demo_site(tmp_path)
    git_repo(root)
    car = root / "content" / "img" / "workshop.png.enrich.yml"
    car.write_text(car.read_text().replace("alt: '", "alt: 'Changed. ", 1))
    head, merge = "a" * 40, "b" * 40
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"head": {"sha": head}}}))
    env = {"GITHUB_REPOSITORY": "o/r", "GITHUB_SHA": merge, "GITHUB_EVENT_PATH": str(event)}
    ran = run_action(root, {"command": "review", "review-html": "out/review.html"}, env)
    assert ran.code == 0, ran.log
    html = (root / "out" / "review.html").read_text()
    blob = f"https://github.com/o/r/blob/{head}/content/img/workshop.png"
    assert f'<a href="{blob}"><code>img/workshop.png</code></a>' in html
    assert f'<a href="{blob}.enrich.yml"><code>img/workshop.png.enrich.yml</code></a>' in html
    assert merge not in html
    # Not a pull request (a push): the commit checked out.
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    ran = run_action(root, {"command": "review", "review-html": "out/review.html"}, env)
    assert ran.code == 0, ran.log
    html = (root / "out" / "review.html").read_text()
    assert f'href="https://github.com/o/r/blob/{merge}/content/img/workshop.png"' in html
