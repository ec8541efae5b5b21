"""The embedded procedural backend: deterministic, shaped by the prompt's words, remixes its parent."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat

from generation.backend import Backend, GenerationRequest, GenerationResult, create_backend, no_progress
from generation.backends import procedural
from generation.backends.procedural import ProceduralBackend, create, plan, prompt_seed
from generation.errors import BackendConfigError, BackendError
from storage import offload
from tests.generation.conftest import ProgressLog

SMALL = {"width": 256, "height": 256}


async def _make(request: GenerationRequest) -> GenerationResult:
    return await ProceduralBackend().generate(request, no_progress)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _distance(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


async def test_same_prompt_seed_and_size_give_the_same_bytes() -> None:
    request = GenerationRequest(prompt="a lighthouse in the fog", seed=42, **SMALL)
    first, second = await _make(request), await _make(request)
    assert first.images[0].data == second.images[0].data
    assert first.images[0].seed == 42
    assert first.backend == "procedural" and first.model == "procedural-v2"


async def test_without_a_seed_the_prompt_gives_one_and_reports_it() -> None:
    request = GenerationRequest(prompt="misty mountains", **SMALL)
    first, second = await _make(request), await _make(request)
    assert first.images[0].seed == prompt_seed("misty mountains")
    assert first.images[0].data == second.images[0].data


async def test_other_prompts_and_seeds_give_other_pictures() -> None:
    base = await _make(GenerationRequest(prompt="a city at night", seed=1, **SMALL))
    other_seed = await _make(GenerationRequest(prompt="a city at night", seed=2, **SMALL))
    other_prompt = await _make(GenerationRequest(prompt="a forest at dawn", seed=1, **SMALL))
    assert len({base.images[0].data, other_seed.images[0].data, other_prompt.images[0].data}) == 3


@pytest.mark.parametrize("size", [(64, 64), (640, 360), (200, 900)])
async def test_the_size_is_honoured(size: tuple[int, int]) -> None:
    result = await _make(GenerationRequest(prompt="sea", width=size[0], height=size[1], seed=5))
    image = _open(result.images[0].data)
    assert image.format == "PNG" and image.mode == "RGB" and image.size == size


async def test_count_gives_distinct_images_on_consecutive_seeds_with_progress(progress: ProgressLog) -> None:
    request = GenerationRequest(prompt="bokeh lights", seed=10, count=3, **SMALL)
    result = await ProceduralBackend().generate(request, progress)
    assert [image.seed for image in result.images] == [10, 11, 12]
    assert len({image.data for image in result.images}) == 3
    single = await _make(GenerationRequest(prompt="bokeh lights", seed=11, **SMALL))
    assert result.images[1].data == single.images[0].data
    assert progress.values == [0, 33, 66, 100]


async def test_the_drawing_runs_in_an_image_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Off the event loop and out of this process (drawing holds the interpreter lock: storage.offload)."""
    sent: list[object] = []
    real = offload.run

    async def recording(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(procedural.offload, "run", recording)
    offload.configure(1)
    try:
        result = await _make(GenerationRequest(prompt="x", seed=1, **SMALL))
        assert sent == [procedural.render] and offload.running_processes()
        assert _open(result.images[0].data).size == (SMALL["width"], SMALL["height"])
    finally:
        offload.shutdown()
        offload.configure(2)


async def test_palette_words_colour_the_picture() -> None:
    async def mean(prompt: str) -> list[float]:
        result = await _make(GenerationRequest(prompt=prompt, seed=3, **SMALL))
        return list(ImageStat.Stat(_open(result.images[0].data)).mean)

    night, desert = await mean("ocean at night"), await mean("desert sunset")
    assert night[2] - night[0] > desert[2] - desert[0] + 40  # bluer
    forest = await mean("a forest")
    assert forest[1] > forest[0] and forest[1] > forest[2]  # greener than anything else
    fog = await mean("fog")
    assert max(fog) - min(fog) < 12  # grey
    red, blue = await mean("red abstract"), await mean("blue abstract")
    assert red[0] - red[2] > blue[0] - blue[2]


def test_scene_words_choose_the_composition() -> None:
    assert {"sea", "tower"} <= plan("a lighthouse").features
    assert plan("city skyline at night").features == {"city", "stars"}
    assert plan("misty mountains").textures == {"fog"}
    assert not plan("quantum love letter").features  # an abstract composition, chosen by the words' hash
    assert plan("quantum love letter").abstract == plan("Quantum, love letter!").abstract
    assert "stars" not in plan("night sky", negative_prompt="stars").features


async def test_stars_are_drawn_when_asked_for() -> None:
    def bright_sky_pixels(data: bytes) -> int:
        sky = _open(data).convert("L").crop((0, 0, 256, 100))
        return sum(sky.point(lambda v: 255 if v > 110 else 0).histogram()[255:])

    starry = await _make(GenerationRequest(prompt="night over the hills", seed=4, **SMALL))
    plain = await _make(
        GenerationRequest(prompt="night over the hills", negative_prompt="stars", seed=4, **SMALL)
    )
    assert bright_sky_pixels(starry.images[0].data) > bright_sky_pixels(plain.images[0].data) + 25


async def test_a_remix_stays_closer_to_its_parent_than_a_fresh_picture() -> None:
    parent = (
        (await _make(GenerationRequest(prompt="a city skyline at night", seed=8, **SMALL))).images[0].data
    )
    fresh = await _make(GenerationRequest(prompt="desert sunset", seed=9, **SMALL))
    remix = await _make(GenerationRequest(prompt="desert sunset", seed=9, init_image=parent, **SMALL))
    kept = await _make(
        GenerationRequest(prompt="desert sunset", seed=9, init_image=parent, strength=0, **SMALL)
    )
    ignored = await _make(
        GenerationRequest(prompt="desert sunset", seed=9, init_image=parent, strength=1, **SMALL)
    )
    parent_image = _open(parent)
    assert _distance(_open(remix.images[0].data), parent_image) < _distance(
        _open(fresh.images[0].data), parent_image
    )
    assert _distance(_open(kept.images[0].data), parent_image) < 3  # only the grain differs
    assert ignored.images[0].data == fresh.images[0].data
    assert _open(remix.images[0].data).size == (256, 256)


async def test_a_remix_of_another_size_or_format_is_fitted() -> None:
    jpeg = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((500, 300)).save(jpeg, "JPEG")
    result = await _make(GenerationRequest(prompt="sea", seed=1, init_image=jpeg.getvalue(), **SMALL))
    assert _open(result.images[0].data).size == (256, 256)


async def test_an_unreadable_init_image_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="init image"):
        await _make(GenerationRequest(prompt="sea", seed=1, init_image=b"not an image", **SMALL))


@pytest.mark.parametrize(("image_format", "pillow_format"), [("webp", "WEBP"), ("jpeg", "JPEG")])
async def test_other_formats(image_format: str, pillow_format: str, http: httpx.AsyncClient) -> None:
    backend = create({"format": image_format}, http)
    result = await backend.generate(GenerationRequest(prompt="sea", seed=1, **SMALL), no_progress)
    assert _open(result.images[0].data).format == pillow_format


async def test_options(http: httpx.AsyncClient) -> None:
    assert create({}, http).concurrency == 2
    assert create({"concurrency": "3"}, http).concurrency == 3  # environment overrides are strings
    for options, key in [
        ({"model": "x"}, "generation.procedural.model"),
        ({"format": "gif"}, "generation.procedural.format"),
        ({"concurrency": 0}, "generation.procedural.concurrency"),
        ({"concurrency": "two"}, "generation.procedural.concurrency"),
    ]:
        with pytest.raises(BackendConfigError, match=key):
            create(options, http)


async def test_the_entry_point_builds_it(http: httpx.AsyncClient) -> None:
    backend = create_backend("procedural", {}, http)
    assert isinstance(backend, Backend) and isinstance(backend, ProceduralBackend)
    assert backend.supports_img2img
    result = await backend.generate(GenerationRequest(prompt="moon", seed=1, **SMALL), no_progress)
    assert len(result.images) == 1
    await backend.aclose()
