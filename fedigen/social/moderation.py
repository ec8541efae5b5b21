"""Moderation use-cases: blocking whole domains (defederation), and reports for the moderators."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from storage.models import Actor, DomainBlock, Follow, Report, Status


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


async def report_received(
    svc: Services, session: AsyncSession, reporter: Actor, object_ap_ids: list[str], comment: str,
    *, ap_id: str | None = None,
) -> Report:  # fmt: skip
    """A report (a Flag from another server): the local account it names, and the posts it lists."""
    local = [a for a in object_ap_ids if svc.urls.is_local(a)]
    target = await session.scalar(
        select(Actor).where(Actor.ap_id.in_(local), Actor.domain.is_(None)).limit(1)
    ) if local else None  # fmt: skip
    statuses = [o for o in local if target is None or o != target.ap_id][:100]
    if target is None and statuses:  # only posts named: the report is about their author (as Mastodon)
        target = await session.scalar(
            select(Actor).join(Status, Status.actor_id == Actor.id)
            .where(Status.ap_id.in_(statuses), Actor.domain.is_(None)).limit(1)
        )  # fmt: skip
    report = Report(ap_id=ap_id, reporter_id=reporter.id, target_id=target.id if target else None,
                    status_ap_ids=statuses, comment=comment[:5000])  # fmt: skip
    session.add(report)
    return report
