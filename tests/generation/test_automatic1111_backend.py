"""The automatic1111 backend against a loopback stand-in of the WebUI's /sdapi/v1 API."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from generation.backend import Backend, GenerationRequest, create_backend, no_progress
from generation.backends.automatic1111 import Automatic1111Backend, create
from generation.backends.http import send
from generation.errors import BackendConfigError, BackendError, BackendTimeoutError
from tests.generation.conftest import ProgressLog, wait_until
from tests.generation.standins import A1111StandIn, image_size, png
from tests.support.server import free_port


def backend(server: A1111StandIn, http: httpx.AsyncClient, **options: Any) -> Automatic1111Backend:
    defaults = {"url": server.url, "username": "ada", "password": "secret", "poll_interval": 0.05}
    return create({**defaults, **options}, http)


async def test_txt2img_records_seeds_and_model(
    a1111_server: A1111StandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    request = GenerationRequest(
        prompt="a barn owl", negative_prompt="blurry", width=192, height=128, seed=1234, count=3
    )
    result = await backend(a1111_server, http, steps=12, cfg_scale=5.5).generate(request, progress)

    assert [image_size(image.data) for image in result.images] == [(192, 128)] * 3
    assert [image.seed for image in result.images] == [1234, 1235, 1236]
    assert (result.backend, result.model) == ("automatic1111", "v1-5-pruned-emaonly")
    assert result.extra["sd_model_hash"] == "6ce0161689"
    sent = a1111_server.requests[0]
    assert sent["path"] == "/sdapi/v1/txt2img"
    expected = {
        "prompt": "a barn owl", "negative_prompt": "blurry", "seed": 1234, "width": 192, "height": 128,
        "steps": 12, "cfg_scale": 5.5, "sampler_name": "Euler a", "batch_size": 3,
    }  # fmt: skip
    assert expected.items() <= sent["json"].items()


async def test_progress_is_polled_while_the_job_runs(
    a1111_server: A1111StandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    await backend(a1111_server, http).generate(GenerationRequest(prompt="x", width=64, height=64), progress)

    assert a1111_server.progress_polls >= 3
    assert progress.rose_to_100()
    assert any(0 < value < 100 for value in progress.values)


async def test_a_random_seed_is_asked_for_and_recorded(
    a1111_server: A1111StandIn, http: httpx.AsyncClient
) -> None:
    result = await backend(a1111_server, http).generate(
        GenerationRequest(prompt="x", width=64, height=64), no_progress
    )

    assert a1111_server.requests[0]["json"]["seed"] == -1
    assert isinstance(result.images[0].seed, int) and result.images[0].seed >= 0


async def test_img2img_sends_the_init_image_and_strength(
    a1111_server: A1111StandIn, http: httpx.AsyncClient
) -> None:
    init = png(80, 80, (9, 9, 9))
    request = GenerationRequest(prompt="x", width=128, height=64, init_image=init, strength=0.4)
    result = await backend(a1111_server, http).generate(request, no_progress)

    sent = a1111_server.requests[0]
    assert sent["path"] == "/sdapi/v1/img2img"
    assert base64.b64decode(sent["json"]["init_images"][0]) == init
    assert sent["json"]["denoising_strength"] == 0.4
    assert image_size(result.images[0].data) == (128, 64)


@pytest.mark.parametrize(
    ("mode", "options", "transient", "message"),
    [
        ("ok", {"password": "wrong"}, False, "HTTP 401.*Incorrect username or password"),
        ("ok", {"sampler": "Nonexistent"}, False, "HTTP 404.*Sampler not found"),
        ("fail500", {}, True, "HTTP 500.*OutOfMemoryError: CUDA out of memory"),
        ("busy503", {}, True, "HTTP 503.*Retry-After: 17"),
    ],
)
async def test_errors_are_classified(
    a1111_server: A1111StandIn,
    http: httpx.AsyncClient,
    mode: str,
    options: dict[str, Any],
    transient: bool,
    message: str,
) -> None:
    a1111_server.mode = mode
    with pytest.raises(BackendError, match=message) as caught:
        await backend(a1111_server, http, **options).generate(GenerationRequest(prompt="x"), no_progress)
    assert caught.value.transient is transient


async def test_validation_errors_carry_the_field(a1111_server: A1111StandIn, http: httpx.AsyncClient) -> None:
    # The backend always sends integers; this checks the mapping of FastAPI's 422 body.
    with pytest.raises(BackendError, match="HTTP 422.*steps: value is not a valid integer") as caught:
        await send(
            http, "POST", f"{a1111_server.url}/sdapi/v1/txt2img", "automatic1111",
            json={"prompt": "x", "steps": "many"}, auth=httpx.BasicAuth("ada", "secret"),
        )  # fmt: skip
    assert not caught.value.transient


async def test_a_server_that_is_down_is_a_transient_error(http: httpx.AsyncClient) -> None:
    b = create({"url": f"http://127.0.0.1:{free_port()}"}, http)
    with pytest.raises(BackendError, match="cannot reach") as caught:
        await b.generate(GenerationRequest(prompt="x"), no_progress)
    assert caught.value.transient


async def test_a_timeout_interrupts_the_job(a1111_server: A1111StandIn, http: httpx.AsyncClient) -> None:
    a1111_server.mode = "slow"
    with pytest.raises(BackendTimeoutError, match="within 0.4 s"):
        await backend(a1111_server, http, timeout=0.4).generate(GenerationRequest(prompt="x"), no_progress)
    assert a1111_server.interrupts == 1


async def test_cancelling_interrupts_the_job(a1111_server: A1111StandIn, http: httpx.AsyncClient) -> None:
    a1111_server.mode = "slow"
    task = asyncio.create_task(
        backend(a1111_server, http).generate(GenerationRequest(prompt="x"), no_progress)
    )
    await wait_until(lambda: bool(a1111_server.requests))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert a1111_server.interrupts == 1


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"steps": 0}, "generation.automatic1111.steps"),
        ({"cfg_scale": -1}, "generation.automatic1111.cfg_scale"),
        ({"password": "secret"}, "generation.automatic1111.username"),
        ({"poll_interval": "often"}, "generation.automatic1111.poll_interval"),
        ({"url": "127.0.0.1:7860"}, "generation.automatic1111.url"),
        ({"sampler": ""}, "generation.automatic1111.sampler"),
        ({"checkpoint": "x"}, "generation.automatic1111.checkpoint"),
    ],
)
def test_config_errors_name_the_key(http: httpx.AsyncClient, options: dict[str, Any], key: str) -> None:
    with pytest.raises(BackendConfigError, match=key):
        create(options, http)


def test_the_entry_point_builds_it(http: httpx.AsyncClient) -> None:
    b = create_backend("automatic1111", {"url": "http://127.0.0.1:7861/", "concurrency": 2}, http)
    assert isinstance(b, Automatic1111Backend) and isinstance(b, Backend)
    assert (b.name, b.url, b.concurrency, b.supports_img2img) == (
        "automatic1111",
        "http://127.0.0.1:7861",
        2,
        True,
    )
