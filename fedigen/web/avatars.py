"""Default avatars: a deterministic identicon per account, so every actor has a real ``image/png`` icon.

Bridgy Fed bridges only actors that have an icon, and Bluesky's CDN fetches it without a signature,
so the default must be an ordinary PNG served to anyone. The picture is a 5x5 grid mirrored left to
right (the familiar identicon shape) in one colour chosen from a hash of the seed.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from functools import lru_cache

GRID = 5
MIN_SIZE = 16
MAX_SIZE = 1024
BACKGROUND = (240, 240, 240)


def _colour(digest: bytes) -> tuple[int, int, int]:
    """A saturated, mid-light colour from the hash: readable on the pale background."""
    hue = int.from_bytes(digest[0:2], "big") / 65536
    lightness = 0.42 + (digest[2] / 255) * 0.14
    saturation = 0.55 + (digest[3] / 255) * 0.25
    r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def _cells(digest: bytes) -> set[tuple[int, int]]:
    """Filled (column, row) cells: 15 bits pick the left three columns, mirrored onto the right two."""
    bits = int.from_bytes(digest[4:6], "big")
    half = (GRID + 1) // 2
    filled: set[tuple[int, int]] = set()
    for index in range(half * GRID):
        if bits >> index & 1:
            column, row = divmod(index, GRID)
            filled.add((column, row))
            filled.add((GRID - 1 - column, row))
    if not filled:  # one seed in 32768 has no bits set; never hand out a blank square
        filled.add((GRID // 2, GRID // 2))
    return filled


def identicon_png(seed: str, size: int = 256) -> bytes:
    """A square PNG identicon of ``size`` pixels for ``seed``: the same bytes for the same input."""
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be between {MIN_SIZE} and {MAX_SIZE} pixels")
    from PIL import Image, ImageDraw  # LAZY: loaded by the first identicon drawn (benchmarks/memory.py)

    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    cell = size // (GRID + 1)  # half a cell of margin on each side
    margin = (size - cell * GRID) // 2
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    colour = _colour(digest)
    for column, row in _cells(digest):
        left, top = margin + column * cell, margin + row * cell
        draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=colour)
    out = io.BytesIO()
    # No pnginfo and no ICC profile: the file carries pixels only, so it is byte-for-byte reproducible.
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@lru_cache(maxsize=512)
def cached_identicon_png(seed: str, size: int = 256) -> bytes:
    """``identicon_png`` memoised: each account's avatar is drawn once per process."""
    return identicon_png(seed, size)
