"""Food: fruit and dishes, and the subjects they draw."""

from __future__ import annotations

from typing import Any

from generation.backends.subjects._core import RGB, Pen, _add, rgb, shade


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
