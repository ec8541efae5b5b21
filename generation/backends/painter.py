"""Painting a ScenePlan: the setting (sky, ground, light, weather) and the subjects composed in depth.

Everything is drawn at work size from one seeded random source, back to front: the sky and its sun or
moon, the distant setting (skyline, ridges, tree line), then the subjects in three depth bands
(background, middle ground, foreground; the farther, the smaller, higher and hazier), soft shadows under
what stands on the ground, the weather, and the light of the time of day over it all.

The setting is painted by :mod:`generation.backends.backdrop`, the subjects laid out and drawn by
:mod:`generation.backends.composition`; :class:`Painter` runs the layers in order and adds what goes
over the whole picture: the weather, the light and mood, and the glow of lights after dark.
"""

from __future__ import annotations

import colorsys

from PIL import Image, ImageChops, ImageDraw, ImageEnhance, ImageFilter

from generation.backends.backdrop import mix
from generation.backends.composition import SubjectPainter
from generation.backends.subjects import RGB

EMISSIVE = {"campfire", "candle", "lantern", "streetlamp", "lighthouse", "lamp"}


class Painter(SubjectPainter):
    """Paints one plan at one size with one seed."""

    def weather(self) -> None:
        """Fog, rain, snow or a storm over the scene."""
        w, h = self.w, self.h
        kind = self.plan.weather
        if kind == "fog":
            mask = Image.linear_gradient("L").resize((w, h)).point(lambda v: 120 + v // 4)
            fog = mix(self.sky_low, (215, 218, 222), 0.6)
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


def hue_of(colour: RGB) -> float:
    """A colour's hue in degrees."""
    return colorsys.rgb_to_hsv(*(c / 255 for c in colour))[0] * 360
