"""Generate the raster images of the demo site in ``content/`` with Pillow.

Every picture on the Harbor Street Bike Co-op demo site except the hand-written
``content/img/logo.svg`` comes from this script. It is deterministic: all noise comes from
``random.Random`` with fixed seeds, nothing depends on the clock, and no metadata is written,
so running it again reproduces the same pixels (``tests/test_demo_content.py`` checks that).

    .venv/bin/python tests/demo_images.py            # rewrites the images under content/

``generate(out_dir)`` treats ``out_dir`` as the content root and returns the written files keyed
by their path relative to it, e.g. ``"img/workshop.png"``.
"""

from __future__ import annotations

import io
import math
import random
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont, ImageOps

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"

WORKSHOP = "img/workshop.png"
WORKSHOP_COPY = "blog/posts/images/workshop-copy.png"
DIAGRAM = "img/flat-repair-steps.png"
WHEEL_GIF = "img/wheel-spin.gif"
TIRE_LEVERS = "img/tire-levers.png"
BRAKE_PADS = "img/brake pads.png"

RGB = tuple[int, int, int]


# --------------------------------------------------------------------------- helpers


def _noise(size: tuple[int, int], seed: int, amplitude: int) -> Image.Image:
    """Grey noise centred on 128, values in 128 +/- amplitude (an "L" image)."""
    w, h = size
    raw = Image.frombytes("L", size, random.Random(seed).randbytes(w * h))
    return raw.point(lambda v: 128 + (v - 128) * amplitude // 128)


def _soft_noise(size: tuple[int, int], cell: tuple[int, int], seed: int, amp: int) -> Image.Image:
    """Blotchy low-frequency noise: a small noise image scaled up smoothly."""
    small = _noise((max(2, size[0] // cell[0]), max(2, size[1] // cell[1])), seed, amp)
    return small.resize(size, Image.Resampling.BICUBIC)


def _grain(size: tuple[int, int], seed: int, amplitude: int, block: int = 2) -> Image.Image:
    """Film-grain-like noise in block x block cells (cheaper to compress than per-pixel noise)."""
    w, h = size
    cells = _noise((-(-w // block), -(-h // block)), seed, amplitude)
    big = cells.resize((cells.width * block, cells.height * block), Image.Resampling.NEAREST)
    return big.crop((0, 0, w, h))


def _add_noise(img: Image.Image, noise: Image.Image) -> Image.Image:
    """Add a 128-centred grey noise image to every channel of an RGB image."""
    return ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


def _vertical_gradient(size: tuple[int, int], top: RGB, bottom: RGB) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return ImageOps.colorize(ramp, top, bottom)


def _vignette(img: Image.Image, strength: int) -> Image.Image:
    """Darken the corners: multiply by a radial mask going from 255 down to 255 - strength."""
    radial = Image.radial_gradient("L").resize(img.size, Image.Resampling.BILINEAR)
    mask = radial.point(lambda v: 255 - strength * min(255, max(0, v - 90)) // 165)
    return ImageChops.multiply(img, Image.merge("RGB", (mask, mask, mask)))


def _shadow(img: Image.Image, box: tuple[int, int, int, int], blur: float, depth: int) -> None:
    """Darken img in place under a blurred ellipse (a soft contact shadow)."""
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=depth)
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    img.paste(Image.new("RGB", img.size, (20, 18, 16)), (0, 0), mask)


def _glow(
    img: Image.Image, box: tuple[int, int, int, int], blur: float, colour: RGB
) -> Image.Image:
    """Brighten img with a blurred ellipse of light (screen blend)."""
    layer = Image.new("RGB", img.size, (0, 0, 0))
    ImageDraw.Draw(layer).ellipse(box, fill=colour)
    return ImageChops.screen(img, layer.filter(ImageFilter.GaussianBlur(blur)))


def _png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


# --------------------------------------------------------------------------- workshop photo


def _draw_bike(draw: ImageDraw.ImageDraw, ox: int, oy: int) -> None:
    """A side view of a road bike; (ox, oy) is the point on the floor under the rear hub."""
    r = 172
    rear = (ox, oy - r)
    front = (ox + 500, oy - r)
    bb = (ox + 205, oy - r + 30)
    seat_top = (ox + 150, oy - r - 300)
    head_top = (ox + 440, oy - r - 270)
    head_bottom = (ox + 462, oy - r - 190)
    frame = (28, 86, 98)
    for cx, cy in (rear, front):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(24, 24, 26), width=20)
        draw.ellipse(
            (cx - r + 20, cy - r + 20, cx + r - 20, cy + r - 20), outline=(150, 152, 156), width=7
        )
        for k in range(24):
            a = 2 * math.pi * k / 24
            draw.line(
                (
                    cx + 10 * math.cos(a),
                    cy + 10 * math.sin(a),
                    cx + (r - 26) * math.cos(a + 0.25),
                    cy + (r - 26) * math.sin(a + 0.25),
                ),
                fill=(120, 122, 126),
                width=2,
            )
        draw.ellipse((cx - 14, cy - 14, cx + 14, cy + 14), fill=(90, 92, 96))
    tubes = [
        (rear, bb, 12),
        (rear, seat_top, 11),
        (bb, seat_top, 16),
        (bb, head_bottom, 18),
        (seat_top, head_top, 15),
        (head_top, head_bottom, 20),
        (head_bottom, front, 12),
    ]
    for a, b, w in tubes:
        draw.line((a, b), fill=frame, width=w)
    # seat post and saddle
    post_top = (seat_top[0] - 14, seat_top[1] - 60)
    draw.line((seat_top, post_top), fill=(60, 62, 66), width=10)
    draw.polygon(
        [
            (post_top[0] - 62, post_top[1] - 4),
            (post_top[0] + 60, post_top[1] - 12),
            (post_top[0] + 48, post_top[1] + 10),
            (post_top[0] - 56, post_top[1] + 12),
        ],
        fill=(22, 22, 24),
    )
    # stem and drop handlebar
    stem_end = (head_top[0] + 70, head_top[1] - 22)
    draw.line((head_top, stem_end), fill=(50, 52, 56), width=12)
    draw.arc(
        (stem_end[0] - 20, stem_end[1] - 4, stem_end[0] + 44, stem_end[1] + 78),
        270,
        110,
        fill=(30, 30, 32),
        width=11,
    )
    draw.line(
        ((stem_end[0] + 30, stem_end[1] + 8), (stem_end[0] + 40, stem_end[1] + 58)),
        fill=(60, 60, 64),
        width=7,
    )  # brake lever
    # crank, chainring and chain
    draw.ellipse((bb[0] - 58, bb[1] - 58, bb[0] + 58, bb[1] + 58), outline=(170, 172, 176), width=9)
    pedal = (bb[0] + 30, bb[1] + 84)
    draw.line((bb, pedal), fill=(70, 72, 76), width=13)
    draw.rounded_rectangle(
        (pedal[0] - 26, pedal[1] - 6, pedal[0] + 26, pedal[1] + 8), radius=4, fill=(30, 30, 32)
    )
    draw.line(((bb[0] - 4, bb[1] - 58), (rear[0] + 4, rear[1] - 30)), fill=(80, 80, 84), width=4)
    draw.line(((bb[0] - 4, bb[1] + 58), (rear[0] + 4, rear[1] + 30)), fill=(80, 80, 84), width=4)
    draw.ellipse(
        (rear[0] - 32, rear[1] - 32, rear[0] + 32, rear[1] + 32), outline=(130, 132, 136), width=6
    )


def _workshop() -> Image.Image:
    w, h = 1600, 1067
    floor_y = 790
    img = _vertical_gradient((w, h), (204, 186, 158), (150, 130, 104))
    draw = ImageDraw.Draw(img)

    # window on the left, with the light it throws
    draw.rectangle((90, 80, 520, 470), fill=(96, 84, 70))
    sky = _vertical_gradient((410, 370), (214, 230, 240), (244, 240, 224))
    img.paste(sky, (100, 90))
    draw.rectangle((300, 90, 312, 460), fill=(96, 84, 70))
    draw.rectangle((100, 270, 510, 282), fill=(96, 84, 70))
    img = _glow(img, (40, 120, 760, 900), 120, (70, 62, 44))
    draw = ImageDraw.Draw(img)

    # pegboard with hanging tools
    draw.rectangle((760, 110, 1500, 480), fill=(158, 126, 88))
    for y in range(130, 470, 28):
        for x in range(780, 1490, 28):
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(92, 72, 50))
    tools = (54, 56, 60)
    for i, length in enumerate((150, 175, 200, 225)):
        x = 820 + i * 52
        draw.line((x, 170, x, 170 + length), fill=tools, width=10)
        draw.ellipse((x - 16, 150, x + 16, 182), outline=tools, width=8)
        draw.ellipse((x - 13, 160 + length, x + 13, 186 + length), fill=tools)
    draw.rectangle((1060, 160, 1076, 400), fill=(120, 82, 40))  # hammer handle
    draw.rectangle((1030, 150, 1110, 180), fill=tools)
    draw.ellipse((1170, 150, 1390, 370), outline=(30, 30, 32), width=18)  # spare tire
    draw.ellipse((1190, 170, 1370, 350), outline=(60, 60, 62), width=3)
    draw.polygon([(1420, 160), (1450, 160), (1460, 330), (1410, 330)], fill=(176, 40, 36))  # pump
    draw.rectangle((1428, 330, 1442, 420), fill=(40, 40, 42))

    # floor and skirting
    floor = _vertical_gradient((w, h - floor_y), (124, 122, 116), (84, 82, 78))
    floor = _add_noise(floor, _soft_noise(floor.size, (30, 8), 11, 16))
    img.paste(floor, (0, floor_y))
    draw.rectangle((0, floor_y - 18, w, floor_y), fill=(110, 96, 80))

    # workbench on the right
    top = _vertical_gradient((900, 46), (176, 122, 72), (128, 84, 46))
    top = _add_noise(top, _soft_noise(top.size, (60, 2), 12, 40))
    _shadow(img, (660, floor_y + 160, 1620, floor_y + 250), 30, 150)
    draw = ImageDraw.Draw(img)
    for x in (720, 1470):
        draw.rectangle((x, 640, x + 44, floor_y + 200), fill=(96, 64, 36))
    draw.rectangle((700, 690, 1530, 760), fill=(112, 76, 44))
    draw.rectangle((720, 900, 1500, 924), fill=(96, 64, 36))
    img.paste(top, (660, 600))
    draw.rectangle((1260, 520, 1450, 600), fill=(168, 38, 34))  # toolbox
    draw.rectangle((1260, 520, 1450, 540), fill=(140, 28, 26))
    draw.arc((1310, 490, 1400, 550), 180, 360, fill=(40, 40, 42), width=8)
    draw.rectangle((900, 560, 1010, 600), fill=(70, 110, 150))  # parts tray
    draw.rectangle((1040, 580, 1100, 600), fill=(210, 200, 180))  # rag

    # the bike in front, with its shadow
    _shadow(img, (120, 950, 900, 1010), 18, 190)
    draw = ImageDraw.Draw(img)
    _draw_bike(draw, 300, 985)

    # camera-ish finish: slight softness, film grain, vignette
    img = img.filter(ImageFilter.GaussianBlur(1.1))
    img = _add_noise(img, _soft_noise((w, h), (80, 80), 21, 10))
    img = _add_noise(img, _grain((w, h), 22, 3))
    return _vignette(img, 90)


# --------------------------------------------------------------------------- close-up photo


def _lever(colour: RGB) -> Image.Image:
    """One plastic tire lever on a transparent layer, pointing right."""
    layer = Image.new("RGBA", (460, 90), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    dark = tuple(int(c * 0.7) for c in colour)
    light = tuple(min(255, int(c * 1.25) + 30) for c in colour)
    d.rounded_rectangle((10, 18, 430, 72), radius=26, fill=(*dark, 255))
    d.rounded_rectangle((10, 14, 430, 66), radius=26, fill=(*colour, 255))
    d.line((40, 24, 400, 24), fill=(*light, 255), width=5)
    d.polygon([(404, 18), (446, 10), (456, 26), (436, 34)], fill=(*colour, 255))  # the hook
    d.rounded_rectangle((40, 30, 120, 50), radius=10, fill=(0, 0, 0, 0))  # spoke slot
    return layer


def _tire_levers() -> Image.Image:
    w, h = 1000, 667
    wood = ImageOps.colorize(_soft_noise((w, h), (250, 6), 31, 127), (120, 78, 44), (196, 146, 96))
    wood = _add_noise(wood, _soft_noise((w, h), (80, 2), 32, 18))
    img = wood.filter(ImageFilter.GaussianBlur(2.5))
    for colour, angle, pos in (
        ((32, 96, 196), 14, (150, 150)),
        ((238, 186, 32), -8, (260, 300)),
        ((32, 96, 196), 4, (210, 440)),
    ):
        lever = _lever(colour).rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        alpha = lever.getchannel("A")
        shade = alpha.point(lambda v: v * 150 // 255).filter(ImageFilter.GaussianBlur(9))
        img.paste(Image.new("RGB", lever.size, (30, 20, 12)), (pos[0] + 14, pos[1] + 18), shade)
        img.paste(lever.convert("RGB"), pos, alpha)
    img = _glow(img, (-200, -300, 700, 400), 150, (50, 46, 36))
    img = _add_noise(img, _grain((w, h), 33, 2))
    return _vignette(img, 70)


# --------------------------------------------------------------------------- brake pads


def _brake_pads() -> Image.Image:
    w, h = 800, 450
    img = Image.new("RGB", (w, h), (244, 242, 236))
    d = ImageDraw.Draw(img)
    label = _font(30)
    small = _font(20)
    for i, (title, groove_depth, colour) in enumerate(
        (("New pad", 40, (34, 34, 36)), ("Worn pad: replace", 4, (58, 56, 54)))
    ):
        x0 = 80 + i * 360
        pad_h = 120 if i == 0 else 80
        d.rounded_rectangle((x0, 150, x0 + 280, 190), radius=8, fill=(160, 164, 170))  # backing
        d.rectangle((x0 + 125, 110, x0 + 155, 150), fill=(140, 144, 150))  # mounting post
        d.rounded_rectangle((x0 + 10, 190, x0 + 270, 190 + pad_h), radius=12, fill=colour)
        for gx in (x0 + 90, x0 + 180):
            d.rectangle(
                (gx - 6, 190 + pad_h - groove_depth, gx + 6, 190 + pad_h), fill=(244, 242, 236)
            )
        d.line((x0 - 10, 290, x0 + 290, 290), fill=(200, 60, 40), width=3)
        d.text((x0 + 140, 360), title, fill=(40, 40, 44), font=label, anchor="mm")
    d.text((w // 2, 60), "Rim brake pads, side view", fill=(40, 40, 44), font=label, anchor="mm")
    d.text(
        (w // 2, 410),
        "Red line: wear limit. No grooves left means new pads.",
        fill=(90, 90, 96),
        font=small,
        anchor="mm",
    )
    return img


# --------------------------------------------------------------------------- diagram


def _diagram() -> Image.Image:
    w, h = 1200, 500
    img = Image.new("RGB", (w, h), (250, 249, 245))
    d = ImageDraw.Draw(img)
    title, head, body, num = _font(34), _font(26), _font(18), _font(30)
    d.text((w // 2, 56), "Fixing a flat in four steps", fill=(30, 40, 60), font=title, anchor="mm")
    steps = (
        ("Remove wheel", ("Open the brake,", "undo the axle,", "lever the tire off")),
        ("Find puncture", ("Pump a little air in,", "listen and feel,", "check the tire too")),
        ("Patch", ("Roughen the spot,", "thin glue, wait,", "press the patch")),
        ("Reinflate", ("Seat the bead,", "pump to the pressure", "printed on the tire")),
    )
    box_w, box_h, gap, top = 230, 250, 80, 150
    left = (w - 4 * box_w - 3 * gap) // 2
    accent = (38, 110, 140)
    for i, (name, lines) in enumerate(steps):
        x0 = left + i * (box_w + gap)
        d.rounded_rectangle(
            (x0 + 6, top + 8, x0 + box_w + 6, top + box_h + 8), radius=18, fill=(222, 220, 212)
        )
        d.rounded_rectangle(
            (x0, top, x0 + box_w, top + box_h),
            radius=18,
            fill=(255, 255, 255),
            outline=accent,
            width=4,
        )
        cx = x0 + box_w // 2
        d.ellipse((cx - 26, top - 26, cx + 26, top + 26), fill=accent)
        d.text((cx, top), str(i + 1), fill=(255, 255, 255), font=num, anchor="mm")
        d.text((cx, top + 70), name, fill=(30, 40, 60), font=head, anchor="mm")
        for j, line in enumerate(lines):
            d.text((cx, top + 130 + j * 32), line, fill=(80, 84, 92), font=body, anchor="mm")
        if i < 3:
            ay = top + box_h // 2
            ax0, ax1 = x0 + box_w + 14, x0 + box_w + gap - 14
            d.line((ax0, ay, ax1 - 14, ay), fill=accent, width=6)
            d.polygon([(ax1, ay), (ax1 - 20, ay - 14), (ax1 - 20, ay + 14)], fill=accent)
    d.text(
        (w // 2, 462),
        "Harbor Street Bike Co-op  ·  repair night handout",
        fill=(120, 124, 130),
        font=body,
        anchor="mm",
    )
    return img


# --------------------------------------------------------------------------- animated GIF


PALETTE = [
    (250, 250, 247),  # 0 background
    (38, 38, 42),  # 1 tire
    (176, 180, 186),  # 2 rim
    (112, 116, 124),  # 3 spokes
    (70, 72, 78),  # 4 hub
    (232, 116, 28),  # 5 reflector
]


def _wheel_frames(count: int = 10) -> list[Image.Image]:
    size, c = 240, 120
    flat = [v for rgb in PALETTE for v in rgb]
    frames = []
    for f in range(count):
        frame = Image.new("P", (size, size), 0)
        frame.putpalette(flat)
        d = ImageDraw.Draw(frame)
        d.ellipse((c - 110, c - 110, c + 110, c + 110), fill=1)
        d.ellipse((c - 96, c - 96, c + 96, c + 96), fill=2)
        d.ellipse((c - 89, c - 89, c + 89, c + 89), fill=0)
        turn = 2 * math.pi * f / count
        for k in range(16):
            a = turn + 2 * math.pi * k / 16
            d.line(
                (
                    c + 12 * math.cos(a),
                    c + 12 * math.sin(a),
                    c + 90 * math.cos(a + 0.2),
                    c + 90 * math.sin(a + 0.2),
                ),
                fill=3,
                width=2,
            )
        d.ellipse((c - 16, c - 16, c + 16, c + 16), fill=4)
        rx, ry = c + 62 * math.cos(turn + 0.12), c + 62 * math.sin(turn + 0.12)
        d.ellipse((rx - 9, ry - 9, rx + 9, ry + 9), fill=5)  # spoke reflector
        vx, vy = c + 100 * math.cos(turn + math.pi), c + 100 * math.sin(turn + math.pi)
        d.ellipse((vx - 5, vy - 5, vx + 5, vy + 5), fill=4)  # valve
        frames.append(frame)
    return frames


def _gif_bytes(frames: list[Image.Image]) -> bytes:
    buf = io.BytesIO()
    frames[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=80,
        loop=0,
        optimize=False,
        disposal=1,
    )
    return buf.getvalue()


# --------------------------------------------------------------------------- entry points


def generate(out_dir: Path) -> dict[str, Path]:
    """Write every generated image under out_dir (the content root); return them by rel path."""
    out_dir = Path(out_dir)
    workshop = _png_bytes(_workshop())
    payloads = {
        WORKSHOP: workshop,
        WORKSHOP_COPY: workshop,  # the same bytes on purpose: a duplicate image in the site
        DIAGRAM: _png_bytes(_diagram()),
        WHEEL_GIF: _gif_bytes(_wheel_frames()),
        TIRE_LEVERS: _png_bytes(_tire_levers()),
        BRAKE_PADS: _png_bytes(_brake_pads()),
    }
    written = {}
    for rel, data in payloads.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written[rel] = path
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else CONTENT_DIR
    for rel, path in generate(target).items():
        print(f"{path.stat().st_size:>9,} bytes  {rel}")
