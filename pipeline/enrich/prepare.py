"""Prepare an image for the Messages API with Pillow: small, supported, no metadata.

Tokens for an image are about width * height / 750, so the long edge is capped
(`image_max_edge`, default 512 px). Measured on the three real sites in the test
corpora, 512 px sends 13-23 % of the image tokens the API would count for the
originals (which it already shrinks to a 1568 px long edge); 768 px sends 29-52 %.
`make bench` records the figures.

- animated GIF: the first frame only (alt text describes the image, not the motion)
- SVG: rasterized with resvg (a Rust renderer with wheels for every platform; no
  system libraries, no network access) on a white background, after `enrich.svg` has
  confined what it may embed to raster images inside docs_dir
- EXIF orientation applied, then every metadata chunk dropped by re-encoding
- JPEG for photographs that came as JPEG/WebP, PNG for everything else
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps

from pipeline.enrich.svg import UnsafeSvg, make_safe
from pipeline.errors import ItemError

API_MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Prepared:
    media_type: str
    data: bytes
    width: int
    height: int
    original_width: int
    original_height: int
    note: str = ""


def _svg_to_png(
    path: Path, rel: str, raw: bytes, max_edge: int
) -> tuple[Image.Image, tuple[int, int], int]:
    """-> the rendered image, the SVG's natural size in pixels, references dropped."""
    import resvg_py

    # path is docs_dir / rel, so docs_dir is as many levels up as rel is deep.
    docs_dir = path.parents[len(PurePosixPath(rel).parts) - 1]
    try:
        svg = make_safe(raw, path.parent, docs_dir)
    except UnsafeSvg as e:
        raise ItemError(rel, f"cannot rasterize SVG: {str(e)[:120]}") from None
    # Bound the long edge ourselves: the SVG's own size can be anything.
    long_edge = max(1, min(max_edge, round(max(svg.width, svg.height))))
    # One edge given, the other scaled to keep the aspect ratio (None is resvg-py's default).
    wide = svg.width >= svg.height
    try:
        png = resvg_py.svg_to_bytes(
            svg_string=svg.text,
            background="#ffffff",
            skip_system_fonts=False,
            dpi=96.0,  # resvg-py's default of 0 makes mm, in and pt lengths zero
            width=long_edge if wide else None,
            height=None if wide else long_edge,
        )
    except (ValueError, RuntimeError) as e:
        raise ItemError(rel, f"cannot rasterize SVG ({str(e)[:80]})") from None
    natural = (round(svg.width), round(svg.height))
    return Image.open(io.BytesIO(bytes(png))), natural, svg.dropped


def prepare(path: Path, rel: str, max_edge: int, svg_size: tuple[int, int] = (0, 0)) -> Prepared:
    """`path` is docs_dir / `rel`. `svg_size` (discovery's reading) is no longer used: an
    SVG is sized here, units included, from the same tree that is rendered."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ItemError(rel, f"cannot read image ({e.strerror})") from None
    note = ""
    try:
        if raw.lstrip()[:5] in (b"<?xml", b"<svg ", b"<svg>", b"<!--") or rel.lower().endswith(
            ".svg"
        ):
            im, original, dropped = _svg_to_png(path, rel, raw, max_edge)
            source_format = "svg"
            note = "rasterized SVG"
            if dropped:
                note += f", {dropped} external reference(s) dropped"
        else:
            im = Image.open(io.BytesIO(raw))
            original = im.size
            source_format = (im.format or "").lower()
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                im.seek(0)
                note = f"first frame of {frames}"
            im = ImageOps.exif_transpose(im)
        im.load()
    except ItemError:
        raise
    except Exception as e:  # Pillow raises many types for damaged files
        raise ItemError(rel, f"corrupt image ({type(e).__name__}: {str(e)[:80]})") from None

    if im.mode not in ("RGB", "RGBA", "L", "LA"):
        im = im.convert("RGBA" if "transparency" in im.info or im.mode in ("PA", "P") else "RGB")
    if max(im.size) > max_edge:
        im.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)

    photo = source_format in ("jpeg", "webp", "mpo") and im.mode in ("RGB", "L")
    buf = io.BytesIO()
    if photo:
        im.save(buf, "JPEG", quality=85, optimize=True)
        media_type = "image/jpeg"
    else:
        im.save(buf, "PNG", optimize=True)
        media_type = "image/png"
    data = buf.getvalue()
    if len(data) > API_MAX_BYTES:
        raise ItemError(rel, f"image still over 5 MB after downscaling ({len(data):,} bytes)")
    return Prepared(
        media_type=media_type,
        data=data,
        width=im.size[0],
        height=im.size[1],
        original_width=original[0],
        original_height=original[1],
        note=note,
    )
