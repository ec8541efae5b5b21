"""Sky things: sun, moon, stars, planets, lightning, and the subjects they draw."""

from __future__ import annotations

import math
from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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
