"""The inbox writer: accepted POSTs stored in groups, each answered only once its row is committed.

Through the in-process app (signed POSTs from the fake remote server) and, for what no HTTP request can
provoke on demand (a bad row inside a group, a shutdown with rows waiting), the writer itself. The crash
test against a real `fedigen serve` is tests/flows/test_inbox_crash.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from activitypub.errors import BlockedError, InboxUnavailableError
from activitypub.inbox_writer import InboxWriter
from fedigen.services import open_services
from fedigen.social import domains
from storage.models import Actor, InboxItem, utcnow
from tests.conftest import Instance
from tests.remote_actor import RemoteActor

INBOX = "/users/alice/inbox"
ALICE = "http://fedigen.test/users/alice"


async def inbox_ids(inst: Instance) -> list[str]:
    async with inst.services.reads() as session:
        return sorted(await session.scalars(select(InboxItem.activity_ap_id)))


async def first_contact(inst: Instance, bob: RemoteActor) -> str:
    """One accepted POST, so bob's key and the domain policies are cached as under load."""
    create = bob.create(bob.note(mention=ALICE))
    assert (await bob.post(inst.client, INBOX, create)).status_code == 202
    return str(create["id"])


def row(ap_id: str, actor: str, recipient_id: int | None = None) -> dict[str, Any]:
    return {
        "activity_ap_id": ap_id, "ap_type": "Create", "actor_ap_id": actor, "host": "remote.test",
        "recipient_id": recipient_id, "document": {"id": ap_id, "type": "Create", "actor": actor},
    }  # fmt: skip


async def test_concurrent_posts_share_commits_and_dedupe_within_and_across_groups(
    fedigen: Instance, bob: RemoteActor
) -> None:
    first = await first_contact(fedigen, bob)
    writer = fedigen.services.inbox
    writer.interval = 0.05  # wide enough that concurrent requests surely meet in a group
    groups_before = writer.groups
    creates = [bob.create(bob.note(mention=ALICE)) for _ in range(20)]
    replayed = json.dumps(creates[0]).encode()  # the same signed bytes, five times at once
    url = f"{fedigen.settings.base_url}{INBOX}"
    replay_headers = bob.sign(url, replayed)
    posts = [bob.post(fedigen.client, INBOX, c) for c in creates[1:]]
    posts += [fedigen.client.post(INBOX, content=replayed, headers=replay_headers) for _ in range(5)]
    responses = await asyncio.gather(*posts)
    assert [r.status_code for r in responses] == [202] * 24
    # 24 requests, fewer transactions; one row per distinct activity, the replayed one stored once.
    assert writer.groups - groups_before < 24
    assert await inbox_ids(fedigen) == sorted([first, *(c["id"] for c in creates)])
    # Across groups: the same activity again, later, is a duplicate (202, nothing new).
    again = await fedigen.client.post(INBOX, content=replayed, headers=replay_headers)
    assert again.status_code == 202
    assert len(await inbox_ids(fedigen)) == 21


async def test_a_failed_commit_answers_503_and_the_senders_retry_is_stored(
    fedigen: Instance, bob: RemoteActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await first_contact(fedigen, bob)
    create = bob.create(bob.note(mention=ALICE))

    def broken(*_args: Any) -> set[str]:
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    monkeypatch.setattr("activitypub.inbox_writer._insert_rows", broken)
    response = await bob.post(fedigen.client, INBOX, create)
    assert response.status_code == 503, response.text
    assert "try again" in response.json()["error"]
    assert await inbox_ids(fedigen) == [first]
    monkeypatch.undo()
    assert (await bob.post(fedigen.client, INBOX, create)).status_code == 202
    assert await inbox_ids(fedigen) == sorted([first, create["id"]])


async def test_a_domain_suspended_by_another_process_refuses_the_very_next_post(
    fedigen: Instance, bob: RemoteActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await first_contact(fedigen, bob)
    # This process's copy of the policies is not read again before the next POST...
    monkeypatch.setattr("activitypub.domains.CHECK_INTERVAL", 3600.0)
    # ... while another process (the CLI, another server) suspends bob's domain.
    async with open_services(fedigen.settings) as other, other.sessions() as session, session.begin():
        await domains.block(other, session, "remote.test", severity=domains.SUSPEND)
    response = await bob.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)))
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "your domain is blocked here"
    assert await inbox_ids(fedigen) == [first]


async def test_one_bad_row_does_not_refuse_the_rest_of_its_group(fedigen: Instance, bob: RemoteActor) -> None:
    writer = InboxWriter(fedigen.services.engine, fedigen.services.resolver.domains, interval=0.2)
    try:
        good = [writer.submit(row(f"{bob.ap_id}/activities/g{n}", bob.ap_id)) for n in range(3)]
        # A recipient that does not exist: the foreign key fails the whole group's INSERT.
        bad = writer.submit(row(f"{bob.ap_id}/activities/bad", bob.ap_id, recipient_id=987654))
        results = await asyncio.gather(*good, bad, return_exceptions=True)
    finally:
        await writer.aclose()
    assert results[:3] == [True, True, True]
    assert isinstance(results[3], InboxUnavailableError)
    assert await inbox_ids(fedigen) == sorted(f"{bob.ap_id}/activities/g{n}" for n in range(3))


async def test_closing_stores_the_rows_waiting_then_refuses_new_ones(
    fedigen: Instance, bob: RemoteActor
) -> None:
    # A long interval: without the flush at close these rows would still be waiting.
    writer = InboxWriter(fedigen.services.engine, fedigen.services.resolver.domains, interval=30.0)
    waiting = [
        asyncio.create_task(writer.submit(row(f"{bob.ap_id}/activities/w{n}", bob.ap_id))) for n in range(4)
    ]
    await asyncio.sleep(0)
    async with asyncio.timeout(10):
        await writer.aclose()
    assert [t.result() for t in waiting] == [True] * 4
    assert writer.groups == 1
    assert len(await inbox_ids(fedigen)) == 4
    with pytest.raises(InboxUnavailableError):
        await writer.submit(row(f"{bob.ap_id}/activities/late", bob.ap_id))
    assert len(await inbox_ids(fedigen)) == 4


async def test_a_deleted_sender_in_a_group_is_refused_and_the_others_stored(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    await first_contact(fedigen, bob)
    await first_contact(fedigen, carol)
    async with fedigen.services.sessions() as session, session.begin():
        actor = await session.scalar(select(Actor).where(Actor.ap_id == carol.ap_id))
        assert actor is not None
        actor.deleted_at = utcnow()
    writer = InboxWriter(fedigen.services.engine, fedigen.services.resolver.domains, interval=0.2)
    try:
        results = await asyncio.gather(
            writer.submit(row(f"{bob.ap_id}/activities/x", bob.ap_id)),
            writer.submit(row(f"{carol.ap_id}/activities/x", carol.ap_id)),
            return_exceptions=True,
        )
    finally:
        await writer.aclose()
    assert results[0] is True
    assert isinstance(results[1], BlockedError)
    async with fedigen.services.reads() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(InboxItem).where(InboxItem.actor_ap_id == carol.ap_id)
            )
            == 1
        )  # its first contact only


async def test_a_database_failure_answers_the_whole_group_at_once_without_retrying_each_row(
    fedigen: Instance, bob: RemoteActor, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def locked(*_args: Any) -> set[str]:
        nonlocal calls
        calls += 1
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr("activitypub.inbox_writer._insert_rows", locked)
    writer = InboxWriter(fedigen.services.engine, fedigen.services.resolver.domains, interval=0.2)
    try:
        results = await asyncio.gather(
            *(writer.submit(row(f"{bob.ap_id}/activities/l{n}", bob.ap_id)) for n in range(3)),
            return_exceptions=True,
        )
    finally:
        await writer.aclose()
    assert all(isinstance(r, InboxUnavailableError) for r in results)
    assert calls == 1  # a locked or unreachable database is not asked again once per row
    assert await inbox_ids(fedigen) == []


async def test_concurrent_checks_past_the_interval_read_the_policies_once(
    fedigen: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    policies = fedigen.services.resolver.domains
    assert not await policies.refused("http://remote.test/users/bob")  # the copy is read
    opened: list[int] = []
    reads = policies.reads

    def counted() -> Any:
        opened.append(1)
        return reads()

    monkeypatch.setattr(policies, "reads", counted)
    policies._checked_at -= 3600  # the copy is due for a read
    results = await asyncio.gather(*(policies.refused(f"http://h{n}.test/x") for n in range(32)))
    assert results == [False] * 32
    assert len(opened) == 1  # the requests that arrived meanwhile kept the copy of a moment ago
