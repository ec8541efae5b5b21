"""Styles as looks, not tints: each changes line, texture and palette treatment of a painted picture.

``apply(image, style, rng)`` works at work size and returns the styled picture; ``upscale`` says how the
style is scaled to the requested size (pixel art keeps hard pixels) and ``grain`` how much film grain it
takes (none for ink, pixel art and neon).
"""

from __future__ import annotations

import random

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter, ImageOps

PAPER = (244, 238, 224)
INK = (28, 28, 38)


def _noise(size: tuple[int, int], rng: random.Random, cell: int) -> Image.Image:
    """Smooth value noise, 0-255, with features about ``cell`` pixels wide."""
    small = (size[0] // cell + 2, size[1] // cell + 2)
    return Image.frombytes("L", small, rng.randbytes(small[0] * small[1])).resize(
        size, Image.Resampling.BICUBIC
    )


def _edges(image: Image.Image, blur: float = 1.0) -> Image.Image:
    """Where the picture's brightness changes: 0 flat .. 255 a strong edge."""
    grey = ImageOps.grayscale(image).filter(ImageFilter.GaussianBlur(blur))
    edges = grey.filter(ImageFilter.FIND_EDGES).point(lambda v: min(255, v * 4))
    w, h = edges.size
    ImageDraw.Draw(edges).rectangle((0, 0, w - 1, h - 1), outline=0, width=2)  # not the picture's frame
    return edges


def _hatch(size: tuple[int, int], step: int, direction: int) -> Image.Image:
    """Diagonal lines every ``step`` pixels (255 on a line)."""
    w, h = size
    out = Image.new("L", size, 0)
    d = ImageDraw.Draw(out)
    for i in range(-h, w + h, step):
        d.line((i, 0, i + direction * h, h), fill=255, width=1)
    return out


def pixel_art(image: Image.Image, rng: random.Random) -> Image.Image:
    """Downsample to a coarse grid and quantise to a small palette (scaled up with nearest neighbour)."""
    w, h = image.size
    cell = max(4, max(w, h) // 96)
    small = image.resize((max(8, w // cell), max(8, h // cell)), Image.Resampling.BOX)
    small = ImageEnhance.Color(small).enhance(1.3)
    quant = small.quantize(colors=16, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert(
        "RGB"
    )
    return quant.resize((w, h), Image.Resampling.NEAREST)


def ink(image: Image.Image, rng: random.Random) -> Image.Image:
    """Monochrome: ink outlines on paper, hatching for the mid tones, cross-hatching for the darks."""
    grey = ImageOps.grayscale(image)
    lines = _edges(image, 0.7).point(lambda v: 255 if v > 60 else 0)
    mid = grey.point(lambda v: 255 if v < 140 else 0)
    dark = grey.point(lambda v: 255 if v < 80 else 0)
    mask = ImageChops.lighter(lines, ImageChops.multiply(mid, _hatch(image.size, 6, 1)))
    mask = ImageChops.lighter(mask, ImageChops.multiply(dark, _hatch(image.size, 5, -1)))
    out = Image.new("RGB", image.size, PAPER)
    texture = _noise(image.size, rng, 40).point(lambda v: 255 - v // 12)
    out = ImageChops.multiply(out, Image.merge("RGB", (texture, texture, texture)))
    out.paste(INK, (0, 0), mask)
    return out


def watercolour(image: Image.Image, rng: random.Random) -> Image.Image:
    """Washes: soft, bleeding colour lighter than the drawing, darker pooled edges, paper grain."""
    w, h = image.size
    wash = image.reduce(4).filter(ImageFilter.GaussianBlur(1.2)).resize((w, h), Image.Resampling.BICUBIC)
    wash = Image.blend(wash, image.filter(ImageFilter.GaussianBlur(0.8)), 0.8)
    wash = Image.blend(wash, Image.new("RGB", image.size, (252, 250, 244)), 0.22)
    wash = ImageEnhance.Color(wash).enhance(1.15)
    pools = _edges(image, 2.0).filter(ImageFilter.GaussianBlur(1.5)).point(lambda v: min(120, v))
    wash.paste((70, 60, 70), (0, 0), pools.point(lambda v: v // 2))
    blotch = _noise(image.size, rng, 28).point(lambda v: 128 + (v - 128) // 5)
    wash = ImageChops.add(wash, Image.merge("RGB", (blotch, blotch, blotch)), 1.0, -128)
    paper = Image.frombytes("L", image.size, rng.randbytes(w * h)).filter(ImageFilter.GaussianBlur(0.7))
    paper = paper.point(lambda v: 255 - abs(v - 128) // 6)
    return ImageChops.multiply(wash, Image.merge("RGB", (paper, paper, paper)))


def neon(image: Image.Image, rng: random.Random) -> Image.Image:
    """A dark ground, and the drawing's outlines as saturated tubes of light with a glow."""
    bright = ImageEnhance.Color(ImageEnhance.Brightness(image).enhance(1.6)).enhance(3.0)
    lines = _edges(image, 0.7).point(lambda v: 255 if v > 60 else 0).filter(ImageFilter.MaxFilter(3))
    tubes = ImageChops.multiply(bright, Image.merge("RGB", (lines, lines, lines)))
    glow = tubes.filter(ImageFilter.GaussianBlur(6))
    dark = ImageEnhance.Brightness(image).enhance(0.08)
    dark = ImageChops.multiply(dark, Image.new("RGB", image.size, (150, 110, 255)))
    out = ImageChops.add(dark, glow)
    core = lines.filter(ImageFilter.MinFilter(3))
    out = ImageChops.add(out, tubes)
    out.paste((255, 255, 255), (0, 0), core.point(lambda v: v // 2))
    return out


def oil(image: Image.Image, rng: random.Random) -> Image.Image:
    """Brush strokes: short thick dabs in the picture's colours following a wavy direction, with relief."""
    w, h = image.size
    base = image.filter(ImageFilter.GaussianBlur(1.5))
    out = base.copy()
    d = ImageDraw.Draw(out)
    px = base.load()
    assert px is not None
    length = max(4, w // 60)
    for _ in range(w * h // 45):
        x, y = rng.randrange(w), rng.randrange(h)
        c = px[x, y]
        dx, dy = (1.0, 0.35) if (x // 40 + y // 40) % 2 else (0.7, -0.5)
        d.line((x - dx * length, y - dy * length, x + dx * length, y + dy * length), fill=c, width=3)
    relief = ImageOps.grayscale(out).filter(ImageFilter.EMBOSS)
    relief = relief.point(lambda v: 128 + (v - 128) * 2 // 3)
    out = ImageChops.add(out, Image.merge("RGB", (relief, relief, relief)), 1.0, -128)
    return ImageEnhance.Color(out).enhance(1.2)


def photo(image: Image.Image, rng: random.Random) -> Image.Image:
    """Photographic: no hard edges, gentle contrast curve, light falling off towards the corners."""
    soft = image.filter(ImageFilter.GaussianBlur(1.1))
    # A shallow depth of field: the far (upper) part of the frame goes out of focus.
    w, h = image.size
    far = image.filter(ImageFilter.GaussianBlur(max(1.5, h / 180)))
    focus = Image.linear_gradient("L").resize((w, h)).point(lambda v: max(0, 200 - v * 2))
    soft.paste(far, (0, 0), focus)
    # Light falls from the top left: a soft gradient over the whole frame.
    down = Image.linear_gradient("L")
    fall = Image.blend(down, down.transpose(Image.Transpose.ROTATE_90), 0.5).resize((w, h))
    fall = fall.point(lambda v: 128 + (128 - v) // 8)
    soft = ImageChops.add(soft, Image.merge("RGB", (fall, fall, fall)), 1.0, -128)
    soft = ImageEnhance.Contrast(soft).enhance(1.08)
    vignette = Image.radial_gradient("L").resize(image.size).point(lambda v: max(0, v - 110))
    soft.paste((0, 0, 0), (0, 0), vignette.point(lambda v: v // 2))
    return soft


def plain(image: Image.Image, rng: random.Random) -> Image.Image:
    """The default illustration: flat shapes with softened edges."""
    return image.filter(ImageFilter.GaussianBlur(0.6))


STYLES = {
    "pixel art": pixel_art,
    "ink": ink,
    "watercolour": watercolour,
    "neon": neon,
    "oil painting": oil,
    "photo": photo,
    "isometric": plain,
}


def apply(image: Image.Image, style: str | None, rng: random.Random) -> Image.Image:
    """The picture in the style (the plain illustration when None)."""
    return STYLES.get(style or "", plain)(image, rng)


def upscale(style: str | None) -> Image.Resampling:
    """How the style scales up to the requested size."""
    return Image.Resampling.NEAREST if style == "pixel art" else Image.Resampling.BICUBIC


def grain(style: str | None) -> int:
    """Film grain strength for the style."""
    return {"pixel art": 0, "ink": 0, "neon": 2, "photo": 9, "oil painting": 6}.get(style or "", 5)
