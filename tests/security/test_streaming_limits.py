"""The streaming API has limits: user streams need a token, each address and each token holds only
so many connections, and a stream closes soon after its token is revoked."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest
import websockets
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fedigen.api import streaming
from storage.clients import OAuthToken
from storage.models import utcnow
from tests.api.conftest import issue_token
from tests.conftest import Instance


async def refused(url: str) -> int:
    """The HTTP status a refused handshake got."""
    with pytest.raises(InvalidStatus) as caught:
        async with websockets.connect(url):
            pass
    return caught.value.response.status_code


async def closed_with(ws: websockets.ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(5):
            while True:
                await ws.recv()
    return ws.close_code


async def test_user_streams_need_a_token(instance: Instance, server: str) -> None:
    assert await refused(f"{server}/api/v1/streaming?stream=user") == 403


async def test_connections_per_token_and_per_address_are_capped(instance: Instance, server: str) -> None:
    await instance.create_account("alice")
    token = await issue_token(instance, "alice")
    object.__setattr__(instance.settings.api, "streams_per_token", 2)
    object.__setattr__(instance.settings.api, "streams_per_ip", 3)
    async with AsyncExitStack() as stack:
        for _ in range(2):
            await stack.enter_async_context(
                websockets.connect(f"{server}/api/v1/streaming?stream=user&access_token={token}")
            )
        assert await refused(f"{server}/api/v1/streaming?stream=user&access_token={token}") == 429
        await stack.enter_async_context(websockets.connect(f"{server}/api/v1/streaming?stream=public"))
        assert await refused(f"{server}/api/v1/streaming?stream=public") == 429  # the address's fourth
    # Closed connections free their places (once the server has seen them go).
    for _ in range(50):
        if not instance.app.state.open_streams.counts:
            break
        await asyncio.sleep(0.05)
    assert instance.app.state.open_streams.counts == {}
    async with websockets.connect(f"{server}/api/v1/streaming?stream=public") as ws:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.recv()  # open: nothing to say, and no close


async def test_a_stream_closes_when_its_token_is_revoked(
    instance: Instance,
    server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streaming, "RECHECK_SECONDS", 0.1)
    await instance.create_account("alice")
    token = await issue_token(instance, "alice")
    async with websockets.connect(f"{server}/api/v1/streaming?stream=user&access_token={token}") as ws:
        async with instance.services.sessions() as session, session.begin():
            await session.execute(update(OAuthToken).values(revoked_at=utcnow()))
        assert await closed_with(ws) == streaming.CLOSE_UNAUTHORIZED
