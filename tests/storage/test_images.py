"""The image pipeline: crafted bad files are refused, good files of every format come out clean."""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from xml.etree import ElementTree

import blurhash
import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile

from storage import ImageTooLargeError, UnsupportedMediaError
from storage.image_decoding import ALLOWED_TYPES, ImageLimits, sniff_media_type
from storage.image_provenance import IPTC_EXT_NS, TRAINED_ALGORITHMIC_MEDIA, provenance_xmp, read_provenance
from storage.images import ProcessedImage, Variant, process_image, process_image_async

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def picture(size: tuple[int, int] = (320, 240), mode: str = "RGB") -> Image.Image:
    """Gradients plus a little noise, like a generated image."""
    width, height = size
    base = Image.merge(
        "RGB",
        [Image.linear_gradient("L").resize(size), Image.radial_gradient("L").resize(size),
         Image.linear_gradient("L").rotate(90).resize(size)],
    )  # fmt: skip
    noise = Image.frombytes("RGB", size, os.urandom(width * height * 3))
    return Image.blend(base, noise, 0.1).convert(mode)


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width: int, height: int, rgb: bytes) -> bytes:
    """An 8-bit RGB PNG built by hand (stored, not compressed: fast for huge noise images)."""
    stride = width * 3
    rows = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b"")


def png_declaring(width: int, height: int) -> bytes:
    """A tiny real PNG whose IHDR is patched to declare another size (with a correct CRC)."""
    data = encode(Image.new("RGB", (1, 1)), "PNG")
    ihdr = struct.pack(">II", width, height) + data[24:29]
    return data[:8] + chunk(b"IHDR", ihdr) + data[33:]


def opened(variant: Variant) -> Image.Image:
    im = Image.open(io.BytesIO(variant.data))
    assert ALLOWED_TYPES[im.format or ""] == variant.media_type
    assert im.size == (variant.width, variant.height)
    return im


def frame_count(variant: Variant) -> int:
    return int(getattr(opened(variant), "n_frames", 1))


def assert_clean(processed: ProcessedImage, *secrets: bytes) -> None:
    """No variant carries EXIF (GPS included), ICC, comments, text chunks or the given strings."""
    for variant in (processed.original, processed.federation, processed.thumbnail):
        im = opened(variant)
        im.load()
        assert not im.getexif(), variant.media_type
        assert not set(im.info) & {"exif", "icc_profile", "comment", "xmp", "parameters", "Comment"}
        for secret in (b"Exif\x00\x00", *secrets):
            assert secret not in variant.data


def mean_colour(im: Image.Image, box: tuple[int, int, int, int] = (120, 80, 200, 160)) -> tuple[int, ...]:
    pixel = im.convert("RGB").crop(box).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


def components(hash_: str) -> tuple[int, int]:
    value = BASE83.index(hash_[0])
    return value % 9 + 1, value // 9 + 1


# --- refused input ------------------------------------------------------------------------------------


def test_pillow_globals_are_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    process_image(encode(picture(), "PNG"))
    assert Image.MAX_IMAGE_PIXELS == before
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize(
    "data",
    [
        encode(picture(), "TIFF"),
        encode(picture(), "BMP"),
        b"hello, I am a text file named cat.png\n",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"",
        b"\x89PNG",  # a signature fragment
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF, but audio
    ],
    ids=["tiff", "bmp", "text", "svg", "empty", "png-fragment", "wav"],
)
def test_bytes_that_are_not_an_allowed_image_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError):
        sniff_media_type(data)
    with pytest.raises(UnsupportedMediaError):
        process_image(data)


def test_decompression_bombs_are_refused() -> None:
    with pytest.raises(ImageTooLargeError):
        process_image(png_declaring(50_000, 50_000))
    gif = bytearray(encode(Image.new("P", (1, 1)), "GIF"))
    gif[6:10] = struct.pack("<HH", 50_000, 50_000)  # the logical screen size
    with pytest.raises(ImageTooLargeError):
        process_image(bytes(gif))


def test_the_pixel_cap_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageTooLargeError):  # 64 MP: under Pillow's own bomb check, over ours
        process_image(png_declaring(8_000, 8_000))
    with pytest.raises(ImageTooLargeError):
        process_image(encode(picture(), "JPEG"), ImageLimits(max_pixels=10_000))


def test_the_byte_cap_comes_first() -> None:
    with pytest.raises(ImageTooLargeError):
        process_image(encode(picture(), "PNG"), ImageLimits(max_input_bytes=1_000))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_files_are_refused(fmt: str) -> None:
    data = encode(picture((256, 256)), fmt)
    with pytest.raises(UnsupportedMediaError):
        process_image(data[: len(data) // 2])


def test_too_many_frames_or_animation_pixels_are_refused() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "green", "blue")]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ImageTooLargeError):
        process_image(gif, ImageLimits(max_frames=2))
    with pytest.raises(ImageTooLargeError):
        process_image(gif, ImageLimits(max_animation_pixels=2 * 64 * 64))


# --- metadata -----------------------------------------------------------------------------------------


def exif_with_gps(orientation: int, padding: int = 0) -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.ImageDescription] = "x" * padding
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    return exif.tobytes()


def test_huge_exif_with_gps_is_stripped_and_orientation_applied() -> None:
    stored = picture((300, 200))
    stored.paste((255, 0, 0), (0, 0, 50, 50))  # a red block at the stored top-left
    exif = exif_with_gps(orientation=6, padding=60_000)
    assert len(exif) > 60_000
    data = encode(stored, "JPEG", quality=95, exif=exif, comment=b"secret comment")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has GPS

    processed = process_image(data)

    assert (processed.original.width, processed.original.height) == (200, 300)
    upright = opened(processed.original).convert("RGB")
    red, green, blue = upright.getpixel((190, 10))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60  # orientation 6: rotated 90 degrees clockwise
    assert upright.getpixel((10, 10)) != upright.getpixel((190, 10))
    assert_clean(processed, b"SecretCam", b"secret comment", b"xxxxxxxx")


def test_png_text_chunks_and_appended_data_are_dropped() -> None:
    info = __import__("PIL.PngImagePlugin", fromlist=["PngInfo"]).PngInfo()
    info.add_text("parameters", "a private prompt, Steps: 20, Seed: 42")
    data = encode(picture(), "PNG", pnginfo=info, exif=exif_with_gps(1)) + b"PK\x03\x04appended archive"
    processed = process_image(data)
    assert processed.original.data.endswith(chunk(b"IEND", b""))
    assert_clean(processed, b"private prompt", b"PK\x03\x04")
    # The pixels are copied, not re-encoded: identical to the source's.
    assert opened(processed.original).tobytes() == Image.open(io.BytesIO(data)).tobytes()


def test_icc_profiles_are_applied_then_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[str] = []
    real = ImageCms.profileToProfile

    def recording(im: Image.Image, *args: object, **kwargs: object) -> Image.Image | None:
        applied.append(im.mode)
        return real(im, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageCms, "profileToProfile", recording)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    source = picture()
    for profile, used in ((srgb, ["RGB"]), (lab, []), (b"not a profile at all", [])):
        applied.clear()
        processed = process_image(encode(source, "JPEG", quality=95, icc_profile=profile))
        assert applied == used  # an RGB profile converts the pixels; a mismatched or broken one is ignored
        assert_clean(processed)
        before, after = mean_colour(source), mean_colour(opened(processed.original))
        assert all(abs(x - y) <= 3 for x, y in zip(before, after, strict=True))


# --- good files of every kind -------------------------------------------------------------------------


def gif_animation() -> bytes:
    frames = [Image.new("RGB", (80, 60), colour) for colour in ("red", "lime", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=[100, 200, 300], loop=0)


def palette_with_transparency() -> Image.Image:
    im = picture().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    im.info["transparency"] = 0
    return im


def with_hole(im: Image.Image) -> Image.Image:
    im.paste((0, 0, 0, 0), (0, 0, 40, 40))  # fully transparent top-left corner
    return im


GOOD: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: encode(picture(), "JPEG", quality=90),
    "jpeg-grey": lambda: encode(picture(mode="L"), "JPEG"),
    "jpeg-cmyk": lambda: encode(Image.new("CMYK", (64, 48), (0, 255, 255, 0)), "JPEG"),
    "png": lambda: encode(picture(), "PNG"),
    "png-alpha": lambda: encode(with_hole(picture(mode="RGBA")), "PNG"),
    "png-16-bit": lambda: encode(Image.new("I;16", (64, 48), 32768), "PNG"),
    "png-palette": lambda: encode(picture().convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
    "png-palette-transparent": lambda: encode(palette_with_transparency(), "PNG"),
    "png-grey-alpha": lambda: encode(picture(mode="LA"), "PNG"),
    "webp": lambda: encode(picture(), "WEBP", quality=80),
    "webp-lossless-alpha": lambda: encode(with_hole(picture(mode="RGBA")), "WEBP", lossless=True),
    "gif": lambda: encode(picture(), "GIF"),
    "gif-animated": gif_animation,
}


@pytest.mark.parametrize("name", list(GOOD))
def test_good_files_of_each_format_give_every_variant(name: str) -> None:
    data = GOOD[name]()
    source_type = sniff_media_type(data)
    processed = process_image(data)

    assert processed.source_media_type == source_type
    assert processed.original.media_type == source_type  # the source format is kept
    assert processed.federation.media_type == "image/jpeg"
    assert processed.thumbnail.media_type == "image/jpeg"
    source = Image.open(io.BytesIO(data))
    assert (processed.original.width, processed.original.height) == source.size
    assert len(processed.federation.data) <= 2_000_000
    assert max(processed.thumbnail.width, processed.thumbnail.height) <= 640
    for variant in (processed.federation, processed.thumbnail):
        assert opened(variant).mode in ("RGB", "L")
    assert_clean(processed)


def test_colours_survive_mode_conversions() -> None:
    cmyk = process_image(GOOD["jpeg-cmyk"]())
    red, green, blue = opened(cmyk.federation).getpixel((32, 24))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60
    grey16 = process_image(GOOD["png-16-bit"]())  # 32768 / 65535: mid grey, not clipped to white
    assert all(abs(v - 128) <= 3 for v in opened(grey16.federation).convert("RGB").getpixel((32, 24)))  # type: ignore[union-attr]


def test_transparency_is_kept_in_png_and_flattened_on_white_in_jpeg() -> None:
    processed = process_image(GOOD["png-alpha"]())
    original = opened(processed.original)
    assert original.mode == "RGBA" and original.getpixel((5, 5))[3] == 0  # type: ignore[index]
    assert opened(processed.federation).getpixel((5, 5)) == (255, 255, 255)
    webp = process_image(GOOD["webp-lossless-alpha"](), ImageLimits(federation_format="webp"))
    assert opened(webp.original).mode == "RGBA" and b"VP8L" in webp.original.data  # still lossless
    assert webp.federation.media_type == "image/webp" and opened(webp.federation).mode == "RGBA"


def test_animations_keep_their_frames_in_the_original_only() -> None:
    gif = process_image(gif_animation())
    assert gif.animated
    original = opened(gif.original)
    assert frame_count(gif.original) == 3
    durations = []
    for index in range(3):
        original.seek(index)
        durations.append(original.info["duration"])
    assert durations == [100, 200, 300]
    assert opened(gif.federation).getpixel((40, 30))[0] > 200  # type: ignore[index]  # first frame: red
    frames = [Image.new("RGBA", (80, 60), colour) for colour in ("red", "lime", "blue")]
    for fmt in ("WEBP", "PNG"):
        data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        processed = process_image(data)
        assert processed.animated and frame_count(processed.original) == 3
        assert not process_image(encode(frames[0], fmt)).animated


def test_large_jpegs_are_capped_with_draft_decoding() -> None:
    data = encode(Image.new("RGB", (9000, 1000), "teal"), "JPEG")
    processed = process_image(data)
    assert (processed.original.width, processed.original.height) == (4096, 455)
    assert (processed.thumbnail.width, processed.thumbnail.height) == (640, 71)


def test_federation_copy_of_worst_case_noise_fits_bluesky_and_mastodon() -> None:
    side = 4096
    data = raw_png(side, side, os.urandom(side * side * 3))  # incompressible: the worst case
    processed = process_image(data, ImageLimits(max_input_bytes=len(data)))
    federation = processed.federation
    assert len(federation.data) <= 2_000_000
    assert federation.width * federation.height <= 8_294_400
    assert opened(federation).size == (federation.width, federation.height)
    assert (processed.original.width, processed.original.height) == (side, side)


def test_federation_copy_as_webp_fits_too() -> None:
    data = raw_png(1024, 1024, os.urandom(1024 * 1024 * 3))
    limits = ImageLimits(federation_format="webp", federation_max_bytes=300_000)
    federation = process_image(data, limits).federation
    assert federation.media_type == "image/webp" and len(federation.data) <= 300_000


# --- blurhash, focus, provenance ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"), [((400, 200), (4, 3)), ((200, 400), (3, 4)), ((300, 300), (4, 4))]
)
def test_blurhash_has_at_most_five_components_per_axis(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    hash_ = process_image(encode(picture(size), "PNG")).blurhash
    x, y = components(hash_)
    assert (x, y) == expected and x <= 5 and y <= 5
    assert len(hash_) == 4 + 2 * x * y and set(hash_) <= set(BASE83)
    assert len(blurhash.decode(hash_, 8, 8)) == 8  # a real library reads it back


def test_focus_is_clamped_to_mastodon_range() -> None:
    data = encode(picture((64, 64)), "PNG")
    assert process_image(data).focus == (0.0, 0.0)
    assert process_image(data, focus=(0.25, -0.5)).focus == (0.25, -0.5)
    assert process_image(data, focus=(3.0, -7.0)).focus == (1.0, -1.0)
    assert process_image(data, focus=(float("nan"), float("inf"))).focus == (0.0, 0.0)


def test_provenance_xmp_is_valid_rdf_with_the_iptc_term() -> None:
    root = ElementTree.fromstring(provenance_xmp())
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    description = root.find(f"{rdf}RDF/{rdf}Description")
    assert root.tag == "{adobe:ns:meta/}xmpmeta" and description is not None
    term = description.find(f"{{{IPTC_EXT_NS}}}DigitalSourceType")
    assert term is not None and term.text == TRAINED_ALGORITHMIC_MEDIA
    assert IPTC_EXT_NS == "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"


PROVENANCE_CASES: dict[str, tuple[Callable[[], bytes], ImageLimits]] = {
    "jpeg": (lambda: encode(picture(), "JPEG"), ImageLimits()),
    "png-copied": (lambda: encode(picture(), "PNG"), ImageLimits()),
    "png-re-encoded": (lambda: encode(picture(), "PNG", exif=exif_with_gps(3)), ImageLimits()),
    "webp": (lambda: encode(picture(), "WEBP"), ImageLimits(federation_format="webp")),
}


@pytest.mark.parametrize("name", list(PROVENANCE_CASES))
def test_ai_provenance_is_embedded_only_when_generated(name: str) -> None:
    make, limits = PROVENANCE_CASES[name]
    data = make()
    generated = process_image(data, limits, ai_generated=True)
    assert read_provenance(generated.original.data) == TRAINED_ALGORITHMIC_MEDIA
    assert read_provenance(generated.federation.data) == TRAINED_ALGORITHMIC_MEDIA
    plain = process_image(data, limits)
    assert read_provenance(plain.original.data) is None
    assert read_provenance(plain.federation.data) is None


def test_a_foreign_xmp_claim_is_stripped_and_attribute_form_is_read() -> None:
    claim = provenance_xmp().replace(b"trainedAlgorithmicMedia", b"digitalCapture")
    attribute_form = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:Iptc4xmpExt="' + IPTC_EXT_NS.encode() + b'" Iptc4xmpExt:DigitalSourceType="'
        + TRAINED_ALGORITHMIC_MEDIA.encode() + b'"/></rdf:RDF></x:xmpmeta>'
    )  # fmt: skip
    assert read_provenance(encode(picture(), "JPEG", xmp=attribute_form)) == TRAINED_ALGORITHMIC_MEDIA
    data = encode(picture(), "JPEG", xmp=claim)
    assert read_provenance(data) == "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    processed = process_image(data)
    assert read_provenance(processed.original.data) is None
    assert read_provenance(process_image(gif_animation(), ai_generated=True).federation.data)


async def test_async_wrapper_runs_the_same_pipeline() -> None:
    processed = await process_image_async(encode(picture((64, 64)), "PNG"), focus=(0.5, 0.5))
    assert processed.focus == (0.5, 0.5) and processed.original.ext == "png"
