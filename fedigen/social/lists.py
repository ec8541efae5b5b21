"""An account's lists: named sets of accounts it follows, each read as a timeline of its own.

A member must be an account the owner follows or has asked to follow (or the owner), as on Mastodon;
a member the owner stops following drops out of the list's timeline and accounts. An exclusive list's
members' posts stay out of the owner's home timeline (``timelines.home_query``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError, ValidationError
from storage.clients import AccountList, ListAccount
from storage.models import Actor, Follow

REPLIES_POLICIES = ("followed", "list", "none")
MAX_LISTS = 50
MAX_MEMBERS = 500
MAX_TITLE = 256


def _title(value: str | None) -> str:
    if value is None or not value.strip():
        raise ValidationError("title", "can't be blank")
    if len(value) > MAX_TITLE:
        raise ValidationError("title", f"is too long (maximum is {MAX_TITLE} characters)")
    return value.strip()


def _policy(value: str | None) -> str:
    value = value or "list"
    if value not in REPLIES_POLICIES:
        raise ValidationError("replies_policy", "is not included in the list")
    return value


async def create_list(
    session: AsyncSession,
    owner: Actor,
    title: str | None,
    replies_policy: str | None = None,
    exclusive: bool = False,
) -> AccountList:
    """A new list of ``owner``."""
    row = AccountList(account_id=owner.id, title=_title(title), replies_policy=_policy(replies_policy),
                      exclusive=exclusive)  # fmt: skip
    count = len(list(await session.scalars(select(AccountList.id).where(AccountList.account_id == owner.id))))
    if count >= MAX_LISTS:
        raise ValidationError("list", f"you have reached the limit of {MAX_LISTS} lists")
    session.add(row)
    await session.flush()
    return row


async def own_list(session: AsyncSession, owner_id: int, list_id: int) -> AccountList:
    """The owner's list (404 for anyone else's)."""
    row = await session.get(AccountList, list_id)
    if row is None or row.account_id != owner_id:
        raise NotFoundError("Record not found")
    return row


async def update_list(
    session: AsyncSession, row: AccountList, *, title: str | None = None, replies_policy: str | None = None,
    exclusive: bool | None = None,
) -> AccountList:  # fmt: skip
    """Change what is given."""
    new_title = _title(title) if title is not None else row.title
    new_policy = _policy(replies_policy) if replies_policy is not None else row.replies_policy
    row.title, row.replies_policy = new_title, new_policy
    if exclusive is not None:
        row.exclusive = exclusive
    await session.flush()
    return row


async def delete_list(session: AsyncSession, row: AccountList) -> None:
    """Remove a list and its memberships."""
    await session.execute(delete(ListAccount).where(ListAccount.list_id == row.id))
    await session.delete(row)
    await session.flush()


def followed_or_requested(owner_id: int) -> Any:
    """The ids of accounts the owner follows or asked to follow."""
    return select(Follow.followee_id).where(Follow.follower_id == owner_id)


async def add_accounts(session: AsyncSession, row: AccountList, accounts: Sequence[Actor]) -> None:
    """Add accounts the owner follows (or asked to follow); none is added when one is not followed or
    is on the list already (422, as on Mastodon)."""
    followed = set(await session.scalars(select(Follow.followee_id).where(
        Follow.follower_id == row.account_id, Follow.followee_id.in_([a.id for a in accounts]))))  # fmt: skip
    for account in accounts:
        if account.id != row.account_id and account.id not in followed:
            raise ValidationError("account_id", "must be followed (you can only add accounts you follow)")
    present = set(await session.scalars(select(ListAccount.account_id).where(ListAccount.list_id == row.id)))
    if any(a.id in present for a in accounts):
        raise ValidationError("account_id", "has already been taken")  # Mastodon's uniqueness check
    new = list(dict.fromkeys(accounts))
    if len(present) + len(new) > MAX_MEMBERS:
        raise ValidationError("account_ids", f"a list holds at most {MAX_MEMBERS} accounts")
    for account in new:
        session.add(ListAccount(list_id=row.id, account_id=account.id))
    await session.flush()


async def remove_accounts(session: AsyncSession, row: AccountList, account_ids: Sequence[int]) -> None:
    """Take accounts off a list (those not on it are ignored)."""
    await session.execute(
        delete(ListAccount).where(
            ListAccount.list_id == row.id, ListAccount.account_id.in_(list(account_ids))
        )
    )
    await session.flush()


def members_query(row: AccountList) -> Any:
    """(ListAccount.id, Actor) rows of a list's live members (still followed or requested, or the owner);
    paginate on ListAccount.id."""
    return (
        select(ListAccount.id, Actor)
        .join(Actor, Actor.id == ListAccount.account_id)
        .where(
            ListAccount.list_id == row.id,
            or_(ListAccount.account_id.in_(followed_or_requested(row.account_id)),
                ListAccount.account_id == row.account_id),
        )
    )  # fmt: skip


async def lists_with(session: AsyncSession, owner_id: int, account_id: int) -> list[AccountList]:
    """The owner's lists holding an account."""
    rows = await session.scalars(
        select(AccountList)
        .join(ListAccount, ListAccount.list_id == AccountList.id)
        .where(AccountList.account_id == owner_id, ListAccount.account_id == account_id)
        .order_by(AccountList.id)
    )
    return list(rows)
