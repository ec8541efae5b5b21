"""Our activities as AS2 documents, shaped as Mastodon sends and reads them
(https://docs.joinmastodon.org/spec/activitypub/): what :func:`activitypub.outbox.publish` records
and delivers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from activitypub.actors import format_time, local_actor_to_ap
from activitypub.jsonld import id_of
from activitypub.notes import Counts, note_to_ap, tombstone_to_ap
from activitypub.urls import LocalUrls
from activitypub.vocab import CONTEXT, PUBLIC
from storage.models import Actor, Poll, Status, utcnow


def create_of(
    status: Status, author: Actor, urls: LocalUrls, poll: Poll | None = None, counts: Counts | None = None
) -> dict[str, Any]:
    """Create{Note} for a new status (Create{Question} when it has a poll; ``counts``: its likes and
    shares, when known)."""
    return {
        "@context": CONTEXT,
        "id": urls.create_activity(author.username, status.id),
        "type": "Create",
        "actor": author.ap_id,
        "published": format_time(status.published),
        "to": list(status.to),
        "cc": list(status.cc),
        "object": note_to_ap(status, author, urls, with_context=False, poll=poll, counts=counts),
    }


def update_of(
    status: Status, author: Actor, urls: LocalUrls, poll: Poll | None = None, counts: Counts | None = None
) -> dict[str, Any]:
    """Update{Note} after an edit; the Note carries ``updated``."""
    return {
        "@context": CONTEXT,
        "id": f"{status.ap_id}#updates/{int((status.edited_at or utcnow()).timestamp() * 1000)}",
        "type": "Update",
        "actor": author.ap_id,
        "published": format_time(status.edited_at or utcnow()),
        "to": list(status.to),
        "cc": list(status.cc),
        "object": note_to_ap(status, author, urls, with_context=False, poll=poll, counts=counts),
    }


def poll_update_of(status: Status, author: Actor, urls: LocalUrls, poll: Poll) -> dict[str, Any]:
    """Update{Question} with a poll's new counts, as Mastodon sends it after votes and at the end: the
    Question carries ``updated`` only if the post was edited before, so it is no edit anywhere."""
    now = utcnow()
    return {
        "@context": CONTEXT,
        "id": f"{status.ap_id}#updates/poll/{int(now.timestamp() * 1000)}",
        "type": "Update",
        "actor": author.ap_id,
        "published": format_time(now),
        "to": list(status.to),
        "cc": list(status.cc),
        "object": note_to_ap(status, author, urls, with_context=False, poll=poll),
    }


def vote_of(
    ap_id: str, voter: Actor, question_ap_id: str, poll_author_ap_id: str, choice: str
) -> dict[str, Any]:
    """A poll vote as Mastodon sends it (app/serializers/activitypub/vote_serializer.rb): Create of a
    Note named after the chosen option, in reply to the Question, addressed to the poll's author only."""
    return {
        "@context": CONTEXT,
        "id": f"{ap_id}/activity",
        "type": "Create",
        "actor": voter.ap_id,
        "to": [poll_author_ap_id],
        "object": {"id": ap_id, "type": "Note", "name": choice, "attributedTo": voter.ap_id,
                   "inReplyTo": question_ap_id, "to": [poll_author_ap_id]},
    }  # fmt: skip


def delete_of(status: Status, author: Actor, deleted_at: datetime) -> dict[str, Any]:
    """Delete with a Tombstone, addressed as the Note was."""
    return {
        "@context": CONTEXT,
        "id": f"{status.ap_id}#delete",
        "type": "Delete",
        "actor": author.ap_id,
        "to": list(status.to),
        "cc": list(status.cc),
        "object": tombstone_to_ap(status.ap_id, deleted_at),
    }


def featured_change_of(
    kind: str, ap_id: str, actor: Actor, status: Status, featured: str, followers: str
) -> dict[str, Any]:
    """Add or Remove of a pinned post to or from the author's featured collection, as Mastodon sends it
    (``object`` the post's id, ``target`` the collection); ours also carry an id and their audience: the
    author's followers, and the public for a public or unlisted post."""
    cc = [PUBLIC] if PUBLIC in (*status.to, *status.cc) else []
    return {"@context": CONTEXT, "id": ap_id, "type": kind, "actor": actor.ap_id, "object": status.ap_id,
            "target": featured, "to": [followers], "cc": cc}  # fmt: skip


def follow_of(ap_id: str, follower: Actor, followee: Actor) -> dict[str, Any]:
    """Follow."""
    return {
        "@context": CONTEXT, "id": ap_id, "type": "Follow",
        "actor": follower.ap_id, "object": followee.ap_id, "to": [followee.ap_id],
    }  # fmt: skip


def response_of(kind: str, ap_id: str, actor: Actor, request_doc: dict[str, Any], to: str) -> dict[str, Any]:
    """Accept or Reject of a Follow or QuoteRequest, carrying it as object (what Mastodon matches on).

    Only its ``id``, ``type``, ``actor`` and ``object`` (and a QuoteRequest's ``instrument``, by id) are
    embedded, as Mastodon does: whatever else the requester put in stays with them.
    """
    obj: dict[str, Any] = {k: request_doc[k] for k in ("id", "type", "actor", "object") if k in request_doc}
    if "instrument" in request_doc:
        obj["instrument"] = id_of(request_doc["instrument"]) or request_doc["instrument"]
    return {"@context": CONTEXT, "id": ap_id, "type": kind, "actor": actor.ap_id, "object": obj, "to": [to]}


def quote_request_of(ap_id: str, actor: Actor, quoted: str, quoting: str, to: str) -> dict[str, Any]:
    """FEP-044f QuoteRequest: may ``quoting`` (our post) quote ``quoted`` (theirs)?"""
    return {"@context": CONTEXT, "id": ap_id, "type": "QuoteRequest", "actor": actor.ap_id,
            "object": quoted, "instrument": quoting, "to": [to]}  # fmt: skip


def like_of(ap_id: str, actor: Actor, status: Status, author: Actor) -> dict[str, Any]:
    """Like of a status, addressed to its author."""
    return {"@context": CONTEXT, "id": ap_id, "type": "Like", "actor": actor.ap_id, "object": status.ap_id,
            "to": [author.ap_id]}  # fmt: skip


def announce_of(boost: Status, actor: Actor, status: Status) -> dict[str, Any]:
    """Announce of a status, addressed as the boost is."""
    return {"@context": CONTEXT, "id": boost.ap_id, "type": "Announce", "actor": actor.ap_id,
            "published": format_time(boost.published), "to": list(boost.to), "cc": list(boost.cc),
            "object": status.ap_id}  # fmt: skip


def undo_of(ap_id: str, actor: Actor, inner: dict[str, Any], to: list[str]) -> dict[str, Any]:
    """Undo of one of our earlier activities."""
    obj = {k: v for k, v in inner.items() if k != "@context"}
    return {"@context": CONTEXT, "id": ap_id, "type": "Undo", "actor": actor.ap_id, "object": obj, "to": to}


def block_of(ap_id: str, actor: Actor, target: Actor) -> dict[str, Any]:
    """Block (Mastodon sends it to the blocked account so its server hides us)."""
    return {"@context": CONTEXT, "id": ap_id, "type": "Block", "actor": actor.ap_id,
            "object": target.ap_id, "to": [target.ap_id]}  # fmt: skip


def update_of_actor(actor: Actor, urls: LocalUrls) -> dict[str, Any]:
    """Update{Person} with the whole actor document, to the public and the account's followers."""
    now = utcnow()
    obj = {k: v for k, v in local_actor_to_ap(actor, urls).items() if k != "@context"}
    obj["updated"] = format_time(now)
    return {
        "@context": CONTEXT, "id": f"{actor.ap_id}#updates/{int(now.timestamp() * 1000)}", "type": "Update",
        "actor": actor.ap_id, "to": [PUBLIC],
        "cc": [actor.followers_url or urls.followers(actor.username)], "object": obj,
    }  # fmt: skip


def quote_authorization_of(ap_id: str, author: Actor, quoting: str, quoted: str) -> dict[str, Any]:
    """FEP-044f QuoteAuthorization stamp: ``quoting`` may quote our ``quoted``."""
    return {"@context": CONTEXT, "id": ap_id, "type": "QuoteAuthorization", "attributedTo": author.ap_id,
            "interactingObject": quoting, "interactionTarget": quoted}  # fmt: skip
