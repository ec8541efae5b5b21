"""People: figures and silhouettes, and the subjects they draw."""

from __future__ import annotations

from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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
_person("knight warrior", "9aa0ac", home="field", hat="helmet", hat_colour="8a909c", hold="sword",
        trousers="6a707c")  # fmt: skip
_person("wizard witch mage", "4a2a7a", home="forest", hat="pointed", hat_colour="3a1a6a", hold="staff",
        dress=True)  # fmt: skip
_person("astronaut spaceman", "eeeeee", home="space", hat="helmet", hat_colour="f0f0f0", trousers="dcdcdc",
        suit=True)  # fmt: skip
_person("chef cook baker", "f4f4f4", home="room", hat="chef", trousers="2a2a2a")
_person("king emperor", "8a1a2a", hat="crown", cape="b01a2a", hair="5a4a3a")
_person("queen princess", "7a2a9a", dress=True, hat="crown", long_hair=True, hair="c89a4a")
_person("pirate sailor captain", "2a2a3a", home="sea", hat="tricorn", hat_colour="1a1a1a", hold="sword")
_person("musician guitarist", "5a3a6a", hold="guitar", hair="2a1a1a")
_person("reader student scholar", "6a4a3a", home="room", hold="book", hair="2a1a1a")
_person("walker hiker pedestrian", "2a6a4a", hat="cap", hat_colour="a03030", stride=0.1)
_person("detective gentleman", "6a5a48", hat="bowler", hat_colour="2a2a2a", hold="umbrella",
        umbrella="1a1a1a")  # fmt: skip
_person("superhero hero", "2a4ad8", cape="d82a2a", hair="1a1a1a")
_person("ghost", "f0f0f8", dress=True, skin="f0f0f8", home="forest")
