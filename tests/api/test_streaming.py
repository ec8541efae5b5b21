"""The streaming API over a real WebSocket: the app served by uvicorn on 127.0.0.1, a `websockets`
client receiving Mastodon's update, notification and delete events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets
from websockets.exceptions import InvalidStatus

from fedigen.api import streaming
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance


@pytest.fixture
async def server(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The instance's app on a free loopback port; yields its ws:// base URL."""
    monkeypatch.setattr(streaming, "POLL_SECONDS", 0.05)
    config = uvicorn.Config(instance.app, host="127.0.0.1", port=0, lifespan="off", ws="websockets-sansio",
                            log_level="warning")  # fmt: skip
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    for _ in range(500):
        if uv.started:
            break
        await asyncio.sleep(0.01)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}"
    uv.should_exit = True
    await task


async def next_event(ws: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        message = json.loads(await ws.recv())
    assert isinstance(message, dict)
    return message


async def test_user_stream_gets_updates_notifications_and_deletes(instance: Instance, server: str) -> None:
    await instance.create_account("alice")
    await instance.create_account("bob")
    token = await issue_token(instance, "alice")
    bob = bearer(await issue_token(instance, "bob"))
    async with websockets.connect(f"{server}/api/v1/streaming?stream=user&access_token={token}") as ws:
        posted = await instance.client.post(
            "/api/v1/statuses", data={"status": "live!"}, headers=bearer(token)
        )
        update = await next_event(ws)
        assert update["stream"] == ["user"] and update["event"] == "update"
        assert isinstance(update["payload"], str)
        assert json.loads(update["payload"])["id"] == posted.json()["id"]
        await instance.client.post(f"/api/v1/statuses/{posted.json()['id']}/favourite", headers=bob)
        note = await next_event(ws)
        assert note["event"] == "notification"
        assert json.loads(note["payload"])["type"] == "favourite"
        await instance.client.delete(f"/api/v1/statuses/{posted.json()['id']}", headers=bearer(token))
        gone = await next_event(ws)
        assert gone == {"stream": ["user"], "event": "delete", "payload": posted.json()["id"]}


async def test_subscribe_to_public_and_hashtag_with_the_protocol_header(
    instance: Instance, server: str
) -> None:
    await instance.create_account("alice")
    token = await issue_token(instance, "alice")
    async with websockets.connect(f"{server}/api/v1/streaming", subprotocols=[token]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
        await ws.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert (await next_event(ws))["error"] == "Unknown stream type"
        await instance.client.post("/api/v1/statuses", data={"status": "no tag"}, headers=bearer(token))
        tagged = await instance.client.post(
            "/api/v1/statuses", data={"status": "#cats"}, headers=bearer(token)
        )
        event = await next_event(ws)
        assert event["stream"] == ["hashtag", "cats"]
        assert json.loads(event["payload"])["id"] == tagged.json()["id"]
    async with websockets.connect(f"{server}/api/v1/streaming?stream=public:local") as anonymous:
        posted = await instance.client.post(
            "/api/v1/statuses", data={"status": "hi all"}, headers=bearer(token)
        )
        event = await next_event(anonymous)
        assert event["stream"] == ["public:local"]
        assert json.loads(event["payload"])["id"] == posted.json()["id"]


async def test_refusals(instance: Instance, server: str) -> None:
    with pytest.raises(InvalidStatus):
        async with websockets.connect(f"{server}/api/v1/streaming?stream=user&access_token=wrong"):
            pass
    with pytest.raises(InvalidStatus):  # the user stream needs a token
        async with websockets.connect(f"{server}/api/v1/streaming?stream=user"):
            pass
    health = await instance.client.get("/api/v1/streaming/health")
    assert health.status_code == 200 and health.text == "OK"
