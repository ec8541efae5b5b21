"""Reading untrusted image bytes safely: what the pipeline accepts (:class:`ImageLimits`), the type
from the magic bytes (JPEG, PNG, WebP, GIF only), the pixel cap checked from the header before any
decode, decoder failures mapped to :class:`~storage.MediaError` subclasses, and each decoded frame
made upright, sRGB, 8-bit RGB or RGBA and free of metadata, then resized.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage import ImageTooLargeError, UnsupportedMediaError

# LAZY: Pillow (and its ImageCms (lcms2), ImageOps) is imported where first used, so a server that has
# not processed an image yet does not carry it (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image


ALLOWED_TYPES: dict[str, str] = dict(JPEG="image/jpeg", PNG="image/png", WEBP="image/webp", GIF="image/gif")
# What Pillow's decoders raise on corrupt or truncated data.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_ICC_SPACE = {"RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK", "L": "GRAY", "LA": "GRAY"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageLimits:
    """What the pipeline accepts and produces; the defaults follow Mastodon and Bluesky."""

    max_input_bytes: int = 40_000_000
    max_pixels: int = 50_000_000  # checked from the header BEFORE any full decode
    original_max_side: int = 4096  # longest side of the stored original
    federation_max_bytes: int = 2_000_000  # Bluesky's image blob maxSize (app.bsky.embed.images lexicon)
    federation_max_pixels: int = 8_294_400  # 3840x2160, Mastodon's downscale target for images
    federation_format: str = "jpeg"  # "jpeg" or "webp"
    thumbnail_side: int = 640
    max_frames: int = 1_000  # an animation with more frames is refused
    max_animation_pixels: int = 40_000_000  # all frames together (they are held decoded, 4 bytes each)

    def __post_init__(self) -> None:
        if self.federation_format not in ("jpeg", "webp"):
            raise ValueError(f"federation_format must be 'jpeg' or 'webp', not {self.federation_format!r}")


def sniff_format(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == PNG_SIGNATURE:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    raise UnsupportedMediaError("not a JPEG, PNG, WebP or GIF image")


def sniff_media_type(data: bytes) -> str:
    """The media type named by the magic bytes; UnsupportedMediaError for anything not allowed."""
    return ALLOWED_TYPES[sniff_format(data)]


@contextmanager
def decoding() -> Iterator[None]:
    from PIL import Image  # LAZY

    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise UnsupportedMediaError(f"cannot decode the image: {exc}") from exc


def check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UnsupportedMediaError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} is over the limit of {max_pixels} pixels")


def orientation(im: Image.Image) -> int:
    from PIL import ExifTags  # LAZY

    try:
        value = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # malformed EXIF is metadata we drop anyway: read it as "upright"
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    """``im`` converted from its ICC profile to sRGB (RGB or RGBA), or None if the profile is unusable."""
    from PIL import ImageCms  # LAZY: loads the lcms2 library only for images with a profile

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != _ICC_SPACE.get(im.mode):
            return None
        alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
        base = im.convert(im.mode[:-1]) if alpha is not None else im
        srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out = ImageCms.profileToProfile(base, profile, srgb, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None  # a broken profile: keep the pixels as they are, read as sRGB
    if out is None:
        return None
    if alpha is not None:
        out.putalpha(alpha)
    return out


def normalize(frame: Image.Image) -> Image.Image:
    """One decoded frame, upright, in sRGB, as 8-bit RGB or RGBA, without any metadata."""
    from PIL import ImageOps  # LAZY

    im = ImageOps.exif_transpose(frame) if orientation(frame) != 1 else frame
    if im.mode in _SIXTEEN_BIT:  # Pillow's convert() clips 16-bit grey at 255: scale it down instead
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        im.info.pop("transparency", None)  # a 16-bit grey level, meaningless now
    if im.mode in ("P", "PA", "1", "RGB", "L") and (im.mode == "PA" or "transparency" in im.info):
        im = im.convert("RGBA")
    elif im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        im = im.convert("RGBA" if "A" in im.mode or "a" in im.mode else "RGB")
    icc = frame.info.get("icc_profile")
    if icc and (converted := _to_srgb(im, icc)) is not None:
        im = converted
    if im.mode not in ("RGB", "RGBA"):
        im = im.convert("RGBA" if im.mode == "LA" else "RGB")
    if im.mode == "RGBA" and im.getchannel("A").getextrema() == (255, 255):
        im = im.convert("RGB")  # fully opaque: no alpha to carry
    if im is frame:
        im = im.copy()
    im.info = {}  # no EXIF, XMP, ICC, comment or text chunk can reach an encoder
    return im


def fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    if max(width, height) <= side:
        return size
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resized(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    # A box reduction first when shrinking a lot, then bicubic (Image.thumbnail does the same with
    # Lanczos; bicubic is ~30% faster here and looks the same at these ratios).
    from PIL import Image  # LAZY

    return im if size == im.size else im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def read_frames(source: Image.Image, limits: ImageLimits) -> tuple[list[Image.Image], list[int], int]:
    """Every frame of an animation (normalized, side-capped), their durations (ms) and the loop count."""
    frames: list[Image.Image] = []
    durations: list[int] = []
    loop = int(source.info.get("loop", 0) or 0)
    total = 0
    for index in range(limits.max_frames + 1):
        if index:
            try:
                source.seek(index)
            except EOFError:
                break
        if index == limits.max_frames:
            raise ImageTooLargeError(f"animation with more than {limits.max_frames} frames")
        check_pixels(source.size, limits.max_pixels)  # a GIF frame may be larger than its screen
        total += source.size[0] * source.size[1]
        if total > limits.max_animation_pixels:
            raise ImageTooLargeError(f"animation over {limits.max_animation_pixels} pixels in all")
        source.load()
        durations.append(int(source.info.get("duration", 0) or 0))
        frame = normalize(source)
        frames.append(resized(frame, fit(frame.size, limits.original_max_side)))
    return frames, durations, loop
