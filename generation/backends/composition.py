"""The subjects of a scene composed in depth: where each instance goes (three depth bands, the farther
the smaller, higher and hazier; side by side, fruit in the bowl, boats on the water, kites aloft), in
what colour, then drawn back to front with soft shadows under what stands (:class:`SubjectPainter`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from generation.backends.backdrop import BackdropPainter, mix
from generation.backends.scene import ScenePlan, Subject
from generation.backends.subjects import KINDS, RGB, Pen, rgb, shade


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


class SubjectPainter(BackdropPainter):
    """Lays out and draws the subjects of the plan over the setting."""

    def __init__(self, plan: ScenePlan, size: tuple[int, int], seed: int) -> None:
        super().__init__(plan, size, seed)
        self.placements: list[Placement] = []

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
                rgb("5a4a3a") if kind.params.get("type") == "bare" else mix(kind.colour, (240, 244, 250), 0.5)
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
        haze = mix(self.sky_low, (200, 200, 205), 0.3)
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
