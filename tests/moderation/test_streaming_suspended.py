"""A suspended account's open stream is closed (as a revoked token's is) and a new one refused."""

from __future__ import annotations

import asyncio

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from fedigen.api import streaming
from fedigen.social import account_moderation
from storage.models import Actor
from tests.api.conftest import issue_token
from tests.api.test_streaming import server  # noqa: F401 - the fixture: the app on a loopback port
from tests.conftest import Instance


async def test_a_suspended_account_s_stream_closes_and_cannot_reopen(
    instance: Instance,
    server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(streaming, "RECHECK_SECONDS", 0.1)
    tom = await instance.create_account("tom")
    token = await issue_token(instance, "tom", "read")
    url = f"{server}/api/v1/streaming?stream=user&access_token={token}"
    async with websockets.connect(url) as ws:
        async with instance.services.sessions() as session, session.begin():
            target = await session.get(Actor, tom.id)
            assert target is not None
            await account_moderation.act(instance.services, session, target, "suspend")
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == streaming.CLOSE_UNAUTHORIZED
    with pytest.raises(InvalidStatus):
        async with websockets.connect(url):
            pass
