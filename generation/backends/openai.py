"""The ``openai`` backend: an OpenAI-compatible images API (OpenAI itself, LocalAI, vLLM-Omni, ...).

Text-to-image is ``POST {base_url}/v1/images/generations`` (JSON); image-to-image, for remixes, is the
multipart ``POST {base_url}/v1/images/edits`` (https://platform.openai.com/docs/api-reference/images).
The API has no negative prompt, no seed, no strength and no progress: the negative prompt and the
strength are not sent, no seed is recorded, and progress goes from 0 straight to 100.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx

from generation.backend import GeneratedImage, GenerationRequest, GenerationResult, Options, ProgressCallback
from generation.backends.http import (
    ProgressReporter,
    concurrency_option,
    decode_image,
    image_mime,
    json_object,
    positive_number,
    request_timeout,
    send,
    sniff_image,
    within_deadline,
)
from generation.errors import BackendConfigError, BackendError

SECTION = "generation.openai"
KNOWN = {"base_url", "api_key", "model", "response_format", "quality", "timeout", "concurrency", "img2img"}
RESPONSE_FORMATS = ("b64_json", "url")


def create(options: Mapping[str, Any], http: httpx.AsyncClient) -> OpenAIBackend:
    """Build the backend from the ``[generation.openai]`` options."""
    opts = Options(section=SECTION, values=options, known=KNOWN)
    response_format = opts.get_str("response_format", "b64_json")
    if response_format not in RESPONSE_FORMATS:
        raise BackendConfigError(
            f"{SECTION}.response_format: expected b64_json or url, not {response_format!r}"
        )
    model = opts.get_str("model", "gpt-image-1")
    if not model:
        raise BackendConfigError(f"{SECTION}.model: must not be empty")
    return OpenAIBackend(
        http,
        base_url=opts.get_url("base_url", "http://127.0.0.1:8080"),
        # Read here, not at import: the key may be set after fedigen's modules are loaded.
        api_key=opts.get_str("api_key", "") or os.environ.get("OPENAI_API_KEY", ""),
        model=model,
        response_format=response_format,
        quality=opts.get_str("quality", ""),
        timeout=positive_number(opts, "timeout", 120.0),
        concurrency=concurrency_option(opts),
        img2img=opts.get_bool("img2img", True),
    )


class OpenAIBackend:
    """Images from an OpenAI-compatible ``/v1/images`` API."""

    name = "openai"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        model: str,
        response_format: str,
        quality: str,
        timeout: float,
        concurrency: int,
        img2img: bool,
    ) -> None:
        self._http = http
        self.base_url = base_url
        self._api_key = api_key
        self.model = model
        self.response_format = response_format
        self.quality = quality
        self.timeout = timeout
        self.concurrency = concurrency
        self.supports_img2img = img2img
        self._service = f"openai ({base_url})"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _common_fields(self, request: GenerationRequest) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "model": self.model,
            "prompt": request.prompt,
            "n": request.count,
            "size": f"{request.width}x{request.height}",
        }
        # The gpt-image models always answer in base64 and refuse the parameter outright
        # ("Unknown parameter: 'response_format'"); DALL-E and most compatible servers take it.
        if not self.model.startswith("gpt-image"):
            fields["response_format"] = self.response_format
        if self.quality:
            fields["quality"] = self.quality
        return fields

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Make the images in one request; the API reports no progress in between."""
        if request.init_image is not None and not self.supports_img2img:
            raise BackendError(f"{self._service}: image-to-image is turned off ({SECTION}.img2img)")
        reporter = ProgressReporter(progress)
        await reporter.report(0)
        images, revised = await within_deadline(
            self._run(request), service=self._service, seconds=self.timeout
        )
        await reporter.report(100)
        extra: dict[str, Any] = {"revised_prompts": revised} if any(revised) else {}
        return GenerationResult(images=images, backend=self.name, model=self.model, extra=extra)

    async def _run(self, request: GenerationRequest) -> tuple[list[GeneratedImage], list[str]]:
        return await self._images(await self._request(request), request.count)

    async def _request(self, request: GenerationRequest) -> dict[str, Any]:
        fields = self._common_fields(request)
        if request.init_image is None:
            response = await send(
                self._http, "POST", f"{self.base_url}/v1/images/generations", self._service,
                json=fields, headers=self._headers(), timeout=request_timeout(self.timeout),
            )  # fmt: skip
        else:
            ext, mime = image_mime(request.init_image)
            response = await send(
                self._http, "POST", f"{self.base_url}/v1/images/edits", self._service,
                data={key: str(value) for key, value in fields.items()},
                files={"image": (f"image.{ext}", request.init_image, mime)},
                headers=self._headers(), timeout=request_timeout(self.timeout),
            )  # fmt: skip
        return json_object(response, self._service)

    async def _images(self, body: dict[str, Any], count: int) -> tuple[list[GeneratedImage], list[str]]:
        items = body.get("data")
        if not isinstance(items, list) or not items:
            raise BackendError(f"{self._service}: the response has no images (data: {items!r:.100})")
        images: list[GeneratedImage] = []
        revised: list[str] = []
        for item in items[:count]:
            if not isinstance(item, dict):
                raise BackendError(f"{self._service}: unexpected image entry {item!r:.100}")
            if item.get("b64_json"):
                data = decode_image(item["b64_json"], self._service)
            elif isinstance(item.get("url"), str):
                data = await self._download(item["url"])
            else:
                raise BackendError(f"{self._service}: an image entry has neither b64_json nor url")
            images.append(GeneratedImage(data=data))
            revised.append(str(item.get("revised_prompt") or ""))
        return images, revised

    async def _download(self, url: str) -> bytes:
        # URLs expire after an hour on OpenAI; fetched at once. A relative URL is the server's own.
        target = str(httpx.URL(self.base_url + "/").join(url))
        response = await send(self._http, "GET", target, self._service, timeout=request_timeout(self.timeout))
        return sniff_image(response.content, self._service)

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller."""
