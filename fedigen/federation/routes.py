"""Server-to-server routes: actor documents, inboxes, collections and dereferenceable objects."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from activitypub.activities import create_of
from activitypub.actors import instance_actor_to_ap, local_actor_to_ap
from activitypub.errors import PayloadTooLargeError
from activitypub.inbox import receive
from activitypub.notes import note_to_ap, tombstone_to_ap
from activitypub.signatures import verify_request
from activitypub.vocab import AS_CONTEXT
from fedigen.errors import NotFoundError
from fedigen.http import services, wants_as2
from fedigen.social.accounts import get_local
from fedigen.social.visibility import is_public
from storage.models import Activity, Actor, Follow, Status
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


async def _local_account_id(request: Request, username: str) -> int:
    """A personal inbox's account id, remembered per process (one query fewer on the hot path)."""
    cache: dict[str, int] = request.app.state.__dict__.setdefault("inbox_accounts", {})
    if username not in cache:
        async with services(request).reads() as session:
            cache[username] = (await get_local(session, username)).id
    return cache[username]


async def inbox(request: Request) -> Response:
    """POST to the shared inbox or a personal inbox: verify, queue, 202."""
    svc = services(request)
    recipient_id = None
    if "username" in request.path_params:
        recipient_id = await _local_account_id(request, request.path_params["username"].lower())
    limit = svc.settings.federation.inbox_max_bytes
    body = await read_body(request, limit)
    result = await receive(
        sessions=svc.sessions, resolver=svc.resolver, method="POST", url=public_url(request),
        headers=request.headers, body=body, recipient_id=recipient_id, max_bytes=limit,
        clock_window=svc.clock_window, schemes=svc.fetcher.schemes,
    )  # fmt: skip
    if not result.duplicate and not result.ignored:
        request.app.state.worker.wake()
    return Response(status_code=202)


async def actor(request: Request) -> Response:
    """A local account's actor document (or its profile page for browsers)."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
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
            Status.visibility.in_(PUBLIC_VISIBILITIES),
        )  # fmt: skip
        total = await session.scalar(select(func.count()).select_from(Status).where(*where)) or 0
        items: list[Any] = []
        if page is not None:
            rows = await session.scalars(
                select(Status)
                .where(*where)
                .order_by(Status.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
            items = [
                {k: v for k, v in create_of(s, account, svc.urls).items() if k != "@context"} for s in rows
            ]
    return ActivityJSONResponse(collection(svc.urls.outbox(account.username), total, page, items))


async def featured(request: Request) -> Response:
    """Pinned posts (none yet: pinning arrives with the client API)."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
    return ActivityJSONResponse(
        {"@context": AS_CONTEXT, "id": svc.urls.featured(account.username), "type": "OrderedCollection",
         "totalItems": 0, "orderedItems": []}
    )  # fmt: skip


async def note(request: Request) -> Response:
    """A local Note at its id: the Note, a 410 Tombstone once deleted, 404 unless public or unlisted."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        status = await session.get(Status, int(request.path_params["status_id"]))
    if status is None or status.actor_id != account.id or not status.local or status.reblog_of_id is not None:
        raise NotFoundError("no such status")
    if status.deleted_at is not None:
        return ActivityJSONResponse(
            {"@context": AS_CONTEXT, **tombstone_to_ap(status.ap_id, status.deleted_at)}, status_code=410
        )
    if not is_public(status):
        raise NotFoundError("no such status")
    if not wants_as2(request):
        return RedirectResponse(
            status.url or svc.urls.status_page(account.username, status.id), status_code=302
        )
    await check_fetch_signature(request)
    if request.path_params.get("activity"):
        return ActivityJSONResponse(create_of(status, account, svc.urls))
    return ActivityJSONResponse(note_to_ap(status, account, svc.urls))


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
    Route("/activities/{activity_id}", activity, methods=["GET"]),
]
