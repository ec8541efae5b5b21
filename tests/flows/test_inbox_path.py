"""The inbox's short way in (fedigen.federation.inbox_path): inbox POSTs are answered before the general
middleware stack, with the same outcomes; a browser's POST (with an Origin) takes the general way."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import InboxItem
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

ALICE = "http://fedigen.test/users/alice"


async def queued(inst: Instance) -> set[str]:
    async with inst.services.sessions() as session:
        return set(await session.scalars(select(InboxItem.activity_ap_id)))


@pytest.mark.parametrize("path", ["/inbox", "/users/alice/inbox", "/actor/inbox"])
async def test_an_inbox_post_is_answered_without_the_middleware_stack(
    fedigen: Instance, bob: RemoteActor, path: str
) -> None:
    app: Any = fedigen.app
    stack = app.middleware_stack or app.build_middleware_stack()  # an inbox POST never enters it
    entered: list[str] = []

    async def watched(scope: Any, receive: Any, send: Any) -> None:
        entered.append(scope["path"])
        await stack(scope, receive, send)

    app.middleware_stack = watched
    create = bob.create(bob.note(mention=ALICE))
    response = await bob.post(fedigen.client, path, create)
    assert response.status_code == 202, response.text
    assert response.content == b"" and "access-control-allow-origin" not in response.headers
    assert entered == []
    assert create["id"] in await queued(fedigen)
    # Everything else still goes through it.
    assert (await fedigen.client.get("/api/v1/instance")).status_code == 200
    assert entered == ["/api/v1/instance"]


async def test_a_post_with_an_origin_takes_the_general_way_and_gets_cors_headers(
    fedigen: Instance, bob: RemoteActor
) -> None:
    create = bob.create(bob.note(mention=ALICE))
    response = await bob.post(fedigen.client, "/inbox", create, headers={"Origin": "https://elsewhere.test"})
    assert response.status_code == 202, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    assert create["id"] in await queued(fedigen)


@pytest.mark.parametrize("origin", [None, "https://elsewhere.test"])
async def test_refusals_are_the_same_both_ways(
    fedigen: Instance, bob: RemoteActor, origin: str | None
) -> None:
    extra = {"Origin": origin} if origin else {}
    create = bob.create(bob.note(mention=ALICE))
    nobody = await bob.post(fedigen.client, "/users/nobody/inbox", create, headers=extra)
    assert nobody.status_code == 404 and nobody.json() == {"error": "no local account named 'nobody'"}
    unsigned = await fedigen.client.post(
        "/inbox", content=b"{}", headers={"Content-Type": "application/activity+json", **extra}
    )
    assert unsigned.status_code == 401 and "error" in unsigned.json()
    assert unsigned.headers["www-authenticate"].startswith("Signature")
    wrong_type = await bob.post(
        fedigen.client, "/inbox", create, headers={"Content-Type": "text/plain", **extra}
    )
    assert wrong_type.status_code == 415, wrong_type.text
    async with fedigen.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxItem)) == 0


async def test_an_unexpected_failure_is_a_plain_500_and_reaches_the_servers_log(
    fedigen: Instance, bob: RemoteActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("something broke")

    monkeypatch.setattr("fedigen.federation.inbox_path.accept_inbox_post", broken)
    transport = httpx.ASGITransport(app=fedigen.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=str(fedigen.client.base_url)) as client:
        response = await bob.post(client, "/inbox", bob.create(bob.note(mention=ALICE)))
    assert response.status_code == 500 and response.text == "Internal Server Error"
    with pytest.raises(RuntimeError, match="something broke"):  # as the general way: on to the server
        await bob.post(fedigen.client, "/inbox", bob.create(bob.note(mention=ALICE)))
    assert await queued(fedigen) == set()
