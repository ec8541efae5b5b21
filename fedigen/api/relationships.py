"""Relationships (https://docs.joinmastodon.org/methods/accounts/): follow, unfollow, block, mute and
their lists, the Relationship entity, and follow requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api.accounts import find_account, render_accounts
from fedigen.api.auth import authenticate
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import read_params
from fedigen.errors import ForbiddenError, NotFoundError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import blocks, follows
from storage.clients import AccountDomainBlock, Mute
from storage.models import Actor, Block, Follow, utcnow
from storage.vocabulary import FollowState


async def relationships(
    session: AsyncSession, viewer: Actor, targets: Sequence[Actor]
) -> list[dict[str, Any]]:
    """Relationship entities of ``viewer`` with each target, in a few queries."""
    ids = [t.id for t in targets]
    if not ids:
        return []
    follows = (await session.execute(
        select(Follow.follower_id, Follow.followee_id, Follow.state).where(or_(
            (Follow.follower_id == viewer.id) & Follow.followee_id.in_(ids),
            (Follow.followee_id == viewer.id) & Follow.follower_id.in_(ids)))
    )).all()  # fmt: skip
    outgoing = {b: s for a, b, s in follows if a == viewer.id}
    incoming = {a: s for a, b, s in follows if b == viewer.id}
    block_rows = (await session.execute(
        select(Block.actor_id, Block.target_id).where(or_(
            (Block.actor_id == viewer.id) & Block.target_id.in_(ids),
            (Block.target_id == viewer.id) & Block.actor_id.in_(ids)))
    )).all()  # fmt: skip
    blocking_ids = {t for a, t in block_rows if a == viewer.id}
    blocked_by = {a for a, t in block_rows if t == viewer.id}
    now = utcnow()
    mutes = {
        m.target_id: m
        for m in await session.scalars(
            select(Mute).where(Mute.account_id == viewer.id, Mute.target_id.in_(ids))
        )
        if m.expires_at is None or m.expires_at > now
    }
    domains = {t.domain for t in targets if t.domain}
    # The viewer's own domain blocks, as Mastodon's domain_blocking means.
    blocked_domains = set(await session.scalars(select(AccountDomainBlock.domain).where(
        AccountDomainBlock.account_id == viewer.id, AccountDomainBlock.domain.in_(domains)))
    ) if domains else set()  # fmt: skip
    return [
        {
            "id": str(t.id),
            "following": outgoing.get(t.id) == FollowState.ACCEPTED,
            "showing_reblogs": outgoing.get(t.id) == FollowState.ACCEPTED,
            "notifying": False,
            "languages": None,
            "followed_by": incoming.get(t.id) == FollowState.ACCEPTED,
            "blocking": t.id in blocking_ids,
            "blocked_by": t.id in blocked_by,
            "muting": t.id in mutes,
            "muting_notifications": t.id in mutes and mutes[t.id].notifications,
            "requested": outgoing.get(t.id) == FollowState.REQUESTED,
            "requested_by": incoming.get(t.id) == FollowState.REQUESTED,
            "domain_blocking": t.domain in blocked_domains,
            "endorsed": False,
            "note": "",
        }
        for t in targets
    ]


Change = Callable[[Services, AsyncSession, Actor, Actor, Any], Awaitable[None]]


async def _change(request: Request, scope: str, change: Change) -> Response:
    """Authenticate, load the target, apply one use-case, commit, and answer with the Relationship."""
    auth = await authenticate(request, scope)
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        viewer = await find_account(session, str(auth.account.id if auth.account else ""))
        target = await find_account(session, request.path_params["id"])
        await change(svc, session, viewer, target, params)
        entity = (await relationships(session, viewer, [target]))[0]
    return JSONResponse(entity)


async def _follow(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, _: Any) -> None:
    blocked = await session.scalar(select(Block.id).where(or_(
        (Block.actor_id == viewer.id) & (Block.target_id == target.id),
        (Block.actor_id == target.id) & (Block.target_id == viewer.id))))  # fmt: skip
    if blocked is not None:
        raise ForbiddenError("This action is not allowed")
    await follows.follow(svc, session, viewer, target)


async def _unfollow(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, _: Any) -> None:
    try:
        await follows.unfollow(svc, session, viewer, target)
    except NotFoundError:
        pass  # Mastodon answers unfollowing someone not followed with the relationship as it is


async def _block(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, _: Any) -> None:
    await blocks.block(svc, session, viewer, target)


async def _unblock(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, _: Any) -> None:
    await blocks.unblock(svc, session, viewer, target)


async def _mute(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, params: Any) -> None:
    notifications = params.get_bool("notifications", True)
    duration = params.get_int("duration", 0, low=0) or 0
    await blocks.mute(session, viewer, target, notifications=notifications, duration=duration)


async def _unmute(svc: Services, session: AsyncSession, viewer: Actor, target: Actor, _: Any) -> None:
    await blocks.unmute(session, viewer, target)


async def follow(request: Request) -> Response:
    """POST /api/v1/accounts/:id/follow (remote accounts: ``requested`` until they accept)."""
    return await _change(request, "write:follows", _follow)


async def unfollow(request: Request) -> Response:
    """POST /api/v1/accounts/:id/unfollow."""
    return await _change(request, "write:follows", _unfollow)


async def block(request: Request) -> Response:
    """POST /api/v1/accounts/:id/block."""
    return await _change(request, "write:blocks", _block)


async def unblock(request: Request) -> Response:
    """POST /api/v1/accounts/:id/unblock."""
    return await _change(request, "write:blocks", _unblock)


async def mute(request: Request) -> Response:
    """POST /api/v1/accounts/:id/mute (notifications, duration in seconds)."""
    return await _change(request, "write:mutes", _mute)


async def unmute(request: Request) -> Response:
    """POST /api/v1/accounts/:id/unmute."""
    return await _change(request, "write:mutes", _unmute)


async def show_relationships(request: Request) -> Response:
    """GET /api/v1/accounts/relationships?id[]=: one Relationship per known id, in the order asked."""
    auth = await authenticate(request, "read:follows")
    params = await read_params(request)
    wanted = [i for i in params.get_list("id", max_items=100) if i.isdigit() and len(i) < 19]
    async with services(request).reads() as session:
        viewer = await find_account(session, str(auth.account.id if auth.account else ""))
        found = {
            a.id: a
            for a in await session.scalars(select(Actor).where(Actor.id.in_([int(i) for i in wanted])))
        }
        targets = [found[int(i)] for i in dict.fromkeys(wanted) if int(i) in found]
        return JSONResponse(await relationships(session, viewer, targets))


async def _account_list(
    request: Request, scope: str, model: Any, mine: Any, theirs: Any, *where: Any
) -> Response:
    """A paged list of accounts linked to the viewer through ``model`` (follow requests, blocks, mutes)."""
    auth = await authenticate(request, scope)
    params = await read_params(request)
    page = Page.from_params(params, default=40, most=80)
    svc = services(request)
    async with svc.reads() as session:
        viewer_id = auth.account.id if auth.account else 0
        query = select(model.id, Actor).join(Actor, Actor.id == theirs).where(mine == viewer_id, *where)
        rows = page.arrange(list((await session.execute(page.apply(query, model.id))).all()))
        body = await render_accounts(svc, session, [actor for _, actor in rows])
    return JSONResponse(body, headers=link_header(request, [i for i, _ in rows], page))


async def follow_requests(request: Request) -> Response:
    """GET /api/v1/follow_requests: accounts waiting for approval."""
    return await _account_list(
        request,
        "read:follows",
        Follow,
        Follow.followee_id,
        Follow.follower_id,
        Follow.state == FollowState.REQUESTED,
    )


async def list_blocks(request: Request) -> Response:
    """GET /api/v1/blocks."""
    return await _account_list(request, "read:blocks", Block, Block.actor_id, Block.target_id)


async def mutes(request: Request) -> Response:
    """GET /api/v1/mutes (expired mutes left out)."""
    live = or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow())
    return await _account_list(request, "read:mutes", Mute, Mute.account_id, Mute.target_id, live)


async def answer(request: Request) -> Response:
    """POST /api/v1/follow_requests/:id/authorize and /reject: the Relationship with the requester."""
    approve = request.url.path.endswith("/authorize")
    auth = await authenticate(request, "write:follows")
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        owner = await find_account(session, str(auth.account.id if auth.account else ""))
        requester = await find_account(session, request.path_params["id"])
        pending = await session.scalar(
            select(Follow.id).where(
                Follow.follower_id == requester.id,
                Follow.followee_id == owner.id,
                Follow.state == FollowState.REQUESTED,
            )
        )
        if pending is None:
            raise NotFoundError("Record not found")
        await follows.answer_request(svc, session, owner, requester, approve=approve)
        entity = (await relationships(session, owner, [requester]))[0]
    return JSONResponse(entity)


routes = [
    Route("/api/v1/accounts/relationships", show_relationships, methods=["GET"]),
    Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unfollow", unfollow, methods=["POST"]),
    Route("/api/v1/accounts/{id}/block", block, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unblock", unblock, methods=["POST"]),
    Route("/api/v1/accounts/{id}/mute", mute, methods=["POST"]),
    Route("/api/v1/accounts/{id}/unmute", unmute, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests, methods=["GET"]),
    Route("/api/v1/blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/mutes", mutes, methods=["GET"]),
    Route("/api/v1/follow_requests/{id}/authorize", answer, methods=["POST"]),
    Route("/api/v1/follow_requests/{id}/reject", answer, methods=["POST"]),
]
