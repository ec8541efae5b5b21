"""Buildings, and the subjects they draw."""

from __future__ import annotations

import math
from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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


_add("house home", "building", building, "e8d8b8", size=0.3, aspect=1.1, home="field",
     params={"chimney": True})  # fmt: skip
_add("cottage", "building", building, "f0ece0", size=0.28, aspect=1.2, home="field",
     params={"roof": "b8903a", "wide": 1.2, "chimney": True})  # fmt: skip
_add("cabin lodge", "building", building, "8a5a32", size=0.28, aspect=1.2, home="forest",
     params={"roof": "4a3a2a", "wide": 1.2, "logs": True, "chimney": True})  # fmt: skip
_add("church chapel", "building", building, "e8e4dc", size=0.4, aspect=0.7, home="field",
     params={"roof": "4a4a5a", "wide": 0.7, "cross": True})  # fmt: skip
_add("barn", "building", building, "a82a22", size=0.3, aspect=1.3, home="field",
     params={"type": "barn", "wide": 1.3, "roof": "4a3a36"})  # fmt: skip
_add("castle fortress palace", "building", building, "9a968c", size=0.42, aspect=1.3, home="mountains",
     params={"type": "castle", "wide": 1.3})  # fmt: skip
_add("tower", "building", building, "a8a090", size=0.5, aspect=0.35,
     params={"type": "tower", "roof": "5a3a3a"})  # fmt: skip
_add("lighthouse", "building", building, "f4f0e8", size=0.5, aspect=0.35, home="sea", params={"type": "tower",
     "stripes": "c82a2a", "roof": "2a2a2a", "beam": True})  # fmt: skip
_add("skyscraper building office", "building", building, "5a6a80", size=0.6, aspect=0.35, home="city",
     params={"type": "skyscraper", "wide": 0.35, "window": "f0e0a0"})  # fmt: skip
_add("windmill", "building", building, "e8e0d0", size=0.4, aspect=0.6, home="field",
     params={"type": "windmill", "wide": 0.6})  # fmt: skip
_add("tent", "building", building, "e08a2a", size=0.18, aspect=1.4, home="forest",
     params={"type": "tent", "wide": 1.4})  # fmt: skip
_add("pyramid", "building", building, "d8b070", size=0.36, aspect=1.6, home="desert",
     params={"type": "pyramid", "wide": 1.7})  # fmt: skip
_add("igloo", "building", building, "f0f4f8", size=0.2, aspect=1.6, home="snow",
     params={"type": "igloo", "wide": 1.6})  # fmt: skip
_add("hut shack", "building", building, "a07a4a", size=0.22, aspect=1.2, home="beach",
     params={"type": "hut", "wide": 1.2})  # fmt: skip
_add("temple", "building", building, "e8e0d0", size=0.34, aspect=1.4, home="mountains",
     params={"type": "temple", "wide": 1.4})  # fmt: skip
_add("pagoda", "building", building, "c83a2a", size=0.42, aspect=0.8, home="mountains",
     params={"type": "pagoda", "wide": 0.8, "roof": "2a3a3a"})  # fmt: skip
_add("factory mill", "building", building, "8a5a4a", size=0.3, aspect=1.5, home="city",
     params={"type": "factory", "wide": 1.5})  # fmt: skip
_add("bridge", "building", building, "9a8a78", size=0.22, aspect=3.0, home="city",
     params={"type": "bridge", "wide": 3.0})  # fmt: skip
_add("fountain", "building", building, "c8c4bc", size=0.18, aspect=1.4, home="city",
     params={"type": "fountain", "wide": 1.4})  # fmt: skip
_add("well", "building", building, "9a948a", size=0.18, aspect=0.9, home="field",
     params={"type": "well", "wide": 0.9})  # fmt: skip
_add("mosque cathedral observatory", "building", building, "ece4d4", size=0.34, aspect=1.2, home="city",
     params={"type": "dome", "wide": 1.2, "roof": "3a8a8a"})  # fmt: skip
