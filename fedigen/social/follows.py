"""Following, for every origin: a local account following anyone, and a remote account following us.

One row per (follower, followee) in ``follows``; ``requested`` until the followee (or its server)
accepts. The same functions serve a local account's request (client API, C2S, CLI) and a Follow,
Accept, Reject or Undo received from another server; what goes on the wire follows from who is
where: a Follow is sent only to a remote followee, an Accept or Reject only to a remote follower.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import follow_of, response_of, undo_of
from activitypub.outbox import publish
from fedigen.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import domains
from fedigen.social.notifications import Kind, notify
from fedigen.social.standing import require_active
from storage.clients import AccountDomainBlock
from storage.models import Actor, Block, Follow
from storage.vocabulary import FollowState


async def _blocked(session: AsyncSession, a: Actor, b: Actor) -> Block | None:
    """A block between the two accounts, either way."""
    return await session.scalar(
        select(Block).where(or_(
            (Block.actor_id == a.id) & (Block.target_id == b.id),
            (Block.actor_id == b.id) & (Block.target_id == a.id),
        )).limit(1)
    )  # fmt: skip


async def _domain_blocked(session: AsyncSession, a: Actor, b: Actor) -> bool:
    """Whether either account (a local one) blocked the other's domain for itself."""
    pairs = [(x, y.domain) for x, y in ((a, b), (b, a)) if x.domain is None and y.domain is not None]
    if not pairs:
        return False
    found = await session.scalar(
        select(AccountDomainBlock.id).where(or_(*(
            (AccountDomainBlock.account_id == x.id) & (AccountDomainBlock.domain == d) for x, d in pairs
        ))).limit(1)
    )  # fmt: skip
    return found is not None


async def find_follow(session: AsyncSession, follower: Actor, followee: Actor) -> Follow | None:
    """The follow (or request) of ``follower`` for ``followee``."""
    return await session.scalar(
        select(Follow).where(Follow.follower_id == follower.id, Follow.followee_id == followee.id)
    )


def _follow_doc(row: Follow, follower: Actor, followee: Actor) -> dict[str, object]:
    return follow_of(row.ap_id or "", follower, followee)


async def _answer(svc: Services, session: AsyncSession, kind: str, row: Follow, follower: Actor,
                  followee: Actor) -> None:  # fmt: skip
    """Send a remote follower our Accept or Reject, carrying its Follow (what Mastodon matches on)."""
    follow_doc = _follow_doc(row, follower, followee)
    await publish(
        session, followee, response_of(kind, svc.urls.new_activity(), followee, follow_doc, follower.ap_id)
    )


async def follow(
    svc: Services, session: AsyncSession, follower: Actor, target: Actor, *, ap_id: str | None = None
) -> Follow:
    """``follower`` follows ``target``: at once, or as a request when ``target`` is locked or remote.

    ``ap_id`` is the received Follow's id when the follower is remote. A Follow received again (peers
    resend one they believe unanswered) is answered again.
    """
    if target.id == follower.id:
        raise ValidationError("account", "you cannot follow yourself")
    if follower.domain is None:
        require_active(follower)  # a suspended or disabled local account follows no one
    blocked = await _blocked(session, follower, target) is not None
    if blocked or await _domain_blocked(session, follower, target):
        if follower.domain is None:
            raise ForbiddenError("This action is not allowed")
        row = Follow(follower_id=follower.id, followee_id=target.id, ap_id=ap_id)
        await _answer(svc, session, "Reject", row, follower, target)
        return row
    # A follow from a limited (silenced) account, or from a silenced domain's, is a request whatever
    # the target's setting, as on Mastodon.
    request = (
        target.locked or follower.silenced_at is not None
        or await domains.follow_needs_approval(session, follower)
    )  # fmt: skip
    found = await find_follow(session, follower, target)
    if found is None:
        row = Follow(follower_id=follower.id, followee_id=target.id, state=FollowState.REQUESTED,
                     ap_id=ap_id or svc.urls.new_activity())  # fmt: skip
        session.add(row)
        await session.flush()
        await notify(session, target, Kind.FOLLOW_REQUEST if request else Kind.FOLLOW, follower)
        if target.domain is not None:
            await publish(session, follower, _follow_doc(row, follower, target))
    else:
        row = found
        row.ap_id = ap_id or row.ap_id
    if target.domain is None and (not request or row.state == FollowState.ACCEPTED):
        await accept(svc, session, row, follower, target)
    return row


async def accept(svc: Services, session: AsyncSession, row: Follow, follower: Actor, followee: Actor) -> None:
    """The follow is granted: by a local followee (a remote follower is sent Accept) or a remote one."""
    row.state = FollowState.ACCEPTED
    if follower.domain is not None and followee.domain is None:
        await _answer(svc, session, "Accept", row, follower, followee)


async def reject(svc: Services, session: AsyncSession, row: Follow, follower: Actor, followee: Actor) -> None:
    """The follow (or request) is refused or ended by the followee; a remote follower is sent Reject."""
    await session.delete(row)
    if follower.domain is not None and followee.domain is None:
        await _answer(svc, session, "Reject", row, follower, followee)


async def unfollow(svc: Services, session: AsyncSession, follower: Actor, target: Actor) -> None:
    """Stop following (or withdraw a request); a remote followee of a local follower is sent Undo."""
    row = await find_follow(session, follower, target)
    if row is None:
        raise NotFoundError("not following that account")
    await session.delete(row)
    if follower.domain is None and target.domain is not None and row.ap_id:
        inner = _follow_doc(row, follower, target)
        await publish(session, follower, undo_of(svc.urls.new_activity(), follower, inner, [target.ap_id]))


async def answer_request(
    svc: Services, session: AsyncSession, owner: Actor, requester: Actor, *, approve: bool
) -> None:
    """The owner of a locked account approves or rejects a pending follow request."""
    row = await find_follow(session, requester, owner)
    if row is None or row.state != FollowState.REQUESTED:
        raise ConflictError("there is no pending follow request from that account")
    if approve:
        await accept(svc, session, row, requester, owner)
    else:
        await reject(svc, session, row, requester, owner)


async def pending_requests(session: AsyncSession, owner: Actor) -> list[Actor]:
    """Accounts waiting for the owner's approval."""
    rows = await session.scalars(
        select(Actor)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == owner.id, Follow.state == FollowState.REQUESTED)
        .order_by(Follow.id)
    )
    return list(rows)


async def sever(session: AsyncSession, a: Actor, b: Actor) -> None:
    """End follows between two accounts both ways (blocks, suspensions), sending nothing."""
    rows = await session.scalars(
        select(Follow).where(or_(
            (Follow.follower_id == a.id) & (Follow.followee_id == b.id),
            (Follow.follower_id == b.id) & (Follow.followee_id == a.id),
        ))
    )  # fmt: skip
    for row in rows:
        await session.delete(row)
