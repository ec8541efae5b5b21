"""Animals: four-legged animals, birds, fish and small creatures, and the subjects they draw."""

from __future__ import annotations

import math
from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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


_add("fox", "animal", quadruped, "d8642a", size=0.24, aspect=1.5, home="forest", params={"leg": 0.3,
     "bh": 0.32, "bw": 1.1, "head": 0.26, "tail": "bushy", "belly": "f4eee6", "snout": 0.7,
     "legw": 0.07})  # fmt: skip
_add("wolf", "animal", quadruped, "7b7f86", size=0.3, aspect=1.4, home="forest", params={"leg": 0.4,
     "bh": 0.32, "bw": 1.1, "head": 0.25, "tail": "bushy", "belly": "c8c8c8", "snout": 0.7})  # fmt: skip
_add("dog", "animal", quadruped, "a8743f", size=0.24, aspect=1.3, home="field", params={"leg": 0.38,
     "bh": 0.32, "bw": 0.95, "head": 0.27, "ears": "flop", "tail": "thin", "snout": 0.55})  # fmt: skip
_add("cat", "animal", quadruped, "555056", size=0.2, aspect=1.3, home="room", params={"leg": 0.35, "bh": 0.3,
     "bw": 0.95, "head": 0.25, "tail": "thin", "snout": 0.25, "legw": 0.07})  # fmt: skip
_add("lion", "animal", quadruped, "d4a048", size=0.32, aspect=1.4, home="desert", params={"leg": 0.4,
     "bh": 0.36, "bw": 1.1, "head": 0.24, "ears": "round", "tail": "tuft", "snout": 0.4, "mane": "8a4a1a",
     "mane_round": True})  # fmt: skip
_add("tiger", "animal", quadruped, "e07a22", size=0.3, aspect=1.5, home="forest", params={"leg": 0.36,
     "bh": 0.34, "bw": 1.2, "head": 0.24, "ears": "round", "tail": "thin", "snout": 0.4, "pattern": "stripes",
     "belly": "f4eee6"})  # fmt: skip
_add("leopard cheetah jaguar", "animal", quadruped, "dcae5a", size=0.28, aspect=1.5, home="desert",
     params={"leg": 0.4, "bh": 0.3, "bw": 1.2, "head": 0.22, "ears": "round", "tail": "thin", "snout": 0.35,
     "pattern": "spots"})  # fmt: skip
_add("bear", "animal", quadruped, "5a3a22", size=0.36, aspect=1.4, home="forest", params={"leg": 0.3,
     "bh": 0.5, "bw": 1.1, "head": 0.3, "ears": "round", "tail": "short", "snout": 0.45,
     "legw": 0.16})  # fmt: skip
_add("polar_bear", "animal", quadruped, "eeeae0", size=0.36, aspect=1.4, home="snow", params={"leg": 0.3,
     "bh": 0.5, "bw": 1.15, "head": 0.28, "ears": "round", "tail": "short", "snout": 0.5, "legw": 0.16,
     "belly": "e0dcd0"})  # fmt: skip
_add("panda", "animal", quadruped, "f2f2ee", size=0.3, aspect=1.3, home="forest", params={"leg": 0.3,
     "bh": 0.48, "bw": 1.0, "head": 0.32, "ears": "round", "tail": "short", "snout": 0.3, "legw": 0.17,
     "pattern": "patches", "mark": "1c1c1c"})  # fmt: skip
_add("horse pony", "animal", quadruped, "7a4a2a", size=0.4, aspect=1.2, home="field", params={"leg": 0.48,
     "bh": 0.3, "bw": 0.9, "neck": 0.3, "head": 0.18, "tail": "flow", "snout": 0.9, "mane": "2a1a10",
     "hoof": True})  # fmt: skip
_add("zebra", "animal", quadruped, "eeeeea", size=0.38, aspect=1.2, home="desert", params={"leg": 0.46,
     "bh": 0.3, "bw": 0.9, "neck": 0.28, "head": 0.18, "tail": "tuft", "snout": 0.9, "mane": "1a1a1a",
     "pattern": "stripes", "hoof": True})  # fmt: skip
_add("unicorn", "animal", quadruped, "f4f0fa", size=0.4, aspect=1.2, home="field", params={"leg": 0.48,
     "bh": 0.3, "bw": 0.9, "neck": 0.3, "head": 0.18, "tail": "flow", "snout": 0.9, "mane": "d890e0",
     "horns": "unicorn", "hoof": True})  # fmt: skip
_add("donkey", "animal", quadruped, "8a8078", size=0.32, aspect=1.2, home="field", params={"leg": 0.42,
     "bh": 0.32, "bw": 0.85, "neck": 0.22, "head": 0.2, "ears": "long", "tail": "tuft", "snout": 0.8,
     "hoof": True})  # fmt: skip
_add("cow", "animal", quadruped, "f4f0e8", size=0.36, aspect=1.4, home="field", params={"leg": 0.34,
     "bh": 0.4, "bw": 1.15, "neck": 0.05, "head": 0.22, "ears": "round", "horns": "horns", "tail": "tuft",
     "snout": 0.5, "pattern": "patches", "mark": "2a2220", "hoof": True})  # fmt: skip
_add("bull ox buffalo", "animal", quadruped, "3a2a20", size=0.36, aspect=1.4, home="field",
     params={"leg": 0.32, "bh": 0.45, "bw": 1.15, "neck": 0.05, "head": 0.24, "ears": "round",
     "horns": "horns", "tail": "tuft", "snout": 0.45, "hoof": True, "legw": 0.12})  # fmt: skip
_add("deer", "animal", quadruped, "a8703c", size=0.36, aspect=1.1, home="forest", params={"leg": 0.5,
     "bh": 0.28, "bw": 0.85, "neck": 0.22, "head": 0.18, "ears": "point", "horns": "antlers", "tail": "short",
     "snout": 0.6, "legw": 0.06, "hoof": True})  # fmt: skip
_add("moose elk reindeer", "animal", quadruped, "5e4430", size=0.4, aspect=1.2, home="forest",
     params={"leg": 0.5, "bh": 0.34, "bw": 0.95, "neck": 0.15, "head": 0.22, "horns": "antlers",
     "tail": "short", "snout": 0.8, "hoof": True})  # fmt: skip
_add("sheep lamb", "animal", quadruped, "eeeadf", size=0.24, aspect=1.3, home="field", params={"leg": 0.28,
     "bh": 0.46, "bw": 1.0, "head": 0.22, "ears": "flop", "tail": "short", "snout": 0.4, "legw": 0.06,
     "belly": "dcd6c8"})  # fmt: skip
_add("goat", "animal", quadruped, "d8d0c0", size=0.26, aspect=1.2, home="mountains", params={"leg": 0.4,
     "bh": 0.32, "bw": 0.9, "neck": 0.1, "head": 0.2, "horns": "curl", "tail": "short", "snout": 0.6,
     "hoof": True})  # fmt: skip
_add("pig", "animal", quadruped, "f0a8a8", size=0.22, aspect=1.4, home="field", params={"leg": 0.22,
     "bh": 0.48, "bw": 1.1, "head": 0.28, "ears": "flop", "tail": "thin", "snout": 0.35,
     "legw": 0.08})  # fmt: skip
_add("elephant", "animal", quadruped, "8c8c90", size=0.45, aspect=1.2, home="desert", params={"leg": 0.38,
     "bh": 0.45, "bw": 1.0, "head": 0.3, "ears": "big", "tail": "thin", "snout": 0.2, "trunk": True,
     "legw": 0.18})  # fmt: skip
_add("giraffe", "animal", quadruped, "e0b060", size=0.55, aspect=0.8, home="desert", params={"leg": 0.45,
     "bh": 0.2, "bw": 0.6, "neck": 0.55, "head": 0.12, "ears": "point", "tail": "tuft", "snout": 0.7,
     "pattern": "patches", "mark": "8a4a1a", "legw": 0.07, "horns": "horns"})  # fmt: skip
_add("camel", "animal", quadruped, "c8a060", size=0.42, aspect=1.1, home="desert", params={"leg": 0.5,
     "bh": 0.3, "bw": 0.9, "neck": 0.25, "head": 0.15, "ears": "none", "tail": "tuft", "snout": 0.8,
     "humps": 1, "legw": 0.07})  # fmt: skip
_add("rabbit bunny hare", "animal", quadruped, "c8b8a8", size=0.16, aspect=1.1, home="field",
     params={"leg": 0.15, "bh": 0.5, "bw": 0.85, "head": 0.3, "ears": "long", "tail": "short", "snout": 0.25,
     "legw": 0.1, "belly": "f4f0ea"})  # fmt: skip
_add("squirrel", "animal", quadruped, "b0602a", size=0.14, aspect=1.1, home="forest", params={"leg": 0.15,
     "bh": 0.42, "bw": 0.7, "head": 0.3, "tail": "bushy", "snout": 0.3, "legw": 0.08})  # fmt: skip
_add("raccoon badger", "animal", quadruped, "6e6a66", size=0.18, aspect=1.4, home="forest",
     params={"leg": 0.22, "bh": 0.45, "bw": 1.0, "head": 0.28, "ears": "round", "tail": "bushy",
     "snout": 0.45, "pattern": "stripes", "mark": "2a2624"})  # fmt: skip
_add("dragon", "animal", quadruped, "2e8a4a", size=0.45, aspect=1.4, home="mountains", params={"leg": 0.3,
     "bh": 0.35, "bw": 1.2, "neck": 0.35, "head": 0.2, "ears": "point", "horns": "horns", "tail": "long",
     "snout": 0.8, "wings": "1e5a32", "legw": 0.12})  # fmt: skip
_add("dinosaur", "animal", critter, "6a8a3a", size=0.5, aspect=1.5, home="forest",
     params={"shape": "dinosaur"})  # fmt: skip
_add("mouse rat", "animal", critter, "9a928a", size=0.08, aspect=1.5, home="room", params={"shape": "mouse"})
_add("butterfly moth", "animal", critter, "e87a2a", layer="sky", size=0.1, params={"shape": "butterfly"})
_add("bee", "animal", critter, "f0c020", layer="sky", size=0.07, aspect=1.4, params={"shape": "bee"})
_add("ladybug ladybird beetle", "animal", critter, "d82020", size=0.07, params={"shape": "ladybug"})
_add("snail", "animal", critter, "b07a40", size=0.08, aspect=1.4, home="forest", params={"shape": "snail"})
_add("turtle tortoise", "animal", critter, "4e7a3a", size=0.12, aspect=1.5, home="beach",
     params={"shape": "turtle"})  # fmt: skip
_add("frog toad", "animal", critter, "4aa040", size=0.1, aspect=1.2, home="forest", params={"shape": "frog"})
_add("snake", "animal", critter, "6a8a2a", size=0.1, aspect=2.6, home="desert", params={"shape": "snake"})
_add("crab lobster", "animal", critter, "d84a2a", size=0.1, aspect=1.5, home="beach",
     params={"shape": "crab"})  # fmt: skip
_add("octopus squid", "animal", critter, "b04a6a", layer="water", size=0.18, home="sea",
     params={"shape": "octopus"})  # fmt: skip
_add("jellyfish", "animal", critter, "c890e0", layer="water", size=0.16, home="sea",
     params={"shape": "jellyfish"})  # fmt: skip
_add("spider", "animal", critter, "2a2220", layer="sky", size=0.1, home="forest", params={"shape": "spider"})
_add("bat", "animal", critter, "2e2630", layer="sky", size=0.1, aspect=2.0, params={"shape": "bat"})
_add("fish goldfish", "animal", fish, "f08a20", layer="water", size=0.1, aspect=2.0, home="sea",
     params={"len": 2.0})  # fmt: skip
_add("clownfish", "animal", fish, "f06a10", layer="water", size=0.1, aspect=2.0, home="sea",
     params={"len": 2.0, "stripes": True})  # fmt: skip
_add("shark", "animal", fish, "7a8a98", layer="water", size=0.14, aspect=3.0, home="sea",
     params={"len": 3.0, "fin": True})  # fmt: skip
_add("dolphin", "animal", fish, "8aa0b8", layer="water", size=0.13, aspect=3.0, home="sea",
     params={"len": 2.8, "fin": True})  # fmt: skip
_add("whale", "animal", fish, "3a5470", layer="water", size=0.22, aspect=3.0, home="sea",
     params={"len": 3.2, "spout": True})  # fmt: skip
_add("bird sparrow finch", "animal", bird, "8a6a4a", size=0.09, aspect=1.2, home="field",
     params={"belly": "e8d8c0"})  # fmt: skip
_add("robin", "animal", bird, "6a5a4a", size=0.09, aspect=1.2, home="forest", params={"belly": "e86a2a"})
_add("bluebird bluejay", "animal", bird, "3a6ad8", size=0.09, aspect=1.2, home="forest",
     params={"belly": "f0f0f0"})  # fmt: skip
_add("crow raven", "animal", bird, "1e1e24", size=0.12, aspect=1.2, home="field", params={"beak": "2a2a2a"})
_add("parrot macaw", "animal", bird, "d82a2a", size=0.16, aspect=0.9, home="forest", params={"upright": True,
     "beak": "f0e0c0", "belly": "2a6ad8", "head": 0.15})  # fmt: skip
_add("owl", "animal", bird, "8a6a44", size=0.16, aspect=0.8, home="forest", params={"upright": True,
     "leg": 0.05, "head": 0.2, "eyes_big": True, "belly": "d8c0a0", "beak_len": 0.05})  # fmt: skip
_add("eagle hawk falcon", "animal", bird, "5a3a22", size=0.2, aspect=1.0, home="mountains",
     params={"upright": True, "head_colour": "f4f4f0", "beak": "f0c020", "head": 0.12})  # fmt: skip
_add("penguin", "animal", bird, "1e1e26", size=0.2, aspect=0.6, home="snow", params={"upright": True,
     "leg": 0.05, "belly": "f4f4f0", "head": 0.14, "beak_len": 0.08})  # fmt: skip
_add("duck", "animal", bird, "e8e8e0", layer="water", size=0.1, aspect=1.3, home="field", params={"leg": 0.0,
     "head_colour": "2a7a3a", "beak": "f0b020"})  # fmt: skip
_add("swan goose", "animal", bird, "f8f8f4", layer="water", size=0.16, aspect=1.1, home="field",
     params={"leg": 0.0, "neck": 0.3, "beak": "f07020", "head": 0.09})  # fmt: skip
_add("chicken hen rooster", "animal", bird, "c86a2a", size=0.12, aspect=1.0, home="field",
     params={"comb": True, "leg": 0.2})  # fmt: skip
_add("flamingo", "animal", bird, "f08aa0", size=0.3, aspect=0.6, home="beach", params={"leg": 0.5,
     "neck": 0.3, "beak": "2a2a2a", "head": 0.06, "bw": 0.6})  # fmt: skip
_add("heron crane stork", "animal", bird, "c8ccd4", size=0.3, aspect=0.6, home="field", params={"leg": 0.5,
     "neck": 0.3, "beak": "e0a020", "head": 0.06, "bw": 0.6, "beak_len": 0.2})  # fmt: skip
_add("seagull gull", "animal", bird, "f4f4f4", layer="sky", size=0.08, aspect=2.0, home="beach",
     params={"flying": True, "beak": "f0c020"})  # fmt: skip
_add("pelican", "animal", bird, "eeeeea", size=0.2, aspect=1.0, home="beach", params={"upright": True,
     "leg": 0.1, "beak_len": 0.4, "beak": "f0b040", "head": 0.1})  # fmt: skip
_add("dove pigeon", "animal", bird, "b8bcc8", layer="sky", size=0.1, aspect=2.0, params={"flying": True})
