"""The setting a scene stands in, painted first: the sky (gradient, sun or moon, stars, clouds), the
distant scenery and the ground for the place, or the isometric tile; and the sky and light of the
time of day and weather that the whole picture is painted under (:class:`BackdropPainter`).
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFilter

from generation.backends.scene import ScenePlan
from generation.backends.subjects import KINDS, RGB, rgb, shade

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
HORIZON: dict[str, float] = {"room": 0.6, "space": 0.86, "sea": 0.5, "beach": 0.5}


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


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _grey(c: RGB, amount: float) -> RGB:
    v = round(sum(c) / 3)
    return mix(c, (v, v, v), amount)


class BackdropPainter:
    """Paints the setting of one plan at one size with one seed; holds the state every later layer
    paints with (the picture, the seeded random source, the horizon, the sky and light colours)."""

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
            from generation.backends.prompt_words import COLOURS

            tint = rgb(COLOURS.get(plan.light, "ffffff"))
            self.sky_top, self.sky_low = mix(self.sky_top, tint, 0.35), mix(self.sky_low, tint, 0.55)
            self.light, self.light_strength = tint, max(self.light_strength, 0.2)
        self.image = Image.new("RGB", size)
        self.snowy = plan.weather == "snow" or plan.season == "winter"

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
            sun = mix(self.light, (255, 255, 240), 0.5)
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
            self.clouds(3, mix(self.sky_low, (255, 255, 255), 0.6), 0.1, 0.55)
        ground = self.ground_colour()
        d = ImageDraw.Draw(self.image)
        far = mix(ground, self.sky_low, 0.55)
        if self.place == "mountains":
            self.ridge(hz, h * 0.32, mix(rgb("5a6a8a"), self.sky_low, 0.45), snowcap=True)
            self.ridge(hz + h * 0.02, h * 0.16, mix(shade(ground, 0.7), self.sky_low, 0.3))
        elif self.place == "forest":
            for layer, (k, n) in enumerate(((0.55, 28), (0.75, 22))):
                col = mix(shade(ground, 0.8), self.sky_low, 0.5 - layer * 0.25)
                for i in range(n):
                    x = (i + self.rng.uniform(0, 0.8)) * w / n
                    th = h * self.rng.uniform(0.14, 0.24) * k
                    d.polygon([(x - th * 0.3, hz + 2), (x + th * 0.3, hz + 2), (x, hz - th)], fill=col)
        elif self.place == "city":
            x = 0.0
            col = mix(rgb("4a5060"), self.sky_low, 0.4)
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
                rgb("e4d6bc") if not plan.place_colour else mix(rgb(plan.place_colour), (240, 235, 225), 0.5)
            )
            self.image.paste(_vertical((w, hz), shade(wall, 0.85), wall, hz), (0, 0))
            if plan.time in ("night", "dusk"):
                win = mix(self.sky_top, self.sky_low, 0.5)
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
                rgb(plan.place_colour) if plan.place_colour else mix(rgb(GROUND["sea"]), self.sky_low, 0.25)
            )
            self.image.paste(
                _vertical((w, h - hz), mix(water, self.sky_low, 0.35), shade(water, 0.7), h - hz), (0, hz)
            )
            for _ in range(70):
                y = self.rng.uniform(hz + 2, h)
                t = (y - hz) / (h - hz)
                x, L = self.rng.uniform(0, w), 4 + 30 * t
                d.line((x, y, x + L, y), fill=mix(water, (255, 255, 255), 0.35), width=max(1, round(t * 2)))
            if self.sun_height is not None and self.sun_height < 0.2 and plan.weather == "clear":
                for i in range(40):  # the low sun's path on the water
                    y = hz + 3 + i * (h - hz) / 45
                    half = 4 + i * 0.8
                    x = w * 0.5 + self.rng.uniform(-1, 1) * half
                    d.line(
                        (x - half * 0.5, y, x + half * 0.5, y),
                        fill=mix(self.light, (255, 255, 230), 0.3),
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
            _vertical((w, h - hz), mix(ground, self.sky_low, 0.2), shade(ground, 0.8), h - hz), (0, hz)
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
            (w, h), mix(self.sky_top, (255, 255, 255), 0.5), mix(self.sky_low, (255, 255, 255), 0.3), h
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
