"""A loopback stand-in for an OpenAI-compatible moderation endpoint that takes images.

It checks requests as OpenAI's ``POST /v1/moderations`` does (a model, an ``input`` list of
``{"type": "image_url", "image_url": {"url": "data:image/...;base64,..."}}``, the bearer key when one
is set), decodes the image and judges it by its colour: mostly red is "sexual" (0.9), mostly green
"violence" (0.8), mostly blue "violence/graphic" (0.7); anything else scores low. A result is flagged
when a score is over 0.5, as OpenAI's are. Modes: "ok", "fail500", "slow" (answers after 30 s),
"garbage" (a 200 that is no moderation answer).
"""

from __future__ import annotations

import base64
import binascii
import io
import uuid
from typing import Any

from PIL import Image, ImageStat
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from tests.generation.standins import StandIn, _openai_error

CATEGORIES = (
    "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
    "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
)  # fmt: skip


def judge_colour(rgb: tuple[float, float, float]) -> dict[str, float]:
    """Scores for an image whose mean colour is ``rgb``."""
    r, g, b = rgb
    scores = dict.fromkeys(CATEGORIES, 0.01)
    if r > 1.8 * g and r > 1.8 * b:
        scores["sexual"] = 0.9
    elif g > 1.5 * r and g > 1.5 * b:
        scores["violence"] = 0.8
    elif b > 2 * r and b > g + 25:
        scores["violence/graphic"] = 0.7
    return scores


def _result(scores: dict[str, float]) -> dict[str, Any]:
    return {
        "flagged": any(score > 0.5 for score in scores.values()),
        "categories": {name: score > 0.5 for name, score in scores.items()},
        "category_scores": scores,
        "category_applied_input_types": {name: ["image"] for name in scores},
    }


class ClassifierStandIn(StandIn):
    """``POST /v1/moderations`` for images."""

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key
        self.images: list[tuple[str, tuple[int, int]]] = []  # media type and size of each image seen
        self.texts: list[str] = []  # prompts asked about
        super().__init__()

    def routes(self) -> list[Route | WebSocketRoute]:
        return [Route("/v1/moderations", self.moderations, methods=["POST"])]

    async def moderations(self, request: Request) -> Response:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _openai_error("Incorrect API key provided: sk-***.", "invalid_api_key", 401)
        try:
            body = await request.json()
        except ValueError:
            return _openai_error("We could not parse the JSON body of your request.", None, 400)
        self.requests.append({"json": body, "headers": dict(request.headers)})
        if refusal := await self.failure(
            {"error": {"message": "The server had an error", "type": "server_error"}}
        ):
            return refusal
        if self.mode == "garbage":
            return JSONResponse({"id": "modr-1", "results": "nope"})
        inputs = body.get("input")
        if isinstance(inputs, str) and inputs:  # a prompt: text scores low here (words "explicit" aside)
            self.texts.append(inputs)
            scores = dict.fromkeys(CATEGORIES, 0.01) | ({"sexual": 0.95} if "explicit" in inputs else {})
            return JSONResponse({"id": "modr-t", "model": body.get("model"), "results": [_result(scores)]})
        if not isinstance(inputs, list) or not inputs:
            return _openai_error("Missing required parameter: 'input'.", "missing_required_parameter", 400)
        results = []
        for item in inputs:
            image = self._image(item)
            if isinstance(image, Response):
                return image
            scores = judge_colour(tuple(ImageStat.Stat(image.convert("RGB")).mean[:3]))  # type: ignore[arg-type]
            results.append(_result(scores))
        return JSONResponse(
            {"id": f"modr-{uuid.uuid4().hex[:8]}", "model": body.get("model"), "results": results}
        )

    def _image(self, item: Any) -> Image.Image | Response:
        url = item.get("image_url", {}).get("url") if isinstance(item, dict) else None
        if not isinstance(item, dict) or item.get("type") != "image_url" or not isinstance(url, str):
            return _openai_error("Invalid value for 'input': expected image_url parts.", "invalid_value", 400)
        head, _, data = url.partition(",")
        if not head.startswith("data:image/") or not head.endswith(";base64"):
            return _openai_error("Invalid image URL: expected a base64 data URL.", "invalid_image_url", 400)
        try:
            image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
            image.load()
        except (binascii.Error, OSError):
            return _openai_error("The image could not be decoded.", "invalid_image_format", 400)
        self.images.append((head[len("data:") : -len(";base64")], image.size))
        return image
