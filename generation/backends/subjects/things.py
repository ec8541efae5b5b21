"""Everyday objects, and the subjects they draw."""

from __future__ import annotations

import math
from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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
_thing("computer laptop monitor", "2a3a5a", size=0.14, layer="table", aspect=1.3, home="room",
       type="computer")  # fmt: skip
_thing("phone smartphone", "5aa0e0", size=0.1, layer="table", aspect=0.5, home="room", type="phone")
_thing("glasses spectacles", "2a2a2a", size=0.06, layer="table", aspect=2.0, home="room", type="glasses")
_thing("sign signpost", "c8a060", size=0.2, aspect=0.9, type="sign")
_thing("fence", "e8e4dc", size=0.1, aspect=3.5, home="field", type="fence")
_thing("campfire bonfire fire", "f07020", size=0.12, aspect=1.0, home="forest", type="campfire")
