"""The ``comfyui`` backend: a ComfyUI server running an API-format workflow.

A job is ``POST {url}/prompt`` ``{"prompt": <workflow>, "client_id": <id>}``; progress arrives on the
websocket ``ws://{host}/ws?clientId=<id>`` ("progress", "executing" with ``node: null`` when done,
"execution_error"); the images are listed by ``GET {url}/history/{prompt_id}`` and read from
``GET {url}/view``. Without a websocket the backend polls ``/history`` instead. Reference:
https://docs.comfy.org/development/comfyui-server/comms_routes and the server's ``script_examples``.

The workflow is a template in ComfyUI's *API format* (the UI's "Export (API)"; the UI format, with
"nodes" and "links", is refused). Option ``workflow`` names a JSON file; without it a built-in
txt2img workflow is used (CheckpointLoaderSimple, two CLIPTextEncode, EmptyLatentImage, KSampler,
VAEDecode, SaveImage; for image-to-image LoadImage, ImageScale and VAEEncode replace the empty latent).
Any string value in the template may hold placeholders::

    {{prompt}} {{negative_prompt}} {{seed}} {{width}} {{height}} {{count}} {{init_image}} {{strength}}
    {{checkpoint}} {{steps}} {{cfg}} {{sampler}} {{scheduler}}   (the options of the same names)

A value that is exactly one placeholder becomes that value with its JSON type, so ``"{{seed}}"`` turns
into a number; a placeholder inside longer text is replaced by its text. ``{{prompt}}`` is required.
A custom workflow does image-to-image when it has ``{{init_image}}`` (the uploaded image's name, for a
LoadImage node) and then needs an init image for every job; ``{{strength}}`` is KSampler's ``denoise``.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from generation.backend import GeneratedImage, GenerationRequest, GenerationResult, Options, ProgressCallback
from generation.backends.http import (
    ProgressReporter,
    concurrency_option,
    image_mime,
    json_object,
    positive_number,
    request_timeout,
    send,
    sniff_image,
    within_deadline,
)
from generation.errors import BackendConfigError, BackendError

SECTION = "generation.comfyui"
KNOWN = {
    "url", "workflow", "checkpoint", "steps", "cfg", "sampler", "scheduler", "timeout", "poll_interval",
    "concurrency",
}  # fmt: skip
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
PLACEHOLDERS = frozenset(
    {"prompt", "negative_prompt", "seed", "width", "height", "count", "init_image", "strength",
     "checkpoint", "steps", "cfg", "sampler", "scheduler"}
)  # fmt: skip
MODEL_INPUTS = ("ckpt_name", "unet_name")
# Websocket frames can carry preview images (binary); a generous cap for those.
WS_MAX_SIZE = 32 * 2**20


def default_workflow(img2img: bool) -> dict[str, Any]:
    """The built-in API-format template: txt2img, or img2img from an uploaded image."""
    workflow: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "{{checkpoint}}"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{negative_prompt}}", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage",
              "inputs": {"width": "{{width}}", "height": "{{height}}", "batch_size": "{{count}}"}},
        "5": {"class_type": "KSampler", "inputs": {
            "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0],
            "seed": "{{seed}}", "steps": "{{steps}}", "cfg": "{{cfg}}", "sampler_name": "{{sampler}}",
            "scheduler": "{{scheduler}}", "denoise": 1.0}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "fedigen"}},
    }  # fmt: skip
    if img2img:
        workflow["8"] = {"class_type": "LoadImage", "inputs": {"image": "{{init_image}}"}}
        workflow["9"] = {"class_type": "ImageScale", "inputs": {
            "image": ["8", 0], "upscale_method": "lanczos", "width": "{{width}}", "height": "{{height}}",
            "crop": "center"}}  # fmt: skip
        workflow["10"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["9", 0], "vae": ["1", 2]}}
        # LoadImage gives one image; RepeatLatentBatch makes the batch of {{count}}.
        workflow["4"] = {
            "class_type": "RepeatLatentBatch", "inputs": {"samples": ["10", 0], "amount": "{{count}}"}
        }  # fmt: skip
        workflow["5"]["inputs"]["denoise"] = "{{strength}}"
    return workflow


def placeholders_in(value: Any) -> set[str]:
    """Every placeholder name used anywhere in a template."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholders_in(v) for v in value))
    return set()


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    """The template with its placeholders replaced (a whole-string placeholder keeps the value's type)."""
    if isinstance(value, str):
        if whole := PLACEHOLDER.fullmatch(value):
            return values[whole.group(1)]
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), value)
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    return value


def load_workflow(path: str) -> dict[str, Any]:
    """A custom workflow template from a JSON file, checked to be in the API format."""
    key = f"{SECTION}.workflow"
    try:
        workflow = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise BackendConfigError(f"{key}: cannot read {path!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise BackendConfigError(f"{key}: {path!r} is not valid JSON: {exc}") from None
    if isinstance(workflow, dict) and "nodes" in workflow and "links" in workflow:
        raise BackendConfigError(f"{key}: {path!r} is in the UI format; export it in the API format")
    if (
        not isinstance(workflow, dict)
        or not workflow
        or not all(
            isinstance(node, dict) and "class_type" in node and isinstance(node.get("inputs"), dict)
            for node in workflow.values()
        )
    ):
        raise BackendConfigError(f"{key}: {path!r} is not an API-format workflow (id -> class_type, inputs)")
    unknown = placeholders_in(workflow) - PLACEHOLDERS
    if unknown:
        raise BackendConfigError(f"{key}: unknown placeholder {{{{{sorted(unknown)[0]}}}}} in {path!r}")
    if "prompt" not in placeholders_in(workflow):
        raise BackendConfigError(f"{key}: {path!r} has no {{{{prompt}}}} placeholder")
    return workflow


def create(options: Mapping[str, Any], http: httpx.AsyncClient) -> ComfyUIBackend:
    """Build the backend from the ``[generation.comfyui]`` options."""
    opts = Options(section=SECTION, values=options, known=KNOWN)
    workflow_path = opts.get_str("workflow", "")
    steps = opts.get_int("steps", 25)
    if not 1 <= steps <= 10000:
        raise BackendConfigError(f"{SECTION}.steps: expected 1 to 10000, got {steps!r}")
    settings = {
        "checkpoint": opts.get_str("checkpoint", "sd_xl_base_1.0.safetensors"),
        "steps": steps,
        "cfg": positive_number(opts, "cfg", 7.0),
        "sampler": opts.get_str("sampler", "euler"),
        "scheduler": opts.get_str("scheduler", "normal"),
    }
    return ComfyUIBackend(
        http,
        url=opts.get_url("url", "http://127.0.0.1:8188"),
        workflow=load_workflow(workflow_path) if workflow_path else None,
        settings=settings,
        timeout=positive_number(opts, "timeout", 300.0),
        poll_interval=positive_number(opts, "poll_interval", 1.0),
        concurrency=concurrency_option(opts),
    )


class _Job:
    """What an abort needs to know about the job in flight."""

    prompt_id: str | None = None


class ComfyUIBackend:
    """Images from a ComfyUI server."""

    name = "comfyui"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        workflow: dict[str, Any] | None,
        settings: dict[str, Any],
        timeout: float,
        poll_interval: float,
        concurrency: int,
    ) -> None:
        self._http = http
        self.url = url
        self.ws_url = "ws" + url.removeprefix("http") + "/ws"  # http -> ws, https -> wss
        self._custom = workflow
        self._settings = settings
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self._needs_init = workflow is not None and "init_image" in placeholders_in(workflow)
        self.supports_img2img = workflow is None or self._needs_init
        self._service = f"comfyui ({url})"

    async def generate(self, request: GenerationRequest, progress: ProgressCallback) -> GenerationResult:
        """Queue the workflow, follow it to the end, and read back its images."""
        if request.init_image is not None and not self.supports_img2img:
            raise BackendError(f"{self._service}: the workflow has no {{{{init_image}}}} for image-to-image")
        if request.init_image is None and self._needs_init:
            raise BackendError(f"{self._service}: the workflow ({SECTION}.workflow) needs an init image")
        reporter = ProgressReporter(progress)
        await reporter.report(0)
        job = _Job()

        async def abort() -> None:
            await self._abort(job)

        result = await within_deadline(
            self._run(request, reporter, job), service=self._service, seconds=self.timeout, abort=abort
        )
        await reporter.report(100)
        return result

    async def _run(
        self, request: GenerationRequest, reporter: ProgressReporter, job: _Job
    ) -> GenerationResult:
        seed = request.seed if request.seed is not None else random.randrange(2**32)
        values: dict[str, Any] = {
            **self._settings,
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt,
            "seed": seed,
            "width": request.width,
            "height": request.height,
            "count": request.count,
            "strength": request.strength,
            "init_image": await self._upload(request.init_image) if request.init_image is not None else "",
        }
        workflow = fill(self._custom or default_workflow(request.init_image is not None), values)
        client_id = uuid.uuid4().hex
        # Connect before queueing so that no message about the job is missed.
        ws = await self._connect(client_id)
        try:
            job.prompt_id = await self._queue(workflow, client_id)
            if ws is not None:
                await self._follow(ws, job.prompt_id, reporter)
        finally:
            if ws is not None:
                await ws.close()
        entry = await self._finished_entry(job.prompt_id)
        images = [GeneratedImage(data=data, seed=seed) for data in await self._read_images(entry)]
        return GenerationResult(
            images=images[: request.count], backend=self.name, model=self._model_name(workflow),
            extra={"prompt_id": job.prompt_id},
        )  # fmt: skip

    async def _upload(self, image: bytes) -> str:
        ext, mime = image_mime(image)
        response = await send(
            self._http, "POST", f"{self.url}/upload/image", self._service,
            files={"image": (f"fedigen-{uuid.uuid4().hex}.{ext}", image, mime)},
            data={"type": "input", "overwrite": "true"}, timeout=request_timeout(self.timeout),
        )  # fmt: skip
        body = json_object(response, self._service)
        name, subfolder = body.get("name"), body.get("subfolder") or ""
        if not isinstance(name, str) or not name:
            raise BackendError(f"{self._service}: the image upload returned no name")
        return f"{subfolder}/{name}" if subfolder else name

    async def _queue(self, workflow: dict[str, Any], client_id: str) -> str:
        response = await send(
            self._http, "POST", f"{self.url}/prompt", self._service,
            json={"prompt": workflow, "client_id": client_id}, timeout=request_timeout(self.timeout),
        )  # fmt: skip
        body = json_object(response, self._service)
        # Older servers answer 200 with the validation errors of some nodes in "node_errors".
        if body.get("node_errors"):
            raise BackendError(f"{self._service}: the workflow was refused: {body['node_errors']!r:.300}")
        prompt_id = body.get("prompt_id")
        if not isinstance(prompt_id, str) or not prompt_id:
            raise BackendError(f"{self._service}: /prompt returned no prompt_id")
        return prompt_id

    async def _connect(self, client_id: str) -> ClientConnection | None:
        try:
            return await connect(
                f"{self.ws_url}?clientId={client_id}", open_timeout=min(self.timeout, 10.0),
                max_size=WS_MAX_SIZE, close_timeout=1.0,
            )  # fmt: skip
        except (OSError, TimeoutError, WebSocketException):
            return None  # polling /history still works

    async def _follow(self, ws: ClientConnection, prompt_id: str, reporter: ProgressReporter) -> None:
        """Read websocket messages about ``prompt_id`` until it has finished (or the socket closes)."""
        try:
            async for raw in ws:
                if isinstance(raw, bytes):
                    continue  # binary frames are live previews
                try:
                    message = json.loads(raw)
                    kind, data = message["type"], message["data"]
                except (ValueError, KeyError, TypeError):
                    continue
                if not isinstance(data, dict) or data.get("prompt_id") != prompt_id:
                    continue  # status broadcasts and other clients' jobs
                if kind == "progress" and isinstance(data.get("max"), int) and data["max"] > 0:
                    # One bar per sampling node: a workflow with two samplers starts over (held, not lowered).
                    await reporter.working(float(data.get("value", 0)) / data["max"])
                elif kind == "executing" and data.get("node") is None or kind == "execution_success":
                    return
                elif kind in ("execution_error", "execution_interrupted"):
                    raise _execution_error(self._service, kind, data)
        except ConnectionClosed:
            pass  # fall back to polling /history

    async def _history(self, prompt_id: str) -> dict[str, Any] | None:
        response = await send(
            self._http, "GET", f"{self.url}/history/{prompt_id}", self._service,
            timeout=request_timeout(self.timeout),
        )  # fmt: skip
        entry = json_object(response, self._service).get(prompt_id)
        return entry if isinstance(entry, dict) else None

    async def _finished_entry(self, prompt_id: str) -> dict[str, Any]:
        """The history entry of a finished job, polled for until it appears (it does when the job ends)."""

        while True:
            entry = await self._history(prompt_id)
            if entry is not None:
                break
            await asyncio.sleep(self.poll_interval)
        status = entry.get("status") if isinstance(entry.get("status"), dict) else {}
        if status and status.get("status_str") == "error":
            for kind, data in status.get("messages") or []:
                if kind in ("execution_error", "execution_interrupted") and isinstance(data, dict):
                    raise _execution_error(self._service, kind, data)
            raise BackendError(f"{self._service}: the job failed")
        return entry

    async def _read_images(self, entry: dict[str, Any]) -> list[bytes]:
        refs = [
            image
            for output in (entry.get("outputs") or {}).values()
            if isinstance(output, dict)
            for image in output.get("images") or []
            if isinstance(image, dict) and isinstance(image.get("filename"), str)
        ]
        # SaveImage writes type "output"; PreviewImage's "temp" files count only when nothing was saved.
        saved = [ref for ref in refs if ref.get("type") == "output"] or refs
        if not saved:
            raise BackendError(f"{self._service}: the workflow produced no images")
        images = []
        for ref in saved:
            params = {"filename": ref["filename"], "subfolder": ref.get("subfolder", ""),
                      "type": ref.get("type", "output")}  # fmt: skip
            response = await send(
                self._http, "GET", f"{self.url}/view", self._service, params=params,
                timeout=request_timeout(self.timeout),
            )  # fmt: skip
            images.append(sniff_image(response.content, self._service))
        return images

    async def _abort(self, job: _Job) -> None:
        if job.prompt_id is None:
            return
        # Drop it from the queue if it has not started; /interrupt stops it only if it is the one
        # running (recent servers honour the prompt_id; older ones stop whatever runs).
        await send(
            self._http, "POST", f"{self.url}/queue", self._service,
            json={"delete": [job.prompt_id]}, timeout=request_timeout(5.0),
        )  # fmt: skip
        await send(
            self._http, "POST", f"{self.url}/interrupt", self._service,
            json={"prompt_id": job.prompt_id}, timeout=request_timeout(5.0),
        )  # fmt: skip

    def _model_name(self, workflow: dict[str, Any]) -> str:
        for node in workflow.values():
            inputs = node.get("inputs") if isinstance(node, dict) else None
            for key in MODEL_INPUTS:
                if isinstance(inputs, dict) and isinstance(inputs.get(key), str):
                    return str(inputs[key])
        return ""

    async def aclose(self) -> None:
        """Nothing to release: the HTTP client belongs to the caller, websockets close with their job."""


def _execution_error(service: str, kind: str, data: dict[str, Any]) -> BackendError:
    if kind == "execution_interrupted":
        return BackendError(f"{service}: the job was interrupted on the server", transient=True)
    where = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')})"
    exc_type, message = str(data.get("exception_type", "")), str(data.get("exception_message", "")).strip()
    # Running out of GPU memory may pass when the server is less busy; other failures repeat.
    transient = "OutOfMemory" in exc_type
    return BackendError(f"{service}: {where} failed: {exc_type}: {message}"[:600], transient=transient)
