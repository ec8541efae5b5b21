"""A loopback stand-in for a ComfyUI server: its HTTP routes and its progress websocket.

It validates an API-format workflow as ComfyUI does (node classes, required and linked inputs, input
types, checkpoint names, uploaded images) and "runs" it, sending the websocket messages ComfyUI sends.
Modes besides those of StandIn: "exec_error" (the sampler fails while running) and "stall" (the job
hangs in the sampler until /interrupt); ``websocket = False`` refuses the websocket handshake.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.generation.standins import StandIn, png

# ComfyUI node classes the stand-in knows, with their required inputs (a subset of the real ones).
COMFY_NODES: dict[str, tuple[str, ...]] = {
    "CheckpointLoaderSimple": ("ckpt_name",),
    "CLIPTextEncode": ("text", "clip"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "KSampler": ("model", "seed", "steps", "cfg", "sampler_name", "scheduler", "positive", "negative",
                 "latent_image", "denoise"),
    "VAEDecode": ("samples", "vae"),
    "VAEEncode": ("pixels", "vae"),
    "SaveImage": ("images", "filename_prefix"),
    "LoadImage": ("image",),
    "ImageScale": ("image", "upscale_method", "width", "height", "crop"),
    "RepeatLatentBatch": ("samples", "amount"),
}  # fmt: skip
COMFY_INTS = ("seed", "steps", "width", "height", "batch_size", "amount")
COMFY_FLOATS = ("cfg", "denoise")


def _comfy_error(kind: str, message: str, details: str = "", node_errors: Any = None) -> Response:
    body = {"error": {"type": kind, "message": message, "details": details, "extra_info": {}},
            "node_errors": node_errors or {}}  # fmt: skip
    return JSONResponse(body, status_code=400)


class ComfyUIStandIn(StandIn):
    """``/prompt``, ``/ws``, ``/history``, ``/view``, ``/upload/image``, ``/interrupt`` and ``/queue``."""

    def __init__(self, step_delay: float = 0.01) -> None:
        self.step_delay = step_delay
        self.checkpoints = ["sd_xl_base_1.0.safetensors", "tiny.safetensors"]
        self.uploads: dict[str, bytes] = {}
        self.outputs: dict[str, bytes] = {}
        self.history: dict[str, dict[str, Any]] = {}
        self.sockets: dict[str, WebSocket] = {}
        self.interrupts: list[Any] = []
        self.queue_deletes: list[Any] = []
        self.prompt_ids: list[str] = []
        self.websocket = True
        self._tasks: set[asyncio.Task[None]] = set()
        self._interrupted = asyncio.Event()
        super().__init__()

    def routes(self) -> list[Route | WebSocketRoute]:
        return [
            Route("/prompt", self.prompt, methods=["POST"]),
            Route("/history/{prompt_id}", self.history_route),
            Route("/view", self.view),
            Route("/upload/image", self.upload, methods=["POST"]),
            Route("/interrupt", self.interrupt, methods=["POST"]),
            Route("/queue", self.queue, methods=["POST"]),
            WebSocketRoute("/ws", self.ws),
        ]

    async def ws(self, websocket: WebSocket) -> None:
        if not self.websocket:
            await websocket.close()  # before accept: the handshake is refused (HTTP 403)
            return
        client_id = websocket.query_params.get("clientId") or uuid.uuid4().hex
        await websocket.accept()
        self.sockets[client_id] = websocket
        await websocket.send_json({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}},
                                                              "sid": client_id}})  # fmt: skip
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            self.sockets.pop(client_id, None)

    def _validate(self, workflow: Any) -> Response | None:
        if not isinstance(workflow, dict):
            return _comfy_error("no_prompt", "No prompt provided", "No prompt provided")
        node_errors: dict[str, Any] = {}
        for node_id, node in workflow.items():
            class_type = node.get("class_type") if isinstance(node, dict) else None
            if class_type not in COMFY_NODES:
                message = f"Cannot execute because node {class_type} does not exist."
                return _comfy_error("invalid_prompt", message, f"Node ID '#{node_id}'")
            inputs, errors = node.get("inputs", {}), []
            for name in COMFY_NODES[class_type]:
                value = inputs.get(name)
                if name not in inputs:
                    errors.append(("required_input_missing", "Required input is missing", name))
                elif isinstance(value, list) and (len(value) != 2 or str(value[0]) not in workflow):
                    errors.append(("bad_linked_input", "Bad linked input", f"{name}: {value!r}"))
                elif name in COMFY_INTS and not isinstance(value, int | list):
                    errors.append(("invalid_input_type", "Failed to convert an input value to a INT value",
                                   f"{name}, {value!r}"))  # fmt: skip
                elif name in COMFY_FLOATS and not isinstance(value, int | float | list):
                    errors.append(("invalid_input_type", "Failed to convert an input value to a FLOAT value",
                                   f"{name}, {value!r}"))  # fmt: skip
            checkpoint = inputs.get("ckpt_name")
            if class_type == "CheckpointLoaderSimple" and checkpoint not in self.checkpoints:
                details = f"ckpt_name: '{checkpoint}' not in {self.checkpoints}"
                errors.append(("value_not_in_list", "Value not in list", details))
            if class_type == "LoadImage" and inputs.get("image") not in self.uploads:
                errors.append(("custom_validation_failed", "Custom validation failed for node",
                               f"image - Invalid image file: {inputs.get('image')}"))  # fmt: skip
            if errors:
                node_errors[node_id] = {
                    "errors": [{"type": t, "message": m, "details": d} for t, m, d in errors],
                    "dependent_outputs": [], "class_type": class_type,
                }  # fmt: skip
        if node_errors:
            return _comfy_error("prompt_outputs_failed_validation", "Prompt outputs failed validation", "",
                                node_errors)  # fmt: skip
        return None

    async def prompt(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"path": request.url.path, "json": body})
        if refusal := await self.failure({"error": "500 Internal Server Error"}):
            return refusal
        if invalid := self._validate(body.get("prompt")):
            return invalid
        prompt_id = str(uuid.uuid4())
        self.prompt_ids.append(prompt_id)
        task = asyncio.create_task(self._execute(prompt_id, body["prompt"], str(body.get("client_id", ""))))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return JSONResponse({"prompt_id": prompt_id, "number": len(self.requests), "node_errors": {}})

    async def _send(self, client_id: str, kind: str, data: dict[str, Any]) -> None:
        if socket_ := self.sockets.get(client_id):
            try:
                await socket_.send_json({"type": kind, "data": data})
            except (RuntimeError, WebSocketDisconnect):
                self.sockets.pop(client_id, None)

    async def _execute(self, prompt_id: str, workflow: dict[str, Any], client_id: str) -> None:
        messages: list[list[Any]] = []

        async def send(kind: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": prompt_id, "timestamp": int(time.time() * 1000)}
            messages.append([kind, data])
            await self._send(client_id, kind, data)

        def finish(status: str, outputs: dict[str, Any]) -> None:
            self.history[prompt_id] = {
                "prompt": [0, prompt_id, workflow, {}, list(outputs)], "outputs": outputs,
                "status": {"status_str": status, "completed": status == "success", "messages": messages},
            }  # fmt: skip

        await send("execution_start", {})
        await send("execution_cached", {"nodes": []})
        outputs: dict[str, Any] = {}
        inputs = [node["inputs"] for node in workflow.values()]
        width = next((i["width"] for i in inputs if "width" in i), 512)
        height = next((i["height"] for i in inputs if "height" in i), 512)
        count = next(
            (i.get("batch_size", i.get("amount")) for i in inputs if {"batch_size", "amount"} & set(i)), 1
        )
        for node_id, node in workflow.items():
            await send("executing", {"node": node_id, "display_node": node_id})
            if node["class_type"] == "KSampler":
                steps = node["inputs"]["steps"]
                for value in range(1, steps + 1):
                    if self.mode == "stall" or self._interrupted.is_set():
                        await self._interrupted.wait()
                        await send("execution_interrupted", {"node_id": node_id, "node_type": "KSampler",
                                                             "executed": []})  # fmt: skip
                        return finish("error", {})
                    if self.mode == "exec_error":
                        await send("execution_error", {
                            "node_id": node_id, "node_type": "KSampler", "executed": [],
                            "exception_message": "Expected all tensors to be on the same device",
                            "exception_type": "RuntimeError", "traceback": [], "current_inputs": {},
                            "current_outputs": {}})  # fmt: skip
                        return finish("error", {})
                    await asyncio.sleep(self.step_delay)
                    await send("progress", {"value": value, "max": steps, "node": node_id})
                if client_id in self.sockets:  # a live preview: a binary frame
                    await self.sockets[client_id].send_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x01preview")
            if node["class_type"] == "SaveImage":
                images = []
                for i in range(count):
                    name = f"{node['inputs']['filename_prefix']}_{len(self.outputs):05}_.png"
                    self.outputs[name] = png(width, height, (60, 60 + 40 * i, 160))
                    images.append({"filename": name, "subfolder": "", "type": "output"})
                outputs[node_id] = {"images": images}
                await send("executed", {"node": node_id, "display_node": node_id, "output": outputs[node_id]})
        finish("success", outputs)
        await send("executing", {"node": None})
        await send("execution_success", {})

    async def history_route(self, request: Request) -> Response:
        prompt_id = request.path_params["prompt_id"]
        entry = self.history.get(prompt_id)
        return JSONResponse({prompt_id: entry} if entry else {})

    async def view(self, request: Request) -> Response:
        params = request.query_params
        data = self.outputs.get(params.get("filename", "")) if params.get("type") == "output" else None
        return Response(data, media_type="image/png") if data else Response(status_code=404)

    async def upload(self, request: Request) -> Response:
        form = await request.form()
        upload = form.get("image")
        if upload is None or isinstance(upload, str):
            return Response(status_code=400)
        name = upload.filename or "image.png"
        self.uploads[name] = await upload.read()
        return JSONResponse({"name": name, "subfolder": "", "type": form.get("type", "input")})

    async def interrupt(self, request: Request) -> Response:
        body = await request.body()
        self.interrupts.append(json.loads(body) if body else None)
        self._interrupted.set()
        return Response(status_code=200)

    async def queue(self, request: Request) -> Response:
        self.queue_deletes.append((await request.json()).get("delete"))
        return Response(status_code=200)
