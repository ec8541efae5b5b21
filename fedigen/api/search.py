"""Search: GET /api/v2/search, and the account and hashtag queries /api/v1/accounts/search shares.

Accounts and hashtags are matched by prefix among what is stored. With ``resolve=true`` and a signed-in
account, ``@user@host`` (or ``user@host``) is looked up by WebFinger and stored, and the https URL of a
remote post is fetched and stored, as Mastodon does
(https://docs.joinmastodon.org/methods/search/#v2). Statuses are found by URL only: there is no
full-text index.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.errors import ActivityPubError
from fedigen.api import entities, status_entities
from fedigen.api.auth import authenticate, optional_auth
from fedigen.api.params import read_params
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import domains
from fedigen.social.lookup import find_actor, find_by_url
from fedigen.social.visibility import can_see
from storage.models import Actor, Follow, Status, StatusTag
from storage.vocabulary import FollowState

log = logging.getLogger(__name__)

TYPES = ("accounts", "hashtags", "statuses")
HANDLE_RE = re.compile(r"^@?([A-Za-z0-9_.~-]+)@([A-Za-z0-9.-]+(?::\d+)?)$")
MAX_QUERY = 500


def _like_prefix(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


async def resolve_remote(svc: Services, query: str, kind: str | None) -> tuple[int | None, int | None]:
    """With ``resolve=true``: the account a handle names and the post a URL names, looked up on their
    servers when unknown here. Done before the search's transaction opens (a slow server then holds up
    only this request); returns the ids found, (account, status)."""
    text = query.strip()
    actor_id = status_id = None
    try:
        if kind in (None, "accounts") and HANDLE_RE.match(text):
            actor_id = (await find_actor(svc, text)).id
        if text.startswith(("https://", "http://")):
            # A URL names an account or a post, by id or as the page a browser showed (Mastodon's
            # /@bob and /@bob/123): one fetch tells which.
            found = await find_by_url(svc, text)
            if isinstance(found, Actor) and kind in (None, "accounts"):
                actor_id = found.id
            elif isinstance(found, Status) and kind in (None, "statuses"):
                status_id = found.id
    except (ActivityPubError, NotFoundError, ValidationError, ValueError) as exc:
        log.info("could not resolve %s: %s", text, exc)
    return actor_id, status_id


async def search_accounts(
    svc: Services, session: AsyncSession, query: str, *, viewer: Actor | None, resolved: int | None,
    limit: int, offset: int = 0, following: bool = False,
) -> list[Actor]:  # fmt: skip
    """Accounts whose handle or display name starts with the query, or the one a handle or URL names."""
    text = query.strip()
    handle = HANDLE_RE.match(text)
    found: list[Actor] = []
    if text.startswith(("https://", "http://")):
        # An account by its id or profile page URL: stored, or the one it resolved to.
        row = await session.scalar(
            select(Actor).where(or_(Actor.ap_id == text, Actor.url == text), Actor.deleted_at.is_(None))
        )
        if row is None and resolved is not None:
            row = await session.get(Actor, resolved)
        return [row][offset : offset + limit] if row is not None and row.ap_type != "Application" else []
    if handle is not None:
        user, domain = handle.groups()
        local = domain.lower() == svc.urls.host.lower()
        match = Actor.domain.is_(None) if local else func.lower(Actor.domain) == domain.lower()
        row = await session.scalar(
            select(Actor).where(func.lower(Actor.username) == user.lower(), match, Actor.deleted_at.is_(None))
        )
        if row is None and resolved is not None:
            row = await session.get(Actor, resolved)
        if row is not None and row.ap_type != "Application":
            found.append(row)
        return found[offset : offset + limit]
    prefix = _like_prefix(text.lstrip("@").lower())
    stmt = (
        select(Actor)
        .where(
            or_(func.lower(Actor.username).like(prefix, escape="\\"),
                func.lower(Actor.display_name).like(prefix, escape="\\")),
            Actor.deleted_at.is_(None), Actor.ap_type != "Application",
            ~domains.on_domains(Actor.domain, domains.SUSPEND, domains.SILENCE),  # not discoverable
            Actor.suspended_at.is_(None),  # suspended accounts are found only by their exact handle
        )
        .order_by(Actor.domain.is_not(None), Actor.username, Actor.id)
        .offset(offset).limit(limit)
    )  # fmt: skip
    if following and viewer is not None:
        stmt = stmt.join(Follow, Follow.followee_id == Actor.id).where(
            Follow.follower_id == viewer.id, Follow.state == FollowState.ACCEPTED
        )
    return list(await session.scalars(stmt))


async def search_hashtags(session: AsyncSession, query: str, *, limit: int, offset: int = 0) -> list[str]:
    """Hashtags in use that start with the query (without its #)."""
    prefix = _like_prefix(query.strip().lstrip("#").lower())
    rows = await session.scalars(
        select(StatusTag.name).where(StatusTag.name.like(prefix, escape="\\")).distinct()
        .order_by(StatusTag.name).offset(offset).limit(limit)
    )  # fmt: skip
    return list(rows)


def tag_entity(svc: Services, name: str) -> dict[str, Any]:
    """The Tag entity."""
    return {"name": name, "url": svc.urls.tag(name), "history": [], "following": False}


async def search_statuses(
    session: AsyncSession, query: str, *, viewer: Actor | None, resolved: int | None
) -> list[Status]:
    """The post at a URL: stored, or the one it resolved to."""
    url = query.strip()
    if not url.startswith(("https://", "http://")):
        return []
    status = await session.scalar(
        select(Status).where(or_(Status.ap_id == url, Status.url == url), Status.deleted_at.is_(None))
    )
    if status is None and resolved is not None:
        status = await session.get(Status, resolved)
    if status is None or status.reblog_of_id is not None:
        return []
    return [status] if await can_see(session, status, viewer.id if viewer else None) else []


async def search(request: Request) -> Response:
    """GET /api/v2/search."""
    auth = await optional_auth(request)
    if auth is not None:
        auth = await authenticate(request, "read:search")
    viewer = auth.account if auth else None
    params = await read_params(request)
    query = params.required("q", max_chars=MAX_QUERY)
    kind = params.get_str("type")
    if kind is not None and kind not in TYPES:
        raise ValidationError("type", f"must be one of {', '.join(TYPES)}")
    resolve = params.get_bool("resolve") and viewer is not None
    limit = params.get_int("limit", 20, low=1, high=40) or 20
    offset = (params.get_int("offset", 0, low=0, high=10_000) or 0) if viewer is not None else 0
    svc = services(request)
    actor_id, status_id = await resolve_remote(svc, query, kind) if resolve else (None, None)
    async with svc.reads() as session:
        found: dict[str, Any] = {t: [] for t in TYPES}
        if kind in (None, "accounts"):
            actors = await search_accounts(svc, session, query, viewer=viewer, resolved=actor_id, limit=limit,
                                           offset=offset, following=params.get_bool("following"))  # fmt: skip
            stats = await entities.account_stats(session, [a.id for a in actors])
            found["accounts"] = [entities.account(svc, a, stats) for a in actors]
        if kind in (None, "statuses"):
            rows = await search_statuses(session, query, viewer=viewer, resolved=status_id)
            found["statuses"] = await status_entities.statuses(svc, session, rows, viewer)
        if kind in (None, "hashtags"):
            names = await search_hashtags(session, query, limit=limit, offset=offset)
            found["hashtags"] = [tag_entity(svc, n) for n in names]
    return JSONResponse(found)


routes = [Route("/api/v2/search", search, methods=["GET"])]
