"""The comfyui backend against a loopback stand-in of a ComfyUI server (HTTP routes and websocket)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from generation.backend import Backend, GenerationRequest, create_backend, no_progress
from generation.backends.comfyui import ComfyUIBackend, create, default_workflow
from generation.errors import BackendConfigError, BackendError, BackendTimeoutError
from tests.generation.comfyui_standin import ComfyUIStandIn
from tests.generation.conftest import ProgressLog
from tests.generation.standins import image_size, png
from tests.support.server import free_port


def backend(server: ComfyUIStandIn, http: httpx.AsyncClient, **options: Any) -> ComfyUIBackend:
    return create({"url": server.url, "poll_interval": 0.05, **options}, http)


def nodes(workflow: dict[str, Any], class_type: str) -> list[dict[str, Any]]:
    return [node["inputs"] for node in workflow.values() if node["class_type"] == class_type]


def write_workflow(tmp_path: Path, workflow: Any) -> str:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(workflow), encoding="utf-8")
    return str(path)


async def test_the_default_workflow_makes_the_images(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    request = GenerationRequest(
        prompt="a heron", negative_prompt="text", width=192, height=128, seed=42, count=2
    )
    result = await backend(comfy_server, http, steps=8, cfg=4.5).generate(request, progress)

    assert [image_size(image.data) for image in result.images] == [(192, 128), (192, 128)]
    assert [image.seed for image in result.images] == [42, 42]  # one seed for the batch
    assert (result.backend, result.model) == ("comfyui", "sd_xl_base_1.0.safetensors")
    workflow = comfy_server.requests[0]["json"]["prompt"]
    [sampler] = nodes(workflow, "KSampler")
    assert (sampler["seed"], sampler["steps"], sampler["cfg"], sampler["denoise"]) == (42, 8, 4.5, 1.0)
    assert (sampler["sampler_name"], sampler["scheduler"]) == ("euler", "normal")
    assert nodes(workflow, "EmptyLatentImage") == [{"width": 192, "height": 128, "batch_size": 2}]
    assert sorted(n["text"] for n in nodes(workflow, "CLIPTextEncode")) == ["a heron", "text"]
    assert result.extra["prompt_id"] in comfy_server.history


async def test_progress_follows_the_websocket(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    await backend(comfy_server, http, steps=10).generate(
        GenerationRequest(prompt="x", width=64, height=64), progress
    )

    assert progress.rose_to_100()
    assert [v for v in progress.values if 0 < v < 100] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 99]


async def test_without_a_websocket_it_polls_the_history(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    comfy_server.websocket = False
    result = await backend(comfy_server, http).generate(
        GenerationRequest(prompt="x", width=64, height=64), progress
    )

    assert image_size(result.images[0].data) == (64, 64)
    assert progress.values == [0, 100]


async def test_a_random_seed_is_sent_and_recorded(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient
) -> None:
    result = await backend(comfy_server, http).generate(
        GenerationRequest(prompt="x", width=64, height=64), no_progress
    )

    [sampler] = nodes(comfy_server.requests[0]["json"]["prompt"], "KSampler")
    assert isinstance(sampler["seed"], int) and result.images[0].seed == sampler["seed"]


async def test_img2img_uploads_the_init_image(comfy_server: ComfyUIStandIn, http: httpx.AsyncClient) -> None:
    init = png(100, 60, (5, 6, 7))
    request = GenerationRequest(prompt="x", width=128, height=96, init_image=init, strength=0.3, count=2)
    b = backend(comfy_server, http)
    assert b.supports_img2img
    result = await b.generate(request, no_progress)

    [(name, uploaded)] = comfy_server.uploads.items()
    assert uploaded == init
    workflow = comfy_server.requests[0]["json"]["prompt"]
    assert nodes(workflow, "LoadImage") == [{"image": name}]
    assert nodes(workflow, "KSampler")[0]["denoise"] == 0.3
    assert nodes(workflow, "RepeatLatentBatch")[0]["amount"] == 2
    assert nodes(workflow, "EmptyLatentImage") == []
    assert [image_size(image.data) for image in result.images] == [(128, 96), (128, 96)]


async def test_a_custom_workflow_gets_its_placeholders_filled(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    template = default_workflow(img2img=False)
    template["1"]["inputs"]["ckpt_name"] = "tiny.safetensors"
    template["2"]["inputs"]["text"] = "a photo of {{prompt}}, {{width}}px wide"
    template["5"]["inputs"]["steps"] = 3
    b = backend(comfy_server, http, workflow=write_workflow(tmp_path, template))
    assert not b.supports_img2img

    result = await b.generate(GenerationRequest(prompt="a cat", width=64, height=80, seed=7), no_progress)

    workflow = comfy_server.requests[0]["json"]["prompt"]
    assert workflow["2"]["inputs"]["text"] == "a photo of a cat, 64px wide"
    assert workflow["4"]["inputs"] == {"width": 64, "height": 80, "batch_size": 1}
    assert (workflow["5"]["inputs"]["seed"], workflow["5"]["inputs"]["steps"]) == (7, 3)
    assert result.model == "tiny.safetensors"
    with pytest.raises(BackendError, match="init_image"):
        await b.generate(GenerationRequest(prompt="x", init_image=png(64, 64)), no_progress)


async def test_a_custom_img2img_workflow_needs_an_init_image(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    b = backend(comfy_server, http, workflow=write_workflow(tmp_path, default_workflow(img2img=True)))
    assert b.supports_img2img
    with pytest.raises(BackendError, match="needs an init image"):
        await b.generate(GenerationRequest(prompt="x"), no_progress)
    result = await b.generate(
        GenerationRequest(prompt="x", width=64, height=64, init_image=png(32, 32)), no_progress
    )
    assert len(result.images) == 1


@pytest.mark.parametrize(
    ("mode", "options", "transient", "message"),
    [
        (
            "ok",
            {"checkpoint": "missing.safetensors"},
            False,
            "HTTP 400.*node 1 .CheckpointLoaderSimple.: Value not in",
        ),
        ("exec_error", {}, False, "node 5 .KSampler. failed: RuntimeError: Expected all tensors"),
        ("fail500", {}, True, "HTTP 500"),
        ("busy503", {}, True, "HTTP 503.*Retry-After: 17"),
    ],
)
async def test_errors_are_classified(
    comfy_server: ComfyUIStandIn,
    http: httpx.AsyncClient,
    mode: str,
    options: dict[str, Any],
    transient: bool,
    message: str,
) -> None:
    comfy_server.mode = mode
    with pytest.raises(BackendError, match=message) as caught:
        await backend(comfy_server, http, **options).generate(GenerationRequest(prompt="x"), no_progress)
    assert caught.value.transient is transient


async def test_an_execution_error_is_also_read_from_the_history(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient
) -> None:
    comfy_server.websocket = False
    comfy_server.mode = "exec_error"
    with pytest.raises(BackendError, match="node 5 .KSampler. failed: RuntimeError: Expected all tensors"):
        await backend(comfy_server, http).generate(GenerationRequest(prompt="x"), no_progress)


async def test_a_timeout_interrupts_and_dequeues_the_job(
    comfy_server: ComfyUIStandIn, http: httpx.AsyncClient
) -> None:
    comfy_server.mode = "stall"
    with pytest.raises(BackendTimeoutError, match="within 0.5 s"):
        await backend(comfy_server, http, timeout=0.5).generate(GenerationRequest(prompt="x"), no_progress)

    [prompt_id] = comfy_server.prompt_ids
    assert comfy_server.interrupts == [{"prompt_id": prompt_id}]
    assert comfy_server.queue_deletes == [[prompt_id]]


async def test_a_server_that_is_down_is_a_transient_error(http: httpx.AsyncClient) -> None:
    b = create({"url": f"http://127.0.0.1:{free_port()}"}, http)
    with pytest.raises(BackendError, match="cannot reach") as caught:
        await b.generate(GenerationRequest(prompt="x"), no_progress)
    assert caught.value.transient


@pytest.mark.parametrize(
    ("workflow", "message"),
    [
        ("not json", "not valid JSON"),
        ({"nodes": [], "links": []}, "UI format"),
        ([1, 2], "not an API-format workflow"),
        (
            {"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{promt}}"}}},
            "unknown placeholder {{promt}}",
        ),
        ({"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "fixed"}}}, "no {{prompt}} placeholder"),
    ],
)
def test_a_bad_workflow_file_is_a_config_error(
    http: httpx.AsyncClient, tmp_path: Path, workflow: Any, message: str
) -> None:
    path = tmp_path / "workflow.json"
    path.write_text(workflow if isinstance(workflow, str) else json.dumps(workflow), encoding="utf-8")
    with pytest.raises(BackendConfigError, match=f"generation.comfyui.workflow: .*{message}"):
        create({"workflow": str(path)}, http)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"workflow": "/nonexistent/workflow.json"}, "generation.comfyui.workflow"),
        ({"steps": 0}, "generation.comfyui.steps"),
        ({"cfg": "high"}, "generation.comfyui.cfg"),
        ({"timeout": -5}, "generation.comfyui.timeout"),
        ({"url": "ws://127.0.0.1:8188"}, "generation.comfyui.url"),
        ({"cfg_scale": 7}, "generation.comfyui.cfg_scale"),
    ],
)
def test_config_errors_name_the_key(http: httpx.AsyncClient, options: dict[str, Any], key: str) -> None:
    with pytest.raises(BackendConfigError, match=key):
        create(options, http)


def test_the_entry_point_builds_it(http: httpx.AsyncClient) -> None:
    b = create_backend("comfyui", {"url": "https://comfy.example:8443"}, http)
    assert isinstance(b, ComfyUIBackend) and isinstance(b, Backend)
    assert (b.name, b.ws_url, b.concurrency, b.supports_img2img) == (
        "comfyui",
        "wss://comfy.example:8443/ws",
        1,
        True,
    )
