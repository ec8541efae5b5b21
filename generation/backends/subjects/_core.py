"""The library's common parts: colours, the Pen drawers paint with, a subject's Kind, the registry.

A drawer paints one subject standing on the point (x, y) (its base, centred), ``s`` pixels tall, in a
main colour (the one a colour word in the prompt replaces), facing ``f`` (1 right, -1 left). Drawers use
only their ``Pen``'s seeded random source, so the same arguments always give the same pixels.
"""

from __future__ import annotations

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
