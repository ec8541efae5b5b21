"""Moderating accounts, local and remote, as Mastodon's admin actions (its Admin::AccountAction).

One home for every origin (the admin API, the CLI): each action sets the account's flags, keeps an
AccountWarning row (Mastodon's "strike") and an audit log row, in the caller's transaction.

- ``suspend``: a local account cannot sign in or post (its tokens answer 403), a remote one's deliveries
  are refused; either's profile and posts are hidden, follows with a remote one are severed. Reversible
  (``unsuspend``) for ``[moderation] suspension_retention_days``; then :func:`purge_expired` (a worker
  step) deletes its posts, media and follows, as ``delete_data`` does at once on request.
- ``silence`` (Mastodon's "limit"): off public timelines; its follows of local accounts need approval.
- ``sensitive``: all its media shown sensitive. ``force_cw``: a content warning shown on its posts.
- ``disable``: a local account cannot sign in (its data stays visible).
- ``delete_statuses``: chosen posts go (a local one's Delete is sent).
- ``none``: a warning only. Reversals: unsuspend, unsilence, unsensitive, enable, and ``force_cw`` with
  no text.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.outbox import enqueue_deliveries, record
from activitypub.vocab import CONTEXT, PUBLIC
from fedigen.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import audit, counts, posts
from fedigen.social.roles import RANK, role_of
from fedigen.social.standing import is_hidden, limited, may_sign_in, require_active, suspended
from storage.clients import OAuthToken
from storage.models import (
    AccountWarning,
    Actor,
    Favourite,
    Follow,
    MediaAttachment,
    Notification,
    Report,
    Status,
    User,
    utcnow,
)

ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
REVERSALS = {"unsuspend": "suspended_at", "unsilence": "silenced_at", "unsensitive": "sensitized_at",
             "enable": "disabled_at"}  # fmt: skip
MAX_TEXT = 5000
__all__ = ["is_hidden", "limited", "may_sign_in", "require_active", "suspended"]


async def _check_target(session: AsyncSession, svc: Services, target: Actor, by: Actor | None) -> None:
    """The instance actor is never a target; a moderator cannot act on staff of their rank or above."""
    if target.ap_id == svc.urls.instance_actor:
        raise ForbiddenError("This action is not allowed")
    if by is None or target.domain is not None:
        return
    if by.id == target.id:
        raise ForbiddenError("This action is not allowed")
    mine = role_of(await session.scalar(select(User.role).where(User.actor_id == by.id)))
    theirs = role_of(await session.scalar(select(User.role).where(User.actor_id == target.id)))
    if RANK[theirs] >= RANK[mine] and RANK[theirs] > 0:
        raise ForbiddenError("This action is not allowed")


async def _warn(
    session: AsyncSession, target: Actor, by: Actor | None, action: str, text: str,
    report: Report | None = None, status_ids: Sequence[int] = (),
) -> AccountWarning:  # fmt: skip
    warning = AccountWarning(target_id=target.id, account_id=by.id if by else None, action=action,
                             text=text[:MAX_TEXT], report_id=report.id if report else None,
                             status_ids=[str(i) for i in status_ids])  # fmt: skip
    session.add(warning)
    await audit.record(session, by, f"{action}_account" if action != "none" else "warn_account", "account",
                       target.id, audit.label_of(target), text[:500])  # fmt: skip
    return warning


async def act(
    svc: Services, session: AsyncSession, target: Actor, action: str, *, by: Actor | None = None,
    text: str = "", report: Report | None = None, now: datetime | None = None,
) -> AccountWarning:  # fmt: skip
    """Mastodon's ``POST /api/v1/admin/accounts/:id/action``: none, sensitive, disable, silence or
    suspend, with an optional report it resolves."""
    if action not in ACTIONS:
        raise ValidationError("type", f"expected one of {', '.join(ACTIONS)}")
    if len(text) > MAX_TEXT:
        raise ValidationError("text", f"at most {MAX_TEXT} characters")
    await _check_target(session, svc, target, by)
    if target.deleted_at is not None:
        raise ConflictError("the account's data is already deleted")
    now = now or utcnow()
    if action == "disable":
        if target.domain is not None:
            raise ValidationError("type", "disable applies to local accounts")
        target.disabled_at = target.disabled_at or now
    elif action == "sensitive":
        target.sensitized_at = target.sensitized_at or now
    elif action == "silence":
        target.silenced_at = target.silenced_at or now
    elif action == "suspend":
        target.suspended_at = target.suspended_at or now
        if target.domain is not None:  # a remote account's follows end both ways (it cannot Undo them)
            await session.execute(
                delete(Follow).where(or_(Follow.follower_id == target.id, Follow.followee_id == target.id))
            )
    warning = await _warn(session, target, by, action, text, report)
    if report is not None:
        from fedigen.social import reports  # noqa: PLC0415 (reports calls back here)

        await reports.resolve(svc, session, report, by=by, action_taken=True, now=now)
    await session.flush()
    return warning


async def reverse(
    svc: Services, session: AsyncSession, target: Actor, action: str, *, by: Actor | None = None
) -> None:
    """unsuspend, unsilence, unsensitive or enable (a no-op when the flag is not set, as Mastodon)."""
    column = REVERSALS.get(action)
    if column is None:
        raise ValidationError("action", f"expected one of {', '.join(REVERSALS)}")
    await _check_target(session, svc, target, by)
    if action == "unsuspend" and target.deleted_at is not None:
        raise ForbiddenError("The account's data is deleted: it cannot be unsuspended")
    if getattr(target, column) is None:
        return
    setattr(target, column, None)
    await audit.record(session, by, f"{action}_account", "account", target.id, audit.label_of(target))
    await session.flush()


async def force_cw(
    svc: Services, session: AsyncSession, target: Actor, text: str | None, *, by: Actor | None = None
) -> None:
    """Show a content warning on all the account's posts (``text``), or stop doing so (None or "")."""
    value = (text or "").strip()[:500] or None
    if value is None and target.forced_cw is None:
        return
    await _check_target(session, svc, target, by)
    target.forced_cw = value
    if value is None:
        await audit.record(session, by, "unforce_cw_account", "account", target.id, audit.label_of(target))
    else:
        await _warn(session, target, by, "force_cw", value)
    await session.flush()


async def delete_statuses(
    svc: Services, session: AsyncSession, target: Actor, status_ids: Sequence[int], *,
    by: Actor | None = None, text: str = "", report: Report | None = None,
) -> list[int]:  # fmt: skip
    """Delete chosen posts of the account (a local one's Delete is federated); returns the ids deleted."""
    if not status_ids:
        raise ValidationError("status_ids", "name at least one status")
    await _check_target(session, svc, target, by)
    rows = list(await session.scalars(
        select(Status).where(Status.id.in_(list(status_ids)[:100]), Status.actor_id == target.id,
                             Status.deleted_at.is_(None))
    ))  # fmt: skip
    if not rows:
        raise NotFoundError("Record not found")
    for row in rows:
        await posts.remove_status(svc, session, target, row)
    await _warn(session, target, by, "delete_statuses", text, report, [r.id for r in rows])
    await session.flush()
    return [r.id for r in rows]


async def delete_data(
    svc: Services,
    session: AsyncSession,
    target: Actor,
    *,
    by: Actor | None = None,
    now: datetime | None = None,
) -> None:
    """Delete a suspended account's data now (Mastodon's ``DELETE /api/v1/admin/accounts/:id``): its
    posts, media, follows, favourites, notifications and sign-in; the account row stays as a marker so its
    name is not taken again and its deliveries stay refused."""
    if target.suspended_at is None:
        raise ForbiddenError("Only suspended accounts can be deleted")
    if target.deleted_at is not None:
        return
    await _check_target(session, svc, target, by)
    now = now or utcnow()
    if target.domain is None:  # every server we know is told the account is gone
        inboxes = list(await session.scalars(
            select(func.coalesce(Actor.shared_inbox_url, Actor.inbox_url)).where(
                Actor.domain.is_not(None), Actor.deleted_at.is_(None), Actor.suspended_at.is_(None),
                func.coalesce(Actor.shared_inbox_url, Actor.inbox_url).is_not(None)).distinct()
        ))  # fmt: skip
        doc = {"@context": CONTEXT, "id": f"{target.ap_id}#delete", "type": "Delete", "actor": target.ap_id,
               "object": target.ap_id, "to": [PUBLIC]}  # fmt: skip
        await enqueue_deliveries(session, await record(session, target, doc), [i for i in inboxes if i])
    touched = await counts.touched_by_account(session, target.id)
    await session.execute(delete(MediaAttachment).where(MediaAttachment.account_id == target.id))
    await session.execute(delete(Status).where(Status.actor_id == target.id))
    await session.execute(
        delete(Follow).where(or_(Follow.follower_id == target.id, Follow.followee_id == target.id))
    )
    await session.execute(delete(Favourite).where(Favourite.actor_id == target.id))
    await counts.recount(session, touched)
    await session.execute(
        delete(Notification).where(or_(Notification.recipient_id == target.id,
                                       Notification.from_actor_id == target.id))
    )  # fmt: skip
    if target.domain is None:
        await session.execute(delete(OAuthToken).where(OAuthToken.account_id == target.id))
        await session.execute(update(User).where(User.actor_id == target.id).values(password_hash=None))
    target.display_name, target.summary, target.fields, target.icon_url, target.image_url = (
        "",
        "",
        [],
        None,
        None,
    )
    target.deleted_at = now
    await audit.record(session, by, "destroy_account_data", "account", target.id, audit.label_of(target))
    await session.flush()


async def purge_expired(svc: Services, session: AsyncSession, *, now: datetime | None = None) -> int:
    """Delete the data of accounts suspended longer than the retention period; returns how many."""
    now = now or utcnow()
    before = now - timedelta(days=svc.settings.moderation.suspension_retention_days)
    due = list(await session.scalars(
        select(Actor).where(Actor.suspended_at.is_not(None), Actor.suspended_at <= before,
                            Actor.deleted_at.is_(None)).limit(100)
    ))  # fmt: skip
    for target in due:
        await delete_data(svc, session, target, now=now)
    return len(due)


async def warnings_of(session: AsyncSession, target: Actor) -> Sequence[AccountWarning]:
    """The account's moderation history, newest first."""
    return list(await session.scalars(
        select(AccountWarning).where(AccountWarning.target_id == target.id).order_by(AccountWarning.id.desc())
    ))  # fmt: skip
