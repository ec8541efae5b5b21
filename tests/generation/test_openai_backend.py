"""The openai backend against a loopback stand-in of the OpenAI images API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from generation.backend import Backend, GenerationRequest, create_backend, no_progress
from generation.backends.openai import OpenAIBackend, create
from generation.errors import BackendConfigError, BackendError, BackendTimeoutError
from tests.generation.conftest import ProgressLog
from tests.generation.standins import OpenAIStandIn, image_size, png
from tests.support.server import free_port


def backend(server: OpenAIStandIn, http: httpx.AsyncClient, **options: Any) -> OpenAIBackend:
    return create({"base_url": server.url, "api_key": "sk-test", **options}, http)


async def test_generates_the_requested_images_with_gpt_image_defaults(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient, progress: ProgressLog
) -> None:
    result = await backend(openai_server, http).generate(
        GenerationRequest(prompt="a lighthouse", width=256, height=128, count=2), progress
    )

    assert [image_size(image.data) for image in result.images] == [(256, 128), (256, 128)]
    assert result.backend == "openai" and result.model == "gpt-image-1"
    assert all(image.seed is None for image in result.images)  # the API reports none
    assert result.extra["revised_prompts"] == ["a lighthouse!", "a lighthouse!"]
    assert progress.values == [0, 100]
    sent = openai_server.requests[0]
    assert sent["path"] == "/v1/images/generations"
    assert sent["json"] == {"model": "gpt-image-1", "prompt": "a lighthouse", "n": 2, "size": "256x128"}
    assert sent["headers"]["authorization"] == "Bearer sk-test"


async def test_url_responses_are_downloaded_with_the_same_client(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient
) -> None:
    b = backend(openai_server, http, model="dall-e-2", response_format="url", quality="standard")
    result = await b.generate(GenerationRequest(prompt="a fox", width=64, height=64), no_progress)

    assert image_size(result.images[0].data) == (64, 64)
    assert result.model == "dall-e-2"
    assert openai_server.requests[0]["json"]["response_format"] == "url"
    assert openai_server.requests[0]["json"]["quality"] == "standard"


async def test_the_key_comes_from_the_environment_when_read_at_create(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    b = create({"base_url": openai_server.url}, http)
    monkeypatch.delenv("OPENAI_API_KEY")

    await b.generate(GenerationRequest(prompt="a fox", width=64, height=64), no_progress)
    assert openai_server.requests[0]["headers"]["authorization"] == "Bearer sk-test"


async def test_a_wrong_key_is_a_permanent_error_with_the_servers_message(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(BackendError, match="HTTP 401.*Incorrect API key") as caught:
        await backend(openai_server, http, api_key="sk-wrong").generate(
            GenerationRequest(prompt="x"), no_progress
        )
    assert not caught.value.transient


async def test_remixes_go_to_the_edits_endpoint_with_the_init_image(
    openai_server: OpenAIStandIn, http: httpx.AsyncClient
) -> None:
    init = png(96, 96, (1, 2, 3))
    b = backend(openai_server, http)
    assert b.supports_img2img

    result = await b.generate(
        GenerationRequest(prompt="make it blue", width=128, height=128, init_image=init), no_progress
    )

    assert openai_server.init_images == [init]
    sent = openai_server.requests[0]
    assert sent["path"] == "/v1/images/edits"
    assert sent["form"] == {"model": "gpt-image-1", "prompt": "make it blue", "n": "1", "size": "128x128"}
    assert image_size(result.images[0].data) == (128, 128)


async def test_img2img_can_be_turned_off(openai_server: OpenAIStandIn, http: httpx.AsyncClient) -> None:
    b = backend(openai_server, http, img2img=False)
    assert not b.supports_img2img
    with pytest.raises(BackendError, match="img2img") as caught:
        await b.generate(GenerationRequest(prompt="x", init_image=png(64, 64)), no_progress)
    assert not caught.value.transient and openai_server.requests == []


@pytest.mark.parametrize(
    ("mode", "prompt", "transient", "message"),
    [
        ("ok", "", False, "HTTP 400.*Missing required parameter: 'prompt'"),
        ("refuse400", "x", False, "HTTP 400.*safety system"),
        ("fail500", "x", True, "HTTP 500.*The server had an error"),
        ("busy503", "x", True, r"HTTP 503.*Retry-After: 17"),
    ],
)
async def test_errors_are_classified(
    openai_server: OpenAIStandIn,
    http: httpx.AsyncClient,
    mode: str,
    prompt: str,
    transient: bool,
    message: str,
) -> None:
    openai_server.mode = mode
    with pytest.raises(BackendError, match=message) as caught:
        await backend(openai_server, http).generate(GenerationRequest(prompt=prompt), no_progress)
    assert caught.value.transient is transient


async def test_a_server_that_is_down_is_a_transient_error(http: httpx.AsyncClient) -> None:
    b = create({"base_url": f"http://127.0.0.1:{free_port()}"}, http)
    with pytest.raises(BackendError, match="cannot reach") as caught:
        await b.generate(GenerationRequest(prompt="x"), no_progress)
    assert caught.value.transient


async def test_a_slow_server_times_out(openai_server: OpenAIStandIn, http: httpx.AsyncClient) -> None:
    openai_server.mode = "slow"
    started = time.monotonic()
    with pytest.raises(BackendTimeoutError, match="within 0.3 s"):
        await backend(openai_server, http, timeout=0.3).generate(GenerationRequest(prompt="x"), no_progress)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"response_format": "xml"}, "generation.openai.response_format"),
        ({"timeout": 0}, "generation.openai.timeout"),
        ({"timeout": "soon"}, "generation.openai.timeout"),
        ({"concurrency": 0}, "generation.openai.concurrency"),
        ({"base_url": "ftp://example"}, "generation.openai.base_url"),
        ({"img2img": "maybe"}, "generation.openai.img2img"),
        ({"modle": "x"}, "generation.openai.modle"),
    ],
)
def test_config_errors_name_the_key(http: httpx.AsyncClient, options: dict[str, Any], key: str) -> None:
    with pytest.raises(BackendConfigError, match=key):
        create(options, http)


def test_the_entry_point_builds_it(http: httpx.AsyncClient) -> None:
    b = create_backend("openai", {"model": "dall-e-3", "concurrency": 3}, http)
    assert isinstance(b, OpenAIBackend) and isinstance(b, Backend)
    assert (b.name, b.model, b.concurrency, b.base_url) == ("openai", "dall-e-3", 3, "http://127.0.0.1:8080")
