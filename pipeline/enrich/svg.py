"""An SVG made safe to hand to resvg: it reads nothing but the bytes we give it.

resvg loads `<image href>` and `<feImage href>` from any path on disk (absolute, or
relative to the working directory), parses nested SVGs the same way, and has no option
to refuse; a committed SVG could so embed a file from outside docs_dir and send it to
the API. Here the SVG is parsed with the standard library, entity declarations refused
(no entity bombs, no external entities), and every reference that is not a `#fragment`
is replaced: a raster image inside docs_dir, or a raster `data:` URI, is checked and
inlined as a `data:` URI; anything else (absolute paths, `..` escapes, URLs, nested
SVGs, files outside docs_dir) is dropped. The tree is then serialized again, so resvg
sees exactly what was checked, with its size written out in pixels: resvg cannot size
an SVG given in physical units (mm, in, pt) on its own.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from xml.etree import ElementTree
from xml.parsers import expat

from PIL import Image

from pipeline.source.discover import API_TYPES, sniff

XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
HREFS = ("href", XLINK_HREF)
# A raster embedded in an SVG is decoded by resvg before anything shrinks it.
MAX_EMBEDDED_BYTES = 20 * 1024 * 1024
# CSS absolute units at 96 px per inch, as browsers and resvg's own default use.
PX_PER_UNIT = {
    "": 1.0,
    "px": 1.0,
    "in": 96.0,
    "cm": 96.0 / 2.54,
    "mm": 96.0 / 25.4,
    "q": 96.0 / 101.6,
    "pt": 96.0 / 72.0,
    "pc": 16.0,
    "em": 16.0,
    "ex": 8.0,
}
# What a browser gives an SVG image that states no size at all.
DEFAULT_SIZE = (300.0, 150.0)
_LENGTH = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z%]*)\s*$")


class UnsafeSvg(ValueError):
    """The SVG cannot be made safe (it declares entities) or is not well-formed XML."""


@dataclass(frozen=True)
class SafeSvg:
    text: str
    width: float  # natural size in CSS pixels
    height: float
    dropped: int  # references removed


def make_safe(raw: bytes, svg_dir: Path, docs_dir: Path) -> SafeSvg:
    """Parse, confine references to docs_dir, and size in pixels; raises UnsafeSvg."""
    root = _parse(raw)
    docs_real = os.path.realpath(docs_dir)
    dropped = 0
    for el in root.iter():
        for name in HREFS:
            value = el.get(name)
            if value is None or value.strip().startswith("#"):
                continue
            inlined = _inline(value.strip(), svg_dir, docs_real)
            if inlined is None:
                del el.attrib[name]
                dropped += 1
            else:
                el.set(name, inlined)
    width, height = pixel_size(root)
    root.set("width", _number(width))
    root.set("height", _number(height))
    return SafeSvg(ElementTree.tostring(root, encoding="unicode"), width, height, dropped)


def _parse(raw: bytes) -> ElementTree.Element:
    # A first pass with expat alone, which lets us refuse entity declarations: the
    # ElementTree parser would expand them.
    checker = expat.ParserCreate()

    def refuse(*_args) -> None:
        raise UnsafeSvg("SVG declares XML entities")

    checker.EntityDeclHandler = refuse
    checker.UnparsedEntityDeclHandler = refuse
    try:
        checker.Parse(raw, True)
        return ElementTree.fromstring(raw)
    except (expat.ExpatError, ElementTree.ParseError) as e:
        raise UnsafeSvg(f"SVG is not well-formed XML ({e})") from None


def _inline(value: str, svg_dir: Path, docs_real: str) -> str | None:
    """A `data:` URI with checked raster bytes for a reference, or None to drop it."""
    if value[:5].lower() == "data:":
        data = _data_uri_bytes(value)
    else:
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
            return None  # a URL or an absolute path: never read
        data = _read_inside(svg_dir / unquote(parts.path), docs_real)
    if data is None:
        return None
    media_type = _raster_type(data)
    if media_type is None:
        return None
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _data_uri_bytes(value: str) -> bytes | None:
    header, sep, payload = value[5:].partition(",")
    if not sep:
        return None
    try:
        if header.lower().endswith(";base64"):
            return base64.b64decode("".join(payload.split()))
        return unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None


def _read_inside(path: Path, docs_real: str) -> bytes | None:
    real = os.path.realpath(path)
    if not real.startswith(docs_real.rstrip(os.sep) + os.sep):
        return None
    try:
        st = os.stat(real)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_EMBEDDED_BYTES:
            return None  # a FIFO or device would hang or never end
        with open(real, "rb") as f:
            return f.read(MAX_EMBEDDED_BYTES + 1)
    except OSError:
        return None


def _raster_type(data: bytes) -> str | None:
    """PNG, JPEG, GIF or WebP of a sane pixel count; never a nested SVG."""
    if len(data) > MAX_EMBEDDED_BYTES:
        return None
    kind = sniff(data[:16])  # the first bytes: never read as an SVG
    if kind not in API_TYPES:
        return None
    media_type = f"image/{kind}"
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > (Image.MAX_IMAGE_PIXELS or 0):
                return None
    except Exception:  # Pillow raises many types for damaged files
        return None
    return media_type


def length_px(value: str | None) -> float | None:
    """An absolute CSS length in pixels; None for missing, relative (%) or bad values."""
    m = _LENGTH.match(value or "")
    if not m or m.group(2).lower() not in PX_PER_UNIT:
        return None
    px = float(m.group(1)) * PX_PER_UNIT[m.group(2).lower()]
    return px if math.isfinite(px) and px > 0 else None


def pixel_size(root: ElementTree.Element) -> tuple[float, float]:
    """The natural size, as a browser sizes an SVG image: width and height, else the
    viewBox's proportions, else 300 x 150."""
    w, h = length_px(root.get("width")), length_px(root.get("height"))
    box = _view_box(root.get("viewBox"))
    if w and h:
        return w, h
    if box:
        bw, bh = box
        if w:
            return w, w * bh / bw
        if h:
            return h * bw / bh, h
        return bw, bh
    return w or DEFAULT_SIZE[0], h or DEFAULT_SIZE[1]


def _view_box(value: str | None) -> tuple[float, float] | None:
    parts = (value or "").replace(",", " ").split()
    if len(parts) != 4:
        return None
    try:
        w, h = float(parts[2]), float(parts[3])
    except ValueError:
        return None
    return (w, h) if all(math.isfinite(v) and v > 0 for v in (w, h)) else None


def _number(px: float) -> str:
    return f"{px:.4f}".rstrip("0").rstrip(".")
