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
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage import ImageTooLargeError, UnsupportedMediaError, offload

# LAZY: Pillow (and its ImageCms (lcms2), ImageOps), blurhash and ElementTree are imported where first
# used, so a server that has not processed an image yet does not carry them (benchmarks/memory.py).
from storage.media import MEDIA_TYPES_BY_EXT

if TYPE_CHECKING:
    from PIL import Image

ALLOWED_TYPES: dict[str, str] = dict(JPEG="image/jpeg", PNG="image/png", WEBP="image/webp", GIF="image/gif")
EXT_BY_MEDIA_TYPE: dict[str, str] = {media_type: ext for ext, media_type in MEDIA_TYPES_BY_EXT.items()}

IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# XMP specification part 1, "XMP packet wrapper": the id is the fixed value the spec prescribes.
_PROVENANCE_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    f' <rdf:RDF xmlns:rdf="{_RDF_NS}">\n'
    f'  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{IPTC_EXT_NS}">\n'
    f"   <Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="r"?>'
).encode()

ORIGINAL_QUALITY = 90  # JPEG without usable source tables; lossy WebP
FEDERATION_QUALITY = (60, 85)  # searched between these; below the floor the copy is scaled down instead
THUMBNAIL_QUALITY = 80
PNG_COMPRESS_LEVEL = 6
WEBP_METHOD = 2  # libwebp effort: its default, 4, took twice as long here for no smaller files
BLURHASH_SIDE = 32  # the hash keeps at most 5 cosine components per axis: 32 px holds all of them
BACKGROUND = (255, 255, 255)  # under transparent pixels in JPEG copies

# What Pillow's decoders raise on corrupt or truncated data.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error)
_SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N", "I"}
_ICC_SPACE = {"RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK", "L": "GRAY", "LA": "GRAY"}
# PNG specification (3rd edition), section 11: the chunks that carry or describe pixels (APNG's too).
_PNG_PIXEL_CHUNKS = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


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


def _sniff_format(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == _PNG_SIGNATURE:
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    raise UnsupportedMediaError("not a JPEG, PNG, WebP or GIF image")


def sniff_media_type(data: bytes) -> str:
    """The media type named by the magic bytes; UnsupportedMediaError for anything not allowed."""
    return ALLOWED_TYPES[_sniff_format(data)]


def provenance_xmp() -> bytes:
    """An XMP packet declaring IPTC DigitalSourceType trainedAlgorithmicMedia (made by a generative model)."""
    return _PROVENANCE_XMP


def read_provenance(data: bytes) -> str | None:
    """The IPTC DigitalSourceType URI in an image's XMP, or None when it has none."""
    from PIL import Image  # LAZY

    fmt = _sniff_format(data)
    with _decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as im:
        xmp = im.info.get("xmp")
        if xmp is None and fmt == "PNG":  # an iTXt chunk after the pixel data is read by load()
            _check_pixels(im.size, ImageLimits.max_pixels)
            im.load()
            xmp = im.info.get("xmp")
    return _digital_source_type(xmp) if isinstance(xmp, (bytes, str)) else None


def _digital_source_type(xmp: bytes | str) -> str | None:
    packet = (xmp.encode() if isinstance(xmp, str) else xmp).strip(b"\x00 \t\r\n")
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:  # XMP has no DTD; refuse entity tricks
        return None
    from xml.etree import ElementTree  # LAZY

    try:
        root = ElementTree.fromstring(packet)
    except ElementTree.ParseError:
        return None
    name = f"{{{IPTC_EXT_NS}}}DigitalSourceType"
    for element in root.iter():
        # RDF allows the property as an attribute, as text, or as an rdf:resource.
        value = element.attrib.get(name)
        if value is None and element.tag == name:
            value = element.attrib.get(f"{{{_RDF_NS}}}resource") or element.text
        if value and value.strip():
            return value.strip()
    return None


@contextmanager
def _decoding() -> Iterator[None]:
    from PIL import Image  # LAZY

    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(str(exc)) from exc
    except _DECODE_ERRORS as exc:
        raise UnsupportedMediaError(f"cannot decode the image: {exc}") from exc


def _check_pixels(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise UnsupportedMediaError(f"image declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} is over the limit of {max_pixels} pixels")


def _clamp(value: float) -> float:
    # Mastodon's focal point: each coordinate in [-1, 1]; anything not a finite number means the centre.
    value = float(value)
    return max(-1.0, min(1.0, value)) if math.isfinite(value) else 0.0


def _orientation(im: Image.Image) -> int:
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


def _normalize(frame: Image.Image) -> Image.Image:
    """One decoded frame, upright, in sRGB, as 8-bit RGB or RGBA, without any metadata."""
    from PIL import ImageOps  # LAZY

    im = ImageOps.exif_transpose(frame) if _orientation(frame) != 1 else frame
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


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    if max(width, height) <= side:
        return size
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resized(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    # A box reduction first when shrinking a lot, then bicubic (Image.thumbnail does the same with
    # Lanczos; bicubic is ~30% faster here and looks the same at these ratios).
    from PIL import Image  # LAZY

    return im if size == im.size else im.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


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
    out, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
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


def _frames(source: Image.Image, limits: ImageLimits) -> tuple[list[Image.Image], list[int], int]:
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
        _check_pixels(source.size, limits.max_pixels)  # a GIF frame may be larger than its screen
        total += source.size[0] * source.size[1]
        if total > limits.max_animation_pixels:
            raise ImageTooLargeError(f"animation over {limits.max_animation_pixels} pixels in all")
        source.load()
        durations.append(int(source.info.get("duration", 0) or 0))
        frame = _normalize(source)
        frames.append(_resized(frame, _fit(frame.size, limits.original_max_side)))
    return frames, durations, loop


def _federation(base: Image.Image, limits: ImageLimits, xmp: bytes | None) -> Variant:
    """A JPEG/WebP copy within the byte and pixel caps: lower the quality first, then the size."""
    fmt = "JPEG" if limits.federation_format == "jpeg" else "WEBP"
    im = _flatten(base) if fmt == "JPEG" else base
    width, height = im.size
    if width * height > limits.federation_max_pixels:
        scale = math.sqrt(limits.federation_max_pixels / (width * height))
        im = _resized(im, (max(1, math.floor(width * scale)), max(1, math.floor(height * scale))))
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
        im = _resized(im, (max(1, math.floor(im.width * scale)), max(1, math.floor(im.height * scale))))


def _thumbnail(base: Image.Image, limits: ImageLimits) -> tuple[Variant, Image.Image]:
    """The thumbnail variant, and its pixels flattened to RGB (for the blurhash)."""
    fmt = "JPEG" if limits.federation_format == "jpeg" else "WEBP"
    im = _resized(base, _fit(base.size, limits.thumbnail_side))
    return _variant(_lossy(im, fmt, THUMBNAIL_QUALITY), fmt, im.size), _flatten(im)


def _blurhash(im: Image.Image) -> str:
    # Components by aspect ratio; Mastodon drops a blurhash with more than 5 per axis.
    x, y = (4, 3) if im.width >= 1.25 * im.height else (3, 4) if im.height >= 1.25 * im.width else (4, 4)
    from PIL import Image  # LAZY

    small = im.resize(_fit(im.size, BLURHASH_SIDE), Image.Resampling.BOX)
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

    fmt = _sniff_format(data)
    xmp = _PROVENANCE_XMP if ai_generated else None
    with _decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        _check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG" and max(source.size) > limits.original_max_side:
            # libjpeg decodes at 1/2, 1/4 or 1/8 scale for free: never below the original's cap.
            source.draft(None, _fit(source.size, limits.original_max_side))
        source.load()
        animated = fmt != "JPEG" and bool(getattr(source, "is_animated", False))
        original_data = None
        if fmt == "PNG" and max(source.size) <= limits.original_max_side:
            if _orientation(source) == 1 and not source.info.get("icc_profile"):
                original_data = _png_pixels_only(data, xmp)
        if animated and original_data is None:
            frames, durations, loop = _frames(source, limits)
            base = frames[0]
            params = _save_params(fmt, data, source, xmp)
            if fmt == "GIF":
                params["disposal"] = 2  # every frame is whole: clear before drawing the next
            original_data = _encode(
                base, fmt, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **params
            )
        else:
            frame = _normalize(source)
            base = _resized(frame, _fit(frame.size, limits.original_max_side))
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

    fmt = _sniff_format(data)
    with _decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        _check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG" and max(source.size) > limits.original_max_side:
            source.draft(None, _fit(source.size, limits.original_max_side))
        source.load()
        animated = fmt != "JPEG" and bool(getattr(source, "is_animated", False))
        if animated:
            frames, durations, loop = _frames(source, limits)
            base = frames[0]
            params = _save_params(fmt, data, source, None)
            if fmt == "GIF":
                params["disposal"] = 2
            image_data = _encode(
                base, fmt, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **params
            )
        else:
            frame = _normalize(source)
            base = _resized(frame, _fit(frame.size, limits.original_max_side))
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

    fmt = _sniff_format(data)
    with _decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as source:
        _check_pixels(source.size, limits.max_pixels)
        if fmt == "JPEG":
            source.draft(None, _fit(source.size, side))
        source.load()
        base = _normalize(source)
        im = _flatten(_resized(base, _fit(base.size, side)))
    return _encode(im, "PNG")


async def classifier_copy_async(data: bytes, limits: ImageLimits = ImageLimits()) -> bytes:  # noqa: B008
    """:func:`classifier_copy` in an image process (:mod:`storage.offload`)."""
    return await offload.run(classifier_copy, data, limits)
