"""Painting a ScenePlan: the setting (sky, ground, light, weather) and the subjects composed in depth.

Everything is drawn at work size from one seeded random source, back to front: the sky and its sun or
moon, the distant setting (skyline, ridges, tree line), then the subjects in three depth bands
(background, middle ground, foreground; the farther, the smaller, higher and hazier), soft shadows under
what stands on the ground, the weather, and the light of the time of day over it all.
"""

from __future__ import annotations

import colorsys
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from generation.backends.scene import ScenePlan, Subject
from generation.backends.subjects import KINDS, RGB, Pen, rgb, shade

# (sky top, sky at the horizon, light colour, light strength, sun height 0 horizon .. 1 top or None)
TIMES: dict[str, tuple[str, str, str, float, float | None]] = {
    "dawn": ("4a5a8a", "f4b08a", "ffd0b0", 0.25, 0.08),
    "morning": ("6aa6dc", "d4eaf6", "fff6e8", 0.08, 0.45),
    "noon": ("3a78cc", "b4d8f2", "ffffff", 0.0, 0.85),
    "golden hour": ("d08448", "ffd68a", "ffb860", 0.35, 0.12),
    "dusk": ("2a2a58", "d0786a", "d8a0b0", 0.3, None),
    "night": ("060a1e", "18264e", "7080c0", 0.45, None),
}
GROUND: dict[str, str] = {
    "sea": "2a6a96",
    "beach": "e6d09a",
    "forest": "3a6a2e",
    "city": "6a6a72",
    "mountains": "6a8a4a",
    "desert": "dcb070",
    "field": "6aa24a",
    "room": "8a5a36",
    "space": "3a3a44",
}
EMISSIVE = {"campfire", "candle", "lantern", "streetlamp", "lighthouse", "lamp"}
HORIZON: dict[str, float] = {"room": 0.6, "space": 0.86, "sea": 0.5, "beach": 0.5}


@dataclass
class Placement:
    """One drawn subject instance: where (base point), how big, in what colour, in which depth band."""

    name: str
    x: float
    y: float
    s: float
    colour: RGB
    facing: int
    band: int  # 0 background, 1 middle ground, 2 foreground
    inside: str | None = None
    aloft: bool = False

    def box(self) -> tuple[float, float, float, float]:
        """Its approximate bounding box (left, top, right, bottom) in work pixels."""
        w = self.s * KINDS[self.name].aspect
        return (self.x - w / 2, self.y - self.s, self.x + w / 2, self.y)


def _vertical(size: tuple[int, int], top: RGB, bottom: RGB, height: int) -> Image.Image:
    """A gradient from top to bottom over ``height`` rows, the rest of the image in ``bottom``."""
    w, h = size
    ramp = Image.linear_gradient("L").resize((1, max(1, height)))
    col = Image.merge(
        "RGB",
        [
            ramp.point([round(t + (b - t) * v / 255) for v in range(256)])
            for t, b in zip(top, bottom, strict=True)
        ],
    )
    out = Image.new("RGB", size, bottom)
    out.paste(col.resize((w, max(1, height))), (0, 0))
    return out


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _grey(c: RGB, amount: float) -> RGB:
    v = round(sum(c) / 3)
    return _mix(c, (v, v, v), amount)


class Painter:
    """Paints one plan at one size with one seed."""

    def __init__(self, plan: ScenePlan, size: tuple[int, int], seed: int) -> None:
        self.plan = plan
        self.w, self.h = size
        self.rng = random.Random(seed)
        self.place = plan.place or "field"
        self.iso = plan.style == "isometric"
        self.horizon = round(self.h * HORIZON.get(self.place, 0.55))
        top, low, light, strength, sun = TIMES[plan.time]
        self.sky_top, self.sky_low = rgb(top), rgb(low)
        self.light, self.light_strength, self.sun_height = rgb(light), strength, sun
        if plan.weather in ("fog", "rain", "snow", "storm"):
            dim = {"fog": 0.75, "rain": 0.6, "snow": 0.55, "storm": 0.75}[plan.weather]
            self.sky_top = _grey(self.sky_top, dim)
            self.sky_low = _grey(self.sky_low, dim)
            if plan.weather == "storm":
                self.sky_top, self.sky_low = shade(self.sky_top, 0.45), shade(self.sky_low, 0.55)
            elif plan.weather == "snow":
                self.sky_low = shade(self.sky_low, 1.35)
        if self.place == "space":  # no air, no blue: black sky whatever the hour
            self.sky_top, self.sky_low = rgb("02030a"), rgb("0e1226")
            self.light_strength, self.sun_height = 0.0, None
        if plan.light and plan.light != "warm":
            from generation.backends.scene import COLOURS

            tint = rgb(COLOURS.get(plan.light, "ffffff"))
            self.sky_top, self.sky_low = _mix(self.sky_top, tint, 0.35), _mix(self.sky_low, tint, 0.55)
            self.light, self.light_strength = tint, max(self.light_strength, 0.2)
        self.image = Image.new("RGB", size)
        self.placements: list[Placement] = []
        self.snowy = plan.weather == "snow" or plan.season == "winter"

    # --- setting -------------------------------------------------------------------------------------------

    def ground_colour(self) -> RGB:
        """The ground's colour from the place, its colour word, the season and the weather."""
        if self.plan.place_colour and self.place not in ("beach",):
            return rgb(self.plan.place_colour)
        base = rgb(GROUND[self.place])
        if self.snowy and self.place not in ("sea", "room", "space", "city"):
            return (236, 242, 248)
        if self.plan.season == "autumn" and self.place in ("forest", "field", "mountains"):
            return rgb("a8782e")
        if self.plan.season == "spring" and self.place in ("field", "forest"):
            return rgb("7ab84a")
        return base

    def sky(self) -> None:
        """The sky gradient, its sun or moon and stars."""
        self.image = _vertical((self.w, self.h), self.sky_top, self.sky_low, self.horizon)
        d = ImageDraw.Draw(self.image)
        named = set(self.plan.names())
        clear = self.plan.weather in ("clear",)
        starry = (
            self.place == "space" or self.plan.time in ("night", "dusk") and clear and self.place != "room"
        )
        if starry and "star" not in self.plan.removed:
            count = 260 if self.place == "space" else (150 if self.plan.time == "night" else 40)
            for _ in range(count):
                x, y = self.rng.uniform(0, self.w), self.rng.uniform(0, self.horizon * 0.9)
                r = self.rng.choice((0.6, 0.8, 1.0, 1.4))
                v = self.rng.randrange(170, 256)
                d.ellipse((x - r, y - r, x + r, y + r), fill=(v, v, min(255, v + 20)))
        if self.place == "room":
            return
        if self.sun_height is not None and clear and "sun" not in named and self.place != "space":
            sy = self.horizon - self.sun_height * self.horizon * 0.85
            sx = self.w * (0.72 if self.rng.random() < 0.5 else 0.28)
            r = self.h * (0.07 if self.sun_height < 0.2 else 0.05)
            sun = _mix(self.light, (255, 255, 240), 0.5)
            glow = Image.new("L", (self.w, self.h), 0)
            ImageDraw.Draw(glow).ellipse((sx - r * 4, sy - r * 4, sx + r * 4, sy + r * 4), fill=90)
            glow = glow.filter(ImageFilter.GaussianBlur(r * 1.5))
            self.image.paste(sun, (0, 0), glow)
            d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=sun)
        elif self.plan.time == "night" and clear and not {"moon", "crescent"} & named:
            sx, sy, r = self.w * 0.78, self.horizon * 0.25, self.h * 0.045
            d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=(240, 236, 214))

    def clouds(self, count: int, colour: RGB, low: float, high: float) -> None:
        """Soft clouds between heights ``low`` and ``high`` (shares of the horizon)."""
        layer = Image.new("L", (self.w, self.h), 0)
        d = ImageDraw.Draw(layer)
        for _ in range(count):
            cx, cy = self.rng.uniform(0, self.w), self.rng.uniform(low, high) * self.horizon
            for _ in range(5):
                rx, ry = self.rng.uniform(0.04, 0.1) * self.w, self.rng.uniform(0.015, 0.035) * self.h
                ox = self.rng.uniform(-0.06, 0.06) * self.w
                d.ellipse((cx + ox - rx, cy - ry, cx + ox + rx, cy + ry), fill=200)
        self.image.paste(colour, (0, 0), layer.filter(ImageFilter.GaussianBlur(self.h * 0.012)))

    def ridge(self, base: float, amp: float, colour: RGB, rough: float = 0.5, snowcap: bool = False) -> None:
        """A mountain ridge whose lowest points sit near ``base`` (pixels)."""
        pts = [(0.0, float(self.h))]
        n = 9
        heights = [self.rng.uniform(0.3, 1.0) for _ in range(n + 1)]
        for i in range(n * 6 + 1):
            t = i / (n * 6)
            k = int(t * n)
            frac = t * n - k
            a, b = heights[k], heights[min(k + 1, n)]
            y = (
                base
                - amp * (a + (b - a) * (1 - math.cos(frac * math.pi)) / 2)
                + self.rng.uniform(-1, 1) * amp * 0.06 * rough
            )
            pts.append((t * self.w, y))
        pts.append((float(self.w), float(self.h)))
        d = ImageDraw.Draw(self.image)
        d.polygon(pts, fill=colour)
        if snowcap:
            cap = ImageDraw.Draw(self.image)
            for x, y in pts[1:-1]:
                if y < base - amp * 0.75:
                    cap.ellipse((x - 6, y - 2, x + 6, y + amp * 0.08), fill=(240, 244, 250))

    def setting(self) -> None:
        """Sky, distant scenery and the ground for the place."""
        self.sky()
        w, h, hz = self.w, self.h, self.horizon
        plan = self.plan
        if plan.weather in ("rain", "storm", "snow") or plan.mood in ("gloomy", "dramatic"):
            self.clouds(9, _grey(shade(self.sky_top, 0.85), 0.5), 0.05, 0.6)
        elif self.place not in ("space", "room") and plan.time != "night":
            self.clouds(3, _mix(self.sky_low, (255, 255, 255), 0.6), 0.1, 0.55)
        ground = self.ground_colour()
        d = ImageDraw.Draw(self.image)
        far = _mix(ground, self.sky_low, 0.55)
        if self.place == "mountains":
            self.ridge(hz, h * 0.32, _mix(rgb("5a6a8a"), self.sky_low, 0.45), snowcap=True)
            self.ridge(hz + h * 0.02, h * 0.16, _mix(shade(ground, 0.7), self.sky_low, 0.3))
        elif self.place == "forest":
            for layer, (k, n) in enumerate(((0.55, 28), (0.75, 22))):
                col = _mix(shade(ground, 0.8), self.sky_low, 0.5 - layer * 0.25)
                for i in range(n):
                    x = (i + self.rng.uniform(0, 0.8)) * w / n
                    th = h * self.rng.uniform(0.14, 0.24) * k
                    d.polygon([(x - th * 0.3, hz + 2), (x + th * 0.3, hz + 2), (x, hz - th)], fill=col)
        elif self.place == "city":
            x = 0.0
            col = _mix(rgb("4a5060"), self.sky_low, 0.4)
            lit = self.plan.time in ("night", "dusk")
            while x < w:
                bw, bh = self.rng.uniform(0.05, 0.11) * w, self.rng.uniform(0.1, 0.3) * h
                d.rectangle((x, hz - bh, x + bw, hz + 2), fill=col)
                if lit:
                    for _ in range(int(bw * bh / 90)):
                        wx, wy = self.rng.uniform(x + 2, x + bw - 4), self.rng.uniform(hz - bh + 3, hz - 3)
                        d.rectangle((wx, wy, wx + 2, wy + 2), fill=(250, 220, 140))
                x += bw + self.rng.uniform(0, 0.01) * w
        elif self.place in ("field", "desert"):
            self.ridge(hz + h * 0.01, h * 0.06, far, rough=0.2)
        if self.place == "room":
            wall = (
                rgb("e4d6bc") if not plan.place_colour else _mix(rgb(plan.place_colour), (240, 235, 225), 0.5)
            )
            self.image.paste(_vertical((w, hz), shade(wall, 0.85), wall, hz), (0, 0))
            if plan.time in ("night", "dusk"):
                win = _mix(self.sky_top, self.sky_low, 0.5)
            else:
                win = self.sky_low
            d.rectangle((w * 0.62, h * 0.1, w * 0.88, h * 0.45), fill=shade(wall, 0.7))
            d.rectangle((w * 0.635, h * 0.115, w * 0.865, h * 0.435), fill=win)
            d.rectangle((w * 0.745, h * 0.115, w * 0.755, h * 0.435), fill=shade(wall, 0.7))
            table = rgb(plan.place_colour) if plan.place_colour else ground
            self.image.paste(_vertical((w, h - hz), shade(table, 1.15), shade(table, 0.75), h - hz), (0, hz))
            d.rectangle((0, hz, w, hz + h * 0.012), fill=shade(table, 1.3))
            return
        if self.place == "space":
            d.ellipse((-w * 0.3, hz, w * 1.3, hz + h * 0.6), fill=ground)
            for _ in range(12):
                cx, cy, r = (
                    self.rng.uniform(0, w),
                    self.rng.uniform(hz + h * 0.03, h),
                    self.rng.uniform(3, 14),
                )
                d.ellipse((cx - r, cy - r * 0.4, cx + r, cy + r * 0.4), fill=shade(ground, 0.75))
            return
        if self.place in ("sea", "beach"):
            water = (
                rgb(plan.place_colour) if plan.place_colour else _mix(rgb(GROUND["sea"]), self.sky_low, 0.25)
            )
            self.image.paste(
                _vertical((w, h - hz), _mix(water, self.sky_low, 0.35), shade(water, 0.7), h - hz), (0, hz)
            )
            for _ in range(70):
                y = self.rng.uniform(hz + 2, h)
                t = (y - hz) / (h - hz)
                x, L = self.rng.uniform(0, w), 4 + 30 * t
                d.line((x, y, x + L, y), fill=_mix(water, (255, 255, 255), 0.35), width=max(1, round(t * 2)))
            if self.sun_height is not None and self.sun_height < 0.2 and plan.weather == "clear":
                for i in range(40):  # the low sun's path on the water
                    y = hz + 3 + i * (h - hz) / 45
                    half = 4 + i * 0.8
                    x = w * 0.5 + self.rng.uniform(-1, 1) * half
                    d.line(
                        (x - half * 0.5, y, x + half * 0.5, y),
                        fill=_mix(self.light, (255, 255, 230), 0.3),
                        width=2,
                    )
            landed = [
                s
                for s in plan.subjects
                if KINDS[s.name].layer in ("ground", "table")
                and KINDS[s.name].category != "boat"
                and s.inside is None
            ]
            if self.place == "sea" and landed:  # a shore in front of the water for what stands
                shore = rgb("d8c494") if not self.snowy else (236, 242, 248)
                top = h * 0.9
                d.polygon(
                    [(0, h), (0, top), (w * 0.5, top - h * 0.02), (w, top + h * 0.01), (w, h)], fill=shore
                )
            if self.place == "beach":
                sand = ground
                top = hz + (h - hz) * 0.35
                pts = [(0.0, float(h)), (0.0, top + h * 0.03)]
                for i in range(9):
                    pts.append((w * i / 8, top + math.sin(i * 1.3 + self.rng.random()) * h * 0.02))
                pts.append((float(w), float(h)))
                d.polygon(pts, fill=sand)
                d.line(pts[1:-1], fill=(245, 245, 240), width=3)
            return
        self.image.paste(
            _vertical((w, h - hz), _mix(ground, self.sky_low, 0.2), shade(ground, 0.8), h - hz), (0, hz)
        )
        if self.place in ("field", "forest") and not self.snowy:
            for _ in range(160):
                y = self.rng.uniform(hz + 4, h)
                x = self.rng.uniform(0, w)
                L = 2 + 7 * (y - hz) / (h - hz)
                d.line(
                    (x, y, x + self.rng.uniform(-1, 1), y - L),
                    fill=shade(ground, self.rng.choice((0.8, 1.15))),
                    width=1,
                )
        if self.place == "city":
            d.rectangle((0, hz + (h - hz) * 0.45, w, hz + (h - hz) * 0.48), fill=(220, 210, 150))
        if self.place == "desert":
            for i in range(3):
                y0 = hz + (h - hz) * (0.25 + i * 0.25)
                d.arc(
                    (self.rng.uniform(-w * 0.5, 0), y0, self.rng.uniform(w * 0.6, w * 1.4), y0 + h * 0.2),
                    190,
                    350,
                    fill=shade(ground, 0.85),
                    width=3,
                )

    def iso_ground(self) -> None:
        """Isometric style: the setting is a projected tile (top face and two sides) on a plain ground."""
        w, h = self.w, self.h
        self.image = _vertical(
            (w, h), _mix(self.sky_top, (255, 255, 255), 0.5), _mix(self.sky_low, (255, 255, 255), 0.3), h
        )
        cx, cy, rx = w * 0.5, h * 0.62, w * 0.46
        ry = rx * math.tan(math.radians(30))
        thick = h * 0.07
        top = [(cx - rx, cy), (cx, cy - ry), (cx + rx, cy), (cx, cy + ry)]
        ground = self.ground_colour()
        if self.place in ("sea", "beach"):
            ground = rgb(self.plan.place_colour) if self.plan.place_colour else rgb("3a86b8")
        d = ImageDraw.Draw(self.image)
        d.polygon(
            [top[0], top[3], (cx, cy + ry + thick), (cx - rx, cy + thick)], fill=shade(rgb("8a6a4a"), 0.85)
        )
        d.polygon(
            [top[3], top[2], (cx + rx, cy + thick), (cx, cy + ry + thick)], fill=shade(rgb("8a6a4a"), 0.6)
        )
        d.polygon(top, fill=ground)
        for i in range(1, 6):  # grid along the two projected axes
            t = i / 6
            a = (top[0][0] + (top[1][0] - top[0][0]) * t, top[0][1] + (top[1][1] - top[0][1]) * t)
            b = (top[3][0] + (top[2][0] - top[3][0]) * t, top[3][1] + (top[2][1] - top[3][1]) * t)
            d.line((a, b), fill=shade(ground, 0.9), width=1)
            a = (top[0][0] + (top[3][0] - top[0][0]) * t, top[0][1] + (top[3][1] - top[0][1]) * t)
            b = (top[1][0] + (top[2][0] - top[1][0]) * t, top[1][1] + (top[2][1] - top[1][1]) * t)
            d.line((a, b), fill=shade(ground, 0.9), width=1)
        self.horizon = round(cy - ry)
        self.iso_tile = (cx, cy, rx, ry)

    # --- subjects ------------------------------------------------------------------------------------------

    def colour_of(self, subject: Subject) -> RGB:
        """The subject's main colour: its colour word or material, else its own (autumn turns trees)."""
        if subject.colour:
            return rgb(subject.colour)
        kind = KINDS[subject.name]
        if (
            kind.category == "plant"
            and self.plan.season == "autumn"
            and kind.params.get("type") in (None, "willow", "bush")
        ):
            return rgb(self.rng.choice(("d8782a", "c8502a", "e0a030")))
        if kind.category == "plant" and self.snowy and kind.params.get("type") in (None, "willow", "bare"):
            return (
                rgb("5a4a3a")
                if kind.params.get("type") == "bare"
                else _mix(kind.colour, (240, 244, 250), 0.5)
            )
        return kind.colour

    @staticmethod
    def apart(colour: RGB, ground: RGB) -> RGB:
        """The colour, darker or lighter when it is too close to the ground's to be seen on it."""
        if sum(abs(a - b) for a, b in zip(colour, ground, strict=True)) >= 90:
            return colour
        return shade(colour, 0.6) if sum(colour) > 240 else shade(colour, 1.45)

    def layout(self) -> list[Placement]:
        """Where every subject instance goes: bands, positions and sizes."""
        subjects = [s for s in self.plan.subjects if s.inside is None]
        contents = [s for s in self.plan.subjects if s.inside is not None]
        w, h, hz = self.w, self.h, self.horizon
        water = self.place in ("sea", "beach")
        groups = len(subjects)
        centres = {1: [0.5], 2: [0.36, 0.68], 3: [0.24, 0.52, 0.8]}.get(groups) or [
            0.12 + 0.76 * i / max(1, groups - 1) for i in range(groups)
        ]
        out: list[Placement] = []
        # The picture zooms in on small subjects (a bee, a key) so that the largest named one reads well;
        # sun, moon and their kind keep their size.
        tallest = max(
            (KINDS[s.name].size * s.size for s in subjects if KINDS[s.name].category != "sky"), default=0.3
        )
        zoom = min(3.0, max(1.0, 0.32 / max(tallest, 0.01)))
        if self.place == "room" and all(KINDS[s.name].layer == "table" for s in subjects):
            zoom = min(3.5, max(zoom, 0.42 / max(tallest, 0.01)))
        if self.iso:
            zoom *= 0.7
        sizes: list[float] = []
        for gi, subject in enumerate(subjects):
            kind = KINDS[subject.name]
            band = 2 if gi == 0 else (1 if gi < 3 else 0)
            depth_scale = (1.0, 0.72, 0.5)[2 - band]
            aloft = 0.6 if subject.aloft and kind.layer != "sky" else 1.0  # in the air: farther, smaller
            scale = (zoom if kind.category != "sky" else 1.0) * depth_scale * aloft
            sizes.append(h * kind.size * subject.size * scale)
        # Side by side: what stands on the ground (or table, or water) shares the width, shrunk to fit.
        gap = 0.03 * w
        standing = [
            i
            for i, subject in enumerate(subjects)
            if KINDS[subject.name].layer != "sky" and not subject.aloft
        ]
        spans = {i: subjects[i].count * sizes[i] * KINDS[subjects[i].name].aspect * 1.05 for i in standing}
        total = sum(spans.values()) + gap * max(0, len(standing) - 1)
        if total > 0.92 * w:
            fit = 0.92 * w / total
            for i in standing:
                sizes[i] *= fit
                spans[i] *= fit
            total = 0.92 * w
        order = standing if self.rng.random() < 0.5 else standing[::-1]
        left = (w - total) / 2 + self.rng.uniform(-1, 1) * (w - total) / 4
        centre_of: dict[int, float] = {}
        for i in order:
            centre_of[i] = (left + spans[i] / 2) / w
            left += spans[i] + gap
        for gi, subject in enumerate(subjects):
            kind = KINDS[subject.name]
            band = 2 if gi == 0 else (1 if gi < 3 else 0)
            s = sizes[gi]
            n = subject.count
            width = s * kind.aspect
            cx = w * centre_of[gi] if gi in centre_of else w * centres[gi] + self.rng.uniform(-0.1, 0.1) * w
            colour = self.colour_of(subject)
            if subject.colour is None and kind.layer != "sky":  # stand out from the ground it stands on
                colour = self.apart(colour, self.ground_colour())
            for i in range(n):
                x = cx + (i - (n - 1) / 2) * width * 1.05 + self.rng.uniform(-0.01, 0.01) * w
                x = min(max(x, width / 2), w - width / 2)
                jitter = self.rng.uniform(-0.03, 0.03) * h if n > 1 else 0.0
                if kind.layer == "sky" or subject.aloft:
                    high = hz * (0.25 + 0.3 * self.rng.random()) + s * 0.5
                    y = min(max(hz * 0.3, hz - 0.02 * h), max(s + 0.04 * h, high))
                    if subject.name in ("sun", "moon", "crescent", "rainbow"):
                        y = hz * 0.45 + s * 0.5 if subject.name != "rainbow" else hz + s * 0.1
                elif kind.layer == "water" and kind.category == "animal" and not water:
                    y = hz + (h - hz) * 0.7
                elif self.iso:
                    tcx, tcy, rx, ry = self.iso_tile
                    y = tcy + ry * (0.55 - 0.5 * band / 2) + jitter
                    x = tcx + (x - w / 2) * 0.75 * (1 - abs(y - tcy) / ry * 0.5)
                elif self.place == "room" and kind.layer == "table":
                    y = hz + (h - hz) * (0.62 - 0.22 * (2 - band) / 2) + jitter * 0.5
                elif water and (kind.layer == "water" or kind.category == "boat"):
                    top = hz + (h - hz) * (0.3 if self.place == "beach" else 0.9)
                    y = hz + (top - hz) * (0.9 - 0.35 * (2 - band)) + jitter * 0.3 + s * 0.1
                    if kind.category == "animal":
                        y = hz + (top - hz) * 0.8
                elif self.place == "beach":
                    sand = hz + (h - hz) * 0.4
                    y = sand + (h - sand) * (0.85 - 0.3 * (2 - band)) + jitter
                else:
                    y = hz + (h - hz) * (0.88 - 0.33 * (2 - band)) + jitter
                    if self.place == "sea":
                        y = h * (0.96 + 0.02 * (band - 2))  # on the shore in front of the water
                facing = 1 if self.rng.random() < 0.5 else -1
                out.append(Placement(subject.name, x, y, s, colour, facing, band, aloft=subject.aloft))
        for content in contents:
            holder = next((p for p in out if p.name == content.inside), None)
            if holder is None:
                continue
            kind = KINDS[content.name]
            hw = holder.s * KINDS[holder.name].aspect
            n = content.count
            per_row = max(1, min(n, 4))
            s = min(hw * 0.9 / per_row / max(kind.aspect, 1.0), holder.s * 0.9)
            rim = holder.y - holder.s * (0.5 if holder.name in ("bowl", "basket") else 0.12)
            colour = self.colour_of(content)
            rows = [per_row]
            while sum(rows) < n:
                rows.append(min(max(1, rows[-1] - 1), n - sum(rows)))
            for r, m in enumerate(rows):
                for i in range(m):
                    x = holder.x + (i - (m - 1) / 2) * s * kind.aspect * 0.95
                    y = rim + s * 0.35 - r * s * 0.6
                    out.append(Placement(content.name, x, y, s, colour, 1, holder.band, inside=holder.name))
        # Back to front: bands, then higher (farther) base points first. Fruit sits in a bowl (drawn before
        # it, the rim in front) but on a plate (drawn after it).
        holder_y = {p.name: p.y for p in out if p.inside is None}

        def depth(p: Placement) -> tuple[int, float, int]:
            if p.inside is None:
                return (p.band, p.y, 1)
            return (p.band, holder_y[p.inside], 2 if p.inside == "plate" else 0)

        out.sort(key=depth)
        self.placements = out
        return out

    def subjects(self) -> None:
        """Draw the placed subjects band by band, hazier the farther, with soft shadows on the ground."""
        haze = _mix(self.sky_low, (200, 200, 205), 0.3)
        for band in (0, 1, 2):
            layer = Image.new("RGBA", (self.w, self.h), (0, 0, 0, 0))
            shadow = Image.new("L", (self.w, self.h), 0)
            sd = ImageDraw.Draw(shadow)
            pen = Pen(layer, self.rng)
            drawn = False
            for p in self.placements:
                if p.band != band:
                    continue
                kind = KINDS[p.name]
                if (
                    kind.layer not in ("sky",)
                    and not p.aloft
                    and p.inside is None
                    and not (kind.layer == "water" and kind.category == "animal")
                ):
                    wd = p.s * kind.aspect * 0.55
                    sd.ellipse((p.x - wd, p.y - p.s * 0.04, p.x + wd, p.y + p.s * 0.05), fill=110)
                params = (
                    {**kind.params, "flying": True}
                    if p.aloft and kind.draw.__name__ == "bird"
                    else kind.params
                )
                if self.iso and kind.category == "building":
                    iso_block(
                        pen, p.x, p.y, p.s, p.colour, kind.aspect, rgb(str(params.get("roof", "8a3a2a")))
                    )
                else:
                    kind.draw(pen, p.x, p.y, p.s, p.colour, p.facing, params)
                drawn = True
            if not drawn:
                continue
            if band < 2:  # aerial perspective
                amount = 0.35 if band == 0 else 0.15
                if self.plan.weather == "fog":
                    amount += 0.3
                tinted = Image.blend(layer.convert("RGB"), Image.new("RGB", layer.size, haze), amount)
                tinted.putalpha(layer.getchannel("A"))
                layer = tinted
            self.image.paste(
                shade(self.ground_colour(), 0.35), (0, 0), shadow.filter(ImageFilter.GaussianBlur(3))
            )
            self.image.paste(layer, (0, 0), layer)

    # --- weather and light ---------------------------------------------------------------------------------

    def weather(self) -> None:
        """Fog, rain, snow or a storm over the scene."""
        w, h = self.w, self.h
        kind = self.plan.weather
        if kind == "fog":
            mask = Image.linear_gradient("L").resize((w, h)).point(lambda v: 120 + v // 4)
            fog = _mix(self.sky_low, (215, 218, 222), 0.6)
            self.image.paste(fog, (0, 0), mask.point(lambda v: min(255, max(0, 255 - v + 40))))
        elif kind in ("rain", "storm"):
            d = ImageDraw.Draw(self.image)
            for _ in range(500 if kind == "rain" else 700):
                x, y = self.rng.uniform(-20, w), self.rng.uniform(-20, h)
                L = self.rng.uniform(8, 18)
                d.line((x, y, x + L * 0.25, y + L), fill=(190, 200, 215), width=1)
            if kind == "storm" and "lightning" not in self.plan.names():
                x = self.rng.uniform(0.2, 0.8) * w
                pts = [(x, 0.0)]
                y = 0.0
                while y < self.horizon:
                    y += self.rng.uniform(10, 25)
                    x += self.rng.uniform(-15, 15)
                    pts.append((x, y))
                d.line(pts, fill=(255, 255, 230), width=3)
        elif kind == "snow":
            d = ImageDraw.Draw(self.image)
            for _ in range(420):
                x, y, r = (
                    self.rng.uniform(0, w),
                    self.rng.uniform(0, h),
                    self.rng.choice((0.8, 1.2, 1.6, 2.2)),
                )
                d.ellipse((x - r, y - r, x + r, y + r), fill=(250, 252, 255))

    def light_and_mood(self) -> None:
        """The light of the time of day (a warm or cool wash), then the mood's contrast and colour."""
        if self.light_strength > 0:
            washed = ImageChops.multiply(self.image, Image.new("RGB", self.image.size, self.light))
            self.image = Image.blend(self.image, washed, self.light_strength)
            if self.plan.time == "golden hour" or self.plan.light == "warm":
                warm = ImageChops.screen(self.image, Image.new("RGB", self.image.size, (70, 30, 0)))
                self.image = Image.blend(self.image, warm, 0.5)
        mood = self.plan.mood
        if mood == "gloomy":
            self.image = ImageEnhance.Color(self.image).enhance(0.55)
            self.image = ImageEnhance.Brightness(self.image).enhance(0.85)
        elif mood == "calm":
            self.image = ImageEnhance.Contrast(self.image).enhance(0.88)
        elif mood == "cheerful":
            self.image = ImageEnhance.Color(self.image).enhance(1.25)
        elif mood == "dramatic":
            self.image = ImageEnhance.Contrast(self.image).enhance(1.25)
        elif mood == "eerie":
            self.image = Image.blend(
                self.image,
                ImageChops.multiply(self.image, Image.new("RGB", self.image.size, (150, 200, 170))),
                0.5,
            )
        elif mood == "dreamy":
            self.image = Image.blend(self.image, Image.new("RGB", self.image.size, (250, 220, 240)), 0.15)
        elif mood == "cozy":
            self.image = Image.blend(
                self.image,
                ImageChops.multiply(self.image, Image.new("RGB", self.image.size, (255, 220, 170))),
                0.4,
            )

    def paint(self) -> Image.Image:
        """The whole picture at work size."""
        if self.iso:
            self.iso_ground()
        else:
            self.setting()
        self.layout()
        self.subjects()
        self.weather()
        self.light_and_mood()
        self.glows()
        return self.image

    def glows(self) -> None:
        """Lights shine after dark: a warm glow round fires, candles, lanterns and lamps."""
        if self.plan.time not in ("night", "dusk") and self.place != "room":
            return
        lit = [p for p in self.placements if p.name in EMISSIVE]
        if not lit:
            return
        mask = Image.new("L", self.image.size, 0)
        d = ImageDraw.Draw(mask)
        for p in lit:
            tall = p.name in ("streetlamp", "lighthouse", "candle", "lamp")
            cy = p.y - p.s * (0.9 if tall else 0.4)
            r = p.s * (0.3 if tall else 0.6)
            d.ellipse((p.x - r, cy - r, p.x + r, cy + r), fill=110)
        glow = mask.filter(ImageFilter.GaussianBlur(max(2.0, self.h * 0.03)))
        warm = Image.new("RGB", self.image.size, (255, 190, 110))
        self.image = ImageChops.screen(
            self.image, ImageChops.multiply(warm, Image.merge("RGB", (glow, glow, glow)))
        )


def iso_block(pen: Pen, x: float, y: float, s: float, col: RGB, aspect: float, roof: RGB) -> None:
    """A building as an isometric block: two lit walls at 30 degrees, a pitched roof, windows on both."""
    half = s * max(0.35, min(aspect, 1.6)) * 0.45
    drop = half * math.tan(math.radians(30))
    wall = s * (0.55 if aspect > 0.6 else 0.9)
    left, right, front = (x - half, y - drop), (x + half, y - drop), (x, y)
    pen.p([left, front, (front[0], front[1] - wall), (left[0], left[1] - wall)], col)
    pen.p([front, right, (right[0], right[1] - wall), (front[0], front[1] - wall)], shade(col, 0.72))
    back = (x, y - 2 * drop - wall)
    ridge_l, ridge_r = (
        (x - half / 2, y - drop * 1.5 - wall - s * 0.3),
        (x + half / 2, y - drop * 0.5 - wall - s * 0.3),
    )
    top_l, top_f, top_r = (left[0], left[1] - wall), (front[0], front[1] - wall), (right[0], right[1] - wall)
    pen.p([top_l, top_f, ridge_r, ridge_l], roof)
    pen.p([top_f, top_r, ridge_r], shade(roof, 0.7))
    pen.p([top_l, ridge_l, back], shade(roof, 1.15))
    q, dy, hw = wall * 0.2, drop * 0.16, half * 0.08
    for t in (0.3, 0.7):
        wx, wy = left[0] + (front[0] - left[0]) * t, left[1] + (front[1] - left[1]) * t - wall * 0.55
        pen.p([(wx - hw, wy), (wx + hw, wy + dy), (wx + hw, wy + dy + q), (wx - hw, wy + q)], (250, 230, 150))
        wx, wy = front[0] + (right[0] - front[0]) * t, front[1] + (right[1] - front[1]) * t - wall * 0.55
        pen.p([(wx - hw, wy + dy), (wx + hw, wy), (wx + hw, wy + q), (wx - hw, wy + dy + q)], (200, 180, 110))


def hue_of(colour: RGB) -> float:
    """A colour's hue in degrees."""
    return colorsys.rgb_to_hsv(*(c / 255 for c in colour))[0] * 360
