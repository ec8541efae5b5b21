"""Painting a Plan: the Canvas with its drawing primitives, and the landscape and abstract scenes.

A Plan says what to paint (palette, landscape features or an abstract composition, textures); the
painters here lay it down back to front on a Canvas at work size, drawing every random choice from the
Canvas's seeded source, so that the same plan, size and seed always give the same pixels.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

# Scenes are drawn at most this large, then scaled up: soft edges for free and a quarter of the work.
WORK_SIDE = 512
RGB = tuple[int, int, int]
Line = list[tuple[float, float]]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def hsv(colour: RGB, dh: float = 0.0, hue: float | None = None, amount: float = 1.0, sat: float = 1.0) -> RGB:
    """The colour rotated by ``dh`` degrees, or turned ``amount`` of the short way towards ``hue``."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in colour))
    if hue is not None:
        h += (((hue / 360 - h + 0.5) % 1.0) - 0.5) * amount
        s = max(s, 0.85 * amount)  # a grey palette takes the colour too, and strongly
    r, g, b = colorsys.hsv_to_rgb((h + dh / 360) % 1.0, min(s * sat, 1.0), v)
    return (round(r * 255), round(g * 255), round(b * 255))


@dataclass(frozen=True)
class Plan:
    """What the words ask for: palette, landscape features (or an abstract composition), textures."""

    palette: tuple[RGB, ...]
    features: frozenset[str]
    abstract: str
    textures: frozenset[str]
    words: frozenset[str]


class Canvas:
    """One picture being drawn at work size, with its seeded random source and palette."""

    def __init__(self, plan_: Plan, size: tuple[int, int], seed: int) -> None:
        self.plan = plan_
        self.w, self.h = size
        self.rng = random.Random(seed)
        # A little seeded hue drift, so that the images of one prompt are siblings, not clones.
        drift = self.rng.uniform(-10, 10)
        self.deep, self.dark, self.mid, self.light, self.glow = (hsv(c, dh=drift) for c in plan_.palette)
        self.image = Image.new("RGB", size, self.deep)
        self.draw = ImageDraw.Draw(self.image, "RGBA")  # translucent fills blend onto the picture
        self.lights: list[float] = []  # x of the sun, moon or lamp, for reflections on water

    def scale(self, value: float) -> float:
        """A length in work pixels from one given for a 512-pixel canvas."""
        return value * max(self.w, self.h) / WORK_SIDE

    def vertical(self, stops: list[tuple[float, RGB]], height: int | None = None) -> Image.Image:
        """A top-to-bottom gradient through (position 0-1, colour) stops, as wide as the canvas."""
        height = height or self.h
        column = []
        for y in range(height):
            t = y / max(height - 1, 1)
            i = max([k for k in range(len(stops) - 1) if stops[k][0] <= t] or [0])
            (t0, c0), (t1, c1) = stops[i], stops[i + 1]
            column.append(mix(c0, c1, min(max((t - t0) / max(t1 - t0, 1e-6), 0.0), 1.0)))
        strip = Image.new("RGB", (1, height))
        strip.putdata(column)
        return strip.resize((self.w, height), Image.Resampling.NEAREST)

    def glow_at(self, x: float, y: float, radius: float, colour: RGB, strength: float) -> None:
        """A soft round light: brightest at (x, y), fading to nothing at ``radius``."""
        side = max(int(radius * 2), 2)
        # radial_gradient() is 0 at the centre and 181 at the middle of each edge (255 in the corners).
        lut = [int(strength * 255 * max(0.0, 1 - v / 181) ** 2.2) for v in range(256)]
        mask = Image.radial_gradient("L").resize((side, side)).point(lut)
        self.image.paste(colour, (int(x - side / 2), int(y - side / 2)), mask)

    def ridge(self, base: float, amplitude: float, rough: float = 0.55) -> Line:
        """A jagged skyline of 65 points by midpoint displacement around height ``base``."""
        ys = [base + self.rng.uniform(-amplitude, amplitude) / 2 for _ in range(2)]
        spread = amplitude
        while len(ys) < 65:
            middles = [
                (a + b) / 2 + self.rng.uniform(-spread, spread) / 2 for a, b in zip(ys, ys[1:], strict=False)
            ]
            ys = [y for pair in zip(ys, middles, strict=False) for y in pair] + [ys[-1]]
            spread *= rough
        return [(i * self.w / 64, y) for i, y in enumerate(ys)]

    def hills(self, base: float, amplitude: float) -> Line:
        """A smooth rolling line (a sum of two sines) around height ``base``."""
        f1, f2, p1, p2 = (self.rng.uniform(a, b) for a, b in ((3, 9), (12, 24), (0, 6.3), (0, 6.3)))
        step = self.w / 64
        return [
            (
                i * step,
                base + amplitude * (0.7 * math.sin(f1 * i / 64 + p1) + 0.3 * math.sin(f2 * i / 64 + p2)),
            )
            for i in range(65)
        ]

    def fill_below(self, line: Line, colour: RGB, alpha: int = 255) -> None:
        """Fill from a line down to the bottom edge."""
        self.draw.polygon([*line, (self.w, self.h + 1), (0, self.h + 1)], fill=(*colour, alpha))

    def soften(self, radius: float) -> None:
        """Blur what is drawn so far (depth of field behind the next layers)."""
        self.image = self.image.filter(ImageFilter.GaussianBlur(self.scale(radius)))
        self.draw = ImageDraw.Draw(self.image, "RGBA")

    def haze(self, centre: float, width: float, strength: float, floor: float = 0.0) -> None:
        """Fog: the light colour laid over a band around height ``centre``."""
        values = [
            int(255 * min(1.0, floor + strength * math.exp(-(((y - centre) / width) ** 2))))
            for y in range(self.h)
        ]
        strip = Image.new("L", (1, self.h))
        strip.putdata(values)
        self.image.paste(self.light, (0, 0), strip.resize((self.w, self.h)))

    def stars(self, bottom: float, count: int) -> None:
        """Star dots above ``bottom``, thinning towards it, a few of them with a halo."""
        for i in range(count):
            x, y = self.rng.uniform(0, self.w), bottom * self.rng.random() ** 1.5
            r = self.scale(self.rng.choice((0.5, 0.6, 0.8, 1.1)))
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=(*self.glow, self.rng.randint(90, 255)))
            if i % 40 == 0:
                self.glow_at(x, y, self.scale(9), self.glow, 0.5)

    def at(self, t: float) -> RGB:
        """The palette read as one ramp: 0 deep, 1 glow."""
        ramp = (self.deep, self.dark, self.mid, self.light, self.glow)
        i = min(int(t * 4), 3)
        return mix(ramp[i], ramp[i + 1], t * 4 - i)


def _height_at(line: Line, x: float) -> float:
    step = line[1][0] - line[0][0]
    i = min(max(int(x / step), 0), len(line) - 2)
    return line[i][1] + (line[i + 1][1] - line[i][1]) * min(max((x - line[i][0]) / step, 0.0), 1.0)


def _conifer(c: Canvas, x: float, base: float, height: float, colour: RGB) -> None:
    top, span, tiers = base - height, height * 0.9, 4
    left: Line = []
    for i in range(1, tiers + 1):  # tiers of branches, each wider than the one above
        y, half = top + span * i / tiers, height * 0.24 * (0.35 + 0.65 * i / tiers)
        left += [(x - half, y)] + ([(x - half * 0.4, y - span * 0.05)] if i < tiers else [])
    c.draw.polygon([(x, top), *left, *[(2 * x - px, py) for px, py in reversed(left)]], fill=colour)
    c.draw.rectangle(
        (x - height * 0.03, base - height * 0.1, x + height * 0.03, base + height * 0.1), fill=colour
    )


def _forest(c: Canvas, line: Line, count: int, size: float, colour: RGB) -> None:
    for _ in range(count):
        x = c.rng.uniform(-size, c.w + size)
        _conifer(c, x, _height_at(line, x) + size * 0.15, size * c.rng.uniform(0.6, 1.3), colour)


def _skyline(c: Canvas, base: float, tallest: float, colour: RGB, windows: float) -> None:
    x = -c.rng.uniform(0, c.w * 0.05)
    while x < c.w:
        bw, bh = c.w * c.rng.uniform(0.03, 0.08), tallest * c.rng.uniform(0.25, 1.0)
        c.draw.rectangle((x, base - bh, x + bw, c.h), fill=colour)
        if bh > tallest * 0.8 and c.rng.random() < 0.5:
            c.draw.line(
                (x + bw / 2, base - bh, x + bw / 2, base - bh * 1.12),
                fill=colour,
                width=max(1, int(c.scale(1))),
            )
        step = max(2.0, c.scale(4))  # at least 2 px: range() needs a non-zero step on small pictures
        for wy in range(int(base - bh + step), int(base), int(step * 1.4)):
            for wx in range(int(x + step * 0.6), int(x + bw - step * 0.6), int(step)):
                if c.rng.random() < windows:
                    c.draw.rectangle(
                        (wx, wy, wx + step * 0.45, wy + step * 0.6), fill=(*c.glow, c.rng.randint(110, 230))
                    )
        x += bw * c.rng.uniform(0.7, 1.0)  # overlapping, so no sky shows between them


def _tower(c: Canvas, x: float, base: float, height: float, lighthouse: bool) -> None:
    body = mix(c.deep, c.dark, 0.4)
    bw, tw, top = height * 0.17, height * 0.11, base - height
    c.draw.polygon([(x - bw / 2, base), (x + bw / 2, base), (x + tw / 2, top), (x - tw / 2, top)], fill=body)
    lamp = top - height * 0.06
    if lighthouse:
        for k in (0.2, 0.55):  # painted bands
            y0, y1, inset = base - height * k, base - height * (k + 0.15), (bw - tw) / 2 * k
            band = [(x - bw / 2 + inset, y0), (x + bw / 2 - inset, y0), (x + tw / 2, y1), (x - tw / 2, y1)]
            c.draw.polygon(band, fill=(*c.mid, 70))
        side = c.rng.choice((-1, 1))
        beam = Image.new("L", (c.w, c.h))
        spread = height * 0.35
        ImageDraw.Draw(beam).polygon(
            [(x, lamp), (x + side * c.w, lamp - spread * 1.4), (x + side * c.w, lamp + spread * 0.6)],
            fill=110,
        )
        c.image.paste(c.glow, (0, 0), beam.filter(ImageFilter.GaussianBlur(c.scale(6))))
        c.glow_at(x, lamp, height * 0.9, c.glow, 0.7)
        c.lights.append(x)
    c.draw.rectangle((x - tw * 0.7, top, x + tw * 0.7, top + height * 0.025), fill=body)
    c.draw.rectangle((x - tw * 0.35, lamp, x + tw * 0.35, top), fill=c.glow if lighthouse else body)
    roof = height * (0.06 if lighthouse else 0.25)
    c.draw.polygon([(x - tw * 0.5, lamp), (x + tw * 0.5, lamp), (x, lamp - roof)], fill=body)
    if not lighthouse:
        c.draw.rectangle((x - tw * 0.1, top + height * 0.2, x + tw * 0.1, top + height * 0.26), fill=c.glow)


def _sea(c: Canvas, horizon: int) -> None:
    depth = c.h - horizon
    water = c.vertical([(0, mix(c.light, c.mid, 0.4)), (0.35, c.mid), (1, mix(c.dark, c.deep, 0.5))], depth)
    mirror = c.image.crop((0, horizon - depth, c.w, horizon)).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    rippled = mirror.copy()
    strip = max(1, int(c.scale(2)))
    for y in range(0, depth, strip):  # wobble the reflection line by line, more as it nears
        rippled.paste(mirror.crop((0, y, c.w, y + strip)), (int(c.rng.gauss(0, 1 + 4 * y / depth)), y))
    c.image.paste(Image.blend(water, rippled, 0.45), (0, horizon))
    for x0 in c.lights:  # glitter under each light
        for _ in range(90):
            t = c.rng.random() ** 1.4
            y, x = horizon + depth * t, c.rng.gauss(x0, c.scale(6) + c.w * 0.08 * t)
            half = c.scale(c.rng.uniform(2, 9)) * (1 + 2 * t)
            c.draw.line(
                (x - half, y, x + half, y),
                fill=(*c.glow, c.rng.randint(60, 170)),
                width=max(1, int(c.scale(1))),
            )
    for _ in range(140):  # wave crests and troughs
        t = c.rng.random() ** 1.8
        y, x, half = horizon + depth * t, c.rng.uniform(0, c.w), c.scale(c.rng.uniform(4, 20)) * (1 + 3 * t)
        tint = (*c.light, 45) if c.rng.random() < 0.5 else (*c.deep, 55)
        c.draw.line((x - half, y, x + half, y), fill=tint, width=max(1, int(c.scale(1 + t))))
    c.draw.line((0, horizon, c.w, horizon), fill=(*c.light, 90), width=max(1, int(c.scale(1))))


def _sun(c: Canvas, horizon: int) -> None:
    x, y, r = (
        c.w * c.rng.uniform(0.25, 0.75),
        horizon - c.h * c.rng.uniform(0.03, 0.25),
        c.w * c.rng.uniform(0.05, 0.08),
    )
    c.glow_at(x, y, c.w * 0.9, c.glow, 0.55)
    c.glow_at(x, y, r * 3, c.glow, 0.8)
    c.draw.ellipse((x - r, y - r, x + r, y + r), fill=mix(c.glow, (255, 255, 255), 0.5))
    c.lights.append(x)


def _moon(c: Canvas, horizon: int) -> None:
    x, y, r = (
        c.w * c.rng.uniform(0.2, 0.8),
        horizon * c.rng.uniform(0.2, 0.5),
        c.w * c.rng.uniform(0.035, 0.06),
    )
    c.glow_at(x, y, r * 7, c.light, 0.4)
    c.draw.ellipse((x - r, y - r, x + r, y + r), fill=mix(c.glow, (255, 255, 255), 0.6))
    for _ in range(4):  # the dark seas on its face
        cx, cy, cr = x + c.rng.uniform(-r, r) / 2, y + c.rng.uniform(-r, r) / 2, r * c.rng.uniform(0.15, 0.35)
        c.draw.ellipse((cx - cr, cy - cr, cx + cr, cy + cr), fill=(*c.mid, 40))
    c.lights.append(x)


def _clouds(c: Canvas, horizon: int) -> None:
    mask = Image.new("L", (c.w, c.h))
    puff = ImageDraw.Draw(mask)
    for _ in range(c.rng.randint(5, 9)):
        x, y, size = c.rng.uniform(0, c.w), horizon * c.rng.uniform(0.1, 0.8), c.w * c.rng.uniform(0.05, 0.12)
        for _ in range(6):
            px, py = x + c.rng.uniform(-2, 2) * size, y + c.rng.uniform(-0.3, 0.3) * size
            r = size * c.rng.uniform(0.5, 1)
            puff.ellipse((px - r * 1.6, py - r * 0.6, px + r * 1.6, py + r * 0.6), fill=150)
    c.image.paste(mix(c.light, c.glow, 0.3), (0, 0), mask.filter(ImageFilter.GaussianBlur(c.scale(8))))


def _mountains(c: Canvas, horizon: int) -> None:
    for i in range(3):  # ranges fading into the distance, each with a peak or two
        peaks = [(c.rng.uniform(0, c.w), c.w * c.rng.uniform(0.15, 0.4)) for _ in range(c.rng.randint(1, 2))]
        height = c.h * (0.3 - 0.08 * i) * c.rng.uniform(0.6, 1.0)
        line = [
            (x, y - height * max(max(0.0, 1 - abs(x - px) / pw) for px, pw in peaks))
            for x, y in c.ridge(horizon - c.h * (0.08 - 0.03 * i), c.h * 0.12)
        ]
        c.fill_below(line, mix(c.light, c.deep, 0.25 + 0.18 * i))


def _headland(c: Canvas, horizon: int) -> None:
    """A cliff rising from the sea at one side, with the tower near its edge."""
    w, h, rng = c.w, c.h, c.rng
    side = rng.choice((0, 1))
    edge, reach, top = w * side, w * rng.uniform(0.28, 0.4), horizon - h * rng.uniform(0.04, 0.09)
    sign = 1 if side == 0 else -1
    rock: Line = [(edge, h), (edge, top)]
    rock += [(edge + sign * reach * i / 8, top + rng.uniform(-1, 1) * h * 0.008) for i in range(9)]
    rock += [
        (edge + sign * (reach + h * 0.03 * k), top + (h - top) * k / 4 + rng.uniform(0, h * 0.01))
        for k in range(1, 5)
    ]
    c.draw.polygon(rock, fill=mix(c.deep, c.dark, 0.2))
    height = h * rng.uniform(0.26, 0.34)
    _tower(c, edge + sign * reach * 0.7, top + h * 0.005, height, "lighthouse" in c.plan.words)


def landscape(c: Canvas) -> None:
    """Sky, then what stands on the horizon, then sea or nearer hills, back to front."""
    f, w, h, rng = c.plan.features, c.w, c.h, c.rng
    sea, dunes = "sea" in f, "dunes" in f
    horizon = int(h * (rng.uniform(0.52, 0.6) if sea else rng.uniform(0.58, 0.66)))
    hz = horizon / h
    sky = [(0, c.deep), (hz * 0.5, mix(c.dark, c.mid, 0.5)), (hz * 0.95, c.light), (1, c.mid)]
    c.image.paste(c.vertical(sky))
    if "stars" in f:
        c.stars(horizon * 0.95, int(c.w * c.h / 900))
    for feature, element in (("sun", _sun), ("moon", _moon), ("clouds", _clouds), ("mountain", _mountains)):
        if feature in f:
            element(c, horizon)
    if sea:
        if "city" in f:
            _skyline(c, horizon, h * 0.2, mix(c.dark, c.light, 0.3), 0.3)
        if "forest" in f:
            _forest(c, [(x, float(horizon)) for x in (0, w)], 60, h * 0.06, mix(c.deep, c.dark, 0.6))
        c.soften(1.2)
        if "fog" in c.plan.textures:
            c.haze(horizon, h * 0.12, 0.75)
        _sea(c, horizon)
        if "tower" in f:
            _headland(c, horizon)
        return
    far = c.hills(horizon, h * (0.06 if dunes else 0.03))
    far_colour = mix(c.light, c.deep, 0.8 if "mountain" in f else 0.45)
    c.fill_below(far, mix(c.light, c.mid, 0.4) if dunes else far_colour)
    if "city" in f:
        _skyline(c, horizon + h * 0.02, h * 0.28, mix(c.dark, c.light, 0.25), 0.0)
        c.soften(0.8)
        _skyline(c, horizon + h * 0.05, h * 0.2, c.deep, 0.3)
    if "forest" in f:
        _forest(c, far, 70, h * 0.07, mix(c.dark, c.light, 0.35))
    c.soften(1.2)
    if "fog" in c.plan.textures:
        c.haze(horizon, h * 0.15, 0.7)
    near = c.hills(horizon + h * 0.15, h * (0.08 if dunes else 0.04))
    c.fill_below(near, mix(c.mid, c.dark, 0.6) if dunes else mix(c.deep, c.dark, 0.3))
    if "forest" in f:
        _forest(c, near, 18, h * 0.2, c.deep)
    if "tower" in f:
        x = w * rng.uniform(0.2, 0.8)
        _tower(c, x, _height_at(near, x) + h * 0.01, h * rng.uniform(0.3, 0.42), "lighthouse" in c.plan.words)


def _bokeh(c: Canvas) -> None:
    c.image.paste(c.vertical([(0, c.deep), (0.6, c.dark), (1, mix(c.dark, c.mid, 0.5))]))
    for colour in (c.mid, c.light):
        c.glow_at(c.rng.uniform(0, c.w), c.rng.uniform(0, c.h), c.w * 0.7, colour, 0.5)
    for count, size, alpha, blur in (
        (14, 0.14, (35, 70), 6.0),
        (16, 0.07, (60, 110), 2.5),
        (12, 0.03, (110, 190), 0.8),
    ):
        for _ in range(count):
            x, y, r = c.rng.uniform(0, c.w), c.rng.uniform(0, c.h), c.w * size * c.rng.uniform(0.5, 1.3)
            colour = c.rng.choice((c.mid, c.light, c.glow))
            c.draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour, c.rng.randint(*alpha)))
        c.soften(blur)


def _waves(c: Canvas) -> None:
    c.image.paste(c.vertical([(0, c.dark), (0.35, c.light), (1, c.glow)]))
    c.glow_at(c.w * c.rng.uniform(0.2, 0.8), c.h * c.rng.uniform(0.12, 0.3), c.w * 0.5, c.glow, 0.6)
    bands = c.rng.randint(6, 9)
    for i in range(bands):
        line = c.hills(c.h * (0.3 + 0.68 * i / bands), c.h * c.rng.uniform(0.025, 0.06))
        c.fill_below(line, c.at(0.72 - 0.72 * i / (bands - 1)))
        c.draw.line(line, fill=(*c.glow, 60), width=max(1, int(c.scale(1.5))))
        if i == bands // 2:
            c.soften(1.5)


def _rings(c: Canvas) -> None:
    c.image.paste(c.vertical([(0, c.deep), (1, c.dark)]))
    x, y, big = c.w * c.rng.uniform(0.3, 0.7), c.h * c.rng.uniform(0.3, 0.7), max(c.w, c.h) * 0.9
    for i in range(16):
        r = big * (1 - i / 16) ** 1.2
        cx, cy = x + c.rng.gauss(0, r * 0.04), y + c.rng.gauss(0, r * 0.04)
        c.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*c.at(0.1 + 0.9 * i / 15), 200))
    c.soften(4)
    for _ in range(3):  # tilted orbits with a small moon on each
        a, b, tilt = big * c.rng.uniform(0.4, 0.9), big * c.rng.uniform(0.08, 0.25), c.rng.uniform(-0.6, 0.6)
        ellipse = [(a * math.cos(t / 30), b * math.sin(t / 30)) for t in range(189)]
        cos, sin = math.cos(tilt), math.sin(tilt)
        orbit = [(x + ex * cos - ey * sin, y + ex * sin + ey * cos) for ex, ey in ellipse]
        c.draw.line(orbit, fill=(*c.glow, 70), width=max(1, int(c.scale(1))))
        mx, my = orbit[c.rng.randrange(len(orbit))]
        c.glow_at(mx, my, c.scale(14), c.glow, 0.9)


def _aurora(c: Canvas) -> None:
    c.image.paste(c.vertical([(0, c.deep), (0.7, c.deep), (1, c.dark)]))
    c.stars(c.h * 0.85, int(c.w * c.h / 1400))
    width = max(1, int(c.scale(2)))
    for _ in range(c.rng.randint(2, 3)):  # curtains: rays rising from a wavy hem, fading as they rise
        hem, colour = c.hills(c.h * c.rng.uniform(0.35, 0.6), c.h * 0.07), c.rng.choice((c.glow, c.light))
        tall, phase = c.h * c.rng.uniform(0.15, 0.35), c.rng.uniform(0, 6.3)
        for x in range(0, c.w, width):
            y = _height_at(hem, x)
            length = tall * (0.65 + 0.35 * math.sin(x / c.w * 11 + phase)) * c.rng.uniform(0.75, 1.0)
            strength = c.rng.randint(30, 80)
            for k in range(6):
                alpha = int(strength * (1 - k / 6))
                c.draw.line(
                    (x, y - length * k / 6, x, y - length * (k + 1) / 6), fill=(*colour, alpha), width=width
                )
    c.soften(2)
    c.fill_below(c.ridge(c.h * 0.86, c.h * 0.08), mix(c.deep, (0, 0, 0), 0.4))


SCENES: dict[str, Callable[[Canvas], None]] = {
    "bokeh": _bokeh,
    "waves": _waves,
    "rings": _rings,
    "aurora": _aurora,
}
