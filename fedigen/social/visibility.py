"""Who may see a post: the one rule every timeline, page, API and federation endpoint applies.

- public and unlisted posts: everyone, signed in or not, here or on any server;
- followers-only posts: the author's accepted followers, and the accounts the post mentions;
- direct posts: the accounts the post mentions;
- every post: its author; deleted posts: nobody.

:func:`can_see` applies the rule to one loaded post, :func:`visible_to` is the same rule as a SQL
condition for lists, and :func:`is_public` is its logged-out (and federated) case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError
from fedigen.social import domains
from fedigen.social.standing import is_hidden, suspended
from storage.models import Actor, Follow, Mention, Status
from storage.vocabulary import PUBLIC_VISIBILITIES, FollowState, Visibility


def is_public(status: Status) -> bool:
    """Whether anyone at all may see the post (the logged-out view, and what other servers may fetch)."""
    return status.deleted_at is None and status.visibility in PUBLIC_VISIBILITIES


def followed_by(viewer_id: int | ColumnElement[int]) -> Any:
    """The ids of the accounts ``viewer_id`` follows (accepted follows), as a subquery."""
    return select(Follow.followee_id).where(
        Follow.follower_id == viewer_id, Follow.state == FollowState.ACCEPTED
    )


async def can_see(session: AsyncSession, status: Status, viewer_id: int | None) -> bool:
    """The rule, for one post and one viewer (None: logged out)."""
    if status.deleted_at is not None:
        return False
    if is_hidden(await session.get(Actor, status.actor_id)):  # suspended by a moderator
        return False
    limited = False
    if not status.local:
        # A suspended domain's posts are hidden; a silenced one's are seen only by followers and mentions.
        if await domains.is_on_domains(session, status.actor_id, domains.SUSPEND):
            return False
        limited = await domains.is_on_domains(session, status.actor_id, domains.SILENCE)
    if status.visibility in PUBLIC_VISIBILITIES and not limited:
        return True
    if viewer_id is None:
        return False
    if status.actor_id == viewer_id:
        return True
    mentioned = await session.scalar(
        select(Mention.id).where(Mention.status_id == status.id, Mention.actor_id == viewer_id)
    )
    if mentioned is not None:
        return True
    if status.visibility not in (Visibility.FOLLOWERS, *PUBLIC_VISIBILITIES):
        return False
    follows = await session.scalar(
        select(Follow.id).where(
            Follow.follower_id == viewer_id, Follow.followee_id == status.actor_id,
            Follow.state == FollowState.ACCEPTED,
        )
    )  # fmt: skip
    return follows is not None


def visible_to(viewer_id: int | None) -> Any:
    """The rule as a WHERE condition on Status (deleted posts are the caller's filter)."""
    on_suspended_domain = domains.author_on_domains(Status.actor_id, domains.SUSPEND)
    silenced = domains.author_on_domains(Status.actor_id, domains.SILENCE)
    public = and_(Status.visibility.in_(PUBLIC_VISIBILITIES), or_(Status.local.is_(True), ~silenced))
    if viewer_id is None:
        return and_(
            public, or_(Status.local.is_(True), ~on_suspended_domain), Status.actor_id.not_in(suspended())
        )
    mentioned = exists().where(Mention.status_id == Status.id, Mention.actor_id == viewer_id)
    follower = and_(
        Status.visibility.in_((Visibility.FOLLOWERS, *PUBLIC_VISIBILITIES)),
        Status.actor_id.in_(followed_by(viewer_id)),
    )
    seen = or_(public, Status.actor_id == viewer_id, mentioned, follower)
    return and_(seen, or_(Status.local.is_(True), ~on_suspended_domain), Status.actor_id.not_in(suspended()))


async def visible_status(session: AsyncSession, status_id: int | str, viewer_id: int | None) -> Status:
    """The status with this id if the viewer may see it, else NotFoundError (hidden ones look absent)."""
    found = await session.get(Status, int(status_id)) if str(status_id).isdigit() else None
    if found is None or not await can_see(session, found, viewer_id):
        raise NotFoundError("Record not found")
    return found
