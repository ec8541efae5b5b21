"""Remixes: the lineage of images (who remixed whom, here or elsewhere) and the quote permission that
lets Mastodon 4.5+ show a remix as a quote post (FEP-044f, https://w3id.org/fep/044f).

Every post that remixes another, local or received, is recorded by :func:`record_remix` from the
after-post step. A local remix of another server's post asks that server for a QuoteAuthorization
(:func:`request_quote`); another server asking to quote one of our posts is answered by
:func:`quote_requested`; its Accept of our request brings back the stamp (:func:`quote_accepted`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import quote_authorization_of, quote_request_of, response_of, update_of
from activitypub.outbox import publish
from activitypub.urls import same_origin
from fedigen.services import Services
from fedigen.social import polls
from fedigen.social.notifications import blocks
from fedigen.social.visibility import is_public
from storage.models import Activity, Actor, Remix, Status

MAX_LINEAGE_DEPTH = 50


async def _live(session: AsyncSession, ap_id: str | None) -> Status | None:
    if not ap_id:
        return None
    return await session.scalar(select(Status).where(Status.ap_id == ap_id, Status.deleted_at.is_(None)))


async def record_remix(session: AsyncSession, status: Status) -> None:
    """Remember that ``status`` remixes ``extra['remix_of']`` (local or remote), for lineage queries."""
    parent_ap_id = (status.extra or {}).get("remix_of")
    if not isinstance(parent_ap_id, str):
        return
    existing = await session.scalar(select(Remix).where(Remix.child_ap_id == status.ap_id))
    parent = await _live(session, parent_ap_id)
    if existing is None:
        session.add(Remix(child_ap_id=status.ap_id, child_status_id=status.id, parent_ap_id=parent_ap_id,
                          parent_status_id=parent.id if parent else None))  # fmt: skip


async def lineage(session: AsyncSession, status: Status) -> tuple[list[str], list[str]]:
    """A post's remix ancestors (nearest first) and its direct remixes, as ActivityPub ids."""
    parents: list[str] = []
    current = status.ap_id
    while len(parents) < MAX_LINEAGE_DEPTH:
        parent = await session.scalar(select(Remix.parent_ap_id).where(Remix.child_ap_id == current))
        if parent is None or parent in parents or parent == status.ap_id:
            break
        parents.append(parent)
        current = parent
    children = list(
        await session.scalars(
            select(Remix.child_ap_id).where(Remix.parent_ap_id == status.ap_id).order_by(Remix.id)
        )
    )
    return parents, children


async def request_quote(svc: Services, session: AsyncSession, author: Actor, status: Status) -> None:
    """A local public remix of a remote post asks the parent's author to authorise the quote."""
    parent = await _live(session, (status.extra or {}).get("remix_of"))
    if parent is None or parent.local or parent.actor_id == author.id:
        return
    parent_author = await session.get(Actor, parent.actor_id)
    if parent_author is not None:
        request = quote_request_of(
            svc.urls.new_activity(), author, parent.ap_id, status.ap_id, parent_author.ap_id
        )
        await publish(session, author, request)


async def quote_requested(
    svc: Services, session: AsyncSession, requester: Actor, request: dict[str, object], quoted_ap_id: str,
    quoting_ap_id: str | None,
) -> None:  # fmt: skip
    """Another server asks whether ``quoting_ap_id`` may quote our post: public and unlisted posts may
    be remixed by anyone not blocked by their author, so the answer is an Accept with a stamp at once;
    anything else is rejected."""
    status = await _live(session, quoted_ap_id)
    if status is None or not status.local:
        return
    author = await session.get(Actor, status.actor_id)
    if author is None:
        return
    allowed = (
        is_public(status) and quoting_ap_id is not None and same_origin(quoting_ap_id, requester.ap_id)
        and not await blocks(session, author, requester)
    )  # fmt: skip
    if not allowed or quoting_ap_id is None:
        await publish(
            session, author, response_of("Reject", svc.urls.new_activity(), author, request, requester.ap_id)
        )
        return
    stamp = quote_authorization_of(svc.urls.new_activity(), author, quoting_ap_id, status.ap_id)
    session.add(Activity(ap_id=stamp["id"], ap_type="QuoteAuthorization", actor_id=author.id,
                         object_ap_id=status.ap_id, public=True, document=stamp))  # fmt: skip
    accept = response_of("Accept", svc.urls.new_activity(), author, request, requester.ap_id)
    accept["result"] = stamp["id"]
    # The lineage learns of the remix from the remix itself (its Create, checked to be the requester's
    # own post quoting ours), never from the request alone.
    await publish(session, author, accept)


async def quote_accepted(
    svc: Services, session: AsyncSession, sender: Actor, request_ap_id: str | None, stamp: str | None
) -> bool:
    """Accept of one of our QuoteRequests: keep the stamp on the remix and send its Update.

    Returns whether ``request_ap_id`` named one of our QuoteRequests (then the Accept is handled).
    """
    if not request_ap_id or not svc.urls.is_local(request_ap_id):
        return False
    sent = await session.scalar(
        select(Activity).where(Activity.ap_id == request_ap_id, Activity.ap_type == "QuoteRequest")
    )
    if sent is None:
        return False
    quoting = await _live(session, str(sent.document.get("instrument") or ""))
    quoted = await _live(session, str(sent.document.get("object") or ""))
    if (
        stamp is None or quoting is None or quoted is None
        or quoted.actor_id != sender.id or not same_origin(stamp, sender.ap_id)
    ):  # fmt: skip
        return True
    author = await session.get(Actor, quoting.actor_id)
    if author is not None and quoting.extra.get("quote_authorization") != stamp:
        quoting.extra = {**quoting.extra, "quote_authorization": stamp}
        poll = await polls.poll_of(session, quoting.id)
        await publish(session, author, update_of(quoting, author, svc.urls, poll))
    return True
