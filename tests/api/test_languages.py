"""Post languages: every local post has one (the one asked for, else the author's default posting
language, Mastodon's ``source[language]``, else ``[instance] default_language``), validated as ISO 639-1
(422 otherwise), sent as the Note's ``contentMap`` and returned as ``language``; edits keep or change
it; C2S Notes keep their ``contentMap``'s; received posts' come from theirs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.config import ConfigError, settings_from_mapping
from fedigen.social import follows
from storage.models import Actor, Status
from tests.api.conftest import TokenMaker, bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import AS2_TYPE, RemoteActor, RemoteServer

AS2 = {"Accept": AS2_TYPE}
ALICE = "http://fedigen.test/users/alice"


@pytest.fixture
async def alice(instance: Instance, make_token: TokenMaker) -> dict[str, str]:
    await instance.create_account("alice")
    return bearer(await make_token("alice"))


async def post(instance: Instance, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await instance.client.post("/api/v1/statuses", json=fields, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def note_of(instance: Instance, status: dict[str, Any]) -> dict[str, Any]:
    response = await instance.client.get(status["uri"], headers=AS2)
    assert response.status_code == 200
    note: dict[str, Any] = response.json()
    return note


async def statuses(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Status)) or 0)


async def test_the_language_is_the_posts_else_the_authors_default_else_the_instances(
    instance: Instance, alice: dict[str, str]
) -> None:
    plain = await post(instance, alice, status="no language given")
    assert plain["language"] == "en"  # the instance's default
    note = await note_of(instance, plain)
    assert note["contentMap"] == {"en": note["content"]} and "summaryMap" not in note

    # The author's default posting language, set as Mastodon apps set it (a form field) ...
    changed = await instance.client.patch(
        "/api/v1/accounts/update_credentials", data={"source[language]": "fr"}, headers=alice
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["source"]["language"] == "fr"
    verified = await instance.client.get("/api/v1/accounts/verify_credentials", headers=alice)
    assert verified.json()["source"]["language"] == "fr"
    preferences = await instance.client.get("/api/v1/preferences", headers=alice)
    assert preferences.json()["posting:default:language"] == "fr"
    assert (await post(instance, alice, status="bonjour"))["language"] == "fr"
    # ... the post's own wins, in any case, and a regional form names its language (as Mastodon reads it).
    assert (await post(instance, alice, status="hallo", language="de"))["language"] == "de"
    assert (await post(instance, alice, status="oi", language="pt-BR"))["language"] == "pt"
    assert (await post(instance, alice, status="hi", language="EN"))["language"] == "en"
    assert (await post(instance, alice, status="default", language=""))["language"] == "fr"

    # As JSON too; "" clears it, and the instance's default applies again.
    as_json = await instance.client.patch(
        "/api/v1/accounts/update_credentials", json={"source": {"language": "es"}}, headers=alice
    )
    assert as_json.json()["source"]["language"] == "es"
    assert (await post(instance, alice, status="hola"))["language"] == "es"
    cleared = await instance.client.patch(
        "/api/v1/accounts/update_credentials", json={"source": {"language": ""}}, headers=alice
    )
    assert cleared.json()["source"]["language"] is None
    assert (await post(instance, alice, status="hello again"))["language"] == "en"


@pytest.mark.parametrize("language", ["xx", "english", "e", "en-", "<b>", "zh-Hant-TW-x"])
async def test_a_language_that_is_not_iso_639_1_is_refused(
    instance: Instance, alice: dict[str, str], language: str
) -> None:
    refused = await instance.client.post(
        "/api/v1/statuses", json={"status": "x", "language": language}, headers=alice
    )
    assert refused.status_code == 422 and refused.json()["error"].startswith("Validation failed: language")
    assert await statuses(instance) == 0
    setting = await instance.client.patch(
        "/api/v1/accounts/update_credentials", data={"source[language]": language}, headers=alice
    )
    assert setting.status_code == 422 and "source[language]" in setting.json()["error"]
    async with instance.services.sessions() as session:
        assert await session.scalar(select(Actor.default_language).where(Actor.username == "alice")) is None


async def test_edits_keep_or_change_the_language_and_federate_it(
    instance: Instance, alice: dict[str, str], remote: RemoteServer, bob: RemoteActor
) -> None:
    followed = await bob.post(instance.client, "/users/alice/inbox", bob.activity("Follow", ALICE))
    assert followed.status_code == 202
    await instance.drain()
    created = await post(instance, alice, status="guten Tag", language="de")
    edited = await instance.client.put(
        f"/api/v1/statuses/{created['id']}", json={"status": "guten Abend"}, headers=alice
    )
    assert edited.json()["language"] == "de"
    changed = await instance.client.put(
        f"/api/v1/statuses/{created['id']}", json={"status": "buona sera", "language": "it"}, headers=alice
    )
    assert changed.json()["language"] == "it"
    bad = await instance.client.put(
        f"/api/v1/statuses/{created['id']}", json={"status": "?", "language": "zz"}, headers=alice
    )
    assert bad.status_code == 422
    await instance.drain()
    sent = [r.json for r in remote.posts() if r.json.get("type") in ("Create", "Update")]
    assert [(d["type"], list(d["object"]["contentMap"])) for d in sent] == [
        ("Create", ["de"]), ("Update", ["de"]), ("Update", ["it"]),
    ]  # fmt: skip
    assert (await note_of(instance, created))["contentMap"] == {"it": "<p>buona sera</p>"}


async def test_c2s_notes_keep_the_language_of_their_content_map(
    instance: Instance, alice: dict[str, str], make_token: TokenMaker
) -> None:
    token = await make_token("alice")
    headers = {**bearer(token), "Content-Type": AS2_TYPE}
    note = {
        "type": "Note",
        "contentMap": {"ja": "<p>こんにちは</p>"},
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }
    created = await instance.client.post("/users/alice/outbox", content=json.dumps(note), headers=headers)
    assert created.status_code == 201, created.text
    async with instance.services.sessions() as session:
        status = await session.scalar(select(Status))
    assert status is not None and status.language == "ja" and "こんにちは" in status.content
    update = {
        "type": "Update",
        "object": {"id": status.ap_id, "type": "Note", "contentMap": {"ko": "<p>안녕</p>"}},
    }
    assert (
        await instance.client.post("/users/alice/outbox", content=json.dumps(update), headers=headers)
    ).status_code == 201
    shown = (await instance.client.get(f"/api/v1/statuses/{status.id}")).json()
    assert shown["language"] == "ko" and "안녕" in shown["content"]
    wrong = {"type": "Note", "content": "x", "contentMap": {"klingon": "x"}}
    refused = await instance.client.post("/users/alice/outbox", content=json.dumps(wrong), headers=headers)
    assert refused.status_code == 422
    assert await statuses(instance) == 1


async def test_received_posts_keep_the_language_of_their_content_map(
    instance: Instance, alice: dict[str, str], bob: RemoteActor
) -> None:
    async with instance.services.sessions() as session, session.begin():
        me = await session.scalar(select(Actor).where(Actor.username == "alice"))
        assert me is not None
        await follows.follow(
            instance.services,
            session,
            me,
            await instance.services.resolver.get_actor(bob.ap_id, session=session),
        )
    await instance.drain()
    accept = bob.activity("Accept", {"type": "Follow", "actor": ALICE, "object": bob.ap_id})
    assert (await bob.post(instance.client, "/inbox", accept)).status_code == 202
    german = bob.note("<p>Hallo</p>", contentMap={"de": "<p>Hallo</p>"})
    odd = bob.note("<p>?</p>", contentMap={"<script>": "<p>?</p>"})
    untagged = bob.note("<p>no map</p>")
    for note in (german, odd, untagged):
        assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code == 202
    await instance.drain()
    home = await instance.client.get("/api/v1/timelines/home", headers=alice)
    languages = {s["uri"]: s["language"] for s in home.json()}
    assert languages == {german["id"]: "de", odd["id"]: None, untagged["id"]: None}


async def test_the_instance_default_language_is_configured_and_listed(
    tmp_path: Path, router: HostRouter
) -> None:
    settings = make_settings(tmp_path, "sqlite", instance={"default_language": "ja"})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        token = bearer(await issue_token(inst, "alice"))
        assert (await post(inst, token, status="こんにちは"))["language"] == "ja"
        for path in ("/api/v1/instance", "/api/v2/instance"):
            assert (await inst.client.get(path)).json()["languages"] == ["ja"]
        listed = (await inst.client.get("/api/v1/instance/languages")).json()
        assert {"code": "ja", "name": "Japanese"} in listed and {"code": "en", "name": "English"} in listed
        assert len(listed) == 184 and all(len(item["code"]) == 2 for item in listed)
    with pytest.raises(ConfigError, match="instance.default_language"):
        settings_from_mapping({"instance": {"url": "https://x.example", "default_language": "xx"}})
