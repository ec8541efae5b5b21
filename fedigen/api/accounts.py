"""Accounts (https://docs.joinmastodon.org/methods/accounts/): the signed-in account and its profile
edits, lookup, one account, its statuses, followers and following, and account search.

Relationship-changing endpoints (follow, block, mute...) are in :mod:`fedigen.api.relationships`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api import entities, page_rows, status_entities
from fedigen.api.auth import authenticate, optional_auth
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import Params, read_params
from fedigen.api.search import resolve_remote, search_accounts
from fedigen.errors import NotFoundError, PayloadTooLargeError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import timelines
from fedigen.social.pins import pinned_query
from fedigen.social.profiles import ProfileChanges, update_preferences, update_profile, with_stored_images
from fedigen.social.visibility import visible_to
from storage.models import Actor, Block, Follow, Status
from storage.vocabulary import FollowState

FIELD_KEY_RE = re.compile(r"^fields_attributes\[(\d+)\]\[(name|value)\]$")


async def find_account(session: AsyncSession, raw_id: str) -> Actor:
    """The account with this id (local or remote), or NotFoundError as Mastodon words it."""
    actor = await session.get(Actor, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 19 else None
    if actor is None or actor.deleted_at is not None or actor.ap_type == "Application":
        raise NotFoundError("Record not found")
    return actor


async def render_accounts(
    svc: Services, session: AsyncSession, actors: Sequence[Actor]
) -> list[dict[str, Any]]:
    """Account entities for many accounts, with their counts loaded at once."""
    stats = await entities.account_stats(session, [a.id for a in actors])
    return [entities.account(svc, a, stats) for a in actors]


async def read_upload(file: UploadFile, limit: int, field: str) -> bytes:
    """An uploaded file's bytes, refused (413) past ``limit`` and (422) when empty."""
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"{field}: the file is over {limit} bytes")
    if not data:
        raise ValidationError(field, "the file is empty")
    return data


def _fields(params: Params) -> list[dict[str, str]] | None:
    """fields_attributes as a form (fields_attributes[0][name]=...) or as JSON (a list or an object)."""
    rows: dict[int, dict[str, str]] = {}
    for key, values in params.values.items():
        match = FIELD_KEY_RE.match(key)
        if match:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = str(values[0])
    if "fields_attributes" in params:
        given = params.values["fields_attributes"]
        items = given[0].values() if len(given) == 1 and isinstance(given[0], dict) else given
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValidationError("fields_attributes", "each field needs a name and a value")
            rows[index] = {"name": str(item.get("name") or ""), "value": str(item.get("value") or "")}
    return [rows[i] for i in sorted(rows)] if rows or "fields_attributes" in params else None


def _source(params: Params, key: str) -> str | None:
    """``source[key]``, as a form sends it or nested in JSON (``{"source": {"key": ...}}``)."""
    name = f"source[{key}]"
    if name in params:
        return params.get_str(name, "", max_chars=100) or ""
    given = params.values.get("source", [None])[0]
    if isinstance(given, dict) and key in given:
        value = given[key]
        if value is not None and not isinstance(value, str):
            raise ValidationError(name, "must be a string")
        return value or ""
    return None


def _source_flag(params: Params, key: str) -> bool | None:
    """A fedigen flag given as ``key``, ``source[key]`` (form) or ``{"source": {key: ...}}`` (JSON)."""
    for name in (key, f"source[{key}]"):
        if name in params:
            return params.get_bool(name)
    given = params.values.get("source", [None])[0]
    if isinstance(given, dict) and key in given:
        value = given[key]
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
            return value.lower() in ("true", "1")
        raise ValidationError(f"source[{key}]", "must be true or false")
    return None


async def _image(params: Params, name: str, limit: int) -> bytes | None:
    if name not in params:
        return None
    file = params.get_file(name)
    if file is None:
        raise ValidationError(name, "must be an image file (multipart/form-data)")
    return await read_upload(file, limit, name)


async def verify_credentials(request: Request) -> Response:
    """GET /api/v1/accounts/verify_credentials: the CredentialAccount of the token."""
    auth = await authenticate(request, "profile")
    svc = services(request)
    async with svc.reads() as session:
        actor = await session.get(Actor, auth.account.id) if auth.account else None
        if actor is None:
            raise NotFoundError("Record not found")
        return JSONResponse(await entities.credential_account(svc, session, actor))


async def update_credentials(request: Request) -> Response:
    """PATCH /api/v1/accounts/update_credentials."""
    auth = await authenticate(request, "write:accounts")
    params = await read_params(request)
    svc = services(request)
    limit = svc.settings.media.max_upload_bytes
    flags = {
        k: params.get_bool(k) if k in params else None for k in ("locked", "bot", "discoverable", "indexable")
    }
    changes = ProfileChanges(
        display_name=params.get_str("display_name"), note=params.get_str("note"),
        avatar=await _image(params, "avatar", limit), header=await _image(params, "header", limit),
        fields=_fields(params), language=_source(params, "language"), **flags,
        ai_training_opt_out=_source_flag(params, "ai_training_opt_out"),
        allow_remixes=_source_flag(params, "allow_remixes"),
    )  # fmt: skip
    privacy = _source(params, "privacy")
    changes = await with_stored_images(svc, changes)
    async with svc.sessions() as session, session.begin():
        actor = await find_account(session, str(auth.account.id if auth.account else ""))
        if privacy:  # the default visibility of new posts (a preference, not part of the profile)
            await update_preferences(session, actor, default_visibility=privacy)
        await update_profile(svc, session, actor, changes)
        entity = await entities.credential_account(svc, session, actor)
    return JSONResponse(entity)


async def lookup(request: Request) -> Response:
    """GET /api/v1/accounts/lookup?acct=: a stored account by handle (no WebFinger, as Mastodon)."""
    await optional_auth(request)
    params = await read_params(request)
    handle = params.required("acct", max_chars=300).strip().lstrip("@")
    svc = services(request)
    user, _, domain = handle.partition("@")
    local = not domain or domain.lower() == svc.urls.host.lower()
    async with svc.reads() as session:
        actor = await session.scalar(
            select(Actor).where(
                func.lower(Actor.username) == user.lower(),
                Actor.domain.is_(None) if local else func.lower(Actor.domain) == domain.lower(),
                Actor.deleted_at.is_(None), Actor.ap_type != "Application",
            )
        )  # fmt: skip
        if actor is None:
            raise NotFoundError("Record not found")
        return JSONResponse((await render_accounts(svc, session, [actor]))[0])


async def show(request: Request) -> Response:
    """GET /api/v1/accounts/:id."""
    await optional_auth(request)
    svc = services(request)
    async with svc.reads() as session:
        actor = await find_account(session, request.path_params["id"])
        return JSONResponse((await render_accounts(svc, session, [actor]))[0])


def _allowed(viewer: Actor | None) -> Any:
    """The condition on an account's statuses that ``viewer`` may see (the one visibility rule)."""
    return visible_to(viewer.id if viewer is not None else None)


async def account_statuses(request: Request) -> Response:
    """GET /api/v1/accounts/:id/statuses: newest first; followers-only posts to followers only."""
    auth = await optional_auth(request)
    viewer = auth.account if auth else None
    params = await read_params(request)
    page = Page.from_params(params)
    svc = services(request)
    async with svc.reads() as session:
        account = await find_account(session, request.path_params["id"])
        if viewer is not None and await session.scalar(
            select(Block.id).where(Block.actor_id == account.id, Block.target_id == viewer.id)
        ):
            return JSONResponse([])
        if params.get_bool("pinned"):
            # Every pin fits on the first page (MAX_PINNED of ours, as many of a remote account's).
            if page.max_id is not None or page.since_id is not None or page.min_id is not None:
                return JSONResponse([])
            pinned = pinned_query(account.id).where(Status.reblog_of_id.is_(None), _allowed(viewer))
            rows = list(await session.scalars(pinned.limit(page.limit)))
            return JSONResponse(await status_entities.statuses(svc, session, rows, viewer, "account"))
        query = timelines.account_query(
            account.id, _allowed(viewer), exclude_replies=params.get_bool("exclude_replies"),
            exclude_reblogs=params.get_bool("exclude_reblogs"), only_media=params.get_bool("only_media"),
        )  # fmt: skip
        rows = page.arrange(await page_rows.page_records(session, page.apply(query, Status.id)))
        body = await page_rows.timeline_statuses(svc, session, rows, viewer, "account")
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def follow_list(request: Request) -> Response:
    """GET /api/v1/accounts/:id/followers and /following: accepted follows, paged by follow id."""
    await optional_auth(request)
    params = await read_params(request)
    page = Page.from_params(params, default=40, most=80)
    followers = request.url.path.endswith("/followers")
    mine, theirs = (
        (Follow.followee_id, Follow.follower_id) if followers else (Follow.follower_id, Follow.followee_id)
    )
    svc = services(request)
    async with svc.reads() as session:
        account = await find_account(session, request.path_params["id"])
        query: Any = (
            select(Follow.id, Actor).join(Actor, Actor.id == theirs)
            .where(mine == account.id, Follow.state == FollowState.ACCEPTED, Actor.deleted_at.is_(None))
        )  # fmt: skip
        rows = page.arrange(list((await session.execute(page.apply(query, Follow.id))).all()))
        body = await render_accounts(svc, session, [actor for _, actor in rows])
    return JSONResponse(body, headers=link_header(request, [i for i, _ in rows], page))


async def search(request: Request) -> Response:
    """GET /api/v1/accounts/search?q=&resolve=&following=."""
    auth = await authenticate(request, "read:accounts")
    params = await read_params(request)
    query = params.required("q", max_chars=500)
    limit = params.get_int("limit", 40, low=1, high=80) or 40
    svc = services(request)
    resolved, _ = await resolve_remote(svc, query, "accounts") if params.get_bool("resolve") else (None, None)
    async with svc.reads() as session:
        actors = await search_accounts(
            svc, session, query, viewer=auth.account, resolved=resolved, limit=limit,
            offset=params.get_int("offset", 0, low=0, high=10_000) or 0,
            following=params.get_bool("following"),
        )  # fmt: skip
        body = await render_accounts(svc, session, actors)
    return JSONResponse(body)


# Literal paths first: "/api/v1/accounts/{id}" would match them too.
routes = [
    Route("/api/v1/accounts/verify_credentials", verify_credentials, methods=["GET"]),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", search, methods=["GET"]),
]
id_routes = [
    Route("/api/v1/accounts/{id}", show, methods=["GET"]),
    Route("/api/v1/accounts/{id}/statuses", account_statuses, methods=["GET"]),
    Route("/api/v1/accounts/{id}/followers", follow_list, methods=["GET"]),
    Route("/api/v1/accounts/{id}/following", follow_list, methods=["GET"]),
]
