"""In-process generation with a diffusers pipeline loaded from a local model directory.

torch and diffusers are imported only when this backend loads its model (on the first job, in a
thread), so a server using another backend never pays for them; they come with
``pip install 'fedigen[diffusers]'``. The model is never downloaded: ``model_dir`` must hold a pipeline
saved with ``save_pretrained`` (a ``model_index.json`` and its component folders).

Each job runs in a worker thread on its own pipeline object made with ``from_pipe`` (sharing the loaded
weights, not copying them), so that per-call state (the scheduler's timesteps, the interrupt flag) is
never shared by two jobs. Progress comes from ``callback_on_step_end``; cancelling the task awaiting
``generate()`` stops the pipeline at its next step.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import math
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps

from generation.backend import GeneratedImage, GenerationRequest, GenerationResult, Options, ProgressCallback
from generation.errors import BackendConfigError, BackendError, JobCancelledError, PromptRefusedError

SECTION = "generation.diffusers"
INSTALL_HINT = "install them with: pip install 'fedigen[diffusers]'"
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")


@dataclass(frozen=True)
class DiffusersSettings:
    """The ``[generation.diffusers]`` options, checked."""

    model_dir: Path
    device: str = "auto"
    dtype: str = "auto"
    steps: int = 25
    guidance_scale: float = 7.0
    concurrency: int = 1


@dataclass
class _Loaded:
    pipeline: Any
    device: str
    dtype: str


def _libraries() -> tuple[Any, Any]:
    # Imported by name: only a backend that loads a model pays for them, and mypy, which would
    # otherwise analyse all of torch's annotations (minutes), sees Any.
    try:
        return importlib.import_module("torch"), importlib.import_module("diffusers")
    except ImportError as exc:
        raise BackendConfigError(f"{SECTION}: {exc.name} is not installed; {INSTALL_HINT}") from None


def _load(settings: DiffusersSettings) -> _Loaded:
    """Load the pipeline from disk onto its device (blocking: seconds to minutes)."""
    torch, diffusers = _libraries()
    device = settings.device
    if device == "auto":
        mps = getattr(torch.backends, "mps", None)
        device = "cuda" if torch.cuda.is_available() else "mps" if mps and mps.is_available() else "cpu"
    elif device == "cuda" and not torch.cuda.is_available():
        raise BackendConfigError(f"{SECTION}.device: cuda was asked for but torch sees no CUDA device")
    dtype = settings.dtype if settings.dtype != "auto" else ("float32" if device == "cpu" else "float16")
    # diffusers renamed from_pretrained's torch_dtype to dtype (and deprecated the old name, to be
    # removed in 1.0); _resolve_dtype arrived with the new name, so its presence tells which to pass.
    new_name = hasattr(importlib.import_module("diffusers.utils"), "_resolve_dtype")
    kwargs = {"dtype" if new_name else "torch_dtype": getattr(torch, dtype)}
    try:
        pipeline = diffusers.AutoPipelineForText2Image.from_pretrained(
            str(settings.model_dir), local_files_only=True, **kwargs
        )
    except ImportError as exc:
        # A component's library is missing, or too old: transformers 5 ignores torch older than 2.6.
        raise BackendConfigError(f"{SECTION}: {exc}; {INSTALL_HINT}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise BackendConfigError(
            f"{SECTION}.model_dir: {settings.model_dir} is not a diffusers pipeline directory ({exc})"
        ) from None
    try:
        pipeline.to(device)
    except RuntimeError as exc:
        raise BackendError(f"diffusers: cannot move the model to {device}: {exc}") from exc
    pipeline.set_progress_bar_config(disable=True)
    return _Loaded(pipeline, device, dtype)


def _init_image(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as source:
            image = ImageOps.exif_transpose(source).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BackendError(f"init image could not be read: {exc}") from None
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS)


def _encode(image: Image.Image, size: tuple[int, int]) -> bytes:
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _infer(
    loaded: _Loaded,
    settings: DiffusersSettings,
    request: GenerationRequest,
    seeds: list[int],
    report: Callable[[int], None],
    cancelled: threading.Event,
) -> list[bytes]:
    """Run the pipeline once for all seeds and encode the images (blocking; run it in a thread)."""
    torch, diffusers = _libraries()
    size = (request.width, request.height)
    # Stable Diffusion works on an 8x smaller latent grid: round down, and scale the result back.
    width, height = request.width // 8 * 8, request.height // 8 * 8
    steps = settings.steps
    base = loaded.pipeline
    fresh = {"scheduler": base.scheduler.__class__.from_config(base.scheduler.config)}

    def on_step(pipe: Any, step: int, _timestep: Any, tensors: dict[str, Any]) -> dict[str, Any]:
        if cancelled.is_set():
            pipe._interrupt = True  # the pipeline skips its remaining steps (diffusers' own flag)
        report(min(99, (step + 1) * 100 // max(getattr(pipe, "num_timesteps", steps) or steps, 1)))
        return tensors

    args: dict[str, Any] = {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt or None,
        "guidance_scale": settings.guidance_scale,
        "num_images_per_prompt": len(seeds),
        # One CPU generator per image: image i is the one seed i makes alone, on any device. torch takes
        # seeds in 0 .. 2**64-1 and overflows on larger ones; the reported seed stays the caller's.
        "generator": [torch.Generator(device="cpu").manual_seed(seed % 2**64) for seed in seeds],
        "callback_on_step_end": on_step,
        "output_type": "pil",
    }
    if request.init_image is not None:
        init = _init_image(request.init_image, (width, height))
        if request.strength == 0:
            return [_encode(init, size) for _ in seeds]  # strength 0 keeps the init image as it is
        # img2img runs int(steps * strength) steps: make that at least one.
        steps = max(steps, math.ceil(1 / request.strength))
        pipe = diffusers.AutoPipelineForImage2Image.from_pipe(base, **fresh)
        args |= {"image": init, "strength": request.strength}
    else:
        pipe = diffusers.AutoPipelineForText2Image.from_pipe(base, **fresh)
        args |= {"width": width, "height": height}
    pipe.set_progress_bar_config(disable=True)
    try:
        with torch.inference_mode():
            output = pipe(num_inference_steps=steps, **args)
    except torch.cuda.OutOfMemoryError as exc:
        raise BackendError(f"diffusers: out of memory on {loaded.device}: {exc}") from exc
    except RuntimeError as exc:
        raise BackendError(f"diffusers: {exc}") from exc
    if cancelled.is_set():
        raise JobCancelledError("cancelled while the diffusers pipeline ran")
    if any(getattr(output, "nsfw_content_detected", None) or []):
        # The model's own safety checker blanked an image; posting a black square helps nobody.
        raise PromptRefusedError("the model's safety checker flagged the image")
    return [_encode(image, size) for image in output.images]


class DiffusersBackend:
    """A diffusers pipeline run in-process (see the module docstring)."""

    name = "diffusers"
    supports_img2img = True

    def __init__(self, settings: DiffusersSettings) -> None:
        self.settings = settings
        self.concurrency = settings.concurrency
        self._loading: asyncio.Future[_Loaded] | None = None
        self._running: set[threading.Event] = set()

    async def _pipeline(self) -> _Loaded:
        # One load for every job: the first caller starts it, the others await the same future. No await
        # between the check and the assignment, so the event loop itself is the lock. Shielded, so a
        # cancelled job does not throw away a load others wait for; a failed load is tried again.
        if self._loading is None or (self._loading.done() and self._loading.exception() is not None):
            self._loading = asyncio.ensure_future(asyncio.to_thread(_load, self.settings))
        return await asyncio.shield(self._loading)

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Make ``request.count`` images, seeds seed, seed+1, ... (a random one when None)."""
        await progress(0)
        loaded = await self._pipeline()
        first = request.seed if request.seed is not None else secrets.randbelow(2**32)
        seeds = [first + i for i in range(request.count)]
        loop = asyncio.get_running_loop()
        steps: asyncio.Queue[int | None] = asyncio.Queue()
        cancelled = threading.Event()
        self._running.add(cancelled)

        def report(percent: int) -> None:  # called in the pipeline's thread
            loop.call_soon_threadsafe(steps.put_nowait, percent)

        task = asyncio.ensure_future(
            asyncio.to_thread(_infer, loaded, self.settings, request, seeds, report, cancelled)
        )
        task.add_done_callback(lambda _: steps.put_nowait(None))  # after every step already queued
        try:
            while (percent := await steps.get()) is not None:
                await progress(percent)
            images = await task
        except BaseException:
            # Cancelled (or the progress callback failed): stop the pipeline at its next step and wait
            # for the thread, so the device is free before the caller moves on.
            cancelled.set()
            await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the caller gets the original error
            raise
        finally:
            self._running.discard(cancelled)
        await progress(100)
        return GenerationResult(
            images=[GeneratedImage(data=data, seed=seed) for data, seed in zip(images, seeds, strict=True)],
            backend=self.name,
            model=self.settings.model_dir.name,
            extra={
                "steps": self.settings.steps,
                "guidance_scale": self.settings.guidance_scale,
                "device": loaded.device,
                "dtype": loaded.dtype,
            },
        )

    async def aclose(self) -> None:
        """Stop running jobs at their next step and drop the model (and CUDA's cached memory)."""
        for flag in self._running:
            flag.set()
        loading, self._loading = self._loading, None
        if loading is None:
            return
        await asyncio.wait([loading])
        if loading.cancelled() or loading.exception() is not None:
            return
        device = loading.result().device
        del loading
        if device == "cuda":
            torch, _ = _libraries()
            torch.cuda.empty_cache()


def create(options: Mapping[str, Any], http: httpx.AsyncClient) -> DiffusersBackend:
    """The diffusers backend from its ``[generation.diffusers]`` options; the model loads on first use."""
    known = {"model_dir", "device", "dtype", "steps", "guidance_scale", "concurrency"}
    opts = Options(section=SECTION, values=options, known=known)
    model_dir = opts.get_str("model_dir", "")
    if not model_dir:
        raise BackendConfigError(f"{SECTION}.model_dir: required (a local diffusers pipeline directory)")
    path = Path(model_dir).expanduser()
    if not path.is_dir():
        raise BackendConfigError(f"{SECTION}.model_dir: {path} is not a directory")
    if not (path / "model_index.json").is_file():
        raise BackendConfigError(f"{SECTION}.model_dir: {path} has no model_index.json (not a pipeline)")
    settings = DiffusersSettings(
        model_dir=path,
        device=opts.get_str("device", "auto"),
        dtype=opts.get_str("dtype", "auto"),
        steps=opts.get_int("steps", 25),
        guidance_scale=opts.get_float("guidance_scale", 7.0),
        concurrency=opts.get_int("concurrency", 1),
    )
    for key, value, allowed in (("device", settings.device, DEVICES), ("dtype", settings.dtype, DTYPES)):
        if value not in allowed:
            raise BackendConfigError(f"{SECTION}.{key}: expected one of {', '.join(allowed)}, got {value!r}")
    for key, number in (("steps", settings.steps), ("concurrency", settings.concurrency)):
        if number < 1:
            raise BackendConfigError(f"{SECTION}.{key}: must be at least 1")
    if settings.guidance_scale < 0:
        raise BackendConfigError(f"{SECTION}.guidance_scale: must not be negative")
    missing = [name for name in ("torch", "diffusers", "transformers") if not importlib.util.find_spec(name)]
    if missing:
        raise BackendConfigError(f"{SECTION}: {', '.join(missing)} not installed; {INSTALL_HINT}")
    return DiffusersBackend(settings)
