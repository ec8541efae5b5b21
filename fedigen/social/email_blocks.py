"""Canonical email blocks (Mastodon's CanonicalEmailBlock): an address is blocked by the SHA-256 of its
canonical form, so the address itself is never stored and its variants are caught too.

The canonical form is Mastodon's: lower-cased, the local part without dots and without a ``+tag``
(``J.Doe+spam@Example.com`` and ``jdoe@example.com`` are one address). Sign-up asks :func:`is_blocked`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError, ValidationError
from fedigen.social import audit
from storage.models import Actor, CanonicalEmailBlock

_HASH = re.compile(r"^[0-9a-f]{64}$")


def canonical_email(email: str) -> str:
    """Mastodon's canonical form of an address."""
    username, _, domain = email.strip().lower().partition("@")
    return f"{username.replace('.', '').split('+', 1)[0]}@{domain}"


def canonical_hash(email: str) -> str:
    """The SHA-256 (hex) of the canonical form."""
    return hashlib.sha256(canonical_email(email).encode()).hexdigest()


def _checked_email(email: str) -> str:
    value = email.strip()
    if "@" not in value or len(value) > 320:
        raise ValidationError("email", "is not an email address")
    return value


async def matching(session: AsyncSession, email: str) -> Sequence[CanonicalEmailBlock]:
    """The blocks an address falls under (none or one)."""
    digest = canonical_hash(_checked_email(email))
    return list(await session.scalars(select(CanonicalEmailBlock).where(
        CanonicalEmailBlock.canonical_email_hash == digest)))  # fmt: skip


async def is_blocked(session: AsyncSession, email: str) -> bool:
    """Whether sign-up must refuse this address."""
    return bool(await matching(session, email))


async def block(
    session: AsyncSession, *, email: str | None = None, canonical_email_hash: str | None = None,
    by: Actor | None = None,
) -> CanonicalEmailBlock:  # fmt: skip
    """Block an address (or a hash of one); 422 when neither is given or it is already blocked."""
    if email:
        digest = canonical_hash(_checked_email(email))
    elif canonical_email_hash:
        digest = canonical_email_hash.strip().lower()
        if not _HASH.match(digest):
            raise ValidationError("canonical_email_hash", "is not a SHA-256 hex digest")
    else:
        raise ValidationError("email", "can't be blank")
    if await session.scalar(
        select(CanonicalEmailBlock).where(CanonicalEmailBlock.canonical_email_hash == digest)
    ):
        raise ValidationError("canonical_email_hash", "has already been taken")
    row = CanonicalEmailBlock(canonical_email_hash=digest)
    session.add(row)
    await session.flush()
    await audit.record(session, by, "create_canonical_email_block", "canonical_email_block", row.id, digest)
    return row


async def get(session: AsyncSession, block_id: int) -> CanonicalEmailBlock:
    """One block, or NotFoundError."""
    row = await session.get(CanonicalEmailBlock, block_id)
    if row is None:
        raise NotFoundError("Record not found")
    return row


async def unblock(session: AsyncSession, row: CanonicalEmailBlock, *, by: Actor | None = None) -> None:
    """Lift a block."""
    await audit.record(session, by, "destroy_canonical_email_block", "canonical_email_block", row.id,
                       row.canonical_email_hash)  # fmt: skip
    await session.delete(row)
    await session.flush()
