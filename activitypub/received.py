"""Activities received from other servers, read into typed records that the handlers act on.

The inbox queued each activity after its signature and origin checks (:mod:`activitypub.inbox`); here
the worker's copy is read once more, field by field, into one record per kind. Everything a record
holds has passed the protocol's rules: ids are strings, the object of a Create is the sender's own
Note (fetched from the sender's host when only its id was sent), a Move's target lists the sender as
an alias. What the activity *means* for our accounts is for the handlers that the composition root
registers with :class:`activitypub.dispatch.Dispatcher`; nothing here writes a social table.

``read()`` may fetch (the object of a Create sent by reference, the target of a Move), so the worker
calls it before it opens the transaction that applies the record.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from activitypub.emoji import EmojiReaction, read_reaction
from activitypub.errors import ActivityPubError, FetchError
from activitypub.jsonld import id_of, ids_of, type_of
from activitypub.notes import RemoteNote, read_note
from activitypub.resolver import Resolver
from activitypub.urls import same_origin
from activitypub.vocab import ACTOR_TYPES, NOTE_TYPES
from storage.models import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Received:
    """A verified activity from ``actor`` (the sender's row), and the document as it came."""

    ap_id: str
    actor: Actor
    document: dict[str, Any]

    @property
    def echo(self) -> dict[str, Any]:
        """The activity without its context, as an Accept or Reject carries it back."""
        return {k: v for k, v in self.document.items() if k != "@context"}


@dataclass(frozen=True)
class FollowReceived(Received):
    """Follow of ``object_ap_id``."""

    object_ap_id: str


@dataclass(frozen=True)
class AnswerReceived(Received):
    """Accept or Reject of one of our Follows or QuoteRequests.

    ``object_ap_id`` is the answered activity's id; when the peer embeds a Follow of its own making,
    ``follower_ap_id`` and ``followee_ap_id`` say who followed whom. ``result_ap_id`` is an Accept's
    FEP-044f QuoteAuthorization stamp.
    """

    accepted: bool
    object_ap_id: str | None
    follower_ap_id: str | None
    followee_ap_id: str | None
    result_ap_id: str | None


@dataclass(frozen=True)
class UndoReceived(Received):
    """Undo of the sender's own earlier activity (its type may be unknown when only its id is sent)."""

    inner_type: str | None
    inner_ap_id: str | None
    inner_object_ap_id: str | None


@dataclass(frozen=True)
class NoteReceived(Received):
    """Create (``edited`` False) or Update (True) of the sender's own Note-like object."""

    note: RemoteNote
    edited: bool


@dataclass(frozen=True)
class ProfileUpdated(Received):
    """Update of the sender's own actor document."""

    actor_document: dict[str, Any]


@dataclass(frozen=True)
class DeleteReceived(Received):
    """Delete of the sender itself (``object_ap_id`` is the sender) or of an object on its host."""

    object_ap_id: str

    @property
    def of_actor(self) -> bool:
        """Whether the sender deleted its account."""
        return self.object_ap_id == self.actor.ap_id


@dataclass(frozen=True)
class LikeReceived(Received):
    """Like of ``object_ap_id``; Misskey's carry the emoji reacted with (``_misskey_reaction``)."""

    object_ap_id: str
    reaction: EmojiReaction | None = None


@dataclass(frozen=True)
class EmojiReactReceived(Received):
    """Pleroma's and Akkoma's EmojiReact: ``object_ap_id`` reacted to with ``reaction``."""

    object_ap_id: str
    reaction: EmojiReaction


@dataclass(frozen=True)
class AnnounceReceived(Received):
    """Announce (boost) of ``object_ap_id``, addressed as ``to`` and ``cc``."""

    object_ap_id: str
    to: list[str]
    cc: list[str]


@dataclass(frozen=True)
class BlockReceived(Received):
    """Block of ``object_ap_id`` by the sender."""

    object_ap_id: str


@dataclass(frozen=True)
class MoveReceived(Received):
    """The sender moved to ``target``, which lists the sender in its ``alsoKnownAs``."""

    target: Actor


@dataclass(frozen=True)
class FlagReceived(Received):
    """A report: the objects named (accounts and posts) and the reporter's comment (plain text)."""

    object_ap_ids: list[str]
    comment: str


@dataclass(frozen=True)
class QuoteRequestReceived(Received):
    """FEP-044f QuoteRequest: may ``instrument_ap_id`` (the sender's post) quote ``object_ap_id``?"""

    object_ap_id: str
    instrument_ap_id: str | None
    # Filled before the transaction by the composition root's preparer: the instrument as fetched from
    # its own server, when it is the sender's post (a request's embedded copy is never trusted).
    prepared: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class FeaturedChanged(Received):
    """Add (``added``) or Remove of one of the sender's posts to or from its ``featured`` collection: a
    pin or an unpin. ``note`` is the post when the Add embeds it."""

    added: bool
    object_ap_id: str
    note: RemoteNote | None


Reader = Callable[[Resolver, Actor, dict[str, Any]], Awaitable[Received | None]]


def _base(actor: Actor, doc: dict[str, Any]) -> dict[str, Any]:
    return {"ap_id": str(doc["id"]), "actor": actor, "document": doc}


async def _follow(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    return FollowReceived(**_base(actor, doc), object_ap_id=target) if target else None


async def _answer(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    obj = doc.get("object")
    embedded = obj if isinstance(obj, dict) and obj.get("type") == "Follow" else {}
    return AnswerReceived(
        **_base(actor, doc), accepted=doc.get("type") == "Accept", object_ap_id=id_of(obj),
        follower_ap_id=id_of(embedded.get("actor")), followee_ap_id=id_of(embedded.get("object")),
        result_ap_id=id_of(doc.get("result")),
    )  # fmt: skip


async def _undo(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    inner = doc.get("object")
    if isinstance(inner, dict):
        if id_of(inner.get("actor")) not in (None, actor.ap_id):
            return None  # only one's own activities can be undone
        kind = inner.get("type") if isinstance(inner.get("type"), str) else None
        return UndoReceived(**_base(actor, doc), inner_type=kind, inner_ap_id=id_of(inner),
                            inner_object_ap_id=id_of(inner.get("object")))  # fmt: skip
    return UndoReceived(
        **_base(actor, doc), inner_type=None, inner_ap_id=id_of(inner), inner_object_ap_id=None
    )


async def _object_document(resolver: Resolver, actor: Actor, obj: Any) -> dict[str, Any] | None:
    """The embedded object, or the object fetched by id from the sender's own host."""
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, str) and same_origin(obj, actor.ap_id):
        return (await resolver.fetcher.fetch_object(obj)).document
    return None


def _own_note(resolver: Resolver, actor: Actor, obj: dict[str, Any]) -> RemoteNote | None:
    """The object as a RemoteNote if it is a Note-like object of the sender's, on its host."""
    if type_of(obj) not in NOTE_TYPES or id_of(obj.get("attributedTo")) != actor.ap_id:
        return None
    if not isinstance(obj.get("id"), str) or not same_origin(obj["id"], actor.ap_id):
        return None
    return read_note(obj, actor, allow_private=resolver.allow_private_addresses)


async def _create(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    obj = await _object_document(resolver, actor, doc.get("object"))
    note = _own_note(resolver, actor, obj) if obj is not None else None
    return NoteReceived(**_base(actor, doc), note=note, edited=False) if note else None


async def _update(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    obj = doc.get("object")
    if not isinstance(obj, dict):
        return None
    if type_of(obj) in ACTOR_TYPES:
        return (
            ProfileUpdated(**_base(actor, doc), actor_document=obj) if obj.get("id") == actor.ap_id else None
        )
    note = _own_note(resolver, actor, obj)
    return NoteReceived(**_base(actor, doc), note=note, edited=True) if note else None


async def _delete(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    if not target or not (target == actor.ap_id or same_origin(target, actor.ap_id)):
        return None
    return DeleteReceived(**_base(actor, doc), object_ap_id=target)


async def _like(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    if not target:
        return None
    reaction = read_reaction(doc, allow_private=resolver.allow_private_addresses)
    return LikeReceived(**_base(actor, doc), object_ap_id=target, reaction=reaction)


async def _emoji_react(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    """An EmojiReact whose content is no emoji is dropped, as Pleroma's validator refuses it."""
    target = id_of(doc.get("object"))
    reaction = read_reaction(doc, allow_private=resolver.allow_private_addresses)
    if not target or reaction is None:
        return None
    return EmojiReactReceived(**_base(actor, doc), object_ap_id=target, reaction=reaction)


async def _announce(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    if not target:
        return None
    return AnnounceReceived(**_base(actor, doc), object_ap_id=target, to=ids_of(doc.get("to")),
                            cc=ids_of(doc.get("cc")))  # fmt: skip


async def _block(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    return BlockReceived(**_base(actor, doc), object_ap_id=target) if target else None


async def _move(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    """Move of the sender to a new account, believed only when the new account lists the old one."""
    target_id = id_of(doc.get("target"))
    if id_of(doc.get("object")) != actor.ap_id or not target_id:
        return None
    try:
        target = await resolver.get_actor(target_id, refresh=True)
    except (ActivityPubError, FetchError) as exc:
        log.info("move of %s to %s not checked: %s", actor.ap_id, target_id, exc)
        return None
    if actor.ap_id not in (target.also_known_as or []):
        return None
    return MoveReceived(**_base(actor, doc), target=target)


async def _flag(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    content = doc.get("content")
    return FlagReceived(**_base(actor, doc), object_ap_ids=ids_of(doc.get("object"))[:101],
                        comment=content[:5000] if isinstance(content, str) else "")  # fmt: skip


async def _quote_request(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    target = id_of(doc.get("object"))
    if not target:
        return None
    return QuoteRequestReceived(
        **_base(actor, doc), object_ap_id=target, instrument_ap_id=id_of(doc.get("instrument"))
    )


async def _featured(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    """Add or Remove whose ``target`` is the sender's featured collection, of a post on its host.

    Other targets (Mastodon's featured hashtags collection, anything else) ask nothing of us.
    """
    target = id_of(doc.get("target"))
    obj = doc.get("object")
    object_ap_id = id_of(obj)
    if not target or target != actor.featured_url or not object_ap_id:
        return None
    if (isinstance(obj, dict) and type_of(obj) == "Hashtag") or not same_origin(object_ap_id, actor.ap_id):
        return None
    added = doc.get("type") == "Add"
    note = _own_note(resolver, actor, obj) if added and isinstance(obj, dict) else None
    return FeaturedChanged(**_base(actor, doc), added=added, object_ap_id=object_ap_id, note=note)


#: How each activity type is read; types not listed are logged and dropped.
READERS: dict[str, Reader] = {
    "Follow": _follow,
    "Accept": _answer,
    "Reject": _answer,
    "Undo": _undo,
    "Create": _create,
    "Update": _update,
    "Delete": _delete,
    "Like": _like,
    "EmojiReact": _emoji_react,
    "Announce": _announce,
    "Block": _block,
    "Move": _move,
    "Flag": _flag,
    "QuoteRequest": _quote_request,
    "Add": _featured,
    "Remove": _featured,
}


async def read(resolver: Resolver, actor: Actor, doc: dict[str, Any]) -> Received | None:
    """The record of a verified activity from ``actor``, or None when it asks nothing of us."""
    reader = READERS.get(str(doc.get("type")))
    if reader is None:
        log.info("dropping activity of unhandled type %s (%s)", doc.get("type"), doc.get("id"))
        return None
    return await reader(resolver, actor, doc)
