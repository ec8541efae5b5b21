"""Boats, road vehicles and aircraft, and the subjects they draw."""

from __future__ import annotations

from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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


_add("boat rowboat dinghy", "boat", boat, "c03a2a", layer="water", size=0.16, aspect=2.1, home="sea",
     params={"type": "row"})  # fmt: skip
_add("sailboat yacht", "boat", boat, "f4f4f0", layer="water", size=0.18, aspect=1.3, home="sea",
     params={"type": "sail", "len": 1.4, "hull": 0.22, "mast": 1.6})  # fmt: skip
_add("sailing_ship galleon", "boat", boat, "6a4426", layer="water", size=0.26, aspect=1.4, home="sea",
     params={"type": "sail", "len": 1.6, "hull": 0.35, "mast": 1.8, "sail": "efe6cc"})  # fmt: skip
_add("ship ferry liner steamer", "boat", boat, "2a3a5a", layer="water", size=0.18, aspect=3.0, home="sea",
     params={"type": "ship", "len": 3.2, "hull": 0.4})  # fmt: skip
_add("canoe kayak", "boat", boat, "d8782a", layer="water", size=0.08, aspect=5.0, home="sea",
     params={"type": "canoe", "len": 5.0, "hull": 0.6})  # fmt: skip
_add("tugboat trawler", "boat", boat, "d84a2a", layer="water", size=0.16, aspect=2.0, home="sea",
     params={"type": "tug", "len": 2.0, "hull": 0.4})  # fmt: skip
_add("raft", "boat", boat, "9a7040", layer="water", size=0.15, aspect=2.0, home="sea",
     params={"type": "raft"})  # fmt: skip
_add("gondola", "boat", boat, "1e1e22", layer="water", size=0.1, aspect=4.0, home="sea",
     params={"type": "gondola", "len": 4.0, "hull": 0.35})  # fmt: skip
_add("submarine", "boat", boat, "e8c020", layer="water", size=0.12, aspect=3.0, home="sea",
     params={"type": "submarine", "len": 3.0, "hull": 0.5})  # fmt: skip


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
_add("police_car", "vehicle", vehicle, "f0f0f0", size=0.14, aspect=2.2, home="city",
     params={"light": "2060f0", "stripe": "2040a0"})  # fmt: skip
_add("jeep suv", "vehicle", vehicle, "4a5a3a", size=0.16, aspect=2.0, home="desert",
     params={"body": 0.7, "wheel": 0.22, "len": 2.0})  # fmt: skip
_add("truck lorry", "vehicle", vehicle, "2a5ab0", size=0.2, aspect=2.6, home="city",
     params={"cab": "front", "len": 2.6, "body": 0.4})  # fmt: skip
_add("fire_truck fire_engine", "vehicle", vehicle, "d02020", size=0.2, aspect=2.6, home="city",
     params={"cab": "front", "len": 2.6, "body": 0.4, "box": "d02020"})  # fmt: skip
_add("van", "vehicle", vehicle, "e8e8e8", size=0.18, aspect=2.0, home="city", params={"cab": "box",
     "len": 2.0, "windows": 3, "body": 0.35})  # fmt: skip
_add("ambulance", "vehicle", vehicle, "f4f4f4", size=0.18, aspect=2.0, home="city", params={"cab": "box",
     "len": 2.0, "windows": 2, "body": 0.35, "stripe": "d02020", "light": "2060f0"})  # fmt: skip
_add("bus coach", "vehicle", vehicle, "f0b020", size=0.22, aspect=3.0, home="city", params={"cab": "box",
     "len": 3.0, "windows": 6, "body": 0.35})  # fmt: skip
_add("tram streetcar trolley", "vehicle", vehicle, "c8402a", size=0.22, aspect=3.0, home="city",
     params={"type": "tram", "cab": "box", "len": 3.0, "windows": 6, "body": 0.35,
     "stripe": "f0e0b0"})  # fmt: skip
_add("train", "vehicle", vehicle, "2a7a4a", size=0.16, aspect=5.0, home="field", params={"type": "train",
     "len": 5.0, "cars": 3, "wheel": 0.1})  # fmt: skip
_add("steam_train locomotive", "vehicle", vehicle, "1e1e22", size=0.16, aspect=4.0, home="field",
     params={"type": "train", "len": 4.0, "cars": 2, "wheel": 0.12, "steam": True})  # fmt: skip
_add("tractor", "vehicle", vehicle, "2a8a3a", size=0.16, aspect=1.6, home="field",
     params={"type": "tractor", "len": 1.6})  # fmt: skip
_add("bicycle bike", "vehicle", vehicle, "2a8ad8", size=0.14, aspect=1.7, home="city",
     params={"type": "bicycle", "len": 1.7, "wheel": 0.35})  # fmt: skip
_add("motorcycle motorbike scooter", "vehicle", vehicle, "1e1e1e", size=0.15, aspect=1.8, home="city",
     params={"type": "motorcycle", "len": 1.8, "wheel": 0.32})  # fmt: skip


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


_add("airplane plane aeroplane jet aircraft", "vehicle", aircraft, "e8ecf0", layer="sky", size=0.12,
     aspect=2.2, params={"type": "plane"})  # fmt: skip
_add("helicopter", "vehicle", aircraft, "d03a2a", layer="sky", size=0.14, aspect=2.0,
     params={"type": "helicopter"})  # fmt: skip
_add("rocket spaceship", "vehicle", aircraft, "e8e8ec", layer="sky", size=0.3, aspect=0.5, home="space",
     params={"type": "rocket"})  # fmt: skip
_add("hot_air_balloon", "vehicle", aircraft, "e04a2a", layer="sky", size=0.28, aspect=0.7,
     params={"type": "balloon"})  # fmt: skip
_add("airship zeppelin blimp", "vehicle", aircraft, "b8bcc4", layer="sky", size=0.12, aspect=2.2,
     params={"type": "airship"})  # fmt: skip
_add("ufo flying_saucer", "vehicle", aircraft, "9aa0b0", layer="sky", size=0.14, aspect=1.6,
     params={"type": "ufo"})  # fmt: skip
