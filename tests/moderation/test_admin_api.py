"""The prompt rules admins edit (API, in force at once) and the refusals moderators read, with the roles
each needs: 403 for the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fedigen.social import prompt_rules
from fedigen.social.roles import Role
from storage.models import Actor, PromptRule
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import RemoteActor

BASE = "http://fedigen.test"
RULES = "/api/fedigen/admin/prompt_rules"
REFUSALS = "/api/fedigen/admin/refusals"
ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture
async def inst(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path, backend, generation={"size": "64x64", "blocked_terms": ["forbidden"]})
    async with start_instance(settings, router) as instance:
        await instance.create_account("admin", role=Role.ADMIN)
        await instance.create_account("mod", role=Role.MODERATOR)
        await instance.create_account("alice")
        yield instance


async def generate(inst: Instance, token: str, prompt: str) -> int:
    response = await inst.client.post(
        "/api/v1/fedigen/generations", json={"prompt": prompt}, headers=bearer(token)
    )
    return response.status_code


async def test_admins_edit_the_prompt_rules_and_they_apply_at_once(inst: Instance) -> None:
    admin = bearer(await issue_token(inst, "admin", ADMIN_SCOPES))
    alice = await issue_token(inst, "alice", "read write admin:read admin:write")
    mod = bearer(await issue_token(inst, "mod", ADMIN_SCOPES))

    listed = await inst.client.get(RULES, headers=admin)
    assert listed.status_code == 200
    [config_rule] = listed.json()
    assert (config_rule["kind"], config_rule["value"], config_rule["source"]) == (
        "term",
        "forbidden",
        "config",
    )

    assert await generate(inst, alice, "a dragon over the sea") == 202
    added = await inst.client.post(RULES, json={"kind": "term", "value": "Dragon"}, headers=admin)
    assert added.status_code == 200, added.text
    assert added.json()["value"] == "Dragon" and added.json()["source"] == "admin"
    # In force at once: this process's copy is re-read when the version counter moves (at most 1 s later).
    await asyncio.sleep(prompt_rules.RECHECK_SECONDS)
    assert await generate(inst, alice, "a DRAGON over the sea") == 422

    pattern = await inst.client.post(RULES, data={"kind": "pattern", "value": r"\bwyrm(s)?\b"}, headers=admin)
    assert pattern.status_code == 200
    for bad, word in [
        ({"kind": "pattern", "value": "(unclosed"}, "regular expression"),
        ({"kind": "term", "value": "   "}, "blank"),
        ({"kind": "word", "value": "x"}, "kind"),
        ({"kind": "term", "value": "dragon"}, "already"),
    ]:
        refused = await inst.client.post(RULES, json=bad, headers=admin)
        assert refused.status_code == 422 and word in refused.json()["error"], (bad, refused.text)

    removed = await inst.client.delete(f"{RULES}/{config_rule['id']}", headers=admin)
    assert removed.status_code == 200
    assert (await inst.client.delete(f"{RULES}/{config_rule['id']}", headers=admin)).status_code == 404
    await asyncio.sleep(prompt_rules.RECHECK_SECONDS)
    assert await generate(inst, alice, "something forbidden") == 202
    # A config rule an admin removed is not seeded again (the next process start).
    assert await prompt_rules.seed(inst.services) == 0
    values = [r["value"] for r in (await inst.client.get(RULES, headers=admin)).json()]
    assert values == ["Dragon", r"\bwyrm(s)?\b"]

    # Members and moderators may not (MANAGE_SETTINGS is an admin's).
    for who in (bearer(alice), mod):
        assert (await inst.client.get(RULES, headers=who)).status_code == 403
        assert (await inst.client.post(RULES, json={"value": "x"}, headers=who)).status_code == 403
        assert (await inst.client.delete(f"{RULES}/{added.json()['id']}", headers=who)).status_code == 403
    async with inst.services.reads() as session:
        assert len(list(await session.scalars(select(PromptRule)))) == 3  # nothing more was stored


async def test_refusals_are_listed_for_moderators(inst: Instance, bob: RemoteActor) -> None:
    alice = await issue_token(inst, "alice")
    assert await generate(inst, alice, "something forbidden") == 422
    # Bob asks the bot for the same.
    note = bob.note(
        f'<p><a href="{BASE}/@imagine">@imagine</a> a forbidden thing</p>', mention=f"{BASE}/users/imagine"
    )
    assert (await bob.post(inst.client, "/inbox", bob.create(note))).status_code == 202
    await inst.drain()
    await asyncio.wait(list(inst.services.pending)) if inst.services.pending else None

    mod = bearer(await issue_token(inst, "mod", "read admin:read"))
    response = await inst.client.get(REFUSALS, headers=mod)
    assert response.status_code == 200, response.text
    newest, oldest = response.json()
    async with inst.services.reads() as session:
        alice_id = await session.scalar(
            select(Actor.id).where(Actor.username == "alice", Actor.domain.is_(None))
        )
    assert (oldest["kind"], oldest["origin"], oldest["prompt"]) == (
        "prompt",
        "generation",
        "something forbidden",
    )
    assert oldest["account"] == {"id": str(alice_id), "username": "alice", "acct": "alice"}
    assert "not allowed" in oldest["reason"]
    assert (newest["origin"], newest["prompt"], newest["account"]["acct"]) == (
        "bot", "a forbidden thing", "bob@remote.test"
    )  # fmt: skip
    assert 'rel="next"' in response.headers["link"]

    one = await inst.client.get(REFUSALS, params={"limit": 1, "max_id": newest["id"]}, headers=mod)
    assert [r["id"] for r in one.json()] == [oldest["id"]]
    future = await inst.client.get(REFUSALS, params={"since": "2999-01-01"}, headers=mod)
    assert future.json() == []
    assert (
        len((await inst.client.get(REFUSALS, params={"since": "2000-01-01T00:00:00Z"}, headers=mod)).json())
        == 2
    )
    assert (await inst.client.get(REFUSALS, params={"kind": "image"}, headers=mod)).json() == []
    bad = await inst.client.get(REFUSALS, params={"since": "yesterday"}, headers=mod)
    assert bad.status_code == 422 and "since" in bad.json()["error"]

    member = bearer(await issue_token(inst, "alice", "read admin:read"))
    assert (await inst.client.get(REFUSALS, headers=member)).status_code == 403
    no_scope = bearer(await issue_token(inst, "mod", "read"))
    assert (await inst.client.get(REFUSALS, headers=no_scope)).status_code == 403
