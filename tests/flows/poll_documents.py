"""Questions (polls) and votes as Mastodon, Misskey and Pleroma really send them, for the poll tests.

Each builder follows the sender's own serializer, field by field (facts only, nothing copied):

- Mastodon 4.x: app/serializers/activitypub/note_serializer.rb (type Question when the status has a
  poll; ``oneOf``/``anyOf`` of Notes with ``name`` and ``replies {type: Collection, totalItems}``;
  ``endTime``; ``closed`` once expired; ``votersCount``, declared as ``toot:votersCount``), the
  ``atomUri``/``conversation`` ostatus terms, ``contentMap``; votes:
  app/serializers/activitypub/vote_serializer.rb (Create of a Note with ``name``, ``inReplyTo``,
  ``attributedTo``, ``to`` the poll's author, id ``ACTOR#votes/N``).
- Misskey 13+: packages/backend/src/core/activitypub/ApRendererService.ts ``renderNote`` (a Note whose
  ``type`` the poll turns into Question, ``_misskey_content``, ``source`` in MFM, ``quoteUrl``,
  ``endTime`` (``closed`` once over), options with ``replies.totalItems``; no ``votersCount``), and
  ``renderVote`` for its votes.
- Misskey 11 (src/remote/activitypub/renderer/note.ts): the same inline poll, with ``_misskey_question``
  naming the poll's own Question document, and ``closed`` (the end time) instead of ``endTime`` once
  the poll is over.
- Pleroma/Akkoma: lib/pleroma/web/common_api/utils.ex ``make_poll_data`` (options as Notes with
  ``replies``, the end time in ``closed``, not ``endTime``) and transmogrifier.ex ``prepare_object``
  (``votersCount`` from the voters, ``actor`` and ``attributedTo``, ``context``/``conversation``,
  ``emoji``), inside a Create whose ``@context`` names the LitePub context.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.remote_actor import AS_CONTEXT, MASTODON_CONTEXT, PUBLIC, RemoteActor


def when(delta: timedelta) -> str:
    """An xsd:dateTime ``delta`` from now."""
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def _options(names: list[str], counts: list[int]) -> list[dict[str, Any]]:
    return [
        {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": count}}
        for name, count in zip(names, counts, strict=True)
    ]


MASTODON_NOTE_CONTEXT: list[Any] = [
    AS_CONTEXT,
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
    },
]


def mastodon_question(
    actor: RemoteActor, text: str, names: list[str], counts: list[int], *, multiple: bool = False,
    end: str | None = None, closed: str | None = None, voters: int | None = None, **fields: Any,
) -> dict[str, Any]:  # fmt: skip
    """A Mastodon status with a poll, as its NoteSerializer renders it."""
    ap_id = actor.new_id("statuses")
    number = ap_id.rsplit("/", 1)[-1]
    doc: dict[str, Any] = {
        "id": ap_id,
        "type": "Question",
        "summary": None,
        "inReplyTo": None,
        "published": when(timedelta(minutes=-5)),
        "url": f"{actor.server.base}/@{actor.username}/{number}",
        "attributedTo": actor.ap_id,
        "to": [PUBLIC],
        "cc": [actor.followers],
        "sensitive": False,
        "atomUri": ap_id,
        "inReplyToAtomUri": None,
        "conversation": f"tag:{actor.server.host},2026-12-01:objectId={number}:objectType=Conversation",
        "content": f"<p>{text}</p>",
        "contentMap": {"en": f"<p>{text}</p>"},
        "attachment": [],
        "tag": [],
        "replies": {
            "id": f"{ap_id}/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": f"{ap_id}/replies?only_other_accounts=true&page=true",
                "partOf": f"{ap_id}/replies",
                "items": [],
            },
        },  # fmt: skip
        "endTime": end or when(timedelta(days=1)),
        "anyOf" if multiple else "oneOf": _options(names, counts),
    }
    if closed is not None:
        doc["closed"] = closed
    if voters is not None:
        doc["votersCount"] = voters
    doc.update(fields)
    return doc


def mastodon_create(actor: RemoteActor, question: dict[str, Any]) -> dict[str, Any]:
    """Mastodon's Create of a status: ``ID/activity``, the object's audience, its context."""
    return {
        "@context": MASTODON_NOTE_CONTEXT,
        "id": f"{question['id']}/activity",
        "type": "Create",
        "actor": actor.ap_id,
        "published": question["published"],
        "to": question["to"],
        "cc": question["cc"],
        "object": question,
    }


def mastodon_tally_update(actor: RemoteActor, question: dict[str, Any], n: int) -> dict[str, Any]:
    """Mastodon's Update of a poll's counts (UpdatePollSerializer): ``ID#updates/N``, no ``updated`` on
    the Question unless the status was edited before."""
    return {
        "@context": MASTODON_NOTE_CONTEXT,
        "id": f"{question['id']}#updates/{n}",
        "type": "Update",
        "actor": actor.ap_id,
        "to": question["to"],
        "object": question,
    }


def mastodon_vote(actor: RemoteActor, question_id: str, author: str, name: str, n: int) -> dict[str, Any]:
    """A Mastodon account's vote for one option (VoteSerializer)."""
    note = {"id": f"{actor.ap_id}#votes/{n}", "type": "Note", "name": name, "attributedTo": actor.ap_id,
            "inReplyTo": question_id, "to": author}  # fmt: skip
    return {"@context": MASTODON_CONTEXT, "id": f"{actor.ap_id}#votes/{n}/activity", "type": "Create",
            "actor": actor.ap_id, "to": author, "object": note}  # fmt: skip


MISSKEY_CONTEXT: list[Any] = [
    AS_CONTEXT,
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "quoteUrl": "as:quoteUrl",
        "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji",
        "featured": "toot:featured",
        "discoverable": "toot:discoverable",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "misskey": "https://misskey-hub.net/ns#",
        "_misskey_content": "misskey:_misskey_content",
        "_misskey_quote": "misskey:_misskey_quote",
        "_misskey_reaction": "misskey:_misskey_reaction",
        "_misskey_votes": "misskey:_misskey_votes",
        "isCat": "misskey:isCat",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
    },
]


def misskey_question(
    actor: RemoteActor, text: str, names: list[str], counts: list[int], *, multiple: bool, end: str,
    mention: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A Misskey note with a poll (renderNote: the poll's ``type`` overrides Note)."""
    ap_id = f"{actor.server.base}/notes/{actor.new_id('n').rsplit('/', 1)[-1]}9k2x"
    tags: list[dict[str, Any]] = []
    cc = [actor.followers]
    html = f"<p><span>{text}</span></p>"
    if mention:
        handle = "@" + mention.rsplit("/", 1)[-1]
        tags.append({"type": "Mention", "href": mention, "name": handle + "@fedigen.test"})
        cc.append(mention)
        html = (
            f'<p><a href="{mention}" class="u-url mention">{handle}@fedigen.test</a><span> {text}</span></p>'
        )
    return {
        "id": ap_id,
        "type": "Question",
        "attributedTo": actor.ap_id,
        "summary": None,
        "content": html,
        "_misskey_content": text,
        "source": {"content": text, "mediaType": "text/x.misskeymarkdown"},
        "published": when(timedelta(minutes=-2)),
        "to": [PUBLIC],
        "cc": cc,
        "inReplyTo": None,
        "attachment": [],
        "sensitive": False,
        "tag": tags,
        "endTime": end,
        "anyOf" if multiple else "oneOf": _options(names, counts),
    }


def misskey11_question(actor: RemoteActor, text: str, names: list[str], counts: list[int], *, ended: str,
                       mention: str) -> dict[str, Any]:  # fmt: skip
    """A Misskey 11 note with an ended poll: ``_misskey_question``, ``closed``, no ``source``."""
    note = misskey_question(actor, text, names, counts, multiple=False, end=ended, mention=mention)
    number = note["id"].rsplit("/", 1)[-1]
    del note["endTime"], note["source"]
    note["closed"] = ended
    note["_misskey_question"] = f"{actor.server.base}/questions/{number}"
    note["_misskey_quote"] = None
    return note


def misskey_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    """Misskey's Create (renderCreate): ``NOTE/activity``, with ``published``."""
    return {"@context": MISSKEY_CONTEXT, "id": f"{note['id']}/activity", "actor": actor.ap_id,
            "type": "Create", "published": note["published"], "object": note, "to": note["to"],
            "cc": note["cc"]}  # fmt: skip


def pleroma_question(
    actor: RemoteActor, text: str, names: list[str], counts: list[int], *, closes: str, voters: int,
    mention: str,
) -> dict[str, Any]:  # fmt: skip
    """A Pleroma poll status: the end time in ``closed``, ``votersCount``, ``actor`` and ``attributedTo``."""
    context = f"{actor.server.base}/contexts/7c2f1e0a-9b1d-4e57-8d62-1f3a4c6b8e90"
    return {
        "id": f"{actor.server.base}/objects/5b6c7d8e-0f1a-4b2c-9d3e-4f5a6b7c8d9e",
        "type": "Question",
        "actor": actor.ap_id,
        "attributedTo": actor.ap_id,
        "to": [PUBLIC, mention],
        "cc": [actor.followers],
        "content": f'<span class="h-card"><a class="u-url mention" href="{mention}">@<span>alice</span></a>'
        f"</span> {text}",
        "context": context,
        "conversation": context,
        "summary": "",
        "sensitive": False,
        "published": when(timedelta(minutes=-1)),
        "tag": [{"type": "Mention", "href": mention, "name": "@alice@fedigen.test"}],
        "emoji": {},
        "attachment": [],
        "oneOf": _options(names, counts),
        "closed": closes,
        "votersCount": voters,
    }  # fmt: skip


def pleroma_create(actor: RemoteActor, question: dict[str, Any]) -> dict[str, Any]:
    """Pleroma's Create, with the LitePub context (an IRI fedigen never fetches)."""
    return {
        "@context": [AS_CONTEXT, f"{actor.server.base}/schemas/litepub-0.1.jsonld", {"@language": "und"}],
        "id": f"{actor.server.base}/activities/0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
        "type": "Create",
        "actor": actor.ap_id,
        "to": question["to"],
        "cc": question["cc"],
        "context": question["context"],
        "directMessage": False,
        "object": question,
    }
