"""Server-to-server routes: actor documents, inboxes, collections and dereferenceable objects."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from activitypub.activities import create_of
from activitypub.actors import deleted_actor_to_ap, instance_actor_to_ap, local_actor_to_ap
from activitypub.errors import ActivityPubError, PayloadTooLargeError
from activitypub.inbox import receive
from activitypub.notes import counted_collection, note_to_ap, tombstone_to_ap
from activitypub.signatures import verify_request
from activitypub.vocab import AS_CONTEXT, CONTEXT
from fedigen.errors import NotFoundError
from fedigen.http import services, wants_as2
from fedigen.services import Services
from fedigen.social import polls, registrations
from fedigen.social.accounts import get_local
from fedigen.social.pins import pinned_query
from fedigen.social.reactions import note_counts
from fedigen.social.standing import is_hidden, suspended
from fedigen.social.visibility import can_see, is_public
from storage.models import Activity, Actor, Follow, Poll, Status
from storage.vocabulary import PUBLIC_VISIBILITIES, FollowState

PAGE_SIZE = 20


class ActivityJSONResponse(JSONResponse):
    """JSON served as application/activity+json (Mastodon refuses other types for AS2)."""

    media_type = "application/activity+json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def public_url(request: Request) -> str:
    """The request's URL as the signer addressed it: our public base URL + path + query."""
    base = services(request).settings.base_url
    # The signature covers the path exactly as sent, still percent-encoded: use the raw path.
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{base}{path}?{query}" if query else f"{base}{path}"


async def check_fetch_signature(request: Request) -> None:
    """With authorized fetch on, refuse unsigned or badly signed GETs of our documents (401)."""
    svc = services(request)
    if not svc.settings.federation.authorized_fetch:
        return
    await verify_request(
        method="GET", url=public_url(request), headers=request.headers, body=b"",
        key_lookup=svc.resolver.lookup_key, clock_window=svc.clock_window,
    )  # fmt: skip


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeError(f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _local_account_id(app: Starlette, svc: Services, username: str) -> int:
    """A personal inbox's account id, remembered per process (one query fewer on the hot path)."""
    cache: dict[str, int] = app.state.__dict__.setdefault("inbox_accounts", {})
    if username not in cache:
        async with svc.reads() as session:
            cache[username] = (await get_local(session, username)).id
    return cache[username]


async def accept_inbox_post(
    app: Starlette, scope: Scope, headers: Mapping[str, str], body: bytes, username: str | None
) -> None:
    """The inbox's work once the body is read (both ways in, see :mod:`fedigen.federation.inbox_path`):
    verify, queue, and wake the worker for a new activity; raises for every refusal."""
    svc: Services = app.state.services
    recipient_id = None if username is None else await _local_account_id(app, svc, username.lower())
    raw = scope.get("raw_path")
    # The signature covers the path exactly as sent, still percent-encoded: use the raw path.
    path = raw.decode("latin-1") if isinstance(raw, bytes) else scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{svc.settings.base_url}{path}?{query}" if query else f"{svc.settings.base_url}{path}"
    result = await receive(
        writer=svc.inbox, resolver=svc.resolver, method="POST", url=url, headers=headers, body=body,
        recipient_id=recipient_id, max_bytes=svc.settings.federation.inbox_max_bytes,
        clock_window=svc.clock_window, schemes=svc.fetcher.schemes,
    )  # fmt: skip
    if not result.duplicate and not result.ignored:
        app.state.worker.wake()


async def inbox(request: Request) -> Response:
    """POST to the shared inbox or a personal inbox: verify, queue, 202. (Requests without an Origin
    header, which is every server's, take the shorter way of :mod:`fedigen.federation.inbox_path`.)"""
    body = await read_body(request, services(request).settings.federation.inbox_max_bytes)
    username = request.path_params.get("username")
    await accept_inbox_post(request.app, request.scope, request.headers, body, username)
    return Response(status_code=202)


async def actor(request: Request) -> Response:
    """A local account's actor document (or its profile page for browsers)."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"], include_deleted=True)
        if account.deleted_at is None and await registrations.hidden(session, account):
            raise NotFoundError("no such account")  # signed up, not confirmed or approved yet
    if account.deleted_at is not None:
        # What stays of a deleted account: its key, so peers can verify its Delete (docs/privacy.md).
        if not wants_as2(request):
            return JSONResponse({"error": "This account was deleted."}, status_code=410)
        return ActivityJSONResponse(deleted_actor_to_ap(account, svc.urls))
    if not wants_as2(request):
        return RedirectResponse(svc.urls.profile(account.username), status_code=302)
    await check_fetch_signature(request)
    return ActivityJSONResponse(local_actor_to_ap(account, svc.urls))


async def instance_actor(request: Request) -> Response:
    """The instance actor; always served unsigned, since verifying a signature may need it."""
    svc = services(request)
    async with svc.reads() as session:
        account = await session.scalar(select(Actor).where(Actor.ap_id == svc.urls.instance_actor))
    if account is None:
        raise NotFoundError("the instance actor does not exist yet (run `fedigen db migrate`)")
    return ActivityJSONResponse(instance_actor_to_ap(account, svc.urls))


async def instance_outbox(request: Request) -> Response:
    """The instance actor publishes nothing: an empty outbox, so the URL it advertises resolves."""
    ap_id = services(request).urls.instance_actor + "/outbox"
    return ActivityJSONResponse(
        {
            "@context": AS_CONTEXT,
            "id": ap_id,
            "type": "OrderedCollection",
            "totalItems": 0,
            "orderedItems": [],
        }
    )


def _page_number(request: Request) -> int | None:
    value = request.query_params.get("page")
    if value is None:
        return None
    return int(value) if value.isdigit() and int(value) > 0 else 1


def collection(ap_id: str, total: int, page: int | None, items: list[Any]) -> dict[str, Any]:
    """An OrderedCollection, or one of its pages (``?page=N``, newest first)."""
    if page is None:
        return {
            "@context": AS_CONTEXT, "id": ap_id, "type": "OrderedCollection", "totalItems": total,
            "first": f"{ap_id}?page=1", "last": f"{ap_id}?page={max(1, -(-total // PAGE_SIZE))}",
        }  # fmt: skip
    doc: dict[str, Any] = {
        "@context": AS_CONTEXT, "id": f"{ap_id}?page={page}", "type": "OrderedCollectionPage",
        "partOf": ap_id, "totalItems": total, "orderedItems": items,
    }  # fmt: skip
    if page * PAGE_SIZE < total:
        doc["next"] = f"{ap_id}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{ap_id}?page={page - 1}"
    return doc


async def follow_collection(request: Request) -> Response:
    """Paged followers or following of a local account (accepted follows only)."""
    svc = services(request)
    await check_fetch_signature(request)
    page = _page_number(request)
    which = request.url.path.rsplit("/", 1)[1]
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        mine, theirs = (
            (Follow.followee_id, Follow.follower_id)
            if which == "followers"
            else (Follow.follower_id, Follow.followee_id)
        )
        where = (mine == account.id, Follow.state == FollowState.ACCEPTED)
        total = await session.scalar(select(func.count()).select_from(Follow).where(*where)) or 0
        items: list[Any] = []
        if page is not None:
            rows = await session.scalars(
                select(Actor.ap_id).join(Follow, theirs == Actor.id).where(*where)
                .order_by(Follow.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
            )  # fmt: skip
            items = list(rows)
    ap_id = (
        svc.urls.followers(account.username) if which == "followers" else svc.urls.following(account.username)
    )
    return ActivityJSONResponse(collection(ap_id, total, page, items))


async def outbox(request: Request) -> Response:
    """Paged outbox: the account's public and unlisted Creates, newest first."""
    svc = services(request)
    await check_fetch_signature(request)
    page = _page_number(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        where = (
            Status.actor_id == account.id, Status.deleted_at.is_(None), Status.reblog_of_id.is_(None),
            Status.visibility.in_(PUBLIC_VISIBILITIES), Status.actor_id.not_in(suspended()),
        )  # fmt: skip
        total = await session.scalar(select(func.count()).select_from(Status).where(*where)) or 0
        items: list[Any] = []
        if page is not None:
            rows = list(
                await session.scalars(
                    select(Status)
                    .where(*where)
                    .order_by(Status.id.desc())
                    .offset((page - 1) * PAGE_SIZE)
                    .limit(PAGE_SIZE)
                )
            )
            statuses = list(rows)
            by_status = await polls.polls_of(session, [s.id for s in statuses])
            counts = await note_counts(session, [s.id for s in statuses])
            items = [
                {
                    k: v
                    for k, v in create_of(s, account, svc.urls, by_status.get(s.id), counts[s.id]).items()
                    if k != "@context"
                }
                for s in statuses
            ]
    return ActivityJSONResponse(collection(svc.urls.outbox(account.username), total, page, items))


async def featured(request: Request) -> Response:
    """The account's pinned posts, as Mastodon serves them: an OrderedCollection of the Notes, the most
    recently pinned first; a followers-only one is listed by its id alone."""
    svc = services(request)
    await check_fetch_signature(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        rows = list(await session.scalars(pinned_query(account.id).where(Status.reblog_of_id.is_(None))))
        counts = await note_counts(session, [r.id for r in rows if is_public(r)])
    items: list[Any] = [
        note_to_ap(r, account, svc.urls, with_context=False, counts=counts[r.id]) if is_public(r) else r.ap_id
        for r in rows
    ]
    return ActivityJSONResponse(
        {"@context": CONTEXT, "id": svc.urls.featured(account.username), "type": "OrderedCollection",
         "totalItems": len(items), "orderedItems": items}
    )  # fmt: skip


async def _local_note(request: Request) -> tuple[Actor, Status, Poll | None]:
    """The local Note at this path, deleted or not, with its poll (404 for anything else)."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        status = await session.get(Status, int(request.path_params["status_id"]))
        poll = await polls.poll_of(session, status.id) if status is not None else None
    if (
        status is None or status.actor_id != account.id or not status.local or status.reblog_of_id is not None
        or is_hidden(account)  # a suspended account's posts are served to no one
    ):  # fmt: skip
        raise NotFoundError("no such status")
    return account, status, poll


async def _check_visible(request: Request, status: Status) -> None:
    """The rule for a Note, and for its likes and shares alike: public and unlisted ones are served (with
    authorized fetch, to signed requests); followers-only and direct ones only to a signed GET from an
    actor who may see them; 404 otherwise."""
    if is_public(status):
        await check_fetch_signature(request)
    elif not wants_as2(request) or not await _signer_may_see(request, status):
        raise NotFoundError("no such status")


async def _signer_may_see(request: Request, status: Status) -> bool:
    """Whether a signed GET comes from an actor who may see this followers-only or direct post: a
    follower or a mentioned account (how Mastodon fetches the replies and posts its users were sent).
    Unsigned and badly signed requests may not, and learn nothing more than a 404."""
    if "signature" not in request.headers and "signature-input" not in request.headers:
        return False
    svc = services(request)
    try:
        signed = await verify_request(
            method="GET", url=public_url(request), headers=request.headers, body=b"",
            key_lookup=svc.resolver.lookup_key, clock_window=svc.clock_window,
        )  # fmt: skip
    except ActivityPubError:
        return False
    async with svc.reads() as session:
        signer = await session.scalar(select(Actor.id).where(Actor.ap_id == signed.owner))
        return signer is not None and await can_see(session, status, signer)


async def note(request: Request) -> Response:
    """A local Note (a Question with its poll) at its id: a 410 Tombstone once deleted; see
    _check_visible for who may have it."""
    svc = services(request)
    account, status, poll = await _local_note(request)
    if status.deleted_at is not None:
        return ActivityJSONResponse(
            {"@context": AS_CONTEXT, **tombstone_to_ap(status.ap_id, status.deleted_at)}, status_code=410
        )
    if is_public(status) and not wants_as2(request):
        return RedirectResponse(
            status.url or svc.urls.status_page(account.username, status.id), status_code=302
        )
    await _check_visible(request, status)
    async with svc.reads() as session:
        counts = (await note_counts(session, [status.id]))[status.id]
    if request.path_params.get("activity"):
        return ActivityJSONResponse(create_of(status, account, svc.urls, poll, counts))
    return ActivityJSONResponse(note_to_ap(status, account, svc.urls, poll=poll, counts=counts))


async def note_counted(request: Request) -> Response:
    """A local Note's ``likes`` or ``shares``: a Collection with its ``totalItems``, as Mastodon serves
    them (no items), to whoever may see the Note."""
    svc = services(request)
    account, status, _ = await _local_note(request)
    if status.deleted_at is not None:
        raise NotFoundError("no such status")
    await _check_visible(request, status)
    async with svc.reads() as session:
        counts = (await note_counts(session, [status.id]))[status.id]
    if request.url.path.endswith("/likes"):
        return ActivityJSONResponse(
            counted_collection(svc.urls.likes(account.username, status.id), counts.likes)
        )
    return ActivityJSONResponse(
        counted_collection(svc.urls.shares(account.username, status.id), counts.shares)
    )


async def activity(request: Request) -> Response:
    """Any other public activity we published, by its id."""
    svc = services(request)
    await check_fetch_signature(request)
    ap_id = f"{svc.settings.base_url}{request.url.path}"
    async with svc.reads() as session:
        row = await session.scalar(select(Activity).where(Activity.ap_id == ap_id))
    if row is None or not row.public:
        raise NotFoundError("no such activity")
    return ActivityJSONResponse(row.document)


async def note_activity(request: Request) -> Response:
    """The Create of a local Note."""
    request.path_params["activity"] = True
    return await note(request)


routes = [
    Route("/inbox", inbox, methods=["POST"]),
    Route("/actor", instance_actor, methods=["GET"]),
    Route("/actor/inbox", inbox, methods=["POST"]),
    Route("/actor/outbox", instance_outbox, methods=["GET"]),
    Route("/users/{username}", actor, methods=["GET"]),
    Route("/users/{username}/inbox", inbox, methods=["POST"]),
    Route("/users/{username}/outbox", outbox, methods=["GET"]),
    Route("/users/{username}/followers", follow_collection, methods=["GET"]),
    Route("/users/{username}/following", follow_collection, methods=["GET"]),
    Route("/users/{username}/collections/featured", featured, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id:int}", note, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id:int}/activity", note_activity, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id:int}/likes", note_counted, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id:int}/shares", note_counted, methods=["GET"]),
    Route("/activities/{activity_id}", activity, methods=["GET"]),
]
