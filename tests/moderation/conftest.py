"""Fixtures of the image moderation tests: the classifier stand-in on loopback, and instances whose
HTTP client reaches it through the real address guard (the fake network for everything else)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from activitypub.transport import AddressGuardBackend, GuardedTransport
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.moderation.classifier_standin import ClassifierStandIn

API_KEY = "sk-classifier"


class NetworkRouter(HostRouter):
    """The fake network, and the real one (through the address guard, as ``fedigen serve`` connects) for
    hosts not on it: a loopback classifier is reached only when private addresses are allowed."""

    def __init__(self, allow_private_addresses: bool) -> None:
        super().__init__()
        self.real = GuardedTransport(AddressGuardBackend(allow_private_addresses=allow_private_addresses))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.netloc.decode() in self.apps:
            return await super().handle_async_request(request)
        return await self.real.handle_async_request(request)

    async def aclose(self) -> None:
        await self.real.aclose()


@pytest.fixture
async def router() -> AsyncIterator[NetworkRouter]:
    """The fake network (remote.test and the instances) with the real one behind it, private addresses
    allowed (as the test settings allow them)."""
    network = NetworkRouter(allow_private_addresses=True)
    yield network
    await network.aclose()


@pytest.fixture(scope="module")
def classifier_server() -> Iterator[ClassifierStandIn]:
    with ClassifierStandIn(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def classifier(classifier_server: ClassifierStandIn) -> ClassifierStandIn:
    classifier_server.mode = "ok"
    classifier_server.requests.clear()
    classifier_server.images.clear()
    classifier_server.texts.clear()
    return classifier_server


Moderated = Callable[..., AbstractAsyncContextManager[Instance]]


@pytest.fixture
def moderated(tmp_path: Path, classifier: ClassifierStandIn, router: NetworkRouter) -> Moderated:
    """``async with moderated(refuse_if=[...], ...) as inst``: an instance with the classifier on (SQLite).
    ``federation=`` and ``generation=`` give further settings."""

    @asynccontextmanager
    async def start(
        *,
        federation: dict[str, Any] | None = None,
        generation: dict[str, Any] | None = None,
        **moderation: Any,
    ) -> AsyncIterator[Instance]:
        section = {"classifier_url": classifier.url, "classifier_api_key": API_KEY,
                   "classifier_model": "omni-test", **moderation}  # fmt: skip
        settings = make_settings(
            tmp_path, "sqlite", moderation=section, generation={"size": "128x128", **(generation or {})},
            **({"federation": federation} if federation else {}),
        )  # fmt: skip
        if settings.federation.allow_private_addresses:
            async with start_instance(settings, router) as inst:
                yield inst
            return
        guarded = NetworkRouter(allow_private_addresses=False)
        try:
            async with start_instance(settings, guarded) as inst:
                yield inst
        finally:
            await guarded.aclose()

    return start
