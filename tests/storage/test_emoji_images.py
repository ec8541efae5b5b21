"""Custom emoji through the image pipeline: an animation stays one, the static copy is a PNG of the
first frame with its transparency, metadata goes, and files over the limits are refused."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image, PngImagePlugin

from storage import ImageTooLargeError, UnsupportedMediaError
from storage.images import EMOJI_LIMITS, process_emoji, process_emoji_async
from tests.storage.test_images import encode, png_declaring, raw_png


def transparent_png(size: tuple[int, int] = (128, 128), secret: str = "") -> bytes:
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    im.paste((250, 180, 0, 255), (16, 16, size[0] - 16, size[1] - 16))
    info = PngImagePlugin.PngInfo()
    if secret:
        info.add_text("Comment", secret)
    return encode(im, "PNG", pnginfo=info)


def gif_frames() -> bytes:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "lime", "blue")]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)


def test_a_png_keeps_its_transparency_and_loses_its_text_chunks() -> None:
    emoji = process_emoji(transparent_png(secret="made at 48.85N 2.35E"))
    assert not emoji.animated
    assert emoji.image.media_type == "image/png" and emoji.static.media_type == "image/png"
    for variant in (emoji.image, emoji.static):
        im = Image.open(io.BytesIO(variant.data))
        im.load()
        assert im.size == (128, 128) and im.mode == "RGBA" and im.getpixel((2, 2))[3] == 0  # type: ignore[index]
        assert b"48.85N" not in variant.data and "Comment" not in im.info


def test_an_animation_stays_animated_and_its_static_copy_is_the_first_frame() -> None:
    emoji = process_emoji(gif_frames())
    assert emoji.animated and emoji.image.media_type == "image/gif"
    assert getattr(Image.open(io.BytesIO(emoji.image.data)), "n_frames", 1) == 3
    static = Image.open(io.BytesIO(emoji.static.data))
    assert static.format == "PNG" and getattr(static, "n_frames", 1) == 1
    assert static.convert("RGB").getpixel((32, 32))[0] > 200  # type: ignore[index]  # red, the first frame


def test_large_emoji_are_scaled_to_512_pixels() -> None:
    emoji = process_emoji(encode(Image.new("RGB", (1500, 500), "teal"), "WEBP", quality=50))
    assert (emoji.image.width, emoji.image.height) == (512, 171) and emoji.image.media_type == "image/webp"
    assert (emoji.static.width, emoji.static.height) == (512, 171)


def test_files_over_the_limits_or_not_images_are_refused() -> None:
    with pytest.raises(ImageTooLargeError):  # over Mastodon's 256 KB
        process_emoji(raw_png(320, 320, os.urandom(320 * 320 * 3)))
    with pytest.raises(ImageTooLargeError):  # a bomb, refused from its header
        process_emoji(png_declaring(50_000, 50_000))
    with pytest.raises(UnsupportedMediaError):
        process_emoji(b"<html><body>not an emoji</body></html>")
    assert EMOJI_LIMITS.max_input_bytes == 262_144


async def test_the_async_wrapper_runs_the_same_pipeline() -> None:
    assert (await process_emoji_async(gif_frames())).animated
