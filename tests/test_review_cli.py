"""`report --review --html PATH`: which items the review page lists, and what it shows of them."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

from conftest import png_bytes


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
    site.write("img/new.png", png_bytes((10, 200, 10), size=(900, 600)))
    assert site.run("enrich").code == 0
    commit_all(site.root, "feature")

    result = site.run("report", "--review", "--html", "review/index.html")
    assert result.code == 0, result.err
    base = git(site.root, "merge-base", "HEAD", "main")
    assert f"since {base[:12]} (merge base with main)" in result.err
    html = (site.root / "review" / "index.html").read_text(encoding="utf-8")
    found = articles(html)
    assert sorted(found) == ["guide.md", "img/new.png"]
    # The thumbnail is the downscaled image the model was sent, byte for byte.
    (uri,) = re.findall(r'src="data:image/png;base64,([^"]+)"', found["img/new.png"])
    assert base64.b64decode(uri) == image_sent(fake_api, "new.png")
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
