"""The library of drawable subjects: parametric drawers (one quadruped, one bird, one figure, one boat...)
with per-subject proportions and colours, each registered under the names a prompt may use.

A drawer paints one subject standing on the point (x, y) (its base, centred), ``s`` pixels tall, in a
main colour (the one a colour word in the prompt replaces), facing ``f`` (1 right, -1 left). Drawers use
only their ``Pen``'s seeded random source, so the same arguments always give the same pixels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

RGB = tuple[int, int, int]


def rgb(value: str) -> RGB:
    """'c0ffee' -> (192, 255, 238)."""
    return (int(value[:2], 16), int(value[2:4], 16), int(value[4:], 16))


def shade(colour: RGB, k: float) -> RGB:
    """Darker (k < 1) or lighter (k > 1, towards white)."""
    if k <= 1:
        return (round(colour[0] * k), round(colour[1] * k), round(colour[2] * k))
    t = min(1.0, k - 1)
    return (
        round(colour[0] + (255 - colour[0]) * t),
        round(colour[1] + (255 - colour[1]) * t),
        round(colour[2] + (255 - colour[2]) * t),
    )


class Pen:
    """Drawing helpers on one image, with the seeded random source of the picture."""

    def __init__(self, image: Image.Image, rng: random.Random) -> None:
        self.image = image
        self.d = ImageDraw.Draw(image)
        self.rng = rng

    def e(self, cx: float, cy: float, rx: float, ry: float, col: RGB) -> None:
        """An ellipse centred on (cx, cy)."""
        rx, ry = max(rx, 0.5), max(ry, 0.5)
        self.d.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=col)

    def r(self, x0: float, y0: float, x1: float, y1: float, col: RGB) -> None:
        """A rectangle, corners in any order."""
        self.d.rectangle((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), fill=col)

    def p(self, pts: list[tuple[float, float]], col: RGB) -> None:
        """A filled polygon."""
        self.d.polygon(pts, fill=col)

    def ln(self, pts: list[tuple[float, float]], col: RGB, w: float) -> None:
        """A polyline with round joints."""
        self.d.line(pts, fill=col, width=max(1, round(w)), joint="curve")

    def arc(
        self, cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, col: RGB, w: float
    ) -> None:
        """An elliptic arc, angles in degrees clockwise from 3 o'clock."""
        self.d.arc((cx - rx, cy - ry, cx + rx, cy + ry), a0, a1, fill=col, width=max(1, round(w)))

    def pie(self, cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, col: RGB) -> None:
        """A filled elliptic sector."""
        self.d.pieslice((cx - rx, cy - ry, cx + rx, cy + ry), a0, a1, fill=col)

    def chord(self, cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, col: RGB) -> None:
        """A filled elliptic segment."""
        self.d.chord((cx - rx, cy - ry, cx + rx, cy + ry), a0, a1, fill=col)


Drawer = Callable[[Pen, float, float, float, RGB, int, dict[str, Any]], None]


@dataclass(frozen=True)
class Kind:
    """A drawable subject: its drawer and parameters, default colour, layer, relative size and home."""

    name: str
    category: str  # animal, person, vehicle, boat, building, plant, food, object, sky
    draw: Drawer
    colour: RGB
    layer: str = "ground"  # ground, water, sky, table
    size: float = 0.3  # height as a share of the picture's height, in the foreground
    aspect: float = 1.0  # width / height, for placement
    home: str = ""  # the place it implies when the prompt names none
    params: dict[str, Any] = field(default_factory=dict)


KINDS: dict[str, Kind] = {}
# Every name a subject answers to -> its first (canonical) name: "kitty" is not here, "yacht" -> "sailboat".
CANONICAL: dict[str, str] = {}


def _add(names: str, category: str, drawer: Drawer, colour: str, **kw: Any) -> None:
    params = kw.pop("params", {})
    first = names.split()[0]
    for name in names.split():
        KINDS[name] = Kind(first, category, drawer, rgb(colour), params=params, **kw)
        CANONICAL[name] = first


# --- animals ---


def quadruped(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Four legs, a body, a neck, a head; ears, horns, tail, mane, trunk and markings from ``k``."""
    leg, bh, bw = k.get("leg", 0.4) * s, k.get("bh", 0.35) * s, k.get("bw", 1.0) * s
    neck, hs = k.get("neck", 0.15) * s, k.get("head", 0.22) * s
    belly = rgb(k["belly"]) if "belly" in k else shade(col, 1.25)
    dark = shade(col, 0.6)
    top = y - leg - bh
    bx0, bx1 = x - bw / 2, x + bw / 2
    lw = max(2.0, bw * k.get("legw", 0.09))
    legs = [bx0 + bw * 0.12, bx0 + bw * 0.26, bx1 - bw * 0.26, bx1 - bw * 0.12]
    for i, lx in enumerate(legs):
        c = dark if i in (1, 2) else col
        pn.r(lx - lw / 2, y - leg - bh * 0.3, lx + lw / 2, y, c)
        if k.get("hoof"):
            pn.r(lx - lw / 2, y - lw * 0.6, lx + lw / 2, y, shade(col, 0.35))
    # tail at the back
    tx = x - f * bw / 2
    tail = k.get("tail", "thin")
    if tail == "bushy":
        pn.e(tx - f * bw * 0.22, top + bh * 0.75, bw * 0.26, bh * 0.22, col)
        pn.e(tx - f * bw * 0.4, top + bh * 0.8, bw * 0.08, bh * 0.12, belly)
    elif tail == "thin":
        pn.ln(
            [(tx, top + bh * 0.2), (tx - f * bw * 0.2, top + bh * 0.5), (tx - f * bw * 0.22, top + bh)],
            col,
            lw * 0.6,
        )
    elif tail == "tuft":
        pn.ln([(tx, top + bh * 0.2), (tx - f * bw * 0.1, top + bh * 0.9)], col, lw * 0.4)
        pn.e(tx - f * bw * 0.1, top + bh * 0.95, lw * 0.7, lw, dark)
    elif tail == "long":  # a reptile's: thick at the body, thin at the tip, to the ground
        pn.p([(tx, top + bh * 0.1), (tx, top + bh * 0.7), (tx - f * bw * 0.7, y - leg * 0.2)], col)
    elif tail == "flow":  # a horse's: hair falling from the rump
        hair = rgb(k["mane"]) if "mane" in k else shade(col, 0.6)
        pn.p([(tx + f * bw * 0.04, top + bh * 0.05), (tx - f * bw * 0.12, top + bh * 0.15),
              (tx - f * bw * 0.2, y - leg * 0.35), (tx - f * bw * 0.06, y - leg * 0.45)], hair)  # fmt: skip
    elif tail == "short":
        pn.e(tx, top + bh * 0.3, bw * 0.06, bh * 0.12, belly)
    pn.e(x, top + bh / 2, bw / 2, bh / 2, col)
    for hump in range(k.get("humps", 0)):
        pn.e(x - f * bw * (0.05 - 0.25 * hump), top + bh * 0.1, bw * 0.2, bh * 0.6, col)
    pn.e(x + f * bw * 0.05, top + bh * 0.75, bw * 0.36, bh * 0.22, belly)
    pattern = k.get("pattern")
    if pattern == "stripes":
        for i in range(6):
            sx = bx0 + bw * (0.15 + i * 0.13)
            pn.ln(
                [(sx, top + bh * 0.05), (sx + bw * 0.04, top + bh * 0.7)],
                rgb(k.get("mark", "201010")),
                lw * 0.5,
            )
    elif pattern in ("spots", "patches"):
        n, rad = (9, 0.05) if pattern == "spots" else (4, 0.11)
        for _ in range(n):
            pn.e(
                pn.rng.uniform(bx0 + bw * 0.2, bx1 - bw * 0.2),
                pn.rng.uniform(top + bh * 0.2, top + bh * 0.7),
                bw * rad,
                bh * rad * 1.6,
                rgb(k.get("mark", "201010")),
            )
    # neck and head at the front
    nx = x + f * bw * 0.38
    hx, hy = nx + f * hs * 0.5 + f * neck * 0.3, top - neck + hs * 0.3
    pn.p(
        [
            (nx - f * bw * 0.1, top + bh * 0.5),
            (nx + f * bw * 0.1, top + bh * 0.3),
            (hx + f * hs * 0.1, hy),
            (hx - f * hs * 0.4, hy),
        ],
        col,
    )
    if k.get("mane"):
        mane = rgb(k["mane"])
        if k.get("mane_round"):
            pn.e(hx, hy, hs * 1.0, hs * 1.0, mane)
        else:
            pn.ln([(nx - f * bw * 0.05, top + bh * 0.2), (hx - f * hs * 0.3, hy - hs * 0.3)], mane, lw * 1.2)
    ear = k.get("ears", "point")
    if ear == "point":
        for dx in (-0.3, 0.25):
            ex = hx + dx * hs
            pn.p(
                [(ex - hs * 0.22, hy - hs * 0.25), (ex + hs * 0.22, hy - hs * 0.25), (ex, hy - hs * 1.0)], col
            )
    elif ear == "long":
        for dx in (-0.25, 0.15):
            pn.e(hx + dx * hs, hy - hs * 0.9, hs * 0.14, hs * 0.6, col)
    elif ear == "round":
        for dx in (-0.45, 0.4):
            pn.e(hx + dx * hs, hy - hs * 0.4, hs * 0.22, hs * 0.22, dark)
    elif ear == "flop":
        pn.e(hx - f * hs * 0.35, hy - hs * 0.05, hs * 0.16, hs * 0.4, dark)
    elif ear == "big":
        pn.e(hx - f * hs * 0.5, hy + hs * 0.1, hs * 0.6, hs * 0.75, dark)
    snout = k.get("snout", 0.5)
    pn.e(hx, hy, hs * 0.5, hs * 0.45, col)
    pn.e(hx + f * hs * snout * 0.8, hy + hs * 0.15, hs * snout * 0.55, hs * 0.25, belly)
    pn.e(hx + f * hs * (snout * 0.8 + snout * 0.5), hy + hs * 0.08, hs * 0.09, hs * 0.08, (25, 20, 20))
    pn.e(hx + f * hs * 0.12, hy - hs * 0.12, hs * 0.08, hs * 0.08, (20, 15, 15))
    horns = k.get("horns")
    if horns == "antlers":
        for dx in (-0.2, 0.2):
            bx, by = hx + dx * hs, hy - hs * 0.4
            pn.ln([(bx, by), (bx - f * hs * 0.3, by - hs * 1.2)], rgb("8a6a44"), lw * 0.4)
            pn.ln(
                [(bx - f * hs * 0.15, by - hs * 0.6), (bx + f * hs * 0.3, by - hs * 1.0)],
                rgb("8a6a44"),
                lw * 0.4,
            )
            pn.ln(
                [(bx - f * hs * 0.25, by - hs * 1.0), (bx - f * hs * 0.7, by - hs * 1.3)],
                rgb("8a6a44"),
                lw * 0.4,
            )
    elif horns == "horns":
        pn.ln(
            [(hx - f * hs * 0.2, hy - hs * 0.4), (hx - f * hs * 0.5, hy - hs * 0.8)], rgb("e8dcc0"), lw * 0.5
        )
    elif horns == "curl":
        pn.arc(hx - f * hs * 0.2, hy - hs * 0.2, hs * 0.35, hs * 0.35, 180, 450, rgb("b89a70"), lw * 0.5)
    elif horns == "unicorn":
        pn.p(
            [
                (hx - hs * 0.08, hy - hs * 0.4),
                (hx + hs * 0.08, hy - hs * 0.4),
                (hx + f * hs * 0.5, hy - hs * 1.5),
            ],
            rgb("f4e38a"),
        )
    if k.get("trunk"):
        pn.ln(
            [
                (hx + f * hs * 0.4, hy + hs * 0.1),
                (hx + f * hs * 0.6, hy + hs * 0.8),
                (hx + f * hs * 0.5, y - leg * 0.2),
            ],
            col,
            hs * 0.3,
        )
        pn.p(
            [
                (hx + f * hs * 0.3, hy + hs * 0.3),
                (hx + f * hs * 0.5, hy + hs * 0.35),
                (hx + f * hs * 0.45, hy + hs * 0.9),
            ],
            rgb("f4efe0"),
        )
    if k.get("wings"):
        wing = rgb(k["wings"])
        pn.p(
            [
                (x - f * bw * 0.1, top + bh * 0.2),
                (x + f * bw * 0.2, top + bh * 0.2),
                (x - f * bw * 0.5, top - bh * 1.6),
                (x - f * bw * 0.2, top - bh * 0.6),
            ],
            wing,
        )


def bird(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """A standing or a flying bird: body, head, beak, wing, legs, neck from ``k``."""
    beak, legc = rgb(k.get("beak", "e8a030")), rgb(k.get("legs_colour", "d08a30"))
    if k.get("flying"):
        cy = y - s * 0.5
        wing = shade(col, 0.8)
        pn.p([(x - s * 0.1, cy), (x - s * 0.9, cy - s * 0.45), (x - s * 0.4, cy + s * 0.05)], wing)
        pn.p([(x + s * 0.1, cy), (x + s * 0.9, cy - s * 0.45), (x + s * 0.4, cy + s * 0.05)], wing)
        pn.e(x, cy + s * 0.05, s * 0.35, s * 0.12, col)
        pn.e(x + f * s * 0.35, cy, s * 0.12, s * 0.1, col)
        pn.p(
            [
                (x + f * s * 0.45, cy - s * 0.03),
                (x + f * s * 0.6, cy + s * 0.02),
                (x + f * s * 0.45, cy + s * 0.05),
            ],
            beak,
        )
        return
    upright = k.get("upright", False)
    leg, neck = k.get("leg", 0.25) * s, k.get("neck", 0.1) * s
    body_h = s * (0.5 if upright else 0.38)
    body_w = s * (0.36 if upright else 0.6) * k.get("bw", 1.0)
    by = y - leg - body_h / 2
    for dx in (-0.1, 0.08):
        pn.ln([(x + dx * s, by + body_h * 0.3), (x + dx * s, y)], legc, max(1.5, s * 0.03))
    if not upright:  # tail
        pn.p(
            [
                (x - f * body_w * 0.4, by - body_h * 0.1),
                (x - f * body_w * 0.85, by - body_h * 0.35),
                (x - f * body_w * 0.8, by + body_h * 0.1),
            ],
            shade(col, 0.8),
        )
    pn.e(x, by, body_w / 2, body_h / 2, col)
    if "belly" in k:
        pn.e(x + f * body_w * 0.08, by + body_h * 0.1, body_w * 0.32, body_h * 0.36, rgb(k["belly"]))
    pn.e(x - f * body_w * 0.05, by - body_h * 0.05, body_w * 0.32, body_h * 0.25, shade(col, 0.75))
    hr = s * k.get("head", 0.13)
    hx = x + f * (body_w * (0.1 if upright else 0.35))
    hy = by - body_h * (0.45 if upright else 0.3) - neck
    if neck > 0:
        pn.ln([(x + f * body_w * 0.3, by - body_h * 0.1), (hx, hy)], col, max(2.0, hr * 0.7))
    pn.e(hx, hy, hr, hr, rgb(k["head_colour"]) if "head_colour" in k else col)
    bl = s * k.get("beak_len", 0.12)
    pn.p(
        [
            (hx + f * hr * 0.7, hy - hr * 0.3),
            (hx + f * (hr + bl), hy + hr * 0.1),
            (hx + f * hr * 0.7, hy + hr * 0.4),
        ],
        beak,
    )
    pn.e(hx + f * hr * 0.35, hy - hr * 0.25, hr * 0.18, hr * 0.18, (15, 15, 15))
    if k.get("eyes_big"):
        for dx in (-0.4, 0.4):
            pn.e(hx + dx * hr, hy - hr * 0.1, hr * 0.35, hr * 0.35, (250, 230, 120))
            pn.e(hx + dx * hr, hy - hr * 0.1, hr * 0.15, hr * 0.15, (15, 15, 15))
    if k.get("comb"):
        pn.e(hx, hy - hr, hr * 0.4, hr * 0.35, (210, 30, 30))


def fish(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """A fish shape: body, tail, fin, eye; whales and sharks by proportion."""
    w, h = s * k.get("len", 2.0), s * 0.6
    cy = y - s * 0.5
    pn.p(
        [
            (x - f * w * 0.38, cy),
            (x - f * w * 0.62, cy - h * 0.5),
            (x - f * w * 0.58, cy),
            (x - f * w * 0.62, cy + h * 0.45),
        ],
        shade(col, 0.8),
    )
    pn.e(x, cy, w * 0.42, h * 0.5, col)
    pn.e(x + f * w * 0.05, cy + h * 0.2, w * 0.3, h * 0.22, shade(col, 1.3))
    if k.get("fin"):
        pn.p(
            [
                (x - f * w * 0.05, cy - h * 0.4),
                (x - f * w * 0.2, cy - h * 1.1),
                (x + f * w * 0.15, cy - h * 0.45),
            ],
            col,
        )
    if k.get("stripes"):
        for dx in (-0.15, 0.1):
            pn.r(x + dx * w - w * 0.03, cy - h * 0.45, x + dx * w + w * 0.03, cy + h * 0.45, (250, 250, 250))
    if k.get("spout"):
        pn.ln([(x + f * w * 0.15, cy - h * 0.5), (x + f * w * 0.15, cy - h * 1.3)], (220, 235, 250), s * 0.05)
    pn.e(x + f * w * 0.28, cy - h * 0.1, s * 0.05, s * 0.05, (15, 15, 20))


def critter(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Small animals that are not four-legged mammals or birds, one shape each."""
    what = k["shape"]
    dark = shade(col, 0.55)
    cy = y - s * 0.5
    if what == "butterfly" or what == "moth":
        for sx in (-1, 1):
            pn.e(x + sx * s * 0.28, cy - s * 0.15, s * 0.28, s * 0.22, col)
            pn.e(x + sx * s * 0.22, cy + s * 0.18, s * 0.18, s * 0.16, shade(col, 0.75))
            pn.e(x + sx * s * 0.3, cy - s * 0.18, s * 0.08, s * 0.07, (250, 250, 240))
        pn.e(x, cy, s * 0.05, s * 0.3, (30, 25, 20))
        pn.ln([(x, cy - s * 0.28), (x - s * 0.12, cy - s * 0.5)], (30, 25, 20), s * 0.02)
        pn.ln([(x, cy - s * 0.28), (x + s * 0.12, cy - s * 0.5)], (30, 25, 20), s * 0.02)
    elif what == "bee":
        pn.e(x - s * 0.1, cy - s * 0.3, s * 0.2, s * 0.14, (225, 235, 245))
        pn.e(x + s * 0.1, cy - s * 0.3, s * 0.2, s * 0.14, (225, 235, 245))
        pn.e(x, cy, s * 0.4, s * 0.25, col)
        for dx in (-0.15, 0.05, 0.25):
            pn.r(x + dx * s - s * 0.05, cy - s * 0.24, x + dx * s + s * 0.03, cy + s * 0.24, (30, 25, 20))
    elif what == "ladybug":
        pn.chord(x, y, s * 0.5, s * 0.9, 180, 360, col)
        pn.ln([(x, y - s * 0.9), (x, y)], (20, 20, 20), s * 0.04)
        pn.chord(x + f * s * 0.45, y, s * 0.2, s * 0.4, 180, 360, (20, 20, 20))
        for dx, dy in ((-0.25, 0.3), (0.25, 0.3), (-0.2, 0.6), (0.2, 0.6)):
            pn.e(x + dx * s, y - dy * s, s * 0.07, s * 0.07, (20, 20, 20))
    elif what == "snail":
        pn.e(x, y - s * 0.08, s * 0.6, s * 0.08, shade(col, 1.3))
        pn.e(x + f * s * 0.5, y - s * 0.25, s * 0.08, s * 0.22, shade(col, 1.3))
        pn.e(x - f * s * 0.05, y - s * 0.45, s * 0.4, s * 0.4, col)
        pn.arc(x - f * s * 0.05, y - s * 0.45, s * 0.25, s * 0.25, 0, 300, dark, s * 0.05)
    elif what == "turtle" or what == "tortoise":
        for dx in (-0.35, 0.3):
            pn.e(x + dx * s, y - s * 0.1, s * 0.1, s * 0.12, shade(col, 1.2))
        pn.e(x + f * s * 0.62, y - s * 0.3, s * 0.15, s * 0.12, shade(col, 1.2))
        pn.chord(x, y - s * 0.15, s * 0.55, s * 0.6, 180, 360, col)
        for dx in (-0.25, 0, 0.25):
            pn.e(x + dx * s, y - s * 0.45, s * 0.1, s * 0.1, dark)
    elif what == "frog":
        pn.e(x, y - s * 0.35, s * 0.5, s * 0.35, col)
        for dx in (-0.22, 0.22):
            pn.e(x + dx * s, y - s * 0.7, s * 0.13, s * 0.13, col)
            pn.e(x + dx * s, y - s * 0.72, s * 0.06, s * 0.06, (15, 15, 15))
            pn.e(x + dx * s * 2, y - s * 0.08, s * 0.18, s * 0.08, dark)
        pn.arc(x, y - s * 0.45, s * 0.25, s * 0.12, 20, 160, dark, s * 0.03)
    elif what == "snake":
        pts = [(x - s * 1.2 + i * s * 0.12, y - s * 0.15 - math.sin(i * 0.8) * s * 0.12) for i in range(18)]
        pn.ln(pts, col, s * 0.18)
        hx, hy = pts[-1]
        pn.e(hx, hy, s * 0.15, s * 0.11, col)
        pn.e(hx + s * 0.05, hy - s * 0.03, s * 0.03, s * 0.03, (15, 15, 15))
    elif what == "crab":
        for sx in (-1, 1):
            for i in range(3):
                pn.ln(
                    [(x + sx * s * 0.3, y - s * 0.3), (x + sx * s * (0.55 + i * 0.08), y - s * 0.05)],
                    dark,
                    s * 0.05,
                )
            pn.ln([(x + sx * s * 0.3, y - s * 0.4), (x + sx * s * 0.5, y - s * 0.8)], col, s * 0.07)
            pn.pie(
                x + sx * s * 0.5,
                y - s * 0.85,
                s * 0.15,
                s * 0.15,
                300 if sx > 0 else 150,
                600 if sx > 0 else 450,
                col,
            )
        pn.e(x, y - s * 0.35, s * 0.42, s * 0.25, col)
    elif what == "octopus":
        for i in range(8):
            ax = x - s * 0.5 + i * s * 0.14
            pn.ln(
                [(x + (ax - x) * 0.4, cy), (ax, cy + s * 0.3), (ax + s * 0.05 * (1 if i % 2 else -1), y)],
                col,
                s * 0.08,
            )
        pn.e(x, cy - s * 0.1, s * 0.32, s * 0.38, col)
        for dx in (-0.12, 0.12):
            pn.e(x + dx * s, cy - s * 0.05, s * 0.06, s * 0.07, (250, 250, 250))
    elif what == "jellyfish":
        for i in range(6):
            ax = x - s * 0.25 + i * s * 0.1
            pn.ln([(ax, cy), (ax + s * 0.05, cy + s * 0.25), (ax - s * 0.03, y)], shade(col, 1.3), s * 0.03)
        pn.chord(x, cy, s * 0.35, s * 0.35, 180, 360, col)
    elif what == "spider":
        for sx in (-1, 1):
            for i in range(4):
                pn.ln(
                    [
                        (x, cy),
                        (x + sx * s * 0.3, cy - s * (0.2 - i * 0.12)),
                        (x + sx * s * 0.5, cy + s * (0.1 + i * 0.1)),
                    ],
                    col,
                    s * 0.03,
                )
        pn.e(x, cy, s * 0.18, s * 0.2, col)
        pn.ln([(x, cy - s * 0.2), (x, y - s)], (200, 200, 200), 1)
    elif what == "dinosaur":
        quadruped(
            pn,
            x,
            y,
            s,
            col,
            f,
            {
                "leg": 0.35,
                "bh": 0.3,
                "bw": 1.2,
                "neck": 0.7,
                "head": 0.14,
                "ears": "none",
                "tail": "long",
                "snout": 0.4,
                "legw": 0.14,
            },
        )
    elif what == "mouse":
        pn.ln([(x - f * s * 0.3, y - s * 0.2), (x - f * s * 0.8, y - s * 0.05)], shade(col, 1.2), s * 0.04)
        pn.e(x, y - s * 0.3, s * 0.38, s * 0.3, col)
        pn.e(x + f * s * 0.35, y - s * 0.35, s * 0.2, s * 0.16, col)
        pn.e(x + f * s * 0.25, y - s * 0.58, s * 0.13, s * 0.13, (235, 170, 170))
        pn.e(x + f * s * 0.55, y - s * 0.36, s * 0.04, s * 0.04, (20, 20, 20))
    elif what == "bat":
        cy = y - s * 0.5
        for sx in (-1, 1):
            pn.p(
                [
                    (x, cy),
                    (x + sx * s * 0.9, cy - s * 0.3),
                    (x + sx * s * 0.7, cy + s * 0.05),
                    (x + sx * s * 0.45, cy - s * 0.02),
                    (x + sx * s * 0.25, cy + s * 0.15),
                ],
                col,
            )
        pn.e(x, cy, s * 0.14, s * 0.2, col)
        for sx in (-1, 1):
            pn.p(
                [
                    (x + sx * s * 0.03, cy - s * 0.15),
                    (x + sx * s * 0.12, cy - s * 0.32),
                    (x + sx * s * 0.12, cy - s * 0.1),
                ],
                col,
            )


_add(
    "fox",
    "animal",
    quadruped,
    "d8642a",
    size=0.24,
    aspect=1.5,
    home="forest",
    params={
        "leg": 0.3,
        "bh": 0.32,
        "bw": 1.1,
        "head": 0.26,
        "tail": "bushy",
        "belly": "f4eee6",
        "snout": 0.7,
        "legw": 0.07,
    },
)
_add(
    "wolf",
    "animal",
    quadruped,
    "7b7f86",
    size=0.3,
    aspect=1.4,
    home="forest",
    params={
        "leg": 0.4,
        "bh": 0.32,
        "bw": 1.1,
        "head": 0.25,
        "tail": "bushy",
        "belly": "c8c8c8",
        "snout": 0.7,
    },
)
_add(
    "dog",
    "animal",
    quadruped,
    "a8743f",
    size=0.24,
    aspect=1.3,
    home="field",
    params={"leg": 0.38, "bh": 0.32, "bw": 0.95, "head": 0.27, "ears": "flop", "tail": "thin", "snout": 0.55},
)
_add(
    "cat",
    "animal",
    quadruped,
    "555056",
    size=0.2,
    aspect=1.3,
    home="room",
    params={"leg": 0.35, "bh": 0.3, "bw": 0.95, "head": 0.25, "tail": "thin", "snout": 0.25, "legw": 0.07},
)
_add(
    "lion",
    "animal",
    quadruped,
    "d4a048",
    size=0.32,
    aspect=1.4,
    home="desert",
    params={
        "leg": 0.4,
        "bh": 0.36,
        "bw": 1.1,
        "head": 0.24,
        "ears": "round",
        "tail": "tuft",
        "snout": 0.4,
        "mane": "8a4a1a",
        "mane_round": True,
    },
)
_add(
    "tiger",
    "animal",
    quadruped,
    "e07a22",
    size=0.3,
    aspect=1.5,
    home="forest",
    params={
        "leg": 0.36,
        "bh": 0.34,
        "bw": 1.2,
        "head": 0.24,
        "ears": "round",
        "tail": "thin",
        "snout": 0.4,
        "pattern": "stripes",
        "belly": "f4eee6",
    },
)
_add(
    "leopard cheetah jaguar",
    "animal",
    quadruped,
    "dcae5a",
    size=0.28,
    aspect=1.5,
    home="desert",
    params={
        "leg": 0.4,
        "bh": 0.3,
        "bw": 1.2,
        "head": 0.22,
        "ears": "round",
        "tail": "thin",
        "snout": 0.35,
        "pattern": "spots",
    },
)
_add(
    "bear",
    "animal",
    quadruped,
    "5a3a22",
    size=0.36,
    aspect=1.4,
    home="forest",
    params={
        "leg": 0.3,
        "bh": 0.5,
        "bw": 1.1,
        "head": 0.3,
        "ears": "round",
        "tail": "short",
        "snout": 0.45,
        "legw": 0.16,
    },
)
_add(
    "polar_bear",
    "animal",
    quadruped,
    "eeeae0",
    size=0.36,
    aspect=1.4,
    home="snow",
    params={
        "leg": 0.3,
        "bh": 0.5,
        "bw": 1.15,
        "head": 0.28,
        "ears": "round",
        "tail": "short",
        "snout": 0.5,
        "legw": 0.16,
        "belly": "e0dcd0",
    },
)
_add(
    "panda",
    "animal",
    quadruped,
    "f2f2ee",
    size=0.3,
    aspect=1.3,
    home="forest",
    params={
        "leg": 0.3,
        "bh": 0.48,
        "bw": 1.0,
        "head": 0.32,
        "ears": "round",
        "tail": "short",
        "snout": 0.3,
        "legw": 0.17,
        "pattern": "patches",
        "mark": "1c1c1c",
    },
)
_add(
    "horse pony",
    "animal",
    quadruped,
    "7a4a2a",
    size=0.4,
    aspect=1.2,
    home="field",
    params={
        "leg": 0.48,
        "bh": 0.3,
        "bw": 0.9,
        "neck": 0.3,
        "head": 0.18,
        "tail": "flow",
        "snout": 0.9,
        "mane": "2a1a10",
        "hoof": True,
    },
)
_add(
    "zebra",
    "animal",
    quadruped,
    "eeeeea",
    size=0.38,
    aspect=1.2,
    home="desert",
    params={
        "leg": 0.46,
        "bh": 0.3,
        "bw": 0.9,
        "neck": 0.28,
        "head": 0.18,
        "tail": "tuft",
        "snout": 0.9,
        "mane": "1a1a1a",
        "pattern": "stripes",
        "hoof": True,
    },
)
_add(
    "unicorn",
    "animal",
    quadruped,
    "f4f0fa",
    size=0.4,
    aspect=1.2,
    home="field",
    params={
        "leg": 0.48,
        "bh": 0.3,
        "bw": 0.9,
        "neck": 0.3,
        "head": 0.18,
        "tail": "flow",
        "snout": 0.9,
        "mane": "d890e0",
        "horns": "unicorn",
        "hoof": True,
    },
)
_add(
    "donkey",
    "animal",
    quadruped,
    "8a8078",
    size=0.32,
    aspect=1.2,
    home="field",
    params={
        "leg": 0.42,
        "bh": 0.32,
        "bw": 0.85,
        "neck": 0.22,
        "head": 0.2,
        "ears": "long",
        "tail": "tuft",
        "snout": 0.8,
        "hoof": True,
    },
)
_add(
    "cow",
    "animal",
    quadruped,
    "f4f0e8",
    size=0.36,
    aspect=1.4,
    home="field",
    params={
        "leg": 0.34,
        "bh": 0.4,
        "bw": 1.15,
        "neck": 0.05,
        "head": 0.22,
        "ears": "round",
        "horns": "horns",
        "tail": "tuft",
        "snout": 0.5,
        "pattern": "patches",
        "mark": "2a2220",
        "hoof": True,
    },
)
_add(
    "bull ox buffalo",
    "animal",
    quadruped,
    "3a2a20",
    size=0.36,
    aspect=1.4,
    home="field",
    params={
        "leg": 0.32,
        "bh": 0.45,
        "bw": 1.15,
        "neck": 0.05,
        "head": 0.24,
        "ears": "round",
        "horns": "horns",
        "tail": "tuft",
        "snout": 0.45,
        "hoof": True,
        "legw": 0.12,
    },
)
_add(
    "deer",
    "animal",
    quadruped,
    "a8703c",
    size=0.36,
    aspect=1.1,
    home="forest",
    params={
        "leg": 0.5,
        "bh": 0.28,
        "bw": 0.85,
        "neck": 0.22,
        "head": 0.18,
        "ears": "point",
        "horns": "antlers",
        "tail": "short",
        "snout": 0.6,
        "legw": 0.06,
        "hoof": True,
    },
)
_add(
    "moose elk reindeer",
    "animal",
    quadruped,
    "5e4430",
    size=0.4,
    aspect=1.2,
    home="forest",
    params={
        "leg": 0.5,
        "bh": 0.34,
        "bw": 0.95,
        "neck": 0.15,
        "head": 0.22,
        "horns": "antlers",
        "tail": "short",
        "snout": 0.8,
        "hoof": True,
    },
)
_add(
    "sheep lamb",
    "animal",
    quadruped,
    "eeeadf",
    size=0.24,
    aspect=1.3,
    home="field",
    params={
        "leg": 0.28,
        "bh": 0.46,
        "bw": 1.0,
        "head": 0.22,
        "ears": "flop",
        "tail": "short",
        "snout": 0.4,
        "legw": 0.06,
        "belly": "dcd6c8",
    },
)
_add(
    "goat",
    "animal",
    quadruped,
    "d8d0c0",
    size=0.26,
    aspect=1.2,
    home="mountains",
    params={
        "leg": 0.4,
        "bh": 0.32,
        "bw": 0.9,
        "neck": 0.1,
        "head": 0.2,
        "horns": "curl",
        "tail": "short",
        "snout": 0.6,
        "hoof": True,
    },
)
_add(
    "pig",
    "animal",
    quadruped,
    "f0a8a8",
    size=0.22,
    aspect=1.4,
    home="field",
    params={
        "leg": 0.22,
        "bh": 0.48,
        "bw": 1.1,
        "head": 0.28,
        "ears": "flop",
        "tail": "thin",
        "snout": 0.35,
        "legw": 0.08,
    },
)
_add(
    "elephant",
    "animal",
    quadruped,
    "8c8c90",
    size=0.45,
    aspect=1.2,
    home="desert",
    params={
        "leg": 0.38,
        "bh": 0.45,
        "bw": 1.0,
        "head": 0.3,
        "ears": "big",
        "tail": "thin",
        "snout": 0.2,
        "trunk": True,
        "legw": 0.18,
    },
)
_add(
    "giraffe",
    "animal",
    quadruped,
    "e0b060",
    size=0.55,
    aspect=0.8,
    home="desert",
    params={
        "leg": 0.45,
        "bh": 0.2,
        "bw": 0.6,
        "neck": 0.55,
        "head": 0.12,
        "ears": "point",
        "tail": "tuft",
        "snout": 0.7,
        "pattern": "patches",
        "mark": "8a4a1a",
        "legw": 0.07,
        "horns": "horns",
    },
)
_add(
    "camel",
    "animal",
    quadruped,
    "c8a060",
    size=0.42,
    aspect=1.1,
    home="desert",
    params={
        "leg": 0.5,
        "bh": 0.3,
        "bw": 0.9,
        "neck": 0.25,
        "head": 0.15,
        "ears": "none",
        "tail": "tuft",
        "snout": 0.8,
        "humps": 1,
        "legw": 0.07,
    },
)
_add(
    "rabbit bunny hare",
    "animal",
    quadruped,
    "c8b8a8",
    size=0.16,
    aspect=1.1,
    home="field",
    params={
        "leg": 0.15,
        "bh": 0.5,
        "bw": 0.85,
        "head": 0.3,
        "ears": "long",
        "tail": "short",
        "snout": 0.25,
        "legw": 0.1,
        "belly": "f4f0ea",
    },
)
_add(
    "squirrel",
    "animal",
    quadruped,
    "b0602a",
    size=0.14,
    aspect=1.1,
    home="forest",
    params={"leg": 0.15, "bh": 0.42, "bw": 0.7, "head": 0.3, "tail": "bushy", "snout": 0.3, "legw": 0.08},
)
_add(
    "raccoon badger",
    "animal",
    quadruped,
    "6e6a66",
    size=0.18,
    aspect=1.4,
    home="forest",
    params={
        "leg": 0.22,
        "bh": 0.45,
        "bw": 1.0,
        "head": 0.28,
        "ears": "round",
        "tail": "bushy",
        "snout": 0.45,
        "pattern": "stripes",
        "mark": "2a2624",
    },
)
_add(
    "dragon",
    "animal",
    quadruped,
    "2e8a4a",
    size=0.45,
    aspect=1.4,
    home="mountains",
    params={
        "leg": 0.3,
        "bh": 0.35,
        "bw": 1.2,
        "neck": 0.35,
        "head": 0.2,
        "ears": "point",
        "horns": "horns",
        "tail": "long",
        "snout": 0.8,
        "wings": "1e5a32",
        "legw": 0.12,
    },
)
_add(
    "dinosaur", "animal", critter, "6a8a3a", size=0.5, aspect=1.5, home="forest", params={"shape": "dinosaur"}
)
_add("mouse rat", "animal", critter, "9a928a", size=0.08, aspect=1.5, home="room", params={"shape": "mouse"})
_add("butterfly moth", "animal", critter, "e87a2a", layer="sky", size=0.1, params={"shape": "butterfly"})
_add("bee", "animal", critter, "f0c020", layer="sky", size=0.07, aspect=1.4, params={"shape": "bee"})
_add("ladybug ladybird beetle", "animal", critter, "d82020", size=0.07, params={"shape": "ladybug"})
_add("snail", "animal", critter, "b07a40", size=0.08, aspect=1.4, home="forest", params={"shape": "snail"})
_add(
    "turtle tortoise",
    "animal",
    critter,
    "4e7a3a",
    size=0.12,
    aspect=1.5,
    home="beach",
    params={"shape": "turtle"},
)
_add("frog toad", "animal", critter, "4aa040", size=0.1, aspect=1.2, home="forest", params={"shape": "frog"})
_add("snake", "animal", critter, "6a8a2a", size=0.1, aspect=2.6, home="desert", params={"shape": "snake"})
_add(
    "crab lobster", "animal", critter, "d84a2a", size=0.1, aspect=1.5, home="beach", params={"shape": "crab"}
)
_add(
    "octopus squid",
    "animal",
    critter,
    "b04a6a",
    layer="water",
    size=0.18,
    home="sea",
    params={"shape": "octopus"},
)
_add(
    "jellyfish",
    "animal",
    critter,
    "c890e0",
    layer="water",
    size=0.16,
    home="sea",
    params={"shape": "jellyfish"},
)
_add("spider", "animal", critter, "2a2220", layer="sky", size=0.1, home="forest", params={"shape": "spider"})
_add("bat", "animal", critter, "2e2630", layer="sky", size=0.1, aspect=2.0, params={"shape": "bat"})
_add(
    "fish goldfish",
    "animal",
    fish,
    "f08a20",
    layer="water",
    size=0.1,
    aspect=2.0,
    home="sea",
    params={"len": 2.0},
)
_add(
    "clownfish",
    "animal",
    fish,
    "f06a10",
    layer="water",
    size=0.1,
    aspect=2.0,
    home="sea",
    params={"len": 2.0, "stripes": True},
)
_add(
    "shark",
    "animal",
    fish,
    "7a8a98",
    layer="water",
    size=0.14,
    aspect=3.0,
    home="sea",
    params={"len": 3.0, "fin": True},
)
_add(
    "dolphin",
    "animal",
    fish,
    "8aa0b8",
    layer="water",
    size=0.13,
    aspect=3.0,
    home="sea",
    params={"len": 2.8, "fin": True},
)
_add(
    "whale",
    "animal",
    fish,
    "3a5470",
    layer="water",
    size=0.22,
    aspect=3.0,
    home="sea",
    params={"len": 3.2, "spout": True},
)
_add(
    "bird sparrow finch",
    "animal",
    bird,
    "8a6a4a",
    size=0.09,
    aspect=1.2,
    home="field",
    params={"belly": "e8d8c0"},
)
_add("robin", "animal", bird, "6a5a4a", size=0.09, aspect=1.2, home="forest", params={"belly": "e86a2a"})
_add(
    "bluebird bluejay",
    "animal",
    bird,
    "3a6ad8",
    size=0.09,
    aspect=1.2,
    home="forest",
    params={"belly": "f0f0f0"},
)
_add("crow raven", "animal", bird, "1e1e24", size=0.12, aspect=1.2, home="field", params={"beak": "2a2a2a"})
_add(
    "parrot macaw",
    "animal",
    bird,
    "d82a2a",
    size=0.16,
    aspect=0.9,
    home="forest",
    params={"upright": True, "beak": "f0e0c0", "belly": "2a6ad8", "head": 0.15},
)
_add(
    "owl",
    "animal",
    bird,
    "8a6a44",
    size=0.16,
    aspect=0.8,
    home="forest",
    params={"upright": True, "leg": 0.05, "head": 0.2, "eyes_big": True, "belly": "d8c0a0", "beak_len": 0.05},
)
_add(
    "eagle hawk falcon",
    "animal",
    bird,
    "5a3a22",
    size=0.2,
    aspect=1.0,
    home="mountains",
    params={"upright": True, "head_colour": "f4f4f0", "beak": "f0c020", "head": 0.12},
)
_add(
    "penguin",
    "animal",
    bird,
    "1e1e26",
    size=0.2,
    aspect=0.6,
    home="snow",
    params={"upright": True, "leg": 0.05, "belly": "f4f4f0", "head": 0.14, "beak_len": 0.08},
)
_add(
    "duck",
    "animal",
    bird,
    "e8e8e0",
    layer="water",
    size=0.1,
    aspect=1.3,
    home="field",
    params={"leg": 0.0, "head_colour": "2a7a3a", "beak": "f0b020"},
)
_add(
    "swan goose",
    "animal",
    bird,
    "f8f8f4",
    layer="water",
    size=0.16,
    aspect=1.1,
    home="field",
    params={"leg": 0.0, "neck": 0.3, "beak": "f07020", "head": 0.09},
)
_add(
    "chicken hen rooster",
    "animal",
    bird,
    "c86a2a",
    size=0.12,
    aspect=1.0,
    home="field",
    params={"comb": True, "leg": 0.2},
)
_add(
    "flamingo",
    "animal",
    bird,
    "f08aa0",
    size=0.3,
    aspect=0.6,
    home="beach",
    params={"leg": 0.5, "neck": 0.3, "beak": "2a2a2a", "head": 0.06, "bw": 0.6},
)
_add(
    "heron crane stork",
    "animal",
    bird,
    "c8ccd4",
    size=0.3,
    aspect=0.6,
    home="field",
    params={"leg": 0.5, "neck": 0.3, "beak": "e0a020", "head": 0.06, "bw": 0.6, "beak_len": 0.2},
)
_add(
    "seagull gull",
    "animal",
    bird,
    "f4f4f4",
    layer="sky",
    size=0.08,
    aspect=2.0,
    home="beach",
    params={"flying": True, "beak": "f0c020"},
)
_add(
    "pelican",
    "animal",
    bird,
    "eeeeea",
    size=0.2,
    aspect=1.0,
    home="beach",
    params={"upright": True, "leg": 0.1, "beak_len": 0.4, "beak": "f0b040", "head": 0.1},
)
_add("dove pigeon", "animal", bird, "b8bcc8", layer="sky", size=0.1, aspect=2.0, params={"flying": True})


# --- people ---


def figure(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """A person: legs, body (clothes in the main colour), arms, head; a hat and something held from ``k``."""
    skin = rgb(k.get("skin", "e0b090"))
    trousers = rgb(k.get("trousers", "2e3440"))
    head = s * 0.075
    hip, shoulder = y - s * 0.45, y - s * 0.8
    lw = s * 0.07
    if k.get("dress"):
        pn.p(
            [
                (x - s * 0.06, shoulder),
                (x + s * 0.06, shoulder),
                (x + s * 0.16, y - s * 0.15),
                (x - s * 0.16, y - s * 0.15),
            ],
            col,
        )
        for dx in (-0.05, 0.05):
            pn.r(x + dx * s - lw * 0.3, y - s * 0.16, x + dx * s + lw * 0.3, y, skin)
    else:
        stride = s * k.get("stride", 0.06)
        pn.ln([(x - s * 0.03, hip), (x - s * 0.03 - stride, y)], trousers, lw)
        pn.ln([(x + s * 0.03, hip), (x + s * 0.03 + stride, y)], trousers, lw)
        pn.r(x - s * 0.09, hip - s * 0.02, x + s * 0.09, shoulder + s * 0.02, col)
        pn.e(x, shoulder + s * 0.02, s * 0.09, s * 0.035, col)
    arm = shade(col, 0.85)
    hold = k.get("hold")
    hand = (x + f * s * 0.2, y - s * 0.52) if hold else (x + f * s * 0.1, y - s * 0.42)
    pn.ln([(x + f * s * 0.07, shoulder + s * 0.03), hand], arm, lw * 0.8)
    pn.ln([(x - f * s * 0.07, shoulder + s * 0.03), (x - f * s * 0.11, y - s * 0.42)], arm, lw * 0.8)
    hx, hy = x, shoulder - head * 1.1
    pn.e(hx, hy, head, head * 1.1, skin)
    if k.get("hair"):
        pn.chord(hx, hy, head * 1.05, head * 1.15, 180, 360, rgb(k["hair"]))
        if k.get("long_hair"):
            pn.r(hx - f * head * 1.05, hy, hx - f * head * 0.3, hy + head * 1.8, rgb(k["hair"]))
    hat = k.get("hat")
    hc = rgb(k.get("hat_colour", "3a3a3a"))
    if hat == "wide":
        pn.e(hx, hy - head * 0.7, head * 2.0, head * 0.35, hc)
        pn.chord(hx, hy - head * 0.6, head * 1.0, head * 1.0, 180, 360, hc)
    elif hat == "cap":
        pn.chord(hx, hy - head * 0.2, head * 1.05, head * 1.0, 180, 360, hc)
        pn.r(hx, hy - head * 0.3, hx + f * head * 1.7, hy - head * 0.1, hc)
    elif hat == "pointed":
        pn.p(
            [
                (hx - head * 1.8, hy - head * 0.6),
                (hx + head * 1.8, hy - head * 0.6),
                (hx - f * head * 0.4, hy - head * 4),
            ],
            hc,
        )
    elif hat == "crown":
        pts = [
            (hx - head, hy - head * 0.5),
            (hx - head, hy - head * 1.7),
            (hx - head * 0.5, hy - head * 1.1),
            (hx, hy - head * 1.8),
            (hx + head * 0.5, hy - head * 1.1),
            (hx + head, hy - head * 1.7),
            (hx + head, hy - head * 0.5),
        ]
        pn.p(pts, rgb("f0c030"))
    elif hat == "helmet":
        pn.e(hx, hy, head * 1.5, head * 1.5, hc)
        pn.e(hx + f * head * 0.3, hy, head * 0.9, head * 0.75, rgb("2a3a5a"))
    elif hat == "chef":
        pn.r(hx - head * 0.8, hy - head * 0.6, hx + head * 0.8, hy - head * 1.4, (250, 250, 250))
        pn.e(hx, hy - head * 1.8, head * 1.1, head * 0.7, (250, 250, 250))
    elif hat == "bowler":
        pn.e(hx, hy - head * 0.65, head * 1.4, head * 0.25, hc)
        pn.chord(hx, hy - head * 0.6, head * 0.9, head * 0.9, 180, 360, hc)
    elif hat == "tricorn":
        pn.p(
            [(hx - head * 1.7, hy - head * 0.6), (hx + head * 1.7, hy - head * 0.6), (hx, hy - head * 2.0)],
            hc,
        )
    hx2, hy2 = hand
    if hold == "rod":
        tip = (hx2 + f * s * 0.55, hy2 - s * 0.45)
        pn.ln([(hx2 - f * s * 0.05, hy2 + s * 0.04), tip], rgb("5a4028"), max(1.5, s * 0.012))
        pn.ln([tip, (tip[0] + f * s * 0.05, y + s * 0.05)], (230, 230, 230), 1)
    elif hold == "staff":
        pn.ln([(hx2, hy2 - s * 0.4), (hx2, y)], rgb("6a4a2a"), s * 0.025)
        pn.e(hx2, hy2 - s * 0.42, s * 0.03, s * 0.03, rgb("80e0ff"))
    elif hold == "sword":
        pn.ln([(hx2, hy2), (hx2 + f * s * 0.1, hy2 - s * 0.4)], (210, 215, 225), s * 0.025)
        pn.ln([(hx2 - s * 0.04, hy2 - s * 0.02), (hx2 + s * 0.05, hy2 - s * 0.04)], rgb("8a6a2a"), s * 0.02)
    elif hold == "umbrella":
        pn.ln([(hx2, hy2), (hx2, hy2 - s * 0.45)], (40, 40, 40), s * 0.015)
        pn.chord(hx2, hy2 - s * 0.45, s * 0.3, s * 0.2, 180, 360, rgb(k.get("umbrella", "d03030")))
    elif hold == "basket":
        pn.chord(hx2, hy2 + s * 0.02, s * 0.08, s * 0.08, 0, 180, rgb("a87a3a"))
    elif hold == "book":
        pn.r(hx2 - s * 0.05, hy2 - s * 0.06, hx2 + s * 0.05, hy2 + s * 0.02, rgb("8a2a2a"))
    elif hold == "guitar":
        pn.e(x + f * s * 0.05, y - s * 0.45, s * 0.09, s * 0.08, rgb("b0702a"))
        pn.ln([(x + f * s * 0.05, y - s * 0.45), (x + f * s * 0.3, y - s * 0.7)], rgb("5a3a1a"), s * 0.02)
    elif hold == "ball":
        pn.e(x + f * s * 0.25, y - s * 0.05, s * 0.06, s * 0.06, (240, 240, 240))
    elif hold == "balloon":
        pn.ln([(hx2, hy2), (hx2 + f * s * 0.05, hy2 - s * 0.4)], (220, 220, 220), 1)
        pn.e(hx2 + f * s * 0.05, hy2 - s * 0.48, s * 0.07, s * 0.09, rgb("e03040"))
    if k.get("suit"):  # astronaut's pack
        pn.r(x - f * s * 0.09, shoulder + s * 0.03, x - f * s * 0.15, hip - s * 0.05, shade(col, 0.8))
    if k.get("cape"):
        pn.p(
            [(x - s * 0.08, shoulder), (x + s * 0.08, shoulder), (x - f * s * 0.25, y - s * 0.1)],
            rgb(k["cape"]),
        )


def _person(names: str, colour: str, size: float = 0.36, home: str = "", **params: Any) -> None:
    _add(names, "person", figure, colour, size=size, aspect=0.4, home=home, params=params)


_person("person figure man human silhouette stranger traveller traveler", "3a5a8a", hair="3a2a1a")
_person("woman girl lady", "b84a6a", dress=True, hair="5a3018", long_hair=True)
_person("child kid boy", "e0a020", size=0.22, hair="5a3a1a", stride=0.08)
_person("fisherman angler", "d8a020", home="sea", hat="wide", hat_colour="4a5a3a", hold="rod")
_person("farmer", "3a6a9a", home="field", hat="wide", hat_colour="d8b870", hold="basket")
_person(
    "knight warrior",
    "9aa0ac",
    home="field",
    hat="helmet",
    hat_colour="8a909c",
    hold="sword",
    trousers="6a707c",
)
_person(
    "wizard witch mage", "4a2a7a", home="forest", hat="pointed", hat_colour="3a1a6a", hold="staff", dress=True
)
_person(
    "astronaut spaceman",
    "eeeeee",
    home="space",
    hat="helmet",
    hat_colour="f0f0f0",
    trousers="dcdcdc",
    suit=True,
)
_person("chef cook baker", "f4f4f4", home="room", hat="chef", trousers="2a2a2a")
_person("king emperor", "8a1a2a", hat="crown", cape="b01a2a", hair="5a4a3a")
_person("queen princess", "7a2a9a", dress=True, hat="crown", long_hair=True, hair="c89a4a")
_person("pirate sailor captain", "2a2a3a", home="sea", hat="tricorn", hat_colour="1a1a1a", hold="sword")
_person("musician guitarist", "5a3a6a", hold="guitar", hair="2a1a1a")
_person("reader student scholar", "6a4a3a", home="room", hold="book", hair="2a1a1a")
_person("walker hiker pedestrian", "2a6a4a", hat="cap", hat_colour="a03030", stride=0.1)
_person(
    "detective gentleman", "6a5a48", hat="bowler", hat_colour="2a2a2a", hold="umbrella", umbrella="1a1a1a"
)
_person("superhero hero", "2a4ad8", cape="d82a2a", hair="1a1a1a")
_person("ghost", "f0f0f8", dress=True, skin="f0f0f8", home="forest")


# --- boats and vehicles ---


def boat(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """A hull in the main colour on the waterline ``y``; sails, cabin, funnels or oars from ``k``."""
    kind = k.get("type", "row")
    w = s * k.get("len", 2.0)
    hull_h = s * k.get("hull", 0.3)
    top = y - hull_h * 0.7
    if kind == "submarine":
        pn.e(x, y - hull_h * 0.3, w / 2, hull_h * 0.7, col)
        pn.r(x - w * 0.08, y - hull_h * 1.6, x + w * 0.1, y - hull_h * 0.6, col)
        return
    if kind == "canoe":
        pn.chord(x, top, w / 2, hull_h, 0, 180, col)
        pn.r(x - w / 2, top - 1, x + w / 2, top + 1, shade(col, 0.6))
    else:
        pn.p(
            [
                (x - w / 2, top),
                (x + w / 2, top),
                (x + w * 0.38, y + hull_h * 0.3),
                (x - w * 0.4, y + hull_h * 0.3),
            ],
            col,
        )
        pn.r(x - w / 2, top, x + w / 2, top + hull_h * 0.18, shade(col, 1.4))
    if kind in ("sail", "yacht"):
        mast = s * k.get("mast", 1.1)
        pn.ln([(x, top), (x, top - mast)], rgb("5a4030"), max(1.5, s * 0.03))
        sail = rgb(k.get("sail", "f4efe2"))
        pn.p(
            [
                (x + f * s * 0.04, top - mast * 0.05),
                (x + f * s * 0.04, top - mast),
                (x + f * w * 0.42, top - mast * 0.08),
            ],
            sail,
        )
        pn.p(
            [
                (x - f * s * 0.04, top - mast * 0.1),
                (x - f * s * 0.04, top - mast * 0.8),
                (x - f * w * 0.3, top - mast * 0.12),
            ],
            shade(sail, 0.9),
        )
    elif kind == "ship":
        pn.r(x - w * 0.25, top, x + w * 0.2, top - s * 0.3, rgb("f0ece2"))
        for i in range(4):
            wx = x - w * 0.2 + i * w * 0.1
            pn.r(wx, top - s * 0.2, wx + w * 0.04, top - s * 0.12, rgb("2a3a4a"))
        for dx in (-0.05, 0.1):
            pn.r(
                x + dx * w,
                top - s * 0.3,
                x + dx * w + w * 0.07,
                top - s * 0.55,
                rgb(k.get("funnel", "c83020")),
            )
    elif kind == "row":
        pn.ln(
            [(x - w * 0.1, top - s * 0.05), (x - w * 0.35, y + hull_h * 0.4)],
            rgb("8a6a44"),
            max(1.5, s * 0.03),
        )
        pn.ln(
            [(x + w * 0.1, top - s * 0.05), (x + w * 0.35, y + hull_h * 0.4)],
            rgb("8a6a44"),
            max(1.5, s * 0.03),
        )
    elif kind == "tug":
        pn.r(x - w * 0.05, top, x + w * 0.25, top - s * 0.35, rgb("f0ece2"))
        pn.r(x - w * 0.2, top, x - w * 0.1, top - s * 0.45, rgb("2a2a2a"))
    elif kind == "raft":
        for i in range(5):
            pn.r(
                x - w / 2 + i * w / 5,
                top - s * 0.02,
                x - w / 2 + (i + 0.9) * w / 5,
                top + hull_h * 0.4,
                rgb("9a7040"),
            )
        pn.ln([(x, top), (x, top - s * 0.8)], rgb("5a4030"), s * 0.03)
        pn.r(x, top - s * 0.8, x + f * w * 0.3, top - s * 0.35, rgb("e8dcc0"))
    elif kind == "gondola":
        pn.ln([(x + f * w * 0.45, top), (x + f * w * 0.55, top - s * 0.25)], col, s * 0.06)
        pn.ln([(x - f * w * 0.3, top - s * 0.6), (x - f * w * 0.1, y + hull_h)], rgb("5a4030"), s * 0.02)


_add(
    "boat rowboat dinghy",
    "boat",
    boat,
    "c03a2a",
    layer="water",
    size=0.16,
    aspect=2.1,
    home="sea",
    params={"type": "row"},
)
_add(
    "sailboat yacht",
    "boat",
    boat,
    "f4f4f0",
    layer="water",
    size=0.18,
    aspect=1.3,
    home="sea",
    params={"type": "sail", "len": 1.4, "hull": 0.22, "mast": 1.6},
)
_add(
    "sailing_ship galleon",
    "boat",
    boat,
    "6a4426",
    layer="water",
    size=0.26,
    aspect=1.4,
    home="sea",
    params={"type": "sail", "len": 1.6, "hull": 0.35, "mast": 1.8, "sail": "efe6cc"},
)
_add(
    "ship ferry liner steamer",
    "boat",
    boat,
    "2a3a5a",
    layer="water",
    size=0.18,
    aspect=3.0,
    home="sea",
    params={"type": "ship", "len": 3.2, "hull": 0.4},
)
_add(
    "canoe kayak",
    "boat",
    boat,
    "d8782a",
    layer="water",
    size=0.08,
    aspect=5.0,
    home="sea",
    params={"type": "canoe", "len": 5.0, "hull": 0.6},
)
_add(
    "tugboat trawler",
    "boat",
    boat,
    "d84a2a",
    layer="water",
    size=0.16,
    aspect=2.0,
    home="sea",
    params={"type": "tug", "len": 2.0, "hull": 0.4},
)
_add(
    "raft", "boat", boat, "9a7040", layer="water", size=0.15, aspect=2.0, home="sea", params={"type": "raft"}
)
_add(
    "gondola",
    "boat",
    boat,
    "1e1e22",
    layer="water",
    size=0.1,
    aspect=4.0,
    home="sea",
    params={"type": "gondola", "len": 4.0, "hull": 0.35},
)
_add(
    "submarine",
    "boat",
    boat,
    "e8c020",
    layer="water",
    size=0.12,
    aspect=3.0,
    home="sea",
    params={"type": "submarine", "len": 3.0, "hull": 0.5},
)


def wheel(pn: Pen, x: float, y: float, r: float) -> None:
    """A tyre with a hub."""
    pn.e(x, y - r, r, r, (28, 28, 30))
    pn.e(x, y - r, r * 0.45, r * 0.45, (170, 170, 175))


def vehicle(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Road and rail vehicles: a body of the main colour on wheels, a cabin with windows."""
    kind = k.get("type", "car")
    w = s * k.get("len", 2.2)
    r = s * k.get("wheel", 0.18)
    glass = (170, 205, 230)
    x0, x1 = x - w / 2, x + w / 2
    if kind in ("bicycle", "motorcycle"):
        for wx in (x0 + r, x1 - r):
            pn.arc(wx, y - r, r, r, 0, 360, (28, 28, 30), max(2.0, r * 0.15))
            if kind == "motorcycle":
                pn.e(wx, y - r, r * 0.35, r * 0.35, (150, 150, 150))
        seat = (x - f * w * 0.1, y - r * 2.0)
        pn.ln([(x0 + r, y - r), (x, y - r), seat, (x1 - r, y - r)], col, max(2.0, s * 0.05))
        pn.ln([(x1 - r if f > 0 else x0 + r, y - r), (x + f * w * 0.3, y - r * 2.4)], col, max(2.0, s * 0.05))
        if kind == "motorcycle":
            pn.e(x, y - r * 1.5, w * 0.2, r * 0.5, col)
        return
    if kind == "train":
        cars = k.get("cars", 3)
        cw = w / cars
        for i in range(cars):
            cx0 = x0 + i * cw
            pn.r(cx0 + 2, y - s * 0.8, cx0 + cw - 2, y - r * 1.2, col if i else shade(col, 0.8))
            for j in range(3):
                pn.r(
                    cx0 + cw * (0.12 + j * 0.28),
                    y - s * 0.68,
                    cx0 + cw * (0.3 + j * 0.28),
                    y - s * 0.48,
                    glass,
                )
            wheel(pn, cx0 + cw * 0.25, y, r)
            wheel(pn, cx0 + cw * 0.75, y, r)
        if k.get("steam"):
            pn.r(x0 + cw * 0.15, y - s * 0.8, x0 + cw * 0.3, y - s * 1.1, (30, 30, 30))
            for i in range(4):
                pn.e(
                    x0 + cw * 0.2 - i * s * 0.2,
                    y - s * (1.2 + i * 0.12),
                    s * 0.12 * (1 + i * 0.3),
                    s * 0.1,
                    (230, 230, 230),
                )
        return
    body_top = y - s * k.get("body", 0.55)
    cab = k.get("cab", "middle")
    if kind == "tractor":
        pn.r(x0 + w * 0.3, body_top, x1, y - r * 1.2, col)
        pn.r(x0 + w * 0.05, y - s * 1.0, x0 + w * 0.45, body_top, shade(col, 0.8))
        pn.r(x0 + w * 0.12, y - s * 0.92, x0 + w * 0.38, body_top - s * 0.05, glass)
        wheel(pn, x0 + w * 0.25, y, s * 0.35)
        wheel(pn, x1 - w * 0.15, y, r)
        return
    pn.r(x0, body_top, x1, y - r * 0.9, col)
    if cab == "middle":
        pn.p(
            [
                (x0 + w * 0.2, body_top),
                (x0 + w * 0.32, body_top - s * 0.35),
                (x1 - w * 0.3, body_top - s * 0.35),
                (x1 - w * 0.15, body_top),
            ],
            col,
        )
        pn.p(
            [
                (x0 + w * 0.25, body_top - 1),
                (x0 + w * 0.34, body_top - s * 0.3),
                (x - w * 0.02, body_top - s * 0.3),
                (x - w * 0.02, body_top - 1),
            ],
            glass,
        )
        pn.p(
            [
                (x + w * 0.02, body_top - 1),
                (x + w * 0.02, body_top - s * 0.3),
                (x1 - w * 0.32, body_top - s * 0.3),
                (x1 - w * 0.2, body_top - 1),
            ],
            glass,
        )
    elif cab == "front":  # truck: cab at the front, box behind
        cx = x1 - w * 0.25 if f > 0 else x0
        pn.r(cx, body_top - s * 0.35, cx + w * 0.25, body_top, col)
        pn.r(cx + w * 0.05, body_top - s * 0.28, cx + w * 0.2, body_top - s * 0.05, glass)
        bx = x0 if f > 0 else x0 + w * 0.27
        pn.r(bx, body_top - s * 0.6, bx + w * 0.73, y - r * 0.9, rgb(k.get("box", "e8e8e8")))
    elif cab == "box":  # bus, van, tram: windows all along
        pn.r(x0, body_top - s * 0.5, x1, body_top, col)
        n = k.get("windows", 5)
        for i in range(n):
            wx = x0 + w * (0.05 + i * 0.9 / n)
            pn.r(wx, body_top - s * 0.42, wx + w * 0.7 / n, body_top - s * 0.1, glass)
    if k.get("stripe"):
        pn.r(x0, body_top + s * 0.08, x1, body_top + s * 0.16, rgb(k["stripe"]))
    if k.get("light"):
        pn.r(x - w * 0.06, body_top - s * 0.45 - s * 0.1, x + w * 0.06, body_top - s * 0.45, rgb(k["light"]))
    if k.get("checker"):
        pn.r(x - w * 0.1, body_top - s * 0.45, x + w * 0.1, body_top - s * 0.37, (30, 30, 30))
    if kind == "tram":
        pn.ln([(x, body_top - s * 0.5), (x - s * 0.3, body_top - s * 0.9)], (40, 40, 40), s * 0.03)
        pn.r(x0 + w * 0.1, y - r * 0.5, x1 - w * 0.1, y - r * 0.9, (50, 50, 50))
        return
    pn.e(x1 - 2 if f > 0 else x0 + 2, body_top + s * 0.1, s * 0.05, s * 0.05, (250, 240, 190))
    wheel(pn, x0 + w * 0.2, y, r)
    wheel(pn, x1 - w * 0.2, y, r)


_add("car automobile sedan", "vehicle", vehicle, "c82a2a", size=0.14, aspect=2.2, home="city", params={})
_add("taxi cab", "vehicle", vehicle, "f0c020", size=0.14, aspect=2.2, home="city", params={"checker": True})
_add(
    "police_car",
    "vehicle",
    vehicle,
    "f0f0f0",
    size=0.14,
    aspect=2.2,
    home="city",
    params={"light": "2060f0", "stripe": "2040a0"},
)
_add(
    "jeep suv",
    "vehicle",
    vehicle,
    "4a5a3a",
    size=0.16,
    aspect=2.0,
    home="desert",
    params={"body": 0.7, "wheel": 0.22, "len": 2.0},
)
_add(
    "truck lorry",
    "vehicle",
    vehicle,
    "2a5ab0",
    size=0.2,
    aspect=2.6,
    home="city",
    params={"cab": "front", "len": 2.6, "body": 0.4},
)
_add(
    "fire_truck fire_engine",
    "vehicle",
    vehicle,
    "d02020",
    size=0.2,
    aspect=2.6,
    home="city",
    params={"cab": "front", "len": 2.6, "body": 0.4, "box": "d02020"},
)
_add(
    "van",
    "vehicle",
    vehicle,
    "e8e8e8",
    size=0.18,
    aspect=2.0,
    home="city",
    params={"cab": "box", "len": 2.0, "windows": 3, "body": 0.35},
)
_add(
    "ambulance",
    "vehicle",
    vehicle,
    "f4f4f4",
    size=0.18,
    aspect=2.0,
    home="city",
    params={"cab": "box", "len": 2.0, "windows": 2, "body": 0.35, "stripe": "d02020", "light": "2060f0"},
)
_add(
    "bus coach",
    "vehicle",
    vehicle,
    "f0b020",
    size=0.22,
    aspect=3.0,
    home="city",
    params={"cab": "box", "len": 3.0, "windows": 6, "body": 0.35},
)
_add(
    "tram streetcar trolley",
    "vehicle",
    vehicle,
    "c8402a",
    size=0.22,
    aspect=3.0,
    home="city",
    params={"type": "tram", "cab": "box", "len": 3.0, "windows": 6, "body": 0.35, "stripe": "f0e0b0"},
)
_add(
    "train",
    "vehicle",
    vehicle,
    "2a7a4a",
    size=0.16,
    aspect=5.0,
    home="field",
    params={"type": "train", "len": 5.0, "cars": 3, "wheel": 0.1},
)
_add(
    "steam_train locomotive",
    "vehicle",
    vehicle,
    "1e1e22",
    size=0.16,
    aspect=4.0,
    home="field",
    params={"type": "train", "len": 4.0, "cars": 2, "wheel": 0.12, "steam": True},
)
_add(
    "tractor",
    "vehicle",
    vehicle,
    "2a8a3a",
    size=0.16,
    aspect=1.6,
    home="field",
    params={"type": "tractor", "len": 1.6},
)
_add(
    "bicycle bike",
    "vehicle",
    vehicle,
    "2a8ad8",
    size=0.14,
    aspect=1.7,
    home="city",
    params={"type": "bicycle", "len": 1.7, "wheel": 0.35},
)
_add(
    "motorcycle motorbike scooter",
    "vehicle",
    vehicle,
    "1e1e1e",
    size=0.15,
    aspect=1.8,
    home="city",
    params={"type": "motorcycle", "len": 1.8, "wheel": 0.32},
)


def aircraft(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Things that fly: plane, helicopter, rocket, hot-air balloon, airship, UFO."""
    kind = k["type"]
    cy = y - s * 0.5
    if kind == "plane":
        pn.p([(x - s * 0.1, cy), (x + s * 0.25, cy), (x - s * 0.35, cy + s * 0.5)], shade(col, 0.8))
        pn.e(x, cy, s * 1.0, s * 0.14, col)
        pn.p([(x - f * s * 0.8, cy), (x - f * s * 1.0, cy - s * 0.4), (x - f * s * 0.9, cy)], col)
        pn.p([(x - s * 0.1, cy), (x + s * 0.25, cy), (x - s * 0.3, cy - s * 0.45)], shade(col, 0.9))
        for i in range(5):
            pn.e(x + f * (s * 0.5 - i * s * 0.18), cy - s * 0.03, s * 0.03, s * 0.03, (60, 90, 130))
    elif kind == "helicopter":
        pn.e(x, cy, s * 0.45, s * 0.3, col)
        pn.r(x - f * s * 0.3, cy - s * 0.05, x - f * s * 1.0, cy + s * 0.05, col)
        pn.e(x + f * s * 0.2, cy - s * 0.05, s * 0.18, s * 0.15, (170, 205, 230))
        pn.r(x - s * 0.03, cy - s * 0.3, x + s * 0.03, cy - s * 0.4, (40, 40, 40))
        pn.r(x - s * 0.9, cy - s * 0.42, x + s * 0.9, cy - s * 0.38, (40, 40, 40))
        pn.ln([(x - s * 0.35, cy + s * 0.4), (x + s * 0.35, cy + s * 0.4)], (40, 40, 40), s * 0.04)
    elif kind == "rocket":
        top, bottom = y - s, y - s * 0.1
        pn.p(
            [(x - s * 0.1, bottom), (x - s * 0.25, y + s * 0.05), (x - s * 0.1, bottom - s * 0.3)],
            rgb("c02020"),
        )
        pn.p(
            [(x + s * 0.1, bottom), (x + s * 0.25, y + s * 0.05), (x + s * 0.1, bottom - s * 0.3)],
            rgb("c02020"),
        )
        pn.r(x - s * 0.12, top + s * 0.25, x + s * 0.12, bottom, col)
        pn.chord(x, top + s * 0.3, s * 0.12, s * 0.32, 180, 360, rgb("c02020"))
        pn.e(x, top + s * 0.45, s * 0.06, s * 0.06, (120, 180, 230))
        pn.p([(x - s * 0.08, bottom), (x + s * 0.08, bottom), (x, bottom + s * 0.35)], rgb("f8b020"))
    elif kind == "balloon":
        pn.e(x, y - s * 0.62, s * 0.32, s * 0.38, col)
        for i in range(3):
            pn.chord(x, y - s * 0.62, s * (0.32 - i * 0.1), s * 0.38, 270 - 10, 270 + 10, shade(col, 1.4))
        pn.p(
            [
                (x - s * 0.2, y - s * 0.38),
                (x + s * 0.2, y - s * 0.38),
                (x + s * 0.07, y - s * 0.2),
                (x - s * 0.07, y - s * 0.2),
            ],
            shade(col, 0.8),
        )
        pn.r(x - s * 0.07, y - s * 0.15, x + s * 0.07, y, rgb("8a5a2a"))
    elif kind == "airship":
        pn.e(x, cy, s * 1.0, s * 0.3, col)
        pn.r(x - s * 0.2, cy + s * 0.28, x + s * 0.2, cy + s * 0.4, shade(col, 0.6))
    elif kind == "ufo":
        pn.chord(x, cy - s * 0.1, s * 0.3, s * 0.3, 180, 360, (170, 220, 240))
        pn.e(x, cy, s * 0.75, s * 0.18, col)
        for i in range(5):
            pn.e(x - s * 0.5 + i * s * 0.25, cy + s * 0.02, s * 0.04, s * 0.04, (250, 240, 120))


_add(
    "airplane plane aeroplane jet aircraft",
    "vehicle",
    aircraft,
    "e8ecf0",
    layer="sky",
    size=0.12,
    aspect=2.2,
    params={"type": "plane"},
)
_add(
    "helicopter",
    "vehicle",
    aircraft,
    "d03a2a",
    layer="sky",
    size=0.14,
    aspect=2.0,
    params={"type": "helicopter"},
)
_add(
    "rocket spaceship",
    "vehicle",
    aircraft,
    "e8e8ec",
    layer="sky",
    size=0.3,
    aspect=0.5,
    home="space",
    params={"type": "rocket"},
)
_add(
    "hot_air_balloon",
    "vehicle",
    aircraft,
    "e04a2a",
    layer="sky",
    size=0.28,
    aspect=0.7,
    params={"type": "balloon"},
)
_add(
    "airship zeppelin blimp",
    "vehicle",
    aircraft,
    "b8bcc4",
    layer="sky",
    size=0.12,
    aspect=2.2,
    params={"type": "airship"},
)
_add(
    "ufo flying_saucer",
    "vehicle",
    aircraft,
    "9aa0b0",
    layer="sky",
    size=0.14,
    aspect=1.6,
    params={"type": "ufo"},
)


# --- buildings ---


def building(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Houses and their kin: walls of the main colour, a roof, windows and a door; towers and domes."""
    kind = k.get("type", "house")
    w = s * k.get("wide", 1.0)
    x0, x1 = x - w / 2, x + w / 2
    roof = rgb(k.get("roof", "8a3a2a"))
    win = rgb(k.get("window", "f0d890"))
    dark = shade(col, 0.6)
    if kind == "house":
        wall_top = y - s * 0.55
        pn.r(x0, wall_top, x1, y, col)
        pn.p([(x0 - w * 0.08, wall_top), (x1 + w * 0.08, wall_top), (x, y - s)], roof)
        if k.get("chimney"):
            pn.r(x1 - w * 0.3, y - s * 0.95, x1 - w * 0.18, y - s * 0.7, shade(roof, 0.7))
        pn.r(x - w * 0.09, y - s * 0.3, x + w * 0.09, y, rgb(k.get("door", "5a3a22")))
        for dx in (-0.3, 0.3):
            pn.r(x + dx * w - w * 0.09, wall_top + s * 0.1, x + dx * w + w * 0.09, wall_top + s * 0.25, win)
        if k.get("logs"):
            for i in range(6):
                ly = wall_top + i * s * 0.09
                pn.ln([(x0, ly), (x1, ly)], dark, max(1.0, s * 0.01))
        if k.get("cross"):
            pn.r(x - w * 0.02, y - s * 1.25, x + w * 0.02, y - s * 0.95, (240, 240, 230))
            pn.r(x - w * 0.08, y - s * 1.18, x + w * 0.08, y - s * 1.13, (240, 240, 230))
        return
    if kind == "barn":
        wall_top = y - s * 0.5
        pn.r(x0, wall_top, x1, y, col)
        pn.p(
            [
                (x0 - w * 0.05, wall_top),
                (x0 + w * 0.15, y - s * 0.85),
                (x1 - w * 0.15, y - s * 0.85),
                (x1 + w * 0.05, wall_top),
            ],
            roof,
        )
        pn.r(x - w * 0.2, y - s * 0.35, x + w * 0.2, y, (240, 235, 225))
        pn.r(x - w * 0.17, y - s * 0.32, x + w * 0.17, y, col)
        pn.ln([(x - w * 0.17, y - s * 0.32), (x + w * 0.17, y)], (240, 235, 225), s * 0.02)
        pn.ln([(x + w * 0.17, y - s * 0.32), (x - w * 0.17, y)], (240, 235, 225), s * 0.02)
        return
    if kind == "tower":
        tw = w * k.get("shaft", 0.3)
        top = y - s * 0.85
        pn.p([(x - tw * 0.7, y), (x + tw * 0.7, y), (x + tw * 0.5, top), (x - tw * 0.5, top)], col)
        if k.get("stripes"):
            for i in range(3):
                sy = y - s * (0.1 + i * 0.25)
                pn.r(x - tw * 0.7, sy - s * 0.1, x + tw * 0.7, sy, rgb(k["stripes"]))
        pn.r(x - tw * 0.35, top - s * 0.1, x + tw * 0.35, top, win)
        pn.p([(x - tw * 0.6, top - s * 0.1), (x + tw * 0.6, top - s * 0.1), (x, y - s)], roof)
        if k.get("beam"):
            pn.p(
                [(x, top - s * 0.05), (x + f * s * 1.2, top - s * 0.2), (x + f * s * 1.2, top + s * 0.1)],
                (255, 240, 180),
            )
        return
    if kind == "castle":
        pn.r(x0 + w * 0.15, y - s * 0.55, x1 - w * 0.15, y, col)
        for tx in (x0 + w * 0.1, x1 - w * 0.1, x):
            th = s * (1.0 if tx == x else 0.75)
            pn.r(tx - w * 0.1, y - th, tx + w * 0.1, y, col)
            for i in range(3):
                pn.r(
                    tx - w * 0.1 + i * w * 0.075,
                    y - th - s * 0.06,
                    tx - w * 0.1 + i * w * 0.075 + w * 0.045,
                    y - th,
                    col,
                )
            pn.r(tx - w * 0.02, y - th + s * 0.1, tx + w * 0.02, y - th + s * 0.18, (30, 30, 35))
        pn.chord(x, y - s * 0.05, w * 0.1, s * 0.25, 180, 360, (40, 30, 25))
        pn.r(x - w * 0.1, y - s * 0.05, x + w * 0.1, y, (40, 30, 25))
        return
    if kind == "skyscraper":
        pn.r(x0, y - s, x1, y, col)
        cols, rows = 4, 14
        for i in range(cols):
            for j in range(rows):
                if pn.rng.random() < 0.7:
                    wx, wy = x0 + w * (0.1 + i * 0.22), y - s + s * (0.04 + j * 0.068)
                    pn.r(wx, wy, wx + w * 0.13, wy + s * 0.035, win)
        return
    if kind == "windmill":
        pn.p(
            [(x - w * 0.22, y), (x + w * 0.22, y), (x + w * 0.13, y - s * 0.7), (x - w * 0.13, y - s * 0.7)],
            col,
        )
        pn.chord(x, y - s * 0.7, w * 0.14, s * 0.12, 180, 360, roof)
        hub = (x, y - s * 0.68)
        for a in range(4):
            ang = math.radians(a * 90 + 20)
            tip = (hub[0] + math.cos(ang) * s * 0.45, hub[1] + math.sin(ang) * s * 0.45)
            pn.ln([hub, tip], (235, 230, 220), s * 0.05)
        pn.r(x - w * 0.05, y - s * 0.18, x + w * 0.05, y, dark)
        return
    if kind == "tent":
        pn.p([(x0, y), (x1, y), (x, y - s)], col)
        pn.p([(x - w * 0.12, y), (x + w * 0.12, y), (x, y - s * 0.5)], dark)
        return
    if kind == "pyramid":
        pn.p([(x0, y), (x1, y), (x, y - s)], col)
        pn.p([(x, y - s), (x1, y), (x + w * 0.15, y)], shade(col, 0.75))
        return
    if kind == "igloo":
        pn.chord(x, y, w / 2, s, 180, 360, col)
        for i in range(1, 4):
            pn.arc(x, y, w / 2, s, 180 + i * 2, 360 - i * 2, shade(col, 0.85), 1)
            ry = y - s * i * 0.25
            pn.ln([(x0 + w * 0.1 * i / 2, ry), (x1 - w * 0.1 * i / 2, ry)], shade(col, 0.85), 1)
        pn.chord(x, y, w * 0.15, s * 0.35, 180, 360, (40, 50, 60))
        return
    if kind == "hut":
        pn.r(x0 + w * 0.1, y - s * 0.45, x1 - w * 0.1, y, col)
        pn.p([(x0 - w * 0.05, y - s * 0.4), (x1 + w * 0.05, y - s * 0.4), (x, y - s)], rgb("c8a050"))
        pn.r(x - w * 0.08, y - s * 0.28, x + w * 0.08, y, (40, 30, 20))
        return
    if kind == "temple":
        pn.p([(x0, y - s * 0.75), (x1, y - s * 0.75), (x, y - s)], col)
        pn.r(x0, y - s * 0.78, x1, y - s * 0.7, col)
        for i in range(5):
            cx = x0 + w * (0.1 + i * 0.2)
            pn.r(cx - w * 0.04, y - s * 0.7, cx + w * 0.04, y - s * 0.08, shade(col, 1.1))
        pn.r(x0, y - s * 0.08, x1, y, col)
        return
    if kind == "pagoda":
        for i in range(4):
            lw, ly = w * (1 - i * 0.2), y - i * s * 0.24
            pn.r(x - lw * 0.35, ly - s * 0.16, x + lw * 0.35, ly, col)
            pn.p(
                [
                    (x - lw * 0.55, ly - s * 0.14),
                    (x + lw * 0.55, ly - s * 0.14),
                    (x + lw * 0.35, ly - s * 0.24),
                    (x - lw * 0.35, ly - s * 0.24),
                ],
                roof,
            )
        return
    if kind == "factory":
        pn.r(x0, y - s * 0.45, x1, y, col)
        for i in range(3):
            sx = x0 + w * i / 3
            pn.p(
                [(sx, y - s * 0.45), (sx + w / 3, y - s * 0.45), (sx + w / 3, y - s * 0.65)], shade(col, 0.8)
            )
        pn.r(x1 - w * 0.15, y - s, x1 - w * 0.05, y - s * 0.45, dark)
        pn.e(x1 - w * 0.1 + s * 0.1, y - s * 1.1, s * 0.12, s * 0.08, (190, 190, 195))
        return
    if kind == "bridge":
        pn.chord(x, y + s * 0.1, w / 2, s * 0.9, 180, 360, col)
        pn.chord(x, y + s * 0.1, w * 0.38, s * 0.6, 180, 360, (0, 0, 0) if k.get("hole") else shade(col, 0.5))
        pn.r(x0, y - s * 0.82, x1, y - s * 0.72, col)
        return
    if kind == "fountain":
        pn.r(x0, y - s * 0.2, x1, y, col)
        pn.r(x - w * 0.06, y - s * 0.6, x + w * 0.06, y - s * 0.2, col)
        for sx in (-1, 1):
            pn.arc(
                x + sx * w * 0.2,
                y - s * 0.6,
                w * 0.2,
                s * 0.35,
                180 if sx > 0 else 270,
                270 if sx > 0 else 360,
                (170, 210, 240),
                s * 0.03,
            )
        return
    if kind == "well":
        pn.r(x0 + w * 0.1, y - s * 0.35, x1 - w * 0.1, y, col)
        for dx in (-0.35, 0.35):
            pn.r(x + dx * w - w * 0.03, y - s * 0.85, x + dx * w + w * 0.03, y - s * 0.35, rgb("6a4a2a"))
        pn.p([(x0, y - s * 0.8), (x1, y - s * 0.8), (x, y - s)], roof)
        return
    if kind == "dome":
        pn.r(x0, y - s * 0.5, x1, y, col)
        pn.chord(x, y - s * 0.5, w * 0.4, s * 0.4, 180, 360, roof)
        pn.r(x - w * 0.015, y - s, x + w * 0.015, y - s * 0.88, roof)
        for dx in (-0.3, 0, 0.3):
            pn.chord(x + dx * w, y - s * 0.15, w * 0.07, s * 0.2, 180, 360, (40, 40, 40))
            pn.r(x + dx * w - w * 0.07, y - s * 0.15, x + dx * w + w * 0.07, y, (40, 40, 40))


_add(
    "house home", "building", building, "e8d8b8", size=0.3, aspect=1.1, home="field", params={"chimney": True}
)
_add(
    "cottage",
    "building",
    building,
    "f0ece0",
    size=0.28,
    aspect=1.2,
    home="field",
    params={"roof": "b8903a", "wide": 1.2, "chimney": True},
)
_add(
    "cabin lodge",
    "building",
    building,
    "8a5a32",
    size=0.28,
    aspect=1.2,
    home="forest",
    params={"roof": "4a3a2a", "wide": 1.2, "logs": True, "chimney": True},
)
_add(
    "church chapel",
    "building",
    building,
    "e8e4dc",
    size=0.4,
    aspect=0.7,
    home="field",
    params={"roof": "4a4a5a", "wide": 0.7, "cross": True},
)
_add(
    "barn",
    "building",
    building,
    "a82a22",
    size=0.3,
    aspect=1.3,
    home="field",
    params={"type": "barn", "wide": 1.3, "roof": "4a3a36"},
)
_add(
    "castle fortress palace",
    "building",
    building,
    "9a968c",
    size=0.42,
    aspect=1.3,
    home="mountains",
    params={"type": "castle", "wide": 1.3},
)
_add(
    "tower", "building", building, "a8a090", size=0.5, aspect=0.35, params={"type": "tower", "roof": "5a3a3a"}
)
_add(
    "lighthouse",
    "building",
    building,
    "f4f0e8",
    size=0.5,
    aspect=0.35,
    home="sea",
    params={"type": "tower", "stripes": "c82a2a", "roof": "2a2a2a", "beam": True},
)
_add(
    "skyscraper building office",
    "building",
    building,
    "5a6a80",
    size=0.6,
    aspect=0.35,
    home="city",
    params={"type": "skyscraper", "wide": 0.35, "window": "f0e0a0"},
)
_add(
    "windmill",
    "building",
    building,
    "e8e0d0",
    size=0.4,
    aspect=0.6,
    home="field",
    params={"type": "windmill", "wide": 0.6},
)
_add(
    "tent",
    "building",
    building,
    "e08a2a",
    size=0.18,
    aspect=1.4,
    home="forest",
    params={"type": "tent", "wide": 1.4},
)
_add(
    "pyramid",
    "building",
    building,
    "d8b070",
    size=0.36,
    aspect=1.6,
    home="desert",
    params={"type": "pyramid", "wide": 1.7},
)
_add(
    "igloo",
    "building",
    building,
    "f0f4f8",
    size=0.2,
    aspect=1.6,
    home="snow",
    params={"type": "igloo", "wide": 1.6},
)
_add(
    "hut shack",
    "building",
    building,
    "a07a4a",
    size=0.22,
    aspect=1.2,
    home="beach",
    params={"type": "hut", "wide": 1.2},
)
_add(
    "temple",
    "building",
    building,
    "e8e0d0",
    size=0.34,
    aspect=1.4,
    home="mountains",
    params={"type": "temple", "wide": 1.4},
)
_add(
    "pagoda",
    "building",
    building,
    "c83a2a",
    size=0.42,
    aspect=0.8,
    home="mountains",
    params={"type": "pagoda", "wide": 0.8, "roof": "2a3a3a"},
)
_add(
    "factory mill",
    "building",
    building,
    "8a5a4a",
    size=0.3,
    aspect=1.5,
    home="city",
    params={"type": "factory", "wide": 1.5},
)
_add(
    "bridge",
    "building",
    building,
    "9a8a78",
    size=0.22,
    aspect=3.0,
    home="city",
    params={"type": "bridge", "wide": 3.0},
)
_add(
    "fountain",
    "building",
    building,
    "c8c4bc",
    size=0.18,
    aspect=1.4,
    home="city",
    params={"type": "fountain", "wide": 1.4},
)
_add(
    "well",
    "building",
    building,
    "9a948a",
    size=0.18,
    aspect=0.9,
    home="field",
    params={"type": "well", "wide": 0.9},
)
_add(
    "mosque cathedral observatory",
    "building",
    building,
    "ece4d4",
    size=0.34,
    aspect=1.2,
    home="city",
    params={"type": "dome", "wide": 1.2, "roof": "3a8a8a"},
)


# --- plants and landforms ---


def tree(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Trees and bushes: trunk and crown shaped by type, crown in the main colour."""
    kind = k.get("type", "round")
    trunk = rgb(k.get("trunk", "5a3a22"))
    dark, light = shade(col, 0.7), shade(col, 1.2)
    if kind == "conifer":
        pn.r(x - s * 0.03, y - s * 0.15, x + s * 0.03, y, trunk)
        for i in range(4):
            by, tw = y - s * (0.1 + i * 0.2), s * (0.3 - i * 0.06)
            pn.p([(x - tw, by), (x + tw, by), (x, by - s * 0.38)], col if i % 2 else dark)
        return
    if kind == "palm":
        pts = [(x + f * s * 0.15 * (i / 8) ** 2, y - s * 0.85 * i / 8) for i in range(9)]
        pn.ln(pts, trunk, s * 0.05)
        tx, ty = pts[-1]
        for a in (-160, -120, -60, -20, 200, -90):
            ang = math.radians(a)
            tip = (tx + math.cos(ang) * s * 0.4, ty + math.sin(ang) * s * 0.15 + s * 0.2)
            mid = (tx + math.cos(ang) * s * 0.22, ty + math.sin(ang) * s * 0.2)
            pn.ln([(tx, ty), mid, tip], col, s * 0.06)
        return
    if kind == "cactus":
        pn.r(x - s * 0.08, y - s, x + s * 0.08, y, col)
        pn.e(x, y - s, s * 0.08, s * 0.06, col)
        pn.ln(
            [(x - s * 0.08, y - s * 0.5), (x - s * 0.25, y - s * 0.5), (x - s * 0.25, y - s * 0.8)],
            col,
            s * 0.1,
        )
        pn.ln(
            [(x + s * 0.08, y - s * 0.35), (x + s * 0.22, y - s * 0.35), (x + s * 0.22, y - s * 0.6)],
            col,
            s * 0.1,
        )
        return
    if kind == "bamboo":
        for dx in (-0.15, 0, 0.12):
            pn.r(x + dx * s - s * 0.025, y - s, x + dx * s + s * 0.025, y, col)
            for j in range(5):
                pn.r(
                    x + dx * s - s * 0.03,
                    y - s * (0.2 + j * 0.18),
                    x + dx * s + s * 0.03,
                    y - s * (0.2 + j * 0.18) + 2,
                    dark,
                )
        return
    if kind == "bare":
        pn.ln([(x, y), (x, y - s * 0.6)], trunk, s * 0.06)
        for a, reach in ((-60, 0.4), (-120, 0.35), (-90, 0.4), (-40, 0.25), (-140, 0.28)):
            ang = math.radians(a)
            pn.ln(
                [(x, y - s * 0.5), (x + math.cos(ang) * s * reach, y - s * 0.5 + math.sin(ang) * s * reach)],
                trunk,
                s * 0.025,
            )
        return
    pn.ln(
        [(x, y), (x, y - s * 0.55)],
        trunk if kind != "birch" else (235, 235, 228),
        s * (0.07 if kind != "bush" else 0.02),
    )
    if kind == "birch":
        for j in range(4):
            pn.r(
                x - s * 0.03,
                y - s * (0.1 + j * 0.12),
                x + s * 0.01,
                y - s * (0.1 + j * 0.12) + 2,
                (40, 40, 40),
            )
    if kind == "willow":
        pn.e(x, y - s * 0.75, s * 0.35, s * 0.25, col)
        for i in range(9):
            dx = -s * 0.35 + i * s * 0.087
            pn.ln([(x + dx, y - s * 0.75), (x + dx * 1.15, y - s * 0.15)], dark, s * 0.03)
        return
    if kind == "bush":
        for dx, dy, r in ((-0.25, 0.25, 0.28), (0.25, 0.25, 0.28), (0, 0.45, 0.32)):
            pn.e(x + dx * s, y - dy * s, r * s, r * s * 0.8, col)
        if k.get("berries"):
            for _ in range(8):
                pn.e(
                    x + pn.rng.uniform(-0.35, 0.35) * s,
                    y - pn.rng.uniform(0.15, 0.6) * s,
                    s * 0.03,
                    s * 0.03,
                    rgb(k["berries"]),
                )
        return
    for dx, dy, r in ((-0.18, 0.62, 0.22), (0.18, 0.62, 0.22), (0, 0.78, 0.26), (0, 0.6, 0.22)):
        pn.e(x + dx * s, y - dy * s, r * s * 1.1, r * s, dark if dy < 0.7 else col)
    pn.e(x - s * 0.07, y - s * 0.82, s * 0.12, s * 0.09, light)
    if k.get("dots"):
        for _ in range(k.get("ndots", 10)):
            pn.e(
                x + pn.rng.uniform(-0.3, 0.3) * s,
                y - pn.rng.uniform(0.5, 0.9) * s,
                s * 0.03,
                s * 0.03,
                rgb(k["dots"]),
            )


_add("tree oak maple", "plant", tree, "3e7a32", size=0.5, aspect=0.7, home="field", params={})
_add(
    "pine fir spruce conifer evergreen",
    "plant",
    tree,
    "2a5a34",
    size=0.55,
    aspect=0.6,
    home="forest",
    params={"type": "conifer"},
)
_add("christmas_tree", "plant", tree, "2a6a34", size=0.5, aspect=0.6, home="room", params={"type": "conifer"})
_add("palm palm_tree", "plant", tree, "3a8a3a", size=0.55, aspect=0.8, home="beach", params={"type": "palm"})
_add("birch aspen", "plant", tree, "8ab84a", size=0.5, aspect=0.6, home="forest", params={"type": "birch"})
_add("willow", "plant", tree, "6a9a4a", size=0.5, aspect=0.8, home="field", params={"type": "willow"})
_add(
    "cherry_tree blossom sakura",
    "plant",
    tree,
    "f0a8c0",
    size=0.5,
    aspect=0.7,
    home="field",
    params={"dots": "ffffff", "ndots": 14},
)
_add(
    "apple_tree orchard",
    "plant",
    tree,
    "4a8a3a",
    size=0.5,
    aspect=0.7,
    home="field",
    params={"dots": "d82a2a", "ndots": 12},
)
_add(
    "dead_tree bare_tree",
    "plant",
    tree,
    "5a4a3a",
    size=0.5,
    aspect=0.7,
    params={"type": "bare", "trunk": "4a3a2e"},
)
_add("bush shrub hedge", "plant", tree, "3a7a3a", size=0.16, aspect=1.2, params={"type": "bush"})
_add(
    "berry_bush", "plant", tree, "3a6a3a", size=0.16, aspect=1.2, params={"type": "bush", "berries": "5a2a8a"}
)
_add("cactus", "plant", tree, "4a8a4a", size=0.3, aspect=0.6, home="desert", params={"type": "cactus"})
_add("bamboo", "plant", tree, "7aa83a", size=0.5, aspect=0.4, home="forest", params={"type": "bamboo"})


def flower(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """A stem and a flower head: petals (main colour) round a centre, or a cup, a spike or a cap."""
    kind = k.get("type", "daisy")
    stem = rgb("3a7a32")
    hx, hy = x, y - s * 0.8
    if kind == "mushroom":
        pn.r(x - s * 0.12, y - s * 0.5, x + s * 0.12, y, (240, 232, 215))
        pn.chord(x, y - s * 0.45, s * 0.45, s * 0.5, 180, 360, col)
        for dx, dy in ((-0.2, 0.65), (0.15, 0.75), (0.05, 0.55)):
            pn.e(x + dx * s, y - dy * s, s * 0.05, s * 0.04, (250, 250, 250))
        return
    if kind == "fern" or kind == "grass":
        for i in range(7):
            a = math.radians(-150 + i * 20)
            pn.ln([(x, y), (x + math.cos(a) * s * 0.5, y + math.sin(a) * s)], col, s * 0.04)
        return
    pn.ln([(x, y), (x + f * s * 0.05, y - s * 0.4), (hx, hy)], stem, max(1.5, s * 0.04))
    pn.e(x + f * s * 0.12, y - s * 0.35, s * 0.1, s * 0.04, stem)
    if kind == "tulip":
        pn.chord(hx, hy, s * 0.14, s * 0.16, 0, 180, col)
        pn.p(
            [
                (hx - s * 0.14, hy),
                (hx - s * 0.12, hy - s * 0.18),
                (hx - s * 0.04, hy - s * 0.05),
                (hx, hy - s * 0.2),
                (hx + s * 0.04, hy - s * 0.05),
                (hx + s * 0.12, hy - s * 0.18),
                (hx + s * 0.14, hy),
            ],
            col,
        )
        return
    if kind == "lavender":
        for j in range(6):
            pn.e(hx, hy - j * s * 0.05, s * 0.035, s * 0.03, col)
        return
    if kind == "rose":
        pn.e(hx, hy, s * 0.14, s * 0.13, col)
        pn.arc(hx, hy, s * 0.09, s * 0.08, 200, 500, shade(col, 0.6), max(1, s * 0.02))
        pn.arc(hx, hy, s * 0.04, s * 0.04, 0, 300, shade(col, 0.6), max(1, s * 0.02))
        return
    n, pr = k.get("petals", 8), s * k.get("petal", 0.1)
    centre = rgb(k.get("centre", "f0c020"))
    for i in range(n):
        a = 2 * math.pi * i / n
        pn.e(hx + math.cos(a) * pr, hy + math.sin(a) * pr, pr * 0.6, pr * 0.6, col)
    pn.e(hx, hy, pr * 0.7, pr * 0.7, centre)


_add("flower daisy", "plant", flower, "f8f8f4", size=0.14, aspect=0.6, home="field", params={})
_add(
    "sunflower",
    "plant",
    flower,
    "f8c820",
    size=0.3,
    aspect=0.5,
    home="field",
    params={"petals": 14, "petal": 0.13, "centre": "5a3a1a"},
)
_add(
    "poppy",
    "plant",
    flower,
    "e02a20",
    size=0.14,
    aspect=0.6,
    home="field",
    params={"petals": 5, "petal": 0.09, "centre": "1a1a1a"},
)
_add("tulip", "plant", flower, "e0305a", size=0.16, aspect=0.5, home="field", params={"type": "tulip"})
_add("rose", "plant", flower, "c8102a", size=0.16, aspect=0.5, home="field", params={"type": "rose"})
_add("lavender", "plant", flower, "9a70d0", size=0.14, aspect=0.3, home="field", params={"type": "lavender"})
_add(
    "mushroom toadstool",
    "plant",
    flower,
    "d02a20",
    size=0.12,
    aspect=0.9,
    home="forest",
    params={"type": "mushroom"},
)
_add("fern", "plant", flower, "4a8a3a", size=0.16, aspect=1.0, home="forest", params={"type": "fern"})


def landform(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Rocks, a volcano, an island, a waterfall, a snowman."""
    kind = k["type"]
    w = s * k.get("wide", 1.5)
    if kind == "rock":
        pn.p(
            [
                (x - w / 2, y),
                (x - w * 0.4, y - s * 0.6),
                (x - w * 0.1, y - s),
                (x + w * 0.3, y - s * 0.8),
                (x + w / 2, y),
            ],
            col,
        )
        pn.p(
            [(x - w * 0.1, y - s), (x + w * 0.3, y - s * 0.8), (x + w / 2, y), (x + w * 0.1, y)],
            shade(col, 0.8),
        )
    elif kind == "volcano":
        pn.p([(x - w / 2, y), (x - w * 0.1, y - s), (x + w * 0.1, y - s), (x + w / 2, y)], col)
        pn.p(
            [
                (x - w * 0.1, y - s),
                (x + w * 0.1, y - s),
                (x + w * 0.04, y - s * 0.6),
                (x - w * 0.05, y - s * 0.7),
            ],
            rgb("f05a10"),
        )
        for i in range(3):
            pn.e(x + i * s * 0.1, y - s * (1.15 + i * 0.12), s * (0.1 + i * 0.05), s * 0.08, (90, 85, 85))
    elif kind == "island":
        pn.chord(x, y, w / 2, s * 0.3, 180, 360, rgb("e8d090"))
        tree(pn, x, y - s * 0.25, s * 0.75, rgb("3a8a3a"), f, {"type": "palm"})
    elif kind == "waterfall":
        pn.r(x - w / 2, y - s, x - w * 0.15, y, shade(col, 0.5))
        pn.r(x + w * 0.15, y - s, x + w / 2, y, shade(col, 0.5))
        pn.r(x - w * 0.15, y - s, x + w * 0.15, y, (220, 238, 250))
        pn.e(x, y, w * 0.35, s * 0.08, (245, 250, 255))
    elif kind == "snowman":
        for r, yy in ((0.22, 0.22), (0.16, 0.56), (0.12, 0.8)):
            pn.e(x, y - yy * s, r * s, r * s, col)
        pn.p([(x, y - s * 0.8), (x + f * s * 0.2, y - s * 0.78), (x, y - s * 0.76)], rgb("f07a20"))
        pn.r(x - s * 0.1, y - s * 0.92, x + s * 0.1, y - s * 1.1, (20, 20, 20))
        pn.r(x - s * 0.15, y - s * 0.92, x + s * 0.15, y - s * 0.9, (20, 20, 20))


_add("rock boulder stone", "object", landform, "8a8680", size=0.12, aspect=1.5, params={"type": "rock"})
_add(
    "volcano",
    "object",
    landform,
    "5a4a44",
    size=0.4,
    aspect=1.6,
    home="mountains",
    params={"type": "volcano"},
)
_add(
    "island",
    "object",
    landform,
    "e8d090",
    layer="water",
    size=0.2,
    aspect=2.0,
    home="sea",
    params={"type": "island", "wide": 2.0},
)
_add(
    "waterfall",
    "object",
    landform,
    "8a8a80",
    size=0.5,
    aspect=0.8,
    home="forest",
    params={"type": "waterfall", "wide": 0.8},
)
_add("snowman", "object", landform, "f6f8fa", size=0.26, aspect=0.5, home="snow", params={"type": "snowman"})


# --- food ---


def fruit(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Fruit and vegetables as shapes: round, oval, pear, banana, bunch, pair, berry, slice, gourd."""
    kind = k.get("shape", "round")
    light, dark = shade(col, 1.35), shade(col, 0.7)
    leaf = rgb("3a8a2a")
    cx, cy = x, y - s / 2
    if kind == "round":
        pn.e(cx, cy, s * 0.5, s * 0.48, col)
        pn.e(cx - s * 0.15, cy - s * 0.15, s * 0.13, s * 0.1, light)
        if k.get("dimples"):
            for _ in range(6):
                pn.e(cx + pn.rng.uniform(-0.3, 0.3) * s, cy + pn.rng.uniform(-0.3, 0.3) * s, 1, 1, dark)
        if k.get("stem"):
            pn.ln([(cx, cy - s * 0.42), (cx + s * 0.05, cy - s * 0.62)], rgb("5a3a1a"), max(1.5, s * 0.05))
        if k.get("leaf"):
            pn.e(cx + s * 0.17, cy - s * 0.52, s * 0.14, s * 0.06, leaf)
        if k.get("ribs"):
            for dx in (-0.25, 0, 0.25):
                pn.arc(cx + dx * s, cy, s * 0.15, s * 0.46, 0, 360, dark, max(1, s * 0.02))
    elif kind == "oval":
        pn.e(cx, cy, s * 0.6, s * 0.4, col)
        pn.e(cx - s * 0.58, cy, s * 0.08, s * 0.06, col)
        pn.e(cx + s * 0.58, cy, s * 0.08, s * 0.06, col)
        pn.e(cx - s * 0.2, cy - s * 0.15, s * 0.15, s * 0.07, light)
    elif kind == "pear":
        pn.e(cx, cy + s * 0.15, s * 0.38, s * 0.35, col)
        pn.e(cx, cy - s * 0.15, s * 0.24, s * 0.28, col)
        pn.ln([(cx, cy - s * 0.4), (cx + s * 0.05, cy - s * 0.55)], rgb("5a3a1a"), max(1.5, s * 0.05))
    elif kind == "banana":
        pn.arc(cx, cy - s * 0.4, s * 0.7, s * 0.7, 20, 160, col, s * 0.22)
        pn.e(cx + s * 0.66, cy - s * 0.15, s * 0.04, s * 0.05, (60, 50, 30))
    elif kind == "bunch":
        for row in range(4):
            for i in range(4 - row):
                pn.e(
                    cx + (i - (3 - row) / 2) * s * 0.22,
                    cy - s * 0.3 + row * s * 0.2,
                    s * 0.12,
                    s * 0.12,
                    col if (i + row) % 2 else dark,
                )
        pn.ln([(cx, cy - s * 0.42), (cx + s * 0.05, cy - s * 0.55)], rgb("5a3a1a"), max(1.5, s * 0.04))
    elif kind == "pair":
        for dx in (-0.2, 0.2):
            pn.ln([(cx + dx * s, cy + s * 0.2), (cx, cy - s * 0.45)], rgb("4a6a2a"), max(1.0, s * 0.03))
            pn.e(cx + dx * s, cy + s * 0.25, s * 0.2, s * 0.2, col)
    elif kind == "berry":
        pn.p([(cx - s * 0.4, cy - s * 0.2), (cx + s * 0.4, cy - s * 0.2), (cx, cy + s * 0.5)], col)
        pn.e(cx, cy - s * 0.2, s * 0.4, s * 0.2, col)
        for _ in range(8):
            pn.e(
                cx + pn.rng.uniform(-0.25, 0.25) * s,
                cy + pn.rng.uniform(-0.2, 0.25) * s,
                1.2,
                1.2,
                (250, 230, 120),
            )
        pn.p([(cx - s * 0.3, cy - s * 0.3), (cx + s * 0.3, cy - s * 0.3), (cx, cy - s * 0.45)], leaf)
    elif kind == "slice":
        pn.chord(cx, cy - s * 0.2, s * 0.6, s * 0.6, 0, 180, rgb("2a7a2a"))
        pn.chord(cx, cy - s * 0.2, s * 0.52, s * 0.52, 0, 180, col)
        for i in range(5):
            pn.e(cx - s * 0.3 + i * s * 0.15, cy + s * 0.05, s * 0.03, s * 0.04, (20, 20, 20))
    elif kind == "carrot":
        pn.p([(cx - s * 0.15, cy - s * 0.4), (cx + s * 0.15, cy - s * 0.4), (cx, cy + s * 0.5)], col)
        for dx in (-0.08, 0, 0.08):
            pn.ln([(cx, cy - s * 0.4), (cx + dx * s * 2, cy - s * 0.65)], leaf, max(1.5, s * 0.05))
    elif kind == "pineapple":
        pn.e(cx, cy + s * 0.12, s * 0.28, s * 0.38, col)
        for i in range(5):
            pn.ln(
                [(cx - s * 0.25, cy - s * 0.15 + i * s * 0.12), (cx + s * 0.25, cy + i * s * 0.12)], dark, 1
            )
        for dx in (-0.12, 0, 0.12):
            pn.p(
                [(cx - s * 0.05, cy - s * 0.25), (cx + s * 0.05, cy - s * 0.25), (cx + dx * s, cy - s * 0.6)],
                leaf,
            )
    elif kind == "pumpkin":
        pn.e(cx, cy + s * 0.05, s * 0.55, s * 0.42, col)
        for dx in (-0.25, 0, 0.25):
            pn.arc(cx + dx * s, cy + s * 0.05, s * 0.18, s * 0.42, 0, 360, dark, max(1, s * 0.02))
        pn.r(cx - s * 0.04, cy - s * 0.5, cx + s * 0.04, cy - s * 0.35, rgb("4a6a2a"))
    elif kind == "broccoli":
        pn.r(cx - s * 0.08, cy, cx + s * 0.08, cy + s * 0.5, rgb("8ab85a"))
        for dx, dy in ((-0.2, -0.05), (0.2, -0.05), (0, -0.25), (-0.1, -0.2), (0.12, -0.22)):
            pn.e(cx + dx * s, cy + dy * s, s * 0.2, s * 0.18, col)
    elif kind == "corn":
        pn.e(cx, cy, s * 0.18, s * 0.48, col)
        pn.p([(cx - s * 0.2, cy + s * 0.5), (cx - s * 0.05, cy - s * 0.1), (cx, cy + s * 0.5)], leaf)
        pn.p([(cx + s * 0.2, cy + s * 0.5), (cx + s * 0.05, cy - s * 0.1), (cx, cy + s * 0.5)], leaf)


def _fruit(names: str, colour: str, size: float = 0.1, **params: Any) -> None:
    _add(names, "food", fruit, colour, layer="table", size=size, aspect=1.0, home="room", params=params)


_fruit("orange", "f08a10", shape="round", dimples=True, leaf=True)
_fruit("apple", "c81e24", shape="round", stem=True, leaf=True)
_fruit("green_apple", "8ac23a", shape="round", stem=True)
_fruit("lemon", "f4dc30", shape="oval")
_fruit("lime", "6ab82a", shape="oval")
_fruit("peach apricot", "f6a070", shape="round", leaf=True)
_fruit("plum", "6a2a5a", shape="round", stem=True)
_fruit("tomato", "e02a1a", shape="round", leaf=True)
_fruit("pear", "b8c83a", shape="pear")
_fruit("banana", "f4d030", shape="banana")
_fruit("grapes grape", "6a3a8a", shape="bunch")
_fruit("cherry cherries", "b8101e", shape="pair")
_fruit("strawberry", "e0202a", shape="berry")
_fruit("watermelon melon", "f04a5a", shape="slice")
_fruit("carrot", "f07a1a", shape="carrot")
_fruit("pineapple", "d8a830", size=0.16, shape="pineapple")
_fruit("pumpkin", "e8761a", size=0.14, shape="pumpkin")
_fruit("broccoli", "3a8a3a", shape="broccoli")
_fruit("corn", "f0d040", shape="corn")
_fruit("blueberry", "3a3a9a", size=0.05, shape="round")
_fruit("onion", "c89a6a", shape="round", stem=True, ribs=True)


def dish(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Prepared food and tableware: cakes, pies, bread, cups, bowls, bottles; the main colour is theirs."""
    kind = k["type"]
    light, dark = shade(col, 1.3), shade(col, 0.7)
    w = s * k.get("wide", 1.2)
    x0, x1 = x - w / 2, x + w / 2
    if kind == "bowl":
        pn.chord(x, y - s * 0.55, w / 2, s * 0.55, 0, 180, col)
        pn.e(x, y - s * 0.55, w / 2, s * 0.1, dark)
        pn.r(x - w * 0.15, y - s * 0.06, x + w * 0.15, y, dark)
    elif kind == "plate":
        pn.e(x, y - s * 0.15, w / 2, s * 0.15, col)
        pn.e(x, y - s * 0.17, w * 0.35, s * 0.09, light)
    elif kind == "basket":
        pn.chord(x, y - s * 0.5, w / 2, s * 0.5, 0, 180, col)
        pn.arc(x, y - s * 0.5, w * 0.4, s * 0.5, 180, 360, dark, s * 0.05)
        for i in range(4):
            pn.ln(
                [(x0 + w * 0.1, y - s * (0.45 - i * 0.1)), (x1 - w * 0.1, y - s * (0.45 - i * 0.1))], dark, 1
            )
    elif kind == "cup" or kind == "mug":
        pn.arc(x1 - w * 0.05, y - s * 0.5, w * 0.2, s * 0.2, 270, 90, col, s * 0.06)
        pn.r(x0 + w * 0.1, y - s * 0.85, x1 - w * 0.15, y, col)
        pn.e(x - w * 0.025, y - s * 0.85, w * 0.375, s * 0.06, rgb(k.get("drink", "5a3418")))
        if k.get("steam"):
            pn.arc(x, y - s * 1.05, s * 0.06, s * 0.12, 90, 270, (230, 230, 230), 1)
    elif kind == "teapot":
        pn.e(x, y - s * 0.4, w * 0.4, s * 0.38, col)
        pn.ln([(x + f * w * 0.35, y - s * 0.35), (x + f * w * 0.62, y - s * 0.65)], col, s * 0.08)
        pn.arc(x - f * w * 0.4, y - s * 0.45, w * 0.15, s * 0.18, 90, 270, col, s * 0.06)
        pn.e(x, y - s * 0.78, w * 0.08, s * 0.06, dark)
    elif kind == "bottle":
        pn.r(x - w * 0.2, y - s * 0.6, x + w * 0.2, y, col)
        pn.p(
            [
                (x - w * 0.2, y - s * 0.6),
                (x + w * 0.2, y - s * 0.6),
                (x + w * 0.07, y - s * 0.8),
                (x - w * 0.07, y - s * 0.8),
            ],
            col,
        )
        pn.r(x - w * 0.07, y - s * 0.8, x + w * 0.07, y - s, col)
        pn.r(x - w * 0.2, y - s * 0.45, x + w * 0.2, y - s * 0.25, (240, 232, 210))
        pn.r(x - w * 0.12, y - s * 0.55, x - w * 0.06, y - s * 0.1, light)
    elif kind == "glass":
        pn.p(
            [
                (x - w * 0.3, y - s),
                (x + w * 0.3, y - s),
                (x + w * 0.15, y - s * 0.55),
                (x - w * 0.15, y - s * 0.55),
            ],
            (210, 225, 235),
        )
        pn.p(
            [
                (x - w * 0.25, y - s * 0.85),
                (x + w * 0.25, y - s * 0.85),
                (x + w * 0.15, y - s * 0.58),
                (x - w * 0.15, y - s * 0.58),
            ],
            col,
        )
        pn.r(x - w * 0.02, y - s * 0.55, x + w * 0.02, y - s * 0.05, (210, 225, 235))
        pn.e(x, y - s * 0.03, w * 0.18, s * 0.03, (210, 225, 235))
    elif kind == "jar" or kind == "vase":
        if kind == "vase":
            pn.e(x, y - s * 0.35, w * 0.35, s * 0.35, col)
            pn.r(x - w * 0.12, y - s * 0.9, x + w * 0.12, y - s * 0.55, col)
            pn.e(x, y - s * 0.9, w * 0.18, s * 0.05, dark)
        else:
            pn.r(x0 + w * 0.1, y - s * 0.8, x1 - w * 0.1, y, col)
            pn.r(x0 + w * 0.15, y - s * 0.95, x1 - w * 0.15, y - s * 0.8, (150, 150, 155))
    elif kind == "cake":
        pn.r(x0, y - s * 0.6, x1, y, col)
        pn.r(x0, y - s * 0.35, x1, y - s * 0.28, rgb("f4e0e8"))
        pn.r(x0, y - s * 0.68, x1, y - s * 0.6, rgb("fafafa"))
        for i in range(3):
            cx = x0 + w * (0.25 + i * 0.25)
            pn.r(cx - 1.5, y - s * 0.95, cx + 1.5, y - s * 0.68, rgb("f0a0c0"))
            pn.e(cx, y - s, 2.5, 4, (250, 200, 60))
    elif kind == "cupcake":
        pn.p(
            [(x - w * 0.3, y - s * 0.45), (x + w * 0.3, y - s * 0.45), (x + w * 0.22, y), (x - w * 0.22, y)],
            rgb("c89a5a"),
        )
        pn.e(x, y - s * 0.55, w * 0.35, s * 0.22, col)
        pn.e(x, y - s * 0.75, w * 0.22, s * 0.15, col)
        pn.e(x, y - s * 0.92, w * 0.06, s * 0.06, rgb("d02030"))
    elif kind == "pie":
        pn.chord(x, y - s * 0.3, w / 2, s * 0.6, 180, 360, col)
        pn.r(x0, y - s * 0.32, x1, y, shade(col, 0.85))
        for i in range(4):
            pn.ln(
                [(x0 + w * (0.2 + i * 0.2), y - s * 0.35), (x0 + w * (0.3 + i * 0.15), y - s * 0.75)], dark, 1
            )
    elif kind == "pizza":
        pn.e(x, y - s * 0.2, w / 2, s * 0.2, rgb("d89a4a"))
        pn.e(x, y - s * 0.22, w * 0.44, s * 0.16, col)
        for _ in range(7):
            pn.e(
                x + pn.rng.uniform(-0.3, 0.3) * w,
                y - s * 0.22 + pn.rng.uniform(-0.1, 0.1) * s,
                w * 0.05,
                s * 0.04,
                rgb("b82a1a"),
            )
    elif kind == "bread":
        pn.chord(x, y - s * 0.05, w / 2, s * 0.9, 180, 360, col)
        for i in range(3):
            pn.ln(
                [(x0 + w * (0.25 + i * 0.22), y - s * 0.45), (x0 + w * (0.35 + i * 0.22), y - s * 0.7)],
                dark,
                2,
            )
    elif kind == "donut":
        pn.e(x, y - s * 0.4, w * 0.45, s * 0.4, rgb("d89a5a"))
        pn.e(x, y - s * 0.45, w * 0.4, s * 0.33, col)
        pn.e(x, y - s * 0.45, w * 0.13, s * 0.1, rgb("f0e8d8"))
        for _ in range(8):
            pn.e(
                x + pn.rng.uniform(-0.3, 0.3) * w,
                y - s * 0.45 + pn.rng.uniform(-0.25, 0.25) * s,
                1.5,
                1.5,
                (pn.rng.randrange(256), pn.rng.randrange(256), 200),
            )
    elif kind == "egg":
        pn.e(x, y - s * 0.45, w * 0.32, s * 0.45, col)
        pn.e(x - w * 0.1, y - s * 0.6, w * 0.07, s * 0.1, light)
    elif kind == "cheese":
        pn.p([(x0, y), (x1, y), (x1, y - s * 0.6), (x0, y - s * 0.2)], col)
        pn.p([(x0, y - s * 0.2), (x1, y - s * 0.6), (x1 - w * 0.2, y - s * 0.7)], light)
        for dx, dy in ((-0.2, 0.2), (0.15, 0.35), (0.3, 0.15)):
            pn.e(x + dx * w, y - dy * s, w * 0.05, s * 0.05, dark)
    elif kind == "ice_cream":
        pn.p([(x - w * 0.25, y - s * 0.55), (x + w * 0.25, y - s * 0.55), (x, y)], rgb("d8a860"))
        pn.e(x, y - s * 0.65, w * 0.28, s * 0.2, col)
        pn.e(x, y - s * 0.85, w * 0.22, s * 0.16, shade(col, 1.2))
    elif kind == "burger":
        pn.chord(x, y - s * 0.5, w / 2, s * 0.5, 180, 360, rgb("d8943a"))
        pn.r(x0, y - s * 0.5, x1, y - s * 0.4, rgb("4ab83a"))
        pn.r(x0, y - s * 0.4, x1, y - s * 0.25, col)
        pn.r(x0, y - s * 0.25, x1, y, rgb("d8943a"))
    elif kind == "cookie":
        pn.e(x, y - s * 0.15, w / 2, s * 0.15, col)
        for _ in range(5):
            pn.e(x + pn.rng.uniform(-0.3, 0.3) * w, y - s * 0.17, w * 0.04, s * 0.03, (60, 35, 20))


def _dish(names: str, colour: str, size: float = 0.12, wide: float = 1.2, **params: Any) -> None:
    params["wide"] = wide
    _add(names, "food", dish, colour, layer="table", size=size, aspect=wide, home="room", params=params)


_dish("bowl", "e8e4dc", size=0.14, wide=2.2, type="bowl")
_dish("plate dish", "f4f4f0", size=0.06, wide=4.0, type="plate")
_dish("basket", "b8843a", size=0.14, wide=2.0, type="basket")
_dish("cup teacup", "f4f0ea", size=0.1, wide=1.0, type="cup", steam=True)
_dish("mug", "3a6ab0", size=0.11, wide=1.0, type="mug")
_dish("teapot kettle", "f0f0ea", size=0.16, wide=1.3, type="teapot")
_dish("bottle", "2a6a3a", size=0.22, wide=0.5, type="bottle")
_dish("wine_glass glass wine", "8a1a2a", size=0.18, wide=0.6, type="glass")
_dish("jar", "c8e0e8", size=0.14, wide=0.8, type="jar")
_dish("vase", "3a7ab0", size=0.2, wide=0.8, type="vase")
_dish("cake birthday_cake", "f0c8d8", size=0.16, wide=1.5, type="cake")
_dish("cupcake muffin", "f4a0c0", size=0.12, wide=1.0, type="cupcake")
_dish("pie tart", "c88a3a", size=0.1, wide=2.2, type="pie")
_dish("pizza", "e8c050", size=0.08, wide=3.0, type="pizza")
_dish("bread loaf baguette", "c8883a", size=0.1, wide=2.0, type="bread")
_dish("donut doughnut", "e88ab0", size=0.1, wide=1.2, type="donut")
_dish("egg", "f4ece0", size=0.09, wide=1.0, type="egg")
_dish("cheese", "f4cc40", size=0.1, wide=1.6, type="cheese")
_dish("ice_cream", "f4c0d0", size=0.18, wide=0.8, type="ice_cream")
_dish("burger hamburger sandwich", "6a3a22", size=0.12, wide=1.5, type="burger")
_dish("cookie biscuit", "c8984a", size=0.05, wide=2.5, type="cookie")


# --- everyday objects and sky things ---


def thing(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Everyday objects, one shape each; the main colour is the object's."""
    kind = k["type"]
    light, dark = shade(col, 1.3), shade(col, 0.65)
    wood = rgb("7a5030")
    cx, cy = x, y - s / 2
    if kind == "kite":
        pts = [
            (cx, cy - s * 0.5),
            (cx + s * 0.32, cy - s * 0.1),
            (cx, cy + s * 0.3),
            (cx - s * 0.32, cy - s * 0.1),
        ]
        pn.p(pts, col)
        pn.p([pts[0], pts[1], (cx, cy - s * 0.1)], light)
        pn.p([pts[2], pts[3], (cx, cy - s * 0.1)], dark)
        tail = [(cx + math.sin(i * 0.9) * s * 0.08, cy + s * 0.3 + i * s * 0.1) for i in range(7)]
        pn.ln(tail, dark, max(1.5, s * 0.02))
        for tx, ty in tail[1::2]:
            pn.p(
                [
                    (tx - s * 0.05, ty - s * 0.03),
                    (tx + s * 0.05, ty + s * 0.03),
                    (tx + s * 0.05, ty - s * 0.03),
                    (tx - s * 0.05, ty + s * 0.03),
                ],
                rgb(k.get("bow", "f0d020")),
            )
        pn.ln([pts[2], (cx - f * s * 1.5, y + s * 3)], (240, 240, 240), 1)
    elif kind == "umbrella":
        pn.ln([(cx, cy - s * 0.3), (cx, y - s * 0.05)], (40, 40, 40), s * 0.04)
        pn.arc(cx + s * 0.06, y - s * 0.05, s * 0.06, s * 0.06, 0, 180, (40, 40, 40), s * 0.04)
        pn.chord(cx, cy - s * 0.2, s * 0.55, s * 0.32, 180, 360, col)
        for dx in (-0.18, 0.18):
            pn.ln([(cx, cy - s * 0.52), (cx + dx * s, cy - s * 0.2)], dark, 1)
    elif kind == "beach_umbrella":
        pn.ln([(cx, y), (cx - s * 0.1, y - s * 0.85)], (230, 230, 230), s * 0.03)
        pn.chord(cx - s * 0.1, y - s * 0.8, s * 0.55, s * 0.3, 180, 360, col)
        for i in range(3):
            pn.pie(cx - s * 0.1, y - s * 0.8, s * 0.55, s * 0.3, 200 + i * 50, 225 + i * 50, (245, 245, 240))
    elif kind == "chair":
        pn.r(x - s * 0.25, y - s * 0.5, x + s * 0.25, y - s * 0.42, col)
        pn.r(x - f * s * 0.25, y - s, x - f * s * 0.18, y, col)
        pn.r(x + f * s * 0.25, y - s * 0.5, x + f * s * 0.18, y, col)
        for j in range(3):
            pn.r(x - f * s * 0.25, y - s * (0.95 - j * 0.15), x - f * s * 0.05, y - s * (0.9 - j * 0.15), col)
    elif kind == "bench":
        pn.r(x - s * 0.9, y - s * 0.5, x + s * 0.9, y - s * 0.42, col)
        pn.r(x - s * 0.9, y - s * 0.9, x + s * 0.9, y - s * 0.8, col)
        pn.r(x - s * 0.9, y - s * 0.75, x + s * 0.9, y - s * 0.67, col)
        for dx in (-0.8, 0.75):
            pn.r(x + dx * s, y - s * 0.42, x + dx * s + s * 0.06, y, (50, 50, 50))
    elif kind == "lamp":
        pn.ln([(x, y), (x, y - s * 0.8)], (40, 40, 45), s * 0.05)
        pn.r(x - s * 0.1, y - s * 0.85, x + s * 0.1, y - s * 0.75, (40, 40, 45))
        pn.e(x, y - s * 0.88, s * 0.09, s * 0.09, col)
    elif kind == "desk_lamp":
        pn.r(x - s * 0.2, y - s * 0.06, x + s * 0.2, y, dark)
        pn.p(
            [
                (x - s * 0.25, y - s * 0.6),
                (x + s * 0.25, y - s * 0.6),
                (x + s * 0.15, y - s),
                (x - s * 0.15, y - s),
            ],
            col,
        )
        pn.r(x - s * 0.03, y - s * 0.6, x + s * 0.03, y, dark)
    elif kind == "lantern":
        pn.r(x - s * 0.2, y - s * 0.8, x + s * 0.2, y, (40, 40, 40))
        pn.r(x - s * 0.15, y - s * 0.72, x + s * 0.15, y - s * 0.08, col)
        pn.arc(x, y - s * 0.8, s * 0.12, s * 0.18, 180, 360, (40, 40, 40), s * 0.04)
    elif kind == "candle":
        pn.r(x - s * 0.12, y - s * 0.7, x + s * 0.12, y, col)
        pn.e(x, y - s * 0.82, s * 0.06, s * 0.12, (255, 200, 80))
        pn.e(x, y - s * 0.8, s * 0.03, s * 0.06, (255, 250, 220))
    elif kind == "book":
        pn.r(x - s * 0.5, y - s * 0.3, x + s * 0.5, y, col)
        pn.r(x - s * 0.45, y - s * 0.27, x + s * 0.5, y - s * 0.05, (240, 235, 220))
        pn.r(x - s * 0.5, y - s * 0.04, x + s * 0.5, y, dark)
    elif kind == "books":
        for i in range(5):
            pn.r(
                x - s * 0.5 + i * s * 0.2,
                y - s * (0.7 + (i % 3) * 0.1),
                x - s * 0.32 + i * s * 0.2,
                y,
                shade(col, 0.6 + 0.15 * (i % 4)),
            )
    elif kind == "clock":
        pn.e(cx, cy, s * 0.5, s * 0.5, col)
        pn.e(cx, cy, s * 0.42, s * 0.42, (248, 246, 238))
        pn.ln([(cx, cy), (cx, cy - s * 0.3)], (20, 20, 20), s * 0.04)
        pn.ln([(cx, cy), (cx + s * 0.2, cy + s * 0.08)], (20, 20, 20), s * 0.04)
    elif kind == "key":
        pn.e(x - s * 0.3, cy, s * 0.2, s * 0.2, col)
        pn.e(x - s * 0.3, cy, s * 0.08, s * 0.08, (0, 0, 0) if k.get("hole") else dark)
        pn.r(x - s * 0.1, cy - s * 0.04, x + s * 0.5, cy + s * 0.04, col)
        pn.r(x + s * 0.35, cy, x + s * 0.42, cy + s * 0.15, col)
    elif kind == "ball":
        pn.e(cx, cy, s * 0.5, s * 0.5, col)
        pn.arc(cx, cy, s * 0.5, s * 0.2, 0, 360, light, s * 0.05)
        pn.e(cx - s * 0.18, cy - s * 0.2, s * 0.1, s * 0.07, light)
    elif kind == "balloon":
        pn.ln([(cx, y + s * 0.6), (cx, cy + s * 0.35)], (220, 220, 220), 1)
        pn.e(cx, cy, s * 0.32, s * 0.4, col)
        pn.e(cx - s * 0.1, cy - s * 0.15, s * 0.07, s * 0.1, light)
    elif kind == "guitar":
        pn.e(x, y - s * 0.2, s * 0.22, s * 0.2, col)
        pn.e(x, y - s * 0.45, s * 0.17, s * 0.15, col)
        pn.e(x, y - s * 0.3, s * 0.06, s * 0.06, (20, 20, 20))
        pn.r(x - s * 0.03, y - s, x + s * 0.03, y - s * 0.45, dark)
    elif kind == "piano":
        pn.r(x - s * 0.8, y - s, x + s * 0.8, y, col)
        pn.r(x - s * 0.75, y - s * 0.5, x + s * 0.75, y - s * 0.35, (245, 245, 240))
        for i in range(12):
            pn.r(
                x - s * 0.72 + i * s * 0.125,
                y - s * 0.5,
                x - s * 0.68 + i * s * 0.125,
                y - s * 0.42,
                (20, 20, 20),
            )
    elif kind == "bell":
        pn.p(
            [
                (x - s * 0.4, y - s * 0.2),
                (x + s * 0.4, y - s * 0.2),
                (x + s * 0.25, y - s * 0.85),
                (x - s * 0.25, y - s * 0.85),
            ],
            col,
        )
        pn.chord(x, y - s * 0.8, s * 0.25, s * 0.2, 180, 360, col)
        pn.e(x, y - s * 0.12, s * 0.08, s * 0.08, dark)
    elif kind == "anchor":
        pn.r(x - s * 0.04, y - s * 0.9, x + s * 0.04, y - s * 0.1, col)
        pn.arc(x, y - s * 0.35, s * 0.35, s * 0.3, 20, 160, col, s * 0.07)
        pn.r(x - s * 0.2, y - s * 0.75, x + s * 0.2, y - s * 0.7, col)
        pn.arc(x, y - s * 0.93, s * 0.09, s * 0.09, 0, 360, col, s * 0.04)
    elif kind == "hat":
        pn.e(cx, y - s * 0.15, s * 0.6, s * 0.12, col)
        pn.r(cx - s * 0.3, y - s * 0.7, cx + s * 0.3, y - s * 0.15, col)
        pn.r(cx - s * 0.3, y - s * 0.3, cx + s * 0.3, y - s * 0.22, dark)
    elif kind == "crown":
        pts = [
            (x - s * 0.5, y),
            (x - s * 0.5, y - s * 0.8),
            (x - s * 0.25, y - s * 0.4),
            (x, y - s),
            (x + s * 0.25, y - s * 0.4),
            (x + s * 0.5, y - s * 0.8),
            (x + s * 0.5, y),
        ]
        pn.p(pts, col)
        for dx in (-0.25, 0, 0.25):
            pn.e(x + dx * s, y - s * 0.2, s * 0.06, s * 0.06, rgb("c01a3a"))
    elif kind == "sword":
        pn.p([(x - s * 0.04, y - s * 0.3), (x + s * 0.04, y - s * 0.3), (x, y - s)], (210, 215, 225))
        pn.r(x - s * 0.18, y - s * 0.32, x + s * 0.18, y - s * 0.27, col)
        pn.r(x - s * 0.03, y - s * 0.27, x + s * 0.03, y - s * 0.05, dark)
    elif kind == "shield":
        pn.p(
            [
                (x - s * 0.4, y - s),
                (x + s * 0.4, y - s),
                (x + s * 0.4, y - s * 0.45),
                (x, y),
                (x - s * 0.4, y - s * 0.45),
            ],
            col,
        )
        pn.r(x - s * 0.05, y - s * 0.9, x + s * 0.05, y - s * 0.15, rgb("f0d040"))
        pn.r(x - s * 0.3, y - s * 0.65, x + s * 0.3, y - s * 0.55, rgb("f0d040"))
    elif kind == "box" or kind == "gift":
        pn.r(x - s * 0.5, y - s * 0.8, x + s * 0.5, y, col)
        pn.p(
            [
                (x - s * 0.5, y - s * 0.8),
                (x + s * 0.5, y - s * 0.8),
                (x + s * 0.6, y - s * 0.9),
                (x - s * 0.4, y - s * 0.9),
            ],
            light,
        )
        if kind == "gift":
            pn.r(x - s * 0.06, y - s * 0.9, x + s * 0.06, y, rgb("f0d040"))
            pn.e(x - s * 0.1, y - s * 0.98, s * 0.1, s * 0.07, rgb("f0d040"))
            pn.e(x + s * 0.1, y - s * 0.98, s * 0.1, s * 0.07, rgb("f0d040"))
    elif kind == "ladder":
        for dx in (-0.2, 0.2):
            pn.r(x + dx * s - s * 0.03, y - s, x + dx * s + s * 0.03, y, col)
        for j in range(6):
            pn.r(x - s * 0.2, y - s * (0.1 + j * 0.16), x + s * 0.2, y - s * (0.07 + j * 0.16), col)
    elif kind == "flag":
        pn.r(x - s * 0.02, y - s, x + s * 0.02, y, (70, 70, 70))
        pn.p(
            [(x, y - s), (x + f * s * 0.55, y - s * 0.9), (x + f * s * 0.5, y - s * 0.75), (x, y - s * 0.65)],
            col,
        )
    elif kind == "mailbox":
        pn.r(x - s * 0.04, y - s * 0.6, x + s * 0.04, y, wood)
        pn.chord(x, y - s * 0.8, s * 0.3, s * 0.2, 180, 360, col)
        pn.r(x - s * 0.3, y - s * 0.8, x + s * 0.3, y - s * 0.6, col)
        pn.r(x + s * 0.25, y - s * 0.95, x + s * 0.3, y - s * 0.75, rgb("d02020"))
    elif kind == "telescope":
        pn.ln([(x - s * 0.2, y), (x, y - s * 0.5), (x + s * 0.2, y)], (40, 40, 40), s * 0.03)
        pn.ln([(x - f * s * 0.3, y - s * 0.35), (x + f * s * 0.4, y - s * 0.85)], col, s * 0.12)
    elif kind == "bucket":
        pn.p(
            [(x - s * 0.4, y - s * 0.8), (x + s * 0.4, y - s * 0.8), (x + s * 0.3, y), (x - s * 0.3, y)], col
        )
        pn.arc(x, y - s * 0.8, s * 0.4, s * 0.4, 180, 360, (60, 60, 60), s * 0.03)
    elif kind == "heart":
        pn.e(cx - s * 0.22, cy - s * 0.15, s * 0.27, s * 0.27, col)
        pn.e(cx + s * 0.22, cy - s * 0.15, s * 0.27, s * 0.27, col)
        pn.p([(cx - s * 0.47, cy - s * 0.08), (cx + s * 0.47, cy - s * 0.08), (cx, cy + s * 0.5)], col)
    elif kind == "television" or kind == "computer":
        pn.r(x - s * 0.6, y - s, x + s * 0.6, y - s * 0.25, dark)
        pn.r(x - s * 0.53, y - s * 0.93, x + s * 0.53, y - s * 0.32, col)
        pn.r(x - s * 0.06, y - s * 0.25, x + s * 0.06, y - s * 0.08, dark)
        pn.r(x - s * 0.3, y - s * 0.08, x + s * 0.3, y, dark)
    elif kind == "phone":
        pn.r(x - s * 0.25, y - s, x + s * 0.25, y, (30, 30, 34))
        pn.r(x - s * 0.21, y - s * 0.92, x + s * 0.21, y - s * 0.1, col)
    elif kind == "glasses":
        for dx in (-0.3, 0.3):
            pn.arc(cx + dx * s, cy, s * 0.22, s * 0.18, 0, 360, col, s * 0.05)
        pn.arc(cx, cy, s * 0.08, s * 0.05, 180, 360, col, s * 0.04)
    elif kind == "sign":
        pn.r(x - s * 0.04, y - s * 0.6, x + s * 0.04, y, wood)
        pn.r(x - s * 0.45, y - s, x + s * 0.45, y - s * 0.6, col)
    elif kind == "fence":
        for i in range(7):
            px = x - s * 1.5 + i * s * 0.5
            pn.p(
                [
                    (px - s * 0.08, y),
                    (px + s * 0.08, y),
                    (px + s * 0.08, y - s * 0.8),
                    (px, y - s),
                    (px - s * 0.08, y - s * 0.8),
                ],
                col,
            )
        for yy in (0.3, 0.65):
            pn.r(x - s * 1.6, y - s * yy - s * 0.05, x + s * 1.6, y - s * yy + s * 0.05, col)
    elif kind == "campfire":
        for dx in (-0.3, 0.3):
            pn.ln([(x - dx * s, y), (x + dx * s, y - s * 0.15)], wood, s * 0.1)
        pn.p(
            [
                (x - s * 0.3, y - s * 0.1),
                (x + s * 0.3, y - s * 0.1),
                (x + s * 0.1, y - s * 0.6),
                (x, y - s),
                (x - s * 0.15, y - s * 0.55),
            ],
            col,
        )
        pn.p([(x - s * 0.15, y - s * 0.1), (x + s * 0.15, y - s * 0.1), (x, y - s * 0.55)], rgb("ffe070"))


def _thing(
    names: str, colour: str, size: float = 0.14, layer: str = "ground", aspect: float = 1.0, **kw: Any
) -> None:
    home = kw.pop("home", "")
    _add(names, "object", thing, colour, layer=layer, size=size, aspect=aspect, home=home, params=kw)


_thing("kite", "e0302a", size=0.16, layer="sky", aspect=0.7, home="beach", type="kite")
_thing("umbrella parasol", "2a6ad0", size=0.2, aspect=1.1, type="umbrella")
_thing("beach_umbrella sunshade", "e03a3a", size=0.3, aspect=1.2, home="beach", type="beach_umbrella")
_thing("chair armchair stool", "8a5a32", size=0.2, aspect=0.6, home="room", type="chair")
_thing("bench", "7a5030", size=0.14, aspect=2.0, home="city", type="bench")
_thing("streetlamp lamppost lamp_post", "ffe8a0", size=0.45, aspect=0.3, home="city", type="lamp")
_thing("lamp desk_lamp", "e8c070", size=0.16, layer="table", aspect=0.6, home="room", type="desk_lamp")
_thing("lantern", "ffd070", size=0.12, aspect=0.5, type="lantern")
_thing("candle candles", "f4ecd8", size=0.12, layer="table", aspect=0.3, home="room", type="candle")
_thing("book novel", "8a2a3a", size=0.05, layer="table", aspect=3.0, home="room", type="book")
_thing("books bookshelf library", "6a3a2a", size=0.14, layer="table", aspect=1.0, home="room", type="books")
_thing("clock watch", "4a3a2a", size=0.14, layer="table", home="room", type="clock")
_thing("key", "d8b040", size=0.06, layer="table", aspect=1.8, home="room", type="key")
_thing("ball football", "e8e8e8", size=0.08, type="ball")
_thing("beach_ball", "e83a3a", size=0.08, home="beach", type="ball")
_thing("balloon balloons", "e02a4a", size=0.12, layer="sky", aspect=0.7, type="balloon")
_thing("guitar", "b8702a", size=0.22, aspect=0.45, home="room", type="guitar")
_thing("piano", "1e1a1a", size=0.2, aspect=1.6, home="room", type="piano")
_thing("bell", "d8a830", size=0.12, layer="table", aspect=0.8, type="bell")
_thing("anchor", "3a3a44", size=0.16, aspect=0.8, home="beach", type="anchor")
_thing("hat top_hat", "2a2a2e", size=0.1, layer="table", aspect=1.2, type="hat")
_thing("crown tiara", "f0c030", size=0.1, layer="table", aspect=1.0, type="crown")
_thing("sword blade", "8a6a2a", size=0.25, aspect=0.4, type="sword")
_thing("shield", "2a4aa0", size=0.2, aspect=0.8, type="shield")
_thing("box crate chest", "a87a4a", size=0.12, aspect=1.1, type="box")
_thing("gift present", "d02a3a", size=0.12, layer="table", aspect=1.1, type="gift")
_thing("ladder", "9a7040", size=0.35, aspect=0.5, type="ladder")
_thing("flag banner", "d02a2a", size=0.3, aspect=0.6, type="flag")
_thing("mailbox postbox", "3a5a9a", size=0.2, aspect=0.6, type="mailbox")
_thing("telescope", "c8a040", size=0.22, aspect=0.8, type="telescope")
_thing("bucket pail", "3a8ad0", size=0.08, aspect=1.0, home="beach", type="bucket")
_thing("heart", "e02a4a", size=0.18, layer="sky", aspect=1.0, type="heart")
_thing("television tv screen", "3a6aa0", size=0.14, layer="table", aspect=1.3, home="room", type="television")
_thing(
    "computer laptop monitor", "2a3a5a", size=0.14, layer="table", aspect=1.3, home="room", type="computer"
)
_thing("phone smartphone", "5aa0e0", size=0.1, layer="table", aspect=0.5, home="room", type="phone")
_thing("glasses spectacles", "2a2a2a", size=0.06, layer="table", aspect=2.0, home="room", type="glasses")
_thing("sign signpost", "c8a060", size=0.2, aspect=0.9, type="sign")
_thing("fence", "e8e4dc", size=0.1, aspect=3.5, home="field", type="fence")
_thing("campfire bonfire fire", "f07020", size=0.12, aspect=1.0, home="forest", type="campfire")


def sky(pn: Pen, x: float, y: float, s: float, col: RGB, f: int, k: dict[str, Any]) -> None:
    """Sky things: sun, moon, star, cloud, rainbow, comet, planet, lightning."""
    kind = k["type"]
    cx, cy = x, y - s / 2
    if kind == "sun":
        for i in range(12):
            a = math.radians(i * 30)
            pn.ln(
                [
                    (cx + math.cos(a) * s * 0.42, cy + math.sin(a) * s * 0.42),
                    (cx + math.cos(a) * s * 0.6, cy + math.sin(a) * s * 0.6),
                ],
                shade(col, 1.1),
                s * 0.05,
            )
        pn.e(cx, cy, s * 0.35, s * 0.35, col)
    elif kind == "moon":
        pn.e(cx, cy, s * 0.4, s * 0.4, col)
        for dx, dy, r in ((-0.1, -0.1, 0.08), (0.15, 0.1, 0.06), (-0.05, 0.2, 0.05)):
            pn.e(cx + dx * s, cy + dy * s, r * s, r * s, shade(col, 0.85))
    elif kind == "crescent":
        pn.e(cx, cy, s * 0.4, s * 0.4, col)
        pn.e(cx + s * 0.18, cy - s * 0.08, s * 0.34, s * 0.34, k["_bg"] if "_bg" in k else (20, 30, 60))
    elif kind == "star":
        pts = []
        for i in range(10):
            r = s * (0.5 if i % 2 == 0 else 0.2)
            a = math.radians(-90 + i * 36)
            pts.append((cx + math.cos(a) * r, cy + math.sin(a) * r))
        pn.p(pts, col)
    elif kind == "cloud":
        for dx, dy, r in (
            (-0.45, 0.1, 0.25),
            (0.45, 0.1, 0.25),
            (-0.15, -0.1, 0.33),
            (0.2, -0.05, 0.3),
            (0, 0.12, 0.28),
        ):
            pn.e(cx + dx * s, cy + dy * s, r * s * 1.2, r * s, col)
        pn.r(cx - s * 0.6, cy + s * 0.1, cx + s * 0.6, cy + s * 0.32, col)
    elif kind == "rainbow":
        for i, c in enumerate(("e8303a", "f08a2a", "f0d83a", "4ab84a", "3a7ad8", "6a3ab0")):
            pn.arc(cx, y, s * 1.6 - i * s * 0.08, s - i * s * 0.08, 180, 360, rgb(c), s * 0.08)
    elif kind == "comet":
        pn.p([(cx, cy - s * 0.08), (cx, cy + s * 0.08), (cx - f * s * 1.5, cy - s * 0.7)], shade(col, 0.8))
        pn.e(cx, cy, s * 0.1, s * 0.1, col)
    elif kind == "planet":
        pn.e(cx, cy, s * 0.4, s * 0.4, col)
        pn.chord(cx, cy, s * 0.4, s * 0.4, 200, 340, shade(col, 1.2))
        if k.get("ring"):
            pn.arc(cx, cy, s * 0.7, s * 0.15, 0, 180, shade(col, 1.4), s * 0.05)
    elif kind == "lightning":
        pn.p(
            [
                (cx, y - s),
                (cx - s * 0.2, cy),
                (cx + s * 0.05, cy),
                (cx - s * 0.15, y),
                (cx + s * 0.2, cy - s * 0.1),
                (cx - s * 0.02, cy - s * 0.1),
                (cx + s * 0.15, y - s),
            ],
            col,
        )


def _sky(names: str, colour: str, size: float, aspect: float = 1.0, **kw: Any) -> None:
    _add(names, "sky", sky, colour, layer="sky", size=size, aspect=aspect, params=kw)


_sky("sun", "ffd24a", 0.2, type="sun")
_sky("moon full_moon", "f0ecd8", 0.16, type="moon")
_sky("crescent crescent_moon", "f4ecc0", 0.16, type="crescent")
_sky("star", "fff0a0", 0.08, type="star")
_sky("cloud", "f4f6fa", 0.12, aspect=1.8, type="cloud")
_sky("rainbow", "ffffff", 0.4, aspect=3.2, type="rainbow")
_sky("comet meteor shooting_star", "f0f4ff", 0.08, aspect=2.0, type="comet")
_sky("planet", "d88a4a", 0.22, type="planet")
_sky("saturn", "e0c080", 0.22, aspect=1.8, type="planet", ring=True)
_sky("earth globe", "3a7ad0", 0.22, type="planet")
_sky("lightning thunderbolt", "fff8b0", 0.4, aspect=0.5, type="lightning")


def distinct_subjects() -> list[str]:
    """One name per distinct drawing (drawer, parameters and colour), for counting the library."""
    seen: dict[tuple[Any, ...], str] = {}
    for name, kind in KINDS.items():
        key = (kind.draw.__name__, repr(sorted(kind.params.items())), kind.colour)
        seen.setdefault(key, name)
    return sorted(seen.values())
