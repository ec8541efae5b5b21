"""A user's own domain blocks: a domain hidden from one account, as Mastodon's "block domain".

Blocking a domain hides its accounts' posts from the account's timelines (``timelines``) and their
notifications (``notifications.notify`` and the notifications already there), and ends follows both
ways through the one follows home: the account's follows of that domain's accounts are undone (Undo
Follow sent), their follows of the account and their pending requests are refused (Reject sent).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import ValidationError
from fedigen.services import Services
from fedigen.social import follows
from storage.clients import AccountDomainBlock, AccountList, ListAccount
from storage.models import Actor, Follow, Notification

DOMAIN = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?"
)


def normalize(value: str | None) -> str:
    """A domain as stored: lower case, IDN as punycode, no scheme or path (422 when it is not one)."""
    text = (value or "").strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0].strip(".")
    try:
        text = text.encode("idna").decode("ascii") if text else text
    except UnicodeError:
        raise ValidationError("domain", "is invalid") from None
    if not text:
        raise ValidationError("domain", "can't be blank")
    if not DOMAIN.fullmatch(text):
        raise ValidationError("domain", "is invalid")
    return text


async def block_domain(
    svc: Services, session: AsyncSession, account: Actor, domain: str | None
) -> AccountDomainBlock:
    """``account`` blocks a domain for itself; follows with that domain's accounts end."""
    name = normalize(domain)
    if account.domain is None and name == svc.urls.host.lower():
        raise ValidationError("domain", "cannot be your own server")
    row = await session.scalar(
        select(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account.id, AccountDomainBlock.domain == name
        )
    )
    if row is None:
        row = AccountDomainBlock(account_id=account.id, domain=name)
        session.add(row)
        await session.flush()
    theirs = select(Actor.id).where(Actor.domain == name)
    outgoing = await session.execute(
        select(Follow, Actor).join(Actor, Actor.id == Follow.followee_id)
        .where(Follow.follower_id == account.id, Follow.followee_id.in_(theirs))
    )  # fmt: skip
    for _, target in outgoing.all():
        await follows.unfollow(svc, session, account, target)
    incoming = await session.execute(
        select(Follow, Actor).join(Actor, Actor.id == Follow.follower_id)
        .where(Follow.followee_id == account.id, Follow.follower_id.in_(theirs))
    )  # fmt: skip
    for follow, follower in incoming.all():
        await follows.reject(svc, session, follow, follower, account)
    await session.execute(
        delete(Notification).where(
            Notification.recipient_id == account.id, Notification.from_actor_id.in_(theirs)
        )
    )
    await session.execute(delete(ListAccount).where(
        ListAccount.account_id.in_(theirs),
        ListAccount.list_id.in_(select_lists(account.id))))  # fmt: skip
    await session.flush()
    return row


def select_lists(account_id: int) -> Any:
    """The ids of an account's lists."""
    return select(AccountList.id).where(AccountList.account_id == account_id)


async def unblock_domain(session: AsyncSession, account: Actor, domain: str | None) -> None:
    """Lift the account's block of a domain (none is a no-op); ended follows stay ended."""
    name = normalize(domain)
    await session.execute(
        delete(AccountDomainBlock).where(
            AccountDomainBlock.account_id == account.id, AccountDomainBlock.domain == name
        )
    )


def blocks_query(account: Actor) -> Any:
    """(AccountDomainBlock.id, domain) rows of an account's blocked domains; paginate on the id."""
    return select(AccountDomainBlock.id, AccountDomainBlock.domain).where(
        AccountDomainBlock.account_id == account.id
    )
