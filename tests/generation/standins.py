"""Loopback stand-ins for the image servers the HTTP backends talk to.

Each is a small Starlette app served by uvicorn on 127.0.0.1 (a free port) from a background thread,
speaking the real API's request and response shapes, validating requests as the real server does, and
with ``mode`` switches for failures: "ok", "fail500", "busy503", "refuse400", "slow" (never answers in
time), plus a few per server. Everything a test wants to look at is recorded on the stand-in.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import re
import time
import uuid
from typing import Any, Self

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute

from tests.support.server import LoopbackServer

SLOW_SECONDS = 30.0


def png(width: int, height: int, color: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    """A PNG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return image.size


class StandIn:
    """Common state: the failure mode, the requests seen, the server."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.server = LoopbackServer(Starlette(routes=self.routes()))

    @property
    def url(self) -> str:
        return self.server.url

    def routes(self) -> list[Route | WebSocketRoute]:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.server.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.stop()

    async def failure(self, error_body: dict[str, Any]) -> Response | None:
        """The response the failure modes give (``error_body`` for 500), or None in "ok" mode."""
        if self.mode == "fail500":
            return JSONResponse(error_body, status_code=500)
        if self.mode == "busy503":
            return PlainTextResponse("Service Unavailable", status_code=503, headers={"Retry-After": "17"})
        if self.mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        return None


def _openai_error(
    message: str, code: str | None, status: int, err_type: str = "invalid_request_error"
) -> Response:
    # https://platform.openai.com/docs/guides/error-codes: {"error": {"message", "type", "param", "code"}}
    param = re.search(r"'(\w+)'", message)
    body = {"message": message, "type": err_type, "param": param.group(1) if param else None, "code": code}
    return JSONResponse({"error": body}, status_code=status)


class OpenAIStandIn(StandIn):
    """``/v1/images/generations``, ``/v1/images/edits`` and ``/v1/moderations``."""

    SIZE = re.compile(r"^(\d+)x(\d+)$")

    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key
        self.files: dict[str, bytes] = {}
        self.init_images: list[bytes] = []
        # Moderation: a word in the input -> the category it flags.
        self.flag_words = {"gore": "violence/graphic", "explicit": "sexual"}
        super().__init__()

    def routes(self) -> list[Route | WebSocketRoute]:
        return [
            Route("/v1/images/generations", self.generations, methods=["POST"]),
            Route("/v1/images/edits", self.edits, methods=["POST"]),
            Route("/v1/moderations", self.moderations, methods=["POST"]),
            Route("/files/{name}", self.file),
        ]

    def _auth_error(self, request: Request) -> Response | None:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _openai_error("Incorrect API key provided: sk-***.", "invalid_api_key", 401)
        return None

    async def _answer(self, request: Request, fields: dict[str, Any]) -> Response:
        if refusal := await self.failure(
            {"error": {"message": "The server had an error", "type": "server_error"}}
        ):
            return refusal
        if self.mode == "refuse400":
            message = "Your request was rejected as a result of our safety system."
            return _openai_error(message, "content_policy_violation", 400, "image_generation_user_error")
        if not fields.get("prompt"):
            return _openai_error("Missing required parameter: 'prompt'.", "missing_required_parameter", 400)
        model = str(fields.get("model", "dall-e-2"))
        if model.startswith("gpt-image") and "response_format" in fields:
            return _openai_error("Unknown parameter: 'response_format'.", "unknown_parameter", 400)
        size = self.SIZE.match(str(fields.get("size", "1024x1024")))
        if not size:
            return _openai_error(f"Invalid value: '{fields.get('size')}'.", "invalid_value", 400)
        n = int(fields.get("n", 1))
        width, height = int(size.group(1)), int(size.group(2))
        data = []
        for i in range(n):
            image = png(width, height, (10 * i, 100, 200))
            if fields.get("response_format") == "url":
                name = f"{uuid.uuid4().hex}.png"
                self.files[name] = image
                data.append({"url": f"{request.base_url}files/{name}"})
            else:
                data.append(
                    {"b64_json": base64.b64encode(image).decode(), "revised_prompt": f"{fields['prompt']}!"}
                )
        return JSONResponse({"created": int(time.time()), "data": data})

    async def generations(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        try:
            fields = await request.json()
        except ValueError:
            return _openai_error("We could not parse the JSON body of your request.", None, 400)
        self.requests.append({"path": request.url.path, "json": fields, "headers": dict(request.headers)})
        return await self._answer(request, fields)

    async def edits(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        form = await request.form()
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        upload = form.get("image")
        self.requests.append({"path": request.url.path, "form": fields, "headers": dict(request.headers)})
        if upload is None or isinstance(upload, str):
            return _openai_error("Missing required parameter: 'image'.", "missing_required_parameter", 400)
        self.init_images.append(await upload.read())
        return await self._answer(request, fields)

    async def file(self, request: Request) -> Response:
        data = self.files.get(request.path_params["name"])
        return Response(data, media_type="image/png") if data else Response(status_code=404)

    async def moderations(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        body = await request.json()
        self.requests.append({"path": request.url.path, "json": body})
        if refusal := await self.failure(
            {"error": {"message": "The server had an error", "type": "server_error"}}
        ):
            return refusal
        if not body.get("input"):
            return _openai_error("Missing required parameter: 'input'.", "missing_required_parameter", 400)
        if self.mode == "garbage":
            return JSONResponse({"id": "modr-1", "results": "nope"})
        hits = {category for word, category in self.flag_words.items() if word in str(body["input"]).lower()}
        names = ["harassment", "sexual", "violence", "violence/graphic", "self-harm"]
        result = {
            "flagged": bool(hits),
            "categories": {name: name in hits for name in names},
            "category_scores": {name: 0.9 if name in hits else 0.01 for name in names},
        }
        return JSONResponse(
            {"id": f"modr-{uuid.uuid4().hex[:8]}", "model": body.get("model"), "results": [result]}
        )


def _fastapi_422(field: str, message: str, kind: str) -> Response:
    # FastAPI/pydantic validation error shape, as the WebUI's API returns it.
    return JSONResponse({"detail": [{"loc": ["body", field], "msg": message, "type": kind}]}, status_code=422)


class A1111StandIn(StandIn):
    """The WebUI's ``/sdapi/v1`` txt2img, img2img, progress and interrupt."""

    SAMPLERS = ("Euler a", "Euler", "DPM++ 2M")
    INT_FIELDS = ("seed", "width", "height", "steps", "batch_size", "n_iter")

    def __init__(self, username: str = "", password: str = "", duration: float = 0.6) -> None:
        self.credentials = f"{username}:{password}" if username else ""
        self.duration = duration
        self.progress = 0.0
        self.interrupts = 0
        self.progress_polls = 0
        self.info_model = "v1-5-pruned-emaonly"
        super().__init__()

    def routes(self) -> list[Route | WebSocketRoute]:
        return [
            Route("/sdapi/v1/txt2img", self.txt2img, methods=["POST"]),
            Route("/sdapi/v1/img2img", self.img2img, methods=["POST"]),
            Route("/sdapi/v1/progress", self.progress_route),
            Route("/sdapi/v1/interrupt", self.interrupt, methods=["POST"]),
        ]

    def _auth_error(self, request: Request) -> Response | None:
        if not self.credentials:
            return None
        expected = "Basic " + base64.b64encode(self.credentials.encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse(
                {"detail": "Incorrect username or password"}, status_code=401,
                headers={"WWW-Authenticate": "Basic"},
            )  # fmt: skip
        return None

    async def txt2img(self, request: Request) -> Response:
        return await self._generate(request, img2img=False)

    async def img2img(self, request: Request) -> Response:
        return await self._generate(request, img2img=True)

    async def _generate(self, request: Request, img2img: bool) -> Response:
        if denied := self._auth_error(request):
            return denied
        body = await request.json()
        self.requests.append({"path": request.url.path, "json": body})
        for field in self.INT_FIELDS:
            if field in body and not isinstance(body[field], int):
                return _fastapi_422(field, "value is not a valid integer", "type_error.integer")
        if not isinstance(body.get("prompt", ""), str):
            return _fastapi_422("prompt", "str type expected", "type_error.str")
        if body.get("sampler_name", "Euler") not in self.SAMPLERS:
            return JSONResponse({"detail": "Sampler not found"}, status_code=404)
        if img2img and not body.get("init_images"):
            return JSONResponse({"detail": "Init image not found"}, status_code=404)
        error = {"error": "OutOfMemoryError", "detail": "", "body": "", "errors": "CUDA out of memory."}
        if refusal := await self.failure(error):
            return refusal
        if img2img:
            base64.b64decode(body["init_images"][0], validate=True)
        # "Sample" in steps, with the progress endpoint following along.
        steps = 6
        for step in range(1, steps + 1):
            await asyncio.sleep(self.duration / steps)
            self.progress = step / steps
        self.progress = 0.0
        count = body.get("batch_size", 1)
        seed = body.get("seed", -1)
        seed = random.randrange(2**32) if seed == -1 else seed
        width, height = body.get("width", 512), body.get("height", 512)
        images = [base64.b64encode(png(width, height, (i * 40, 90, 90))).decode() for i in range(count)]
        info = {
            "prompt": body.get("prompt", ""), "seed": seed, "all_seeds": [seed + i for i in range(count)],
            "width": width, "height": height, "sampler_name": body.get("sampler_name"),
            "cfg_scale": body.get("cfg_scale"), "steps": body.get("steps"), "batch_size": count,
            "sd_model_name": self.info_model, "sd_model_hash": "6ce0161689", "index_of_first_image": 0,
        }  # fmt: skip
        return JSONResponse({"images": images, "parameters": body, "info": json.dumps(info)})

    async def progress_route(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        self.progress_polls += 1
        state = {"skipped": False, "interrupted": False, "job": "", "job_count": 1, "job_no": 0,
                 "sampling_step": int(self.progress * 20), "sampling_steps": 20}  # fmt: skip
        return JSONResponse(
            {
                "progress": self.progress,
                "eta_relative": 1.0,
                "state": state,
                "current_image": None,
                "textinfo": None,
            }
        )

    async def interrupt(self, request: Request) -> Response:
        if denied := self._auth_error(request):
            return denied
        self.interrupts += 1
        return JSONResponse({})
