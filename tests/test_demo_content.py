"""The demo site in content/ is what about-this-site.md says it is.

The raster images must be reproducible by tests/demo_images.py, the duplicate must really be a
duplicate, the hand-written logo must not come from the script, and every image the Markdown
references must exist (an image reference inside a fenced code block is not an image).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "content"

# Pixels must match exactly: even a small hand edit to a committed image breaks the claim that
# the script made it. If an upgrade of Pillow (or the FreeType it bundles) ever changes how the
# text in the diagrams is drawn, rerun `python tests/demo_images.py`, look at the result and
# commit it.
REGENERATE = "regenerate with `python tests/demo_images.py` if the script changed on purpose"


def _load_generator():
    spec = importlib.util.spec_from_file_location("demo_images", ROOT / "tests" / "demo_images.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_images = _load_generator()


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, Path]:
    return demo_images.generate(tmp_path_factory.mktemp("regenerated"))


def _frames(path: Path) -> list[Image.Image]:
    with Image.open(path) as img:
        frames = []
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            frames.append(img.convert("RGBA"))
        return frames


def _changed_pixels(a: Image.Image, b: Image.Image) -> int:
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    return diff.histogram()[255]


def test_generator_writes_the_expected_files(regenerated):
    assert set(regenerated) == {
        "img/workshop.png",
        "blog/posts/images/workshop-copy.png",
        "img/flat-repair-steps.png",
        "img/wheel-spin.gif",
        "img/tire-levers.png",
        "img/brake pads.png",
    }
    assert all(path.is_file() for path in regenerated.values())


def test_committed_images_match_the_generator(regenerated):
    for rel, fresh in regenerated.items():
        committed = CONTENT / rel
        assert committed.is_file(), f"{rel} is generated but not committed"
        new, old = _frames(fresh), _frames(committed)
        assert len(new) == len(old), f"{rel}: frame count differs"
        for index, (a, b) in enumerate(zip(new, old, strict=True)):
            assert a.size == b.size, f"{rel} frame {index}: size differs"
            changed = _changed_pixels(a, b)
            assert changed == 0, f"{rel} frame {index}: {changed} pixels differ; {REGENERATE}"


def test_duplicate_is_byte_identical():
    original = (CONTENT / "img" / "workshop.png").read_bytes()
    assert (CONTENT / "blog" / "posts" / "images" / "workshop-copy.png").read_bytes() == original


def test_image_properties():
    with Image.open(CONTENT / "img" / "wheel-spin.gif") as gif:
        assert gif.is_animated and gif.n_frames > 1
        assert gif.info.get("loop") == 0  # loops forever
    with Image.open(CONTENT / "img" / "workshop.png") as workshop:
        assert workshop.width >= 1500
    total = sum(p.stat().st_size for p in CONTENT.rglob("*") if p.suffix in {".png", ".gif"})
    assert total < 3_000_000


def test_logo_is_hand_written_svg_not_generated(regenerated):
    assert not any(rel.endswith(".svg") for rel in regenerated)
    svg = (CONTENT / "img" / "logo.svg").read_text(encoding="utf-8")
    assert "<title" in svg and "<desc" in svg
    assert "http://" not in svg.replace("http://www.w3.org/2000/svg", "")


# --------------------------------------------------------------------------- references

FENCE = re.compile(r"^( {0,12})(`{3,}|~{3,}).*?^\1\2[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_USE = re.compile(r"!\[([^\]]*)\]\[([^\]]*)\]")
REF_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HTML_IMG = re.compile(r"<img\b[^>]*?\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _image_refs(text: str) -> list[str]:
    """Image targets in Markdown text, ignoring fenced code blocks."""
    text = FENCE.sub("", text)
    refs = INLINE.findall(text) + HTML_IMG.findall(text)
    definitions = {label.lower(): target for label, target in REF_DEF.findall(text)}
    for alt, label in REF_USE.findall(text):
        key = (label or alt).lower()
        assert key in definitions, f"undefined image reference [{key}]"
        refs.append(definitions[key])
    return refs


def _pages() -> list[Path]:
    return sorted(CONTENT.rglob("*.md"))


def test_fenced_example_is_not_an_image():
    text = (CONTENT / "about-this-site.md").read_text(encoding="utf-8")
    assert "![not an image](img/fake.png)" in text
    assert "img/fake.png" not in _image_refs(text)
    assert not (CONTENT / "img" / "fake.png").exists()


def test_every_referenced_image_exists():
    seen = 0
    for page in _pages():
        for target in _image_refs(page.read_text(encoding="utf-8")):
            assert "://" not in target and not target.startswith("//"), f"{page}: remote {target}"
            path = (page.parent / unquote(target.split("#")[0])).resolve()
            assert path.is_file(), f"{page.relative_to(CONTENT)}: missing image {target}"
            assert CONTENT in path.parents, f"{page}: {target} points outside content/"
            seen += 1
    assert seen >= 10


def test_every_image_file_is_used():
    used = set()
    for page in _pages():
        for target in _image_refs(page.read_text(encoding="utf-8")):
            used.add((page.parent / unquote(target)).resolve())
    files = {p.resolve() for p in CONTENT.rglob("*") if p.suffix in {".png", ".gif", ".svg"}}
    assert files - used == set()
