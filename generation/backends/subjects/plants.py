"""Plants and landforms, and the subjects they draw."""

from __future__ import annotations

import math
from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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
_add("pine fir spruce conifer evergreen", "plant", tree, "2a5a34", size=0.55, aspect=0.6, home="forest",
     params={"type": "conifer"})  # fmt: skip
_add("christmas_tree", "plant", tree, "2a6a34", size=0.5, aspect=0.6, home="room", params={"type": "conifer"})
_add("palm palm_tree", "plant", tree, "3a8a3a", size=0.55, aspect=0.8, home="beach", params={"type": "palm"})
_add("birch aspen", "plant", tree, "8ab84a", size=0.5, aspect=0.6, home="forest", params={"type": "birch"})
_add("willow", "plant", tree, "6a9a4a", size=0.5, aspect=0.8, home="field", params={"type": "willow"})
_add("cherry_tree blossom sakura", "plant", tree, "f0a8c0", size=0.5, aspect=0.7, home="field",
     params={"dots": "ffffff", "ndots": 14})  # fmt: skip
_add("apple_tree orchard", "plant", tree, "4a8a3a", size=0.5, aspect=0.7, home="field",
     params={"dots": "d82a2a", "ndots": 12})  # fmt: skip
_add("dead_tree bare_tree", "plant", tree, "5a4a3a", size=0.5, aspect=0.7,
     params={"type": "bare", "trunk": "4a3a2e"})  # fmt: skip
_add("bush shrub hedge", "plant", tree, "3a7a3a", size=0.16, aspect=1.2, params={"type": "bush"})
_add("berry_bush", "plant", tree, "3a6a3a", size=0.16, aspect=1.2,
     params={"type": "bush", "berries": "5a2a8a"})  # fmt: skip
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
_add("sunflower", "plant", flower, "f8c820", size=0.3, aspect=0.5, home="field",
     params={"petals": 14, "petal": 0.13, "centre": "5a3a1a"})  # fmt: skip
_add("poppy", "plant", flower, "e02a20", size=0.14, aspect=0.6, home="field",
     params={"petals": 5, "petal": 0.09, "centre": "1a1a1a"})  # fmt: skip
_add("tulip", "plant", flower, "e0305a", size=0.16, aspect=0.5, home="field", params={"type": "tulip"})
_add("rose", "plant", flower, "c8102a", size=0.16, aspect=0.5, home="field", params={"type": "rose"})
_add("lavender", "plant", flower, "9a70d0", size=0.14, aspect=0.3, home="field", params={"type": "lavender"})
_add("mushroom toadstool", "plant", flower, "d02a20", size=0.12, aspect=0.9, home="forest",
     params={"type": "mushroom"})  # fmt: skip
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
_add("volcano", "object", landform, "5a4a44", size=0.4, aspect=1.6, home="mountains",
     params={"type": "volcano"})  # fmt: skip
_add("island", "object", landform, "e8d090", layer="water", size=0.2, aspect=2.0, home="sea",
     params={"type": "island", "wide": 2.0})  # fmt: skip
_add("waterfall", "object", landform, "8a8a80", size=0.5, aspect=0.8, home="forest",
     params={"type": "waterfall", "wide": 0.8})  # fmt: skip
_add("snowman", "object", landform, "f6f8fa", size=0.26, aspect=0.5, home="snow", params={"type": "snowman"})
