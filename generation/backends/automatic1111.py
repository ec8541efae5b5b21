"""The ``automatic1111`` backend: the Stable Diffusion WebUI (or Forge) started with ``--api``.

``POST {url}/sdapi/v1/txt2img`` and ``/sdapi/v1/img2img`` answer only when the images are done, with
``{"images": [base64...], "info": "<a JSON document as a string>"}``; meanwhile ``GET /sdapi/v1/progress``
tells how far the running job is, and ``POST /sdapi/v1/interrupt`` stops it. The API is described at
``{url}/docs`` of a running WebUI and in https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API.
The WebUI runs one job at a time across all its clients, so progress and interrupt are server-wide.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx

from generation.backend import GeneratedImage, GenerationRequest, GenerationResult, Options, ProgressCallback
from generation.backends.http import (
    ProgressReporter,
    concurrency_option,
    decode_image,
    json_object,
    parse_json_text,
    positive_number,
    request_timeout,
    send,
    while_running,
    within_deadline,
)
from generation.errors import BackendConfigError, BackendError

SECTION = "generation.automatic1111"
KNOWN = {
    "url", "steps", "cfg_scale", "sampler", "username", "password", "timeout", "poll_interval", "concurrency",
}  # fmt: skip
# Fields of "info" kept with the result, for provenance.
EXTRA_INFO = ("sd_model_hash", "sampler_name", "steps", "cfg_scale")


def create(options: Mapping[str, Any], http: httpx.AsyncClient) -> Automatic1111Backend:
    """Build the backend from the ``[generation.automatic1111]`` options."""
    opts = Options(section=SECTION, values=options, known=KNOWN)
    steps = opts.get_int("steps", 25)
    if not 1 <= steps <= 150:
        raise BackendConfigError(f"{SECTION}.steps: expected 1 to 150, got {steps!r}")
    username, password = opts.get_str("username", ""), opts.get_str("password", "")
    if password and not username:
        raise BackendConfigError(f"{SECTION}.username: needed when a password is set (--api-auth user:pass)")
    sampler = opts.get_str("sampler", "Euler a")
    if not sampler:
        raise BackendConfigError(f"{SECTION}.sampler: must not be empty")
    return Automatic1111Backend(
        http,
        url=opts.get_url("url", "http://127.0.0.1:7860"),
        steps=steps,
        cfg_scale=positive_number(opts, "cfg_scale", 7.0),
        sampler=sampler,
        auth=httpx.BasicAuth(username, password) if username else None,
        timeout=positive_number(opts, "timeout", 300.0),
        poll_interval=positive_number(opts, "poll_interval", 1.0),
        concurrency=concurrency_option(opts),
    )


class Automatic1111Backend:
    """Images from a Stable Diffusion WebUI / Forge server."""

    name = "automatic1111"
    supports_img2img = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        steps: int,
        cfg_scale: float,
        sampler: str,
        auth: httpx.BasicAuth | None,
        timeout: float,
        poll_interval: float,
        concurrency: int,
    ) -> None:
        self._http = http
        self.url = url
        self.steps = steps
        self.cfg_scale = cfg_scale
        self.sampler = sampler
        self._auth = auth
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self._service = f"automatic1111 ({url})"

    def _payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        payload: dict[str, Any] = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": -1 if request.seed is None else request.seed,  # -1: the server picks one
            "width": request.width,
            "height": request.height,
            "steps": self.steps,
            "cfg_scale": self.cfg_scale,
            "sampler_name": self.sampler,
            "batch_size": request.count,
            "n_iter": 1,
            # save_images=False also stops the API from prepending a grid of the batch to "images".
            "save_images": False,
            "send_images": True,
        }
        if request.init_image is None:
            return "/sdapi/v1/txt2img", payload
        payload["init_images"] = [base64.b64encode(request.init_image).decode("ascii")]
        payload["denoising_strength"] = request.strength
        payload["resize_mode"] = 0  # "just resize" the init image to width x height
        return "/sdapi/v1/img2img", payload

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Run one txt2img or img2img job, polling its progress while it runs."""
        reporter = ProgressReporter(progress)
        await reporter.report(0)
        path, payload = self._payload(request)

        async def tick() -> None:
            await self._poll_progress(reporter)

        body = await within_deadline(
            while_running(self._post(path, payload), tick, self.poll_interval),
            service=self._service,
            seconds=self.timeout,
            abort=self._interrupt,
        )
        result = self._result(body, request.count)
        await reporter.report(100)
        return result

    async def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = await send(
            self._http, "POST", self.url + path, self._service,
            json=payload, auth=self._auth, timeout=request_timeout(self.timeout),
        )  # fmt: skip
        return json_object(response, self._service)

    async def _poll_progress(self, reporter: ProgressReporter) -> None:
        # Progress is a nicety: a failed poll is skipped, the generation request decides the outcome.
        try:
            response = await send(
                self._http, "GET", f"{self.url}/sdapi/v1/progress", self._service,
                params={"skip_current_image": "true"}, auth=self._auth,
                timeout=request_timeout(max(self.poll_interval, 5.0)),
            )  # fmt: skip
            fraction = response.json().get("progress")
        except (BackendError, ValueError, AttributeError):
            return
        if isinstance(fraction, int | float):
            await reporter.working(float(fraction))

    async def _interrupt(self) -> None:
        await send(
            self._http, "POST", f"{self.url}/sdapi/v1/interrupt", self._service,
            auth=self._auth, timeout=request_timeout(5.0),
        )  # fmt: skip

    def _result(self, body: dict[str, Any], count: int) -> GenerationResult:
        encoded = body.get("images")
        if not isinstance(encoded, list) or not encoded:
            raise BackendError(f"{self._service}: the response has no images")
        info = parse_json_text(body.get("info"), self._service)
        # A grid of the batch comes first when the server is set to return one; extensions such as
        # ControlNet append their own images (detect maps) after the batch.
        first = info.get("index_of_first_image", 0)
        first = first if isinstance(first, int) and 0 <= first < len(encoded) else 0
        seeds = info.get("all_seeds")
        if not isinstance(seeds, list):
            seed = info.get("seed")
            seeds = [seed + i for i in range(count)] if isinstance(seed, int) else []
        images = []
        for i, item in enumerate(encoded[first : first + count]):
            seed = seeds[i] if i < len(seeds) and isinstance(seeds[i], int) else None
            images.append(GeneratedImage(data=decode_image(item, self._service), seed=seed))
        model = info.get("sd_model_name") or ""
        extra: dict[str, Any] = {key: info[key] for key in EXTRA_INFO if key in info}
        return GenerationResult(images=images, backend=self.name, model=str(model), extra=extra)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""
