"""Moderation use-cases: blocking whole domains (defederation)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from storage.models import Actor, DomainBlock, Follow


def _normalise(domain: str) -> str:
    value = domain.strip().lower().lstrip("@")
    if not value or "/" in value or " " in value or "." not in value.split(":")[0] and value != "localhost":
        raise ValidationError("domain", f"not a domain: {domain!r}")
    return value


async def block_domain(svc: Services, session: AsyncSession, domain: str, reason: str = "") -> DomainBlock:
    """Refuse everything from a domain (and its subdomains) and drop follows with its accounts."""
    name = _normalise(domain)
    block = await session.scalar(select(DomainBlock).where(DomainBlock.domain == name))
    if block is None:
        block = DomainBlock(domain=name, reason=reason)
        session.add(block)
    remote = select(Actor.id).where((Actor.domain == name) | Actor.domain.like(f"%.{name}"))
    await session.execute(
        delete(Follow).where(Follow.follower_id.in_(remote) | Follow.followee_id.in_(remote))
    )
    await session.flush()
    svc.resolver.forget_blocklist()
    return block


async def unblock_domain(svc: Services, session: AsyncSession, domain: str) -> None:
    """Federate with a domain again."""
    block = await session.scalar(select(DomainBlock).where(DomainBlock.domain == _normalise(domain)))
    if block is None:
        raise NotFoundError(f"{domain} is not blocked")
    await session.delete(block)
    await session.flush()
    svc.resolver.forget_blocklist()


async def blocked_domains(session: AsyncSession) -> Sequence[DomainBlock]:
    """Every blocked domain, alphabetically."""
    return list(await session.scalars(select(DomainBlock).order_by(DomainBlock.domain)))
