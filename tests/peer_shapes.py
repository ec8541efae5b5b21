# ruff: noqa: E501 - the fixture documents keep their fields on the lines their servers write them
"""Documents as the major fediverse servers really send them, for tests that drive them through the inbox.

Each :class:`Peer` dresses a :class:`~tests.remote_actor.RemoteActor` as one server software does: its
actor document, where its key lives (and what is served there), the Notes it sends and the Deletes. The
shapes were written field by field from each project's source and documentation:

- Mastodon 4.5: app/serializers/activitypub/{actor,note,delete}_serializer.rb (``contentMap``,
  ``interactionPolicy.canQuote``, ``likes``/``shares`` with ``totalItems``, ``Tombstone`` objects
  with ``atomUri``), keys at ``ACTOR#main-key``.
- GoToSocial: docs/federation/federating_with_gotosocial.md and actors.md (keys at
  ``ACTOR/main-key``, served as an actor stub; no shared inbox; ULID ids under ``/statuses/``,
  ``interactionPolicy`` with ``canLike``/``canReply``/``canAnnounce``; Deletes name the object by id).
- Misskey / Sharkey: packages/backend/src/core/activitypub/ApRendererService.ts (actors at
  ``/users/<id>`` whose preferredUsername differs from the path, Notes at ``/notes/<id>``,
  ``_misskey_content`` with the MFM source, ``summary`` U+200B for an empty content warning,
  ``_misskey_quote`` / ``quoteUrl``, WebP attachments with ``sensitive`` per file).
- Pleroma / Akkoma: lib/pleroma/web/activity_pub/transmogrifier.ex and the views (objects at
  ``/objects/<uuid>``, activities at ``/activities/<uuid>``, ``context`` / ``conversation``,
  ``source`` with a mediaType, Deletes naming the object by id).
- Pixelfed: app/Transformer/ActivityPub/Verb/CreateNote.php and Profile.php (posts at
  ``/p/<user>/<id>``, ``Image`` attachments with ``blurhash``, ``width``, ``height``,
  ``commentsEnabled``, ``capabilities``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.remote_actor import MASTODON_CONTEXT, PUBLIC, RemoteActor, RemoteServer

AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
_serial = itertools.count(1)


def _image(server: RemoteServer, path: str, media_type: str, alt: str | None, **extra: Any) -> dict[str, Any]:
    return {"type": "Document", "mediaType": media_type, "url": f"{server.base}{path}", "name": alt, **extra}


@dataclass(frozen=True)
class Peer:
    """How one server software shapes an account's documents and activities."""

    software: str
    dress: Callable[[RemoteActor], None]  # adjust the actor document (and serve key documents)
    key_id: Callable[[RemoteActor], str]
    note: Callable[[RemoteActor, str], dict[str, Any]]  # a public image post mentioning the actor id given
    create: Callable[[RemoteActor, dict[str, Any]], dict[str, Any]]
    delete: Callable[[RemoteActor, dict[str, Any]], dict[str, Any]]
    expected_acct: Callable[[RemoteActor], str]


def _mention(target: str) -> dict[str, Any]:
    host = target.split("/")[2]
    return {"type": "Mention", "href": target, "name": f"@{target.rsplit('/', 1)[-1]}@{host}"}


# --- Mastodon 4.5 ---------------------------------------------------------------------------------------


def _mastodon_dress(actor: RemoteActor) -> None:
    actor.extra.update({
        "memorial": False, "attributionDomains": [], "suspended": False,
        "featuredTags": f"{actor.ap_id}/collections/tags",
    })  # fmt: skip


def _mastodon_note(actor: RemoteActor, target: str) -> dict[str, Any]:
    n = 113_000_000_000 + next(_serial)
    ap_id = f"{actor.ap_id}/statuses/{n}"
    content = f'<p><span class="h-card"><a href="{target}" class="u-url mention">@<span>alice</span></a></span> a heron</p>'
    return {
        "id": ap_id, "type": "Note", "summary": None, "inReplyTo": None, "published": "2026-11-30T10:00:00Z",
        "url": f"{actor.server.base}/@{actor.username}/{n}", "attributedTo": actor.ap_id,
        "to": [PUBLIC], "cc": [actor.followers, target], "sensitive": False,
        "atomUri": ap_id, "inReplyToAtomUri": None, "conversation": f"tag:{actor.server.host},2026-11-30:objectId={n}",
        "content": content, "contentMap": {"en": content},
        "attachment": [_image(actor.server, f"/system/media_attachments/files/{n}/original/heron.jpg",
                              "image/jpeg", "a grey heron on one leg", blurhash="UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
                              focalPoint=[0.0, 0.1], width=1200, height=800)],
        "tag": [_mention(target)],
        "replies": {"id": f"{ap_id}/replies", "type": "Collection",
                    "first": {"type": "CollectionPage", "next": f"{ap_id}/replies?only_other_accounts=true&page=true",
                              "partOf": f"{ap_id}/replies", "items": []}},
        "likes": {"id": f"{ap_id}/likes", "type": "Collection", "totalItems": 3},
        "shares": {"id": f"{ap_id}/shares", "type": "Collection", "totalItems": 1},
        "interactionPolicy": {"canQuote": {"automaticApproval": [PUBLIC]}},
    }  # fmt: skip


def _mastodon_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": MASTODON_CONTEXT, "id": f"{note['id']}/activity", "type": "Create", "actor": actor.ap_id,
            "published": note["published"], "to": note["to"], "cc": note["cc"], "object": note}  # fmt: skip


def _mastodon_delete(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": [AS, {"ostatus": "http://ostatus.org#", "atomUri": "ostatus:atomUri"}],
            "id": f"{note['id']}#delete", "type": "Delete", "actor": actor.ap_id, "to": [PUBLIC],
            "object": {"id": note["id"], "type": "Tombstone", "atomUri": note["id"]}}  # fmt: skip


MASTODON = Peer(
    "mastodon",
    _mastodon_dress,
    lambda a: f"{a.ap_id}#main-key",
    _mastodon_note,
    _mastodon_create,
    _mastodon_delete,
    lambda a: f"{a.username}@{a.server.host}",
)


# --- GoToSocial -----------------------------------------------------------------------------------------


def _gts_key(actor: RemoteActor) -> str:
    return f"{actor.ap_id}/main-key"


def _gts_dress(actor: RemoteActor) -> None:
    key = {"id": _gts_key(actor), "owner": actor.ap_id, "publicKeyPem": actor.keys.public_pem}
    actor.extra.update({"@context": [SECURITY, AS, {"toot": "http://joinmastodon.org/ns#",
                                                    "discoverable": "toot:discoverable"}],
                        "publicKey": key, "url": f"{actor.server.base}/@{actor.username}"})  # fmt: skip
    actor.server.serve({"@context": [SECURITY, AS], "id": actor.ap_id, "preferredUsername": actor.username,
                        "publicKey": key, "type": "Person"}, url=_gts_key(actor))  # fmt: skip


def _gts_note(actor: RemoteActor, target: str) -> dict[str, Any]:
    ulid = f"01JD{next(_serial):022d}"
    ap_id = f"{actor.ap_id}/statuses/{ulid}"
    return {
        "@context": [AS, "https://gotosocial.org/ns"],
        "id": ap_id, "type": "Note", "attributedTo": actor.ap_id, "published": "2026-11-30T10:00:00Z",
        "url": f"{actor.server.base}/@{actor.username}/statuses/{ulid}",
        "to": [PUBLIC], "cc": [actor.followers, target], "sensitive": False, "summary": "",
        "content": f'<p>hey <span class="h-card"><a href="{target}" class="u-url mention">@<span>alice</span></a></span> look</p>',
        "contentMap": {"en": "<p>hey @alice look</p>"},
        "attachment": [_image(actor.server, f"/fileserver/01J/attachment/original/{ulid}.jpeg", "image/jpeg",
                              "a red kite over a beach", blurhash="LKO2?U%2Tw=w]~RBVZRi};RPxuwH")],
        "tag": [_mention(target)],
        "replies": f"{ap_id}/replies",
        "interactionPolicy": {"canLike": {"always": [PUBLIC], "approvalRequired": []},
                              "canReply": {"always": [PUBLIC], "approvalRequired": []},
                              "canAnnounce": {"always": [PUBLIC], "approvalRequired": []}},
    }  # fmt: skip


def _gts_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": AS, "id": f"{note['id']}/activity#Create", "type": "Create", "actor": actor.ap_id,
            "published": note["published"], "to": note["to"], "cc": note["cc"],
            "object": {k: v for k, v in note.items() if k != "@context"}}  # fmt: skip


def _gts_delete(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": AS, "id": f"{note['id']}/activity#Delete", "type": "Delete", "actor": actor.ap_id,
            "to": [PUBLIC], "cc": [actor.followers], "object": note["id"]}  # fmt: skip


GOTOSOCIAL = Peer(
    "gotosocial",
    _gts_dress,
    _gts_key,
    _gts_note,
    _gts_create,
    _gts_delete,
    lambda a: f"{a.username}@{a.server.host}",
)


# --- Misskey / Sharkey ----------------------------------------------------------------------------------

MISSKEY_CONTEXT: list[Any] = [
    AS, SECURITY,
    {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "sensitive": "as:sensitive",
     "Hashtag": "as:Hashtag", "quoteUrl": "as:quoteUrl", "toot": "http://joinmastodon.org/ns#",
     "Emoji": "toot:Emoji", "featured": "toot:featured", "discoverable": "toot:discoverable",
     "misskey": "https://misskey-hub.net/ns#", "_misskey_content": "misskey:_misskey_content",
     "_misskey_quote": "misskey:_misskey_quote", "_misskey_reaction": "misskey:_misskey_reaction",
     "_misskey_votes": "misskey:_misskey_votes", "_misskey_summary": "misskey:_misskey_summary",
     "isCat": "misskey:isCat", "vcard": "http://www.w3.org/2006/vcard/ns#"},
]  # fmt: skip


def _misskey_dress(actor: RemoteActor) -> None:
    # Misskey's actor URL carries the account's internal id; the handle is preferredUsername.
    actor.extra.update({"@context": MISSKEY_CONTEXT, "preferredUsername": "kyo", "type": "Person",
                        "_misskey_summary": "the sea, mostly", "isCat": False, "url": f"{actor.server.base}/@kyo",
                        "featured": f"{actor.ap_id}/collections/featured"})  # fmt: skip


def _misskey_note(actor: RemoteActor, target: str) -> dict[str, Any]:
    ap_id = f"{actor.server.base}/notes/9zq{next(_serial):05d}"
    return {
        "id": ap_id, "type": "Note", "attributedTo": actor.ap_id, "inReplyTo": None,
        "content": f'<p><a href="{target}" class="u-url mention">@alice@fedigen.test</a> a cat on a roof</p>',
        "_misskey_content": "@alice@fedigen.test a cat on a roof",
        "source": {"content": "@alice@fedigen.test a cat on a roof", "mediaType": "text/x.misskey.markdown"},
        "published": "2026-11-30T10:00:00.000Z", "to": [PUBLIC], "cc": [actor.followers, target],
        "inReplyToAtomUri": None, "summary": "\u200b", "sensitive": False,
        "attachment": [_image(actor.server, "/files/webpublic-1234.webp", "image/webp", None, sensitive=False)],
        "tag": [{"type": "Mention", "href": target, "name": "@alice@fedigen.test"}],
    }  # fmt: skip


def _misskey_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": MISSKEY_CONTEXT, "id": f"{note['id']}/activity", "actor": actor.ap_id, "type": "Create",
            "published": note["published"], "object": note, "to": note["to"], "cc": note["cc"]}  # fmt: skip


def _misskey_delete(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": MISSKEY_CONTEXT, "id": f"{actor.server.base}/{next(_serial)}", "actor": actor.ap_id,
            "type": "Delete", "object": {"id": note["id"], "type": "Tombstone"}}  # fmt: skip


MISSKEY = Peer(
    "misskey",
    _misskey_dress,
    lambda a: f"{a.ap_id}#main-key",
    _misskey_note,
    _misskey_create,
    _misskey_delete,
    lambda a: f"kyo@{a.server.host}",
)


# --- Pleroma / Akkoma -----------------------------------------------------------------------------------


def _pleroma_context(actor: RemoteActor) -> list[Any]:
    return [AS, f"{actor.server.base}/schemas/litepub-0.1.jsonld", {"@language": "und"}]


def _pleroma_dress(actor: RemoteActor) -> None:
    actor.extra.update({
        "@context": _pleroma_context(actor), "capabilities": {"acceptsChatMessages": True},
        "endpoints": {"oauthAuthorizationEndpoint": f"{actor.server.base}/oauth/authorize",
                      "sharedInbox": f"{actor.server.base}/inbox", "uploadMedia": f"{actor.server.base}/api/ap/upload_media"},
        "url": actor.ap_id, "vcard:bday": None,
    })  # fmt: skip


def _pleroma_note(actor: RemoteActor, target: str) -> dict[str, Any]:
    uuid = f"8f2c1d3e-0000-4000-8000-{next(_serial):012d}"
    context = f"{actor.server.base}/contexts/{uuid}"
    return {
        "id": f"{actor.server.base}/objects/{uuid}", "type": "Note", "actor": actor.ap_id,
        "attributedTo": actor.ap_id, "cc": [actor.followers], "to": [PUBLIC, target],
        "content": f'<span class="h-card"><a class="u-url mention" data-user="A1" href="{target}" rel="ugc">@<span>alice</span></a></span> bread!',
        "source": {"content": "@alice@fedigen.test bread!", "mediaType": "text/plain"},
        "context": context, "conversation": context, "published": "2026-11-30T10:00:00.000000Z",
        "sensitive": False, "summary": "", "contentMap": {"und": "bread!"},
        "attachment": [_image(actor.server, f"/media/{uuid}/bread.png", "image/png", "a loaf of bread",
                              blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj")],
        "tag": [{"type": "Mention", "href": target, "name": "@alice@fedigen.test"}],
    }  # fmt: skip


def _pleroma_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    uuid = note["id"].rsplit("/", 1)[-1]
    return {"@context": _pleroma_context(actor), "id": f"{actor.server.base}/activities/{uuid}", "type": "Create",
            "actor": actor.ap_id, "to": note["to"], "cc": note["cc"], "context": note["context"],
            "directMessage": False, "published": note["published"], "object": note}  # fmt: skip


def _pleroma_delete(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": _pleroma_context(actor), "id": f"{actor.server.base}/activities/del-{next(_serial)}",
            "type": "Delete", "actor": actor.ap_id, "to": [PUBLIC], "cc": [actor.followers],
            "object": note["id"]}  # fmt: skip


PLEROMA = Peer(
    "pleroma",
    _pleroma_dress,
    lambda a: f"{a.ap_id}#main-key",
    _pleroma_note,
    _pleroma_create,
    _pleroma_delete,
    lambda a: f"{a.username}@{a.server.host}",
)


# --- Pixelfed -------------------------------------------------------------------------------------------


def _pixelfed_dress(actor: RemoteActor) -> None:
    actor.extra.update({"url": f"{actor.server.base}/{actor.username}", "manuallyApprovesFollowers": False,
                        "endpoints": {"sharedInbox": f"{actor.server.base}/f/inbox"}})  # fmt: skip


def _pixelfed_note(actor: RemoteActor, target: str) -> dict[str, Any]:
    n = 700_000_000_000_000_000 + next(_serial)
    ap_id = f"{actor.server.base}/p/{actor.username}/{n}"
    return {
        "@context": [AS, SECURITY, {"sc": "http://schema.org#", "Hashtag": "as:Hashtag", "sensitive": "as:sensitive",
                                    "commentsEnabled": "sc:Boolean", "capabilities": {"announce": {"@type": "@id"},
                                    "like": {"@type": "@id"}, "reply": {"@type": "@id"}}}],
        "id": ap_id, "type": "Note", "summary": None, "content": f'mountains <a href="{target}">@alice</a>',
        "inReplyTo": None, "published": "2026-11-30T10:00:00+00:00", "url": ap_id, "attributedTo": actor.ap_id,
        "to": [PUBLIC], "cc": [actor.followers, target], "sensitive": False,
        "attachment": [{"type": "Image", "mediaType": "image/jpeg", "url": f"{actor.server.base}/storage/m/_v2/{n}.jpg",
                        "name": "snowy peaks at sunrise", "blurhash": "U9Fs:x-;00of~qWBIUay00ay?bj[",
                        "width": 1080, "height": 1350}],
        "tag": [_mention(target)], "commentsEnabled": True,
        "capabilities": {"announce": PUBLIC, "like": PUBLIC, "reply": PUBLIC}, "location": None,
    }  # fmt: skip


def _pixelfed_create(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": note["@context"], "id": f"{note['id']}/activity", "type": "Create", "actor": actor.ap_id,
            "to": note["to"], "cc": note["cc"], "object": {k: v for k, v in note.items() if k != "@context"}}  # fmt: skip


def _pixelfed_delete(actor: RemoteActor, note: dict[str, Any]) -> dict[str, Any]:
    return {"@context": AS, "id": f"{note['id']}#delete", "type": "Delete", "actor": actor.ap_id,
            "to": [PUBLIC], "object": {"id": note["id"], "type": "Tombstone"}}  # fmt: skip


PIXELFED = Peer(
    "pixelfed",
    _pixelfed_dress,
    lambda a: f"{a.ap_id}#main-key",
    _pixelfed_note,
    _pixelfed_create,
    _pixelfed_delete,
    lambda a: f"{a.username}@{a.server.host}",
)

PEERS = [MASTODON, GOTOSOCIAL, MISSKEY, PLEROMA, PIXELFED]


def account_on(server: RemoteServer, peer: Peer, username: str) -> RemoteActor:
    """An account of ``server`` dressed as ``peer`` shapes it (Misskey's path is an internal id)."""
    actor = server.add_actor(username if peer is not MISSKEY else "9c0ab1d2e3")
    peer.dress(actor)
    return actor
