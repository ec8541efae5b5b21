"""Blurhash placeholders as tiny PNG ``data:`` URIs, decoded on the server.

A grid tile shows the placeholder as an ``<img>`` under the real thumbnail, which covers it once it has
loaded: no script and no inline style, which the pages' Content-Security-Policy would refuse.
"""

from __future__ import annotations

import base64
import io
from functools import lru_cache

# Pixels of the decoded placeholder; the browser scales it up smoothly, which is the blur.
SIDE = 8
MAX_HASH_CHARS = 128


@lru_cache(maxsize=4096)
def placeholder(hash_: str | None) -> str | None:
    """The PNG data URI of a blurhash, or None for a missing or malformed one."""
    if not hash_ or len(hash_) > MAX_HASH_CHARS:
        return None
    import blurhash  # LAZY: with Pillow, loaded by the first placeholder drawn (benchmarks/memory.py)
    from PIL import Image

    try:
        rows = blurhash.decode(hash_, SIDE, SIDE)
    except (ValueError, IndexError, TypeError):
        return None
    image = Image.new("RGB", (SIDE, SIDE))
    image.putdata([tuple(int(max(0, min(255, c))) for c in pixel[:3]) for row in rows for pixel in row])
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
