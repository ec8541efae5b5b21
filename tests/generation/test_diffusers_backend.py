"""The diffusers backend, on a tiny randomly initialised Stable Diffusion pipeline saved by the test.

The pipeline goes through the backend's real path: from_pretrained(local_files_only) from a directory,
text-to-image and image-to-image, progress, seeds. Its pictures are noise; only their shape matters.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from generation.backend import GenerationRequest, create_backend, no_progress
from generation.backends.diffusers import DiffusersSettings, _infer, _load, create
from generation.errors import BackendConfigError, JobCancelledError
from tests.generation.conftest import ProgressLog


def _byte_vocab() -> dict[str, int]:
    """CLIP's byte-level alphabet (each byte as one printable character), alone and word-final."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    chars = [chr(b if b in printable else next(extra)) for b in range(256)]
    vocab = {ch: i for i, ch in enumerate(chars)} | {ch + "</w>": 256 + i for i, ch in enumerate(chars)}
    return vocab | {"<|startoftext|>": 512, "<|endoftext|>": 513}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("tiny-sd")
    (root / "tok").mkdir()
    (root / "tok" / "vocab.json").write_text(json.dumps(_byte_vocab()), encoding="utf-8")
    (root / "tok" / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), cross_attention_dim=16,
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), norm_num_groups=2, attention_head_dim=2,
    )  # fmt: skip
    vae = diffusers.AutoencoderKL(
        block_out_channels=(4, 8), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
    )  # fmt: skip
    text_config = transformers.CLIPTextConfig(
        vocab_size=514, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=77, bos_token_id=512, eos_token_id=513, pad_token_id=513, projection_dim=16,
    )  # fmt: skip
    scheduler = diffusers.DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
        set_alpha_to_one=False, steps_offset=1,
    )  # fmt: skip
    pipeline = diffusers.StableDiffusionPipeline(
        vae=vae,
        text_encoder=transformers.CLIPTextModel(text_config),
        # from_pretrained reads vocab.json and merges.txt alike in transformers 4 and 5.
        tokenizer=transformers.CLIPTokenizer.from_pretrained(
            str(root / "tok"), local_files_only=True, model_max_length=77
        ),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(str(root / "model"))
    return root / "model"


def _options(model_dir: Path, **extra: Any) -> dict[str, Any]:
    return {"model_dir": str(model_dir), "device": "cpu", "steps": 2, **extra}


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image


async def test_text_to_image_makes_count_images_of_the_size_with_progress(
    model_dir: Path, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    backend = create(_options(model_dir), http)

    request = GenerationRequest(prompt="a lighthouse", width=64, height=64, seed=7, count=2)
    result = await backend.generate(request, progress)
    assert [image.seed for image in result.images] == [7, 8]
    assert all(_png(image.data).size == (64, 64) for image in result.images)
    assert result.backend == "diffusers" and result.model == "model"
    assert result.extra["device"] == "cpu" and result.extra["dtype"] == "float32"
    assert progress.values == [0, 50, 99, 100]  # start, each of the 2 steps, done
    again = await backend.generate(request, no_progress)
    assert [i.data for i in again.images] == [i.data for i in result.images]
    other = await backend.generate(
        GenerationRequest(prompt="a lighthouse", width=64, height=64, seed=9), no_progress
    )
    assert other.images[0].data != result.images[0].data
    await backend.aclose()


async def test_sizes_off_the_latent_grid_are_honoured(model_dir: Path, http: httpx.AsyncClient) -> None:
    backend = create(_options(model_dir), http)
    result = await backend.generate(GenerationRequest(prompt="x", width=68, height=72, seed=1), no_progress)
    assert _png(result.images[0].data).size == (68, 72)
    await backend.aclose()


async def test_image_to_image_starts_from_the_init_image(
    model_dir: Path, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    backend = create(_options(model_dir), http)
    init = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").resize((80, 64)).save(init, "PNG")
    request = GenerationRequest(
        prompt="a tower", width=64, height=64, seed=3, init_image=init.getvalue(), strength=0.5
    )
    result = await backend.generate(request, progress)
    assert _png(result.images[0].data).size == (64, 64)
    assert progress.rose_to_100() and len(progress.values) == 3  # start, the one step, done
    assert (await backend.generate(request, no_progress)).images[0].data == result.images[0].data
    await backend.aclose()


async def test_cancelling_generate_stops_the_job(model_dir: Path, http: httpx.AsyncClient) -> None:
    backend = create(_options(model_dir, steps=40), http)

    async def cancel_on_first_step(percent: int) -> None:
        if percent > 0:
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)

    with pytest.raises(asyncio.CancelledError):
        await backend.generate(
            GenerationRequest(prompt="x", width=64, height=64, seed=1), cancel_on_first_step
        )
    assert not backend._running  # the thread was waited for
    await backend.aclose()


def test_a_set_cancel_flag_interrupts_the_pipeline(model_dir: Path) -> None:
    settings = DiffusersSettings(model_dir=model_dir, device="cpu", steps=40)
    loaded = _load(settings)
    steps: list[int] = []
    flag = threading.Event()
    flag.set()
    request = GenerationRequest(prompt="x", width=64, height=64, seed=1)
    with pytest.raises(JobCancelledError):
        _infer(loaded, settings, request, [1], steps.append, flag)
    assert len(steps) == 1  # the pipeline skipped the other 39 steps (its interrupt flag)


async def test_bad_options_name_the_key(model_dir: Path, tmp_path: Path, http: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "generation.diffusers.model_dir"),
        ({"model_dir": str(tmp_path / "missing")}, "generation.diffusers.model_dir"),
        ({"model_dir": str(tmp_path)}, "generation.diffusers.model_dir"),  # no model_index.json
        (_options(model_dir, device="tpu"), "generation.diffusers.device"),
        (_options(model_dir, dtype="int8"), "generation.diffusers.dtype"),
        (_options(model_dir, steps=0), "generation.diffusers.steps"),
        (_options(model_dir, steps="many"), "generation.diffusers.steps"),
        (_options(model_dir, sampler="euler"), "generation.diffusers.sampler"),
    ]
    for options, key in cases:
        with pytest.raises(BackendConfigError, match=key):
            create(options, http)


async def test_the_entry_point_builds_it(model_dir: Path, http: httpx.AsyncClient) -> None:
    backend = create_backend("diffusers", _options(model_dir), http)
    assert backend.name == "diffusers" and backend.supports_img2img and backend.concurrency == 1
