"""The one image pipeline: untrusted bytes in, safe variants out (pure, synchronous, CPU-bound).

Every image (generated, uploaded, a cached remote avatar) passes :func:`process_image`; code on the
event loop calls :func:`process_image_async`, which runs it in an image process (:mod:`storage.offload`).

- The format comes from the magic bytes (JPEG, PNG, WebP, GIF only), never a name or declared type.
- The byte cap, then the pixel cap read from the header (``Image.open`` is lazy) before any decode.
  Pillow's global bomb check (``MAX_IMAGE_PIXELS``, left alone: it is process-wide) maps to
  :class:`ImageTooLargeError` too; truncated files fail in ``load()`` (``LOAD_TRUNCATED_IMAGES`` stays
  False) and map to :class:`UnsupportedMediaError`.
- Orientation is applied, an ICC profile converts the pixels to sRGB and is dropped (untagged pixels
  are read as sRGB everywhere), every mode becomes 8-bit RGB or RGBA, and no metadata survives:
  EXIF/GPS, XMP, IPTC, ICC, comments, PNG text chunks (where A1111 and ComfyUI write the prompt).
- The original keeps the source format with its longest side capped. A PNG that needs no pixel change
  keeps its exact pixel chunks (lossless, and ~250 ms/MP cheaper than re-encoding); a JPEG is re-encoded
  with its own quantization tables. Animated GIF/WebP/PNG stay animated in the original; the other
  variants use the first frame. A static GIF stays a GIF; GIF carries no XMP here.
- The federation copy (JPEG or WebP, <= 2 MB, <= ~8.3 MP) and the thumbnail flatten transparency on
  white when JPEG; the blurhash has at most 5x5 components.

The checks and the decoding are in :mod:`storage.image_decoding`, the AI provenance (XMP) in
:mod:`storage.image_provenance`; the variants are encoded here, for posts, custom emoji and the image
classifier.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage import ImageTooLargeError, offload
from storage.image_decoding import (
    ALLOWED_TYPES,
    PNG_SIGNATURE,
    check_pixels,
    decoding,
    fit,
    normalize,
    orientation,
    read_frames,
    resized,
    sniff_format,
)
from storage.image_decoding import ImageLimits as ImageLimits  # the pipeline's settings, taken from here
from storage.image_decoding import sniff_media_type as sniff_media_type  # the front doors' upload check
from storage.image_provenance import PROVENANCE_XMP
from storage.media import MEDIA_TYPES_BY_EXT

# LAZY: Pillow, blurhash and ElementTree are imported where first used (here, in storage.image_decoding
# and storage.image_provenance), so a server that has not processed an image yet does not carry them
# (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image

EXT_BY_MEDIA_TYPE: dict[str, str] = {media_type: ext for ext, media_type in MEDIA_TYPES_BY_EXT.items()}

ORIGINAL_QUALITY = 90  # JPEG without usable source tables; lossy WebP
FEDERATION_QUALITY = (60, 85)  # searched between these; below the floor the copy is scaled down instead
THUMBNAIL_QUALITY = 80
PNG_COMPRESS_LEVEL = 6
WEBP_METHOD = 2  # libwebp effort: its default, 4, took twice as long here for no smaller files
BLURHASH_SIDE = 32  # the hash keeps at most 5 cosine components per axis: 32 px holds all of them
BACKGROUND = (255, 255, 255)  # under transparent pixels in JPEG copies

# PNG specification (3rd edition), section 11: the chunks that carry or describe pixels (APNG's too).
_PNG_PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}


@dataclass(frozen=True)
class Variant:
    """One encoded image: its bytes, real media type and size."""

    data: bytes = field(repr=False)
    media_type: str
    width: int
    height: int

    @property
    def ext(self) -> str:
        """The file extension for this media type: jpg, png, webp or gif."""
        return EXT_BY_MEDIA_TYPE[self.media_type]


@dataclass(frozen=True)
class ProcessedImage:
    """Everything the pipeline derives from one image."""

    original: Variant
    federation: Variant
    thumbnail: Variant
    blurhash: str
    focus: tuple[float, float]  # Mastodon focal point: x, y in [-1, 1], y up, (0, 0) the centre
    source_media_type: str
    animated: bool = False  # the original is an animation (the other variants show its first frame)


def _clamp(value: float) -> float:
    # Mastodon's focal point: each coordinate in [-1, 1]; anything not a finite number means the centre.
    value = float(value)
    return max(-1.0, min(1.0, value)) if math.isfinite(value) else 0.0


def _flatten(im: Image.Image) -> Image.Image:
    from PIL import Image  # LAZY

    if im.mode != "RGBA":
        return im
    out = Image.new("RGB", im.size, BACKGROUND)
    out.paste(im, mask=im.getchannel("A"))
    return out


def _encode(im: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def _lossy(im: Image.Image, fmt: str, quality: int, xmp: bytes | None = None) -> bytes:
    extra = {"xmp": xmp} if xmp else {}
    if fmt == "JPEG":
        return _encode(_flatten(im), "JPEG", quality=quality, optimize=True, **extra)
    return _encode(im, "WEBP", quality=quality, method=WEBP_METHOD, **extra)


def _variant(data: bytes, fmt: str, size: tuple[int, int]) -> Variant:
    return Variant(data=data, media_type=ALLOWED_TYPES[fmt], width=size[0], height=size[1])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png_pixels_only(data: bytes, xmp: bytes | None) -> bytes | None:
    """The PNG with only its pixel chunks (plus an XMP iTXt chunk), or None if the layout is unexpected."""
    out, pos = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data) or (pos == 8) != (kind == b"IHDR"):
            return None
        if kind in _PNG_PIXEL_CHUNKS:
            if zlib.crc32(data[pos + 4 : end - 4]) != struct.unpack_from(">I", data, end - 4)[0]:
                return None  # browsers reject a bad CRC that Pillow skipped: re-encode instead
            out.append(data[pos:end])
        if kind == b"IHDR" and xmp is not None:
            # XMP specification part 3, PNG: one uncompressed iTXt "XML:com.adobe.xmp", empty language.
            out.append(_png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
        if kind == b"IEND":
            return b"".join(out)  # anything after IEND (an appended archive, say) is dropped
        pos = end
    return None


def _webp_lossless(data: bytes) -> bool:
    # RIFF chunks (WebP container spec): the first image chunk is VP8L (lossless) or VP8 (lossy).
    pos = 12
    while pos + 8 <= len(data):
        kind, length = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if kind in (b"VP8L", b"VP8 "):
            return kind == b"VP8L"
        pos += 8 + length + (length & 1)
    return False


def _save_params(fmt: str, data: bytes, source: Image.Image, xmp: bytes | None) -> dict[str, Any]:
    """Encoder settings for an original in the source format (XMP where the format can carry it)."""
    from PIL import JpegImagePlugin, PngImagePlugin  # LAZY

    if fmt == "JPEG":
        params: dict[str, Any] = {"quality": ORIGINAL_QUALITY}
        qtables = getattr(source, "quantization", None)
        if qtables and all(max(table) <= 255 for table in qtables.values()):  # baseline 8-bit tables
            params = {"qtables": qtables}
            if (subsampling := JpegImagePlugin.get_sampling(source)) >= 0:
                params["subsampling"] = subsampling
        return {**params, "optimize": True, **({"xmp": xmp} if xmp else {})}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        if xmp:
            info.add_itxt("XML:com.adobe.xmp", xmp.decode(), zip=False)
        return {"compress_level": PNG_COMPRESS_LEVEL, "pnginfo": info}
    if fmt == "WEBP":
        quality = {"lossless": True} if _webp_lossless(data) else {"quality": ORIGINAL_QUALITY}
        return {**quality, "method": WEBP_METHOD, **({"xmp": xmp} if xmp else {})}
    return {}  # GIF: Pillow writes no XMP or comment unless asked


def _federation(base: Image.Image, limits: ImageLimits, xmp: bytes | None) -> Variant:
    """A JPEG/WebP copy within the byte and pixel caps: lower the quality first, then the size."""
    fmt = "JPEG" if limits.federation_format == "jpeg" else "WEBP"
    im = _flatten(base) if fmt == "JPEG" else base
    width, height = im.size
    if width * height > limits.federation_max_pixels:
        scale = math.sqrt(limits.federation_max_pixels / (width * height))
        im = resized(im, (max(1, math.floor(width * scale)), max(1, math.floor(height * scale))))
    low, high = FEDERATION_QUALITY
    budget, shrunk = limits.federation_max_bytes, False
    while True:
        if not shrunk and len(data := _lossy(im, fmt, high, xmp)) <= budget:
            return _variant(data, fmt, im.size)
        floor = _lossy(im, fmt, low, xmp)
        if len(floor) <= budget:
            # Bisect the quality: the best one in [low, high) whose encoding fits.
            best, lo, hi = floor, low, high
            while hi - lo > 2:
                mid = (lo + hi) // 2
                candidate = _lossy(im, fmt, mid, xmp)
                best, lo, hi = (candidate, mid, hi) if len(candidate) <= budget else (best, lo, mid)
            return _variant(best, fmt, im.size)
        if max(im.size) <= 16:
            raise ImageTooLargeError("no federation copy fits the byte limit")
        # Bytes grow with pixels: shrink by the excess at the floor quality, with a 10% margin.
        scale = min(0.9, math.sqrt(0.9 * budget / len(floor)))
        shrunk = True  # the top quality cannot fit now: search from the floor up
        im = resized(im, (max(1, math.floor(im.width * scale)), max(1, math.floor(im.height * scale))))


def _thumbnail(base: Image.Image, limits: ImageLimits) -> tuple[Variant, Image.Image]:
    """The thumbnail variant, and its pixels flattened to RGB (for the blurhash)."""
    fmt = "JPEG" if limits.federation_format == "jpeg" else "WEBP"
    im = resized(base, fit(base.size, limits.thumbnail_side))
    return _variant(_lossy(im, fmt, THUMBNAIL_QUALITY), fmt, im.size), _flatten(im)


def _blurhash(im: Image.Image) -> str:
    # Components by aspect ratio; Mastodon drops a blurhash with more than 5 per axis.
    x, y = (4, 3) if im.width >= 1.25 * im.height else (3, 4) if im.height >= 1.25 * im.width else (4, 4)
    from PIL import Image  # LAZY

    small = im.resize(fit(im.size, BLURHASH_SIDE), Image.Resampling.BOX)
    raw, row = small.tobytes(), small.width * 3
    rows = [[raw[i : i + 3] for i in range(r * row, (r + 1) * row, 3)] for r in range(small.height)]
    import blurhash  # LAZY

    return str(blurhash.encode(rows, x, y))


def process_image(
    data: bytes,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 - frozen, so one shared default is safe
    *,
    ai_generated: bool = False,
    focus: tuple[float, float] = (0.0, 0.0),
) -> ProcessedImage:
    """Check, clean and derive every variant of one image; MediaError subclasses for bad input."""
    focus = (_clamp(focus[0]), _clamp(focus[1]))
    if len(data) > limits.max_input_bytes:
        raise ImageTooLargeError(f"{len(data)} bytes is over the limit of {limits.max_input_bytes}")
    from PIL import Image  # LAZY

    fmt = sniff_format(data)
    xmp = PROVENANCE_XMP if ai_generated else None
    with decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG" and max(source.size) > limits.original_max_side:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free: never below the original's cap.
            source.draft(None, fit(source.size, limits.original_max_side))
        source.load()
        animated = fmt != "JPEG" and bool(getattr(source, "is_animated", False))
        original_data = None
        if fmt == "PNG" and max(source.size) <= limits.original_max_side:
            if orientation(source) == 1 and not source.info.get("icc_profile"):
                original_data = _png_pixels_only(data, xmp)
        if animated and original_data is None:
            frames, durations, loop = read_frames(source, limits)
            base = frames[0]
            params = _save_params(fmt, data, source, xmp)
            if fmt == "GIF":
                params["disposal"] = 2  # every frame is whole: clear before drawing the next
            original_data = _encode(
                base, fmt, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **params
            )
        else:
            frame = normalize(source)
            base = resized(frame, fit(frame.size, limits.original_max_side))
            if original_data is None:
                original_data = _encode(base, fmt, **_save_params(fmt, data, source, xmp))
        original = _variant(original_data, fmt, base.size)
    federation = _federation(base, limits, xmp)
    thumbnail, pixels = _thumbnail(base, limits)
    return ProcessedImage(
        original=original,
        federation=federation,
        thumbnail=thumbnail,
        blurhash=_blurhash(pixels),
        focus=focus,
        source_media_type=ALLOWED_TYPES[fmt],
        animated=animated,
    )


async def process_image_async(
    data: bytes,
    limits: ImageLimits = ImageLimits(),  # noqa: B008 - frozen, so one shared default is safe
    *,
    ai_generated: bool = False,
    focus: tuple[float, float] = (0.0, 0.0),
) -> ProcessedImage:
    """:func:`process_image` in an image process (:mod:`storage.offload`), so the event loop only waits."""
    return await offload.run(process_image, data, limits, ai_generated=ai_generated, focus=focus)


# Custom emoji: Mastodon refuses remote emoji over 256 KB (CustomEmoji::LIMIT) and shows them about a
# line high; the copy keeps at most 512 px on its longest side, sharp on any screen.
EMOJI_LIMITS = ImageLimits(
    max_input_bytes=262_144,
    max_pixels=4_194_304,  # 2048 x 2048, checked from the header before decoding
    original_max_side=512,
    max_frames=500,
    max_animation_pixels=16_000_000,
)


@dataclass(frozen=True)
class EmojiImage:
    """A custom emoji through the pipeline: the image as shown (an animation stays one) and its first
    frame as a PNG (Mastodon's ``static_url``), both without metadata."""

    image: Variant
    static: Variant
    animated: bool


def process_emoji(data: bytes, limits: ImageLimits = EMOJI_LIMITS) -> EmojiImage:
    """Check and clean a custom emoji; MediaError subclasses for bad input, as :func:`process_image`."""
    if len(data) > limits.max_input_bytes:
        raise ImageTooLargeError(f"{len(data)} bytes is over the limit of {limits.max_input_bytes}")
    from PIL import Image  # LAZY

    fmt = sniff_format(data)
    with decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG" and max(source.size) > limits.original_max_side:
            source.draft(None, fit(source.size, limits.original_max_side))
        source.load()
        animated = fmt != "JPEG" and bool(getattr(source, "is_animated", False))
        if animated:
            frames, durations, loop = read_frames(source, limits)
            base = frames[0]
            params = _save_params(fmt, data, source, None)
            if fmt == "GIF":
                params["disposal"] = 2
            image_data = _encode(
                base, fmt, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **params
            )
        else:
            frame = normalize(source)
            base = resized(frame, fit(frame.size, limits.original_max_side))
            image_data = _encode(base, fmt, **_save_params(fmt, data, source, None))
        static_data = _encode(base, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return EmojiImage(
        image=_variant(image_data, fmt, base.size),
        static=_variant(static_data, "PNG", base.size),
        animated=animated,
    )


async def process_emoji_async(data: bytes, limits: ImageLimits = EMOJI_LIMITS) -> EmojiImage:
    """:func:`process_emoji` in an image process (:mod:`storage.offload`)."""
    return await offload.run(process_emoji, data, limits)


def classifier_copy(data: bytes, limits: ImageLimits = ImageLimits(), side: int = 512) -> bytes:  # noqa: B008
    """A small PNG of an image's first frame, without any metadata, for an image classifier: decoded
    with the pipeline's checks (type from the bytes, pixel cap before decoding)."""
    if len(data) > limits.max_input_bytes:
        raise ImageTooLargeError(f"{len(data)} bytes is over the limit of {limits.max_input_bytes}")
    from PIL import Image  # LAZY

    fmt = sniff_format(data)
    with decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG":
            source.draft(None, fit(source.size, side))
        source.load()
        base = normalize(source)
        im = _flatten(resized(base, fit(base.size, side)))
    return _encode(im, "PNG")


async def classifier_copy_async(data: bytes, limits: ImageLimits = ImageLimits()) -> bytes:  # noqa: B008
    """:func:`classifier_copy` in an image process (:mod:`storage.offload`)."""
    return await offload.run(classifier_copy, data, limits)
