"""Remixes: the lineage of images (who remixed whom, here or elsewhere) and the quote permission that
lets Mastodon 4.5+ show a remix as a quote post (FEP-044f, https://w3id.org/fep/044f).

Every post that remixes another, local or received, is recorded by :func:`record_remix` from the
after-post step. Before a local remix goes out, :func:`quote_parent` decides how it quotes: with a
stamp issued here for a local parent, pending for a parent whose server answers QuoteRequests (then
:func:`request_quote` asks; :func:`quote_accepted` keeps the stamp; :func:`quote_rejected` and
:func:`chase_quote_requests`, for no answer, fall back), or only through the links every server
reads. Another server asking to quote one of our posts is answered by :func:`quote_requested`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import quote_authorization_of, quote_request_of, response_of, update_of
from activitypub.notes import RemoteNote
from activitypub.outbox import publish
from activitypub.urls import same_origin
from fedigen.services import Services
from fedigen.social import counts, polls, reactions
from fedigen.social.notifications import blocks
from fedigen.social.visibility import is_public
from storage.models import Activity, Actor, Remix, Status, utcnow

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
        await counts.bump(session, parent.id if parent else None, remixes=1)


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


def may_remix(parent_author: Actor | None, remixer: Actor) -> bool:
    """Whether ``remixer`` may make a remix of a post by ``parent_author``: always its own, and anyone's
    whose author allows remixes (the account's ``allow_remixes``; a remote author's ``allowRemixes``).
    An author opted out of AI training whose remixes are allowed is remixed: remixing is a visible,
    credited act the author agreed to, not training (docs/privacy.md)."""
    return parent_author is None or parent_author.id == remixer.id or parent_author.allow_remixes


async def quote_parent(
    svc: Services, session: AsyncSession, author: Actor, status: Status, parent: Status | None
) -> None:
    """Before a local remix's Create goes out, decide how it quotes its parent (``extra['quote_state']``).

    - a local parent: a QuoteAuthorization stamp is issued here at once when the parent's author
      allows it (a public or unlisted parent, no block between them), so Mastodon shows the quote;
    - a parent on a server that answers QuoteRequests (its Note states ``interactionPolicy.canQuote``),
      remixed in a public or unlisted post: ``pending``, and :func:`request_quote` asks for a stamp;
    - anything else: ``legacy``, quoted only through quoteUrl / _misskey_quote, the FEP-e232 link and
      the visible "Remix of" paragraph, which every server shows.
    """
    state = "legacy"
    if parent is not None and parent.local:
        parent_author = await session.get(Actor, parent.actor_id)
        allowed = (
            parent_author is not None and is_public(parent) and may_remix(parent_author, author)
            and (parent_author.id == author.id or not await blocks(session, parent_author, author))
        )  # fmt: skip
        if allowed and parent_author is not None:
            stamp = _stamp(svc, session, parent_author, status.ap_id, parent.ap_id)
            status.extra = {**status.extra, "quote_authorization": stamp}
            state = "accepted"
    elif parent is not None and (parent.extra or {}).get("fep044f") and is_public(status):
        state = "pending"
    status.extra = {**status.extra, "quote_state": state}


def _stamp(svc: Services, session: AsyncSession, author: Actor, quoting_ap_id: str, quoted_ap_id: str) -> str:
    """Issue (and keep, so that it dereferences) a QuoteAuthorization by ``author``; returns its id."""
    stamp = quote_authorization_of(svc.urls.new_activity(), author, quoting_ap_id, quoted_ap_id)
    session.add(Activity(ap_id=stamp["id"], ap_type="QuoteAuthorization", actor_id=author.id,
                         object_ap_id=quoted_ap_id, public=True, document=stamp))  # fmt: skip
    return str(stamp["id"])


async def request_quote(svc: Services, session: AsyncSession, author: Actor, status: Status) -> None:
    """A local remix whose quote is pending asks the parent's author to authorise it (FEP-044f)."""
    if (status.extra or {}).get("quote_state") != "pending":
        return
    parent = await _live(session, (status.extra or {}).get("remix_of"))
    if parent is None or parent.local or parent.actor_id == author.id:
        return
    parent_author = await session.get(Actor, parent.actor_id)
    if parent_author is not None:
        request = quote_request_of(
            svc.urls.new_activity(), author, parent.ap_id, status.ap_id, parent_author.ap_id
        )
        await publish(session, author, request)
        status.extra = {**status.extra, "quote_requests": int(status.extra.get("quote_requests", 0)) + 1,
                        "quote_requested_at": utcnow().isoformat()}  # fmt: skip


async def quote_requested(
    svc: Services, session: AsyncSession, requester: Actor, request: dict[str, object], quoted_ap_id: str,
    instrument: RemoteNote | None,
) -> None:  # fmt: skip
    """Another server asks whether its post may quote ours. ``instrument`` is that post as fetched from
    its own server before the transaction (None when it could not be fetched or is not the
    requester's). Public and unlisted posts may be remixed by anyone their author does not block, when
    the instrument really quotes the post: the answer is then an Accept with a stamp at once; anything
    else is rejected."""
    status = await _live(session, quoted_ap_id)
    if status is None or not status.local:
        return
    author = await session.get(Actor, status.actor_id)
    if author is None:
        return
    allowed = (
        instrument is not None and instrument.quote_of == status.ap_id and may_remix(author, requester)
        and is_public(status) and not await blocks(session, author, requester)
    )  # fmt: skip
    if not allowed or instrument is None:
        await publish(
            session, author, response_of("Reject", svc.urls.new_activity(), author, request, requester.ap_id)
        )
        return
    stamp = _stamp(svc, session, author, instrument.ap_id, status.ap_id)
    accept = response_of("Accept", svc.urls.new_activity(), author, request, requester.ap_id)
    accept["result"] = stamp
    # The lineage learns of the remix from the remix itself (its Create, checked to be the requester's
    # own post quoting ours), never from the request alone.
    await publish(session, author, accept)


async def _our_request(
    svc: Services, session: AsyncSession, sender: Actor, request_ap_id: str | None
) -> tuple[Activity | None, Status | None]:
    """One of our QuoteRequests (by id) and the remix it asked about, when ``sender`` was asked."""
    if not request_ap_id or not svc.urls.is_local(request_ap_id):
        return None, None
    sent = await session.scalar(
        select(Activity).where(Activity.ap_id == request_ap_id, Activity.ap_type == "QuoteRequest")
    )
    if sent is None:
        return None, None
    quoting = await _live(session, str(sent.document.get("instrument") or ""))
    quoted = await _live(session, str(sent.document.get("object") or ""))
    if quoting is None or quoted is None or quoted.actor_id != sender.id:
        return sent, None
    return sent, quoting


async def quote_accepted(
    svc: Services, session: AsyncSession, sender: Actor, request_ap_id: str | None, stamp: str | None
) -> bool:
    """Accept of one of our QuoteRequests: keep the stamp on the remix and send its Update.

    Returns whether ``request_ap_id`` named one of our QuoteRequests (then the Accept is handled).
    """
    sent, quoting = await _our_request(svc, session, sender, request_ap_id)
    if sent is None:
        return False
    if quoting is None or stamp is None or not same_origin(stamp, sender.ap_id):
        return True
    if quoting.extra.get("quote_authorization") != stamp:
        quoting.extra = {**quoting.extra, "quote_authorization": stamp, "quote_state": "accepted"}
        await _send_update(svc, session, quoting)
    return True


async def quote_rejected(
    svc: Services, session: AsyncSession, sender: Actor, request_ap_id: str | None
) -> bool:
    """Reject of one of our QuoteRequests: the remix stops claiming the quote (an Update without
    ``quote``) and keeps its fallback. Returns whether it named one of our QuoteRequests."""
    sent, quoting = await _our_request(svc, session, sender, request_ap_id)
    if sent is None:
        return False
    if quoting is not None and quoting.extra.get("quote_state") == "pending":
        await _fall_back(svc, session, quoting, "rejected")
    return True


async def _fall_back(svc: Services, session: AsyncSession, quoting: Status, state: str) -> None:
    kept = {k: v for k, v in quoting.extra.items() if k != "quote_authorization"}
    quoting.extra = {**kept, "quote_state": state}
    await _send_update(svc, session, quoting)


async def _send_update(svc: Services, session: AsyncSession, status: Status) -> None:
    """The remix's Update, to its audience and (as its Create went) to the remixed post's author."""
    author = await session.get(Actor, status.actor_id)
    if author is None:
        return
    parent = await _live(session, status.extra.get("remix_of"))
    parent_author = await session.get(Actor, parent.actor_id) if parent is not None else None
    extra = []
    if parent_author is not None and parent_author.domain is not None and parent_author.id != author.id:
        extra = [i for i in (parent_author.shared_inbox_url or parent_author.inbox_url,) if i]
    poll = await polls.poll_of(session, status.id)
    counts = (await reactions.note_counts(session, [status.id]))[status.id]
    await publish(session, author, update_of(status, author, svc.urls, poll, counts), extra_inboxes=extra)


#: When an unanswered QuoteRequest is sent again (after the previous one), and how long the last one
#: is waited for before the remix falls back to a plain link.
QUOTE_RETRY_AFTER = (timedelta(hours=1), timedelta(hours=6))
QUOTE_GIVE_UP_AFTER = timedelta(hours=24)


async def chase_quote_requests(svc: Services, session: AsyncSession, *, now: datetime | None = None) -> int:
    """Pending remix quotes whose parent's server has not answered: ask again (at most
    ``len(QUOTE_RETRY_AFTER)`` more times), then fall back. Returns how many remixes were touched."""
    now = now or utcnow()
    window = now - (sum(QUOTE_RETRY_AFTER, timedelta()) + QUOTE_GIVE_UP_AFTER) * 2
    instruments = set(await session.scalars(
        select(Activity.document["instrument"].as_string())
        .join(Actor, Actor.id == Activity.actor_id)
        .where(Activity.ap_type == "QuoteRequest", Activity.created_at >= window, Actor.domain.is_(None))
    ))  # fmt: skip
    touched = 0
    for ap_id in sorted(i for i in instruments if i):
        status = await _live(session, ap_id)
        if status is None or status.extra.get("quote_state") != "pending":
            continue
        sent = int(status.extra.get("quote_requests", 1))
        try:
            last = datetime.fromisoformat(str(status.extra.get("quote_requested_at")))
        except ValueError:
            last = status.published or now
        if sent <= len(QUOTE_RETRY_AFTER):
            if now - last >= QUOTE_RETRY_AFTER[sent - 1]:
                author = await session.get(Actor, status.actor_id)
                if author is not None:
                    await request_quote(svc, session, author, status)
                    touched += 1
        elif now - last >= QUOTE_GIVE_UP_AFTER:
            await _fall_back(svc, session, status, "unanswered")
            touched += 1
    return touched
