"""Received activities are read into typed records, and what asks nothing of us (or breaks the
protocol's rules) reads as None; the dispatcher drops record types nobody registered."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub import received
from activitypub.dispatch import Dispatcher
from activitypub.fetch import Fetched
from storage.models import Actor
from storage.vocabulary import Visibility

BOB = "https://remote.test/users/bob"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class FakeFetcher:
    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = documents
        self.fetched: list[str] = []

    async def fetch_object(self, url: str) -> Fetched:
        self.fetched.append(url)
        return Fetched(url, self.documents[url])


class FakeResolver:
    """What ``received.read`` uses of a Resolver: its fetcher, actor lookups and the private-address flag."""

    allow_private_addresses = False

    def __init__(
        self, documents: dict[str, dict[str, Any]] | None = None, actors: dict[str, Actor] | None = None
    ):
        self.fetcher = FakeFetcher(documents or {})
        self.actors = actors or {}

    async def get_actor(self, ap_id: str, *, refresh: bool = False) -> Actor:
        return self.actors[ap_id]


def bob() -> Actor:
    return Actor(id=7, ap_id=BOB, username="bob", domain="remote.test", followers_url=f"{BOB}/followers",
                 also_known_as=[])  # fmt: skip


def note(**fields: Any) -> dict[str, Any]:
    doc = {"id": "https://remote.test/notes/1", "type": "Note", "attributedTo": BOB, "content": "<p>hi</p>",
           "to": [PUBLIC], "cc": [f"{BOB}/followers"]}  # fmt: skip
    return {**doc, **fields}


async def read(doc: dict[str, Any], resolver: FakeResolver | None = None) -> received.Received | None:
    full = {"id": "https://remote.test/activities/1", "actor": BOB, **doc}
    return await received.read(resolver or FakeResolver(), bob(), full)  # type: ignore[arg-type]


async def test_a_create_reads_into_a_note_record() -> None:
    record = await read({"type": "Create", "object": note(tag=[{"type": "Hashtag", "name": "#Boats"}])})
    assert isinstance(record, received.NoteReceived) and not record.edited
    assert record.note.visibility == Visibility.PUBLIC and record.note.hashtags == ["boats"]
    assert record.note.content == "<p>hi</p>"


async def test_a_create_by_reference_is_fetched_from_the_senders_host_only() -> None:
    resolver = FakeResolver({"https://remote.test/notes/1": note()})
    record = await read({"type": "Create", "object": "https://remote.test/notes/1"}, resolver)
    assert isinstance(record, received.NoteReceived)
    elsewhere = FakeResolver({"https://other.test/notes/1": note(id="https://other.test/notes/1")})
    assert await read({"type": "Create", "object": "https://other.test/notes/1"}, elsewhere) is None
    assert elsewhere.fetcher.fetched == []


@pytest.mark.parametrize(
    "doc",
    [
        {"type": "Create", "object": note(attributedTo="https://remote.test/users/carol")},  # case 16
        {"type": "Create", "object": note(id="https://other.test/notes/1")},  # case 15
        {"type": "Update", "object": {"type": "Person", "id": "https://remote.test/users/carol"}},  # case 17
        {"type": "Delete", "object": "https://other.test/notes/1"},  # case 18
        {"type": "Undo", "object": {"type": "Like", "actor": "https://remote.test/users/carol", "id": "x"}},
        {"type": "Follow"},
        {"type": "Listen", "object": "https://remote.test/songs/1"},
    ],
    ids=[
        "not-own-note",
        "note-elsewhere",
        "other-actor",
        "delete-elsewhere",
        "undo-other",
        "no-object",
        "unknown",
    ],
)
async def test_what_breaks_the_rules_or_asks_nothing_reads_as_none(doc: dict[str, Any]) -> None:
    assert await read(doc) is None


async def test_answers_undos_and_moves_carry_what_handlers_need() -> None:
    ours = {"type": "Follow", "actor": "https://fedigen.test/users/a", "object": BOB}
    accept = await read({"type": "Accept", "object": ours, "result": "https://remote.test/stamps/1"})
    assert isinstance(accept, received.AnswerReceived) and accept.accepted
    assert (accept.follower_ap_id, accept.followee_ap_id) == ("https://fedigen.test/users/a", BOB)
    assert accept.result_ap_id == "https://remote.test/stamps/1"
    undo = await read({"type": "Undo", "object": "https://remote.test/likes/1"})
    assert isinstance(undo, received.UndoReceived) and undo.inner_type is None
    new = Actor(
        id=8, ap_id="https://new.test/users/bob", username="bob", domain="new.test", also_known_as=[BOB]
    )
    moved = await read(
        {"type": "Move", "object": BOB, "target": new.ap_id}, FakeResolver(actors={new.ap_id: new})
    )
    assert isinstance(moved, received.MoveReceived) and moved.target is new
    new.also_known_as = []  # the new account must name the old one
    assert (
        await read(
            {"type": "Move", "object": BOB, "target": new.ap_id}, FakeResolver(actors={new.ap_id: new})
        )
        is None
    )


async def test_the_dispatcher_drops_record_types_nobody_registered() -> None:
    dispatcher: Dispatcher[None] = Dispatcher(FakeResolver(), None, {})  # type: ignore[arg-type]
    record = await read({"type": "Like", "object": "https://fedigen.test/users/a/statuses/1"})
    assert isinstance(record, received.LikeReceived)
    await dispatcher.apply(None, record)  # type: ignore[arg-type]  # no handler: logged, no error
