"""The generation bot: anyone who mentions it with a prompt gets an image reply, or a reason why not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer, verify_delivery

BASE = "http://fedigen.test"
BOT = f"{BASE}/users/imagine"


@pytest.fixture
async def botted(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(
        tmp_path, backend, generation={"size": "128x128", "blocked_terms": ["forbidden"]},
        bot={"per_account_per_hour": 2, "per_domain_per_hour": 10},
    )  # fmt: skip
    async with start_instance(settings, router) as inst:
        yield inst


async def ask(inst: Instance, who: RemoteActor, text: str, **note: Any) -> dict[str, Any]:
    """``who`` mentions the bot with ``text``; the worker answers."""
    request = who.note(f'<p><span class="h-card"><a href="{BASE}/@imagine">@imagine</a></span> {text}</p>',
                       mention=BOT, **note)  # fmt: skip
    response = await who.post(inst.client, "/inbox", who.create(request))
    assert response.status_code == 202, response.text
    await inst.drain()
    return request


async def replies(inst: Instance, remote: RemoteServer, who: RemoteActor) -> list[dict[str, Any]]:
    found = []
    for request in remote.posts():
        await verify_delivery(request, inst.client)
        doc = request.json
        if doc["type"] == "Create" and doc["actor"] == BOT and who.ap_id in doc["to"] + doc["cc"]:
            found.append(doc["object"])
    return found


async def test_the_bot_is_a_service_actor(botted: Instance) -> None:
    response = await botted.client.get("/users/imagine", headers={"Accept": "application/activity+json"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["type"] == "Service" and doc["name"] == "Imagine" and "Mention me" in doc["summary"]


async def test_a_mention_with_a_prompt_gets_an_image_reply(
    botted: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    request = await ask(botted, bob, "a lighthouse in fog")
    [reply] = await replies(botted, remote, bob)
    assert reply["inReplyTo"] == request["id"]
    assert PUBLIC in reply["to"] and bob.ap_id in reply["cc"]
    assert any(t["type"] == "Mention" and t["href"] == bob.ap_id for t in reply["tag"])
    [image] = reply["attachment"]
    assert image["name"] == "a lighthouse in fog" and (image["width"], image["height"]) == (128, 128)
    assert reply["generation"]["prompt"] == "a lighthouse in fog"


async def test_a_direct_request_gets_a_direct_reply(
    botted: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await ask(botted, bob, "a quiet pond", to=[BOT], cc=[])
    [reply] = await replies(botted, remote, bob)
    assert reply["to"] == [bob.ap_id] and reply["cc"] == []
    assert reply["attachment"]


async def test_refusals_say_why_and_the_limit_holds_without_flooding(
    botted: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await ask(botted, bob, "something forbidden")
    [refusal] = await replies(botted, remote, bob)
    assert "not allowed" in refusal["content"] and refusal["attachment"] == []
    await ask(botted, bob, "a red kite")  # the refusal counted: this is the second of two
    await ask(botted, bob, "a blue kite")  # over the limit: told once
    await ask(botted, bob, "a green kite")  # and then silence
    answers = await replies(botted, remote, bob)
    assert len(answers) == 3
    assert answers[1]["attachment"] and "last hour" in answers[2]["content"]


async def test_an_empty_prompt_gets_help_and_other_bots_get_nothing(
    botted: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await ask(botted, bob, "")
    [help_reply] = await replies(botted, remote, bob)
    assert "tell me what to draw" in help_reply["content"]
    other_bot = remote.add_actor("otherbot", type="Service")
    await ask(botted, other_bot, "a lighthouse")
    assert await replies(botted, remote, other_bot) == []


async def test_the_domain_limit_covers_all_its_accounts(
    tmp_path: Path,
    backend: str,
    router: HostRouter,
    remote: RemoteServer,
    bob: RemoteActor,
    carol: RemoteActor,
) -> None:
    settings = make_settings(tmp_path, backend, generation={"size": "64x64"},
                             bot={"per_account_per_hour": 5, "per_domain_per_hour": 2})  # fmt: skip
    async with start_instance(settings, router) as inst:
        await ask(inst, bob, "one")
        await ask(inst, bob, "two")
        await ask(inst, carol, "three")
        [refusal] = await replies(inst, remote, carol)
        assert "remote.test has asked for many images" in refusal["content"] and not refusal["attachment"]
        assert [bool(r["attachment"]) for r in await replies(inst, remote, bob)] == [True, True]
