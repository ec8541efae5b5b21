"""Moderation use-cases: reports for the moderators (domain blocks live in fedigen.social.domains)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.services import Services
from fedigen.social import domains
from storage.models import Actor, DomainBlock, Report, Status


async def block_domain(svc: Services, session: AsyncSession, domain: str, reason: str = "") -> DomainBlock:
    """Suspend a domain (see fedigen.social.domains, the home of domain moderation)."""
    return await domains.block(svc, session, domain, severity=domains.SUSPEND, private_comment=reason)


async def unblock_domain(svc: Services, session: AsyncSession, domain: str) -> None:
    """Federate with a domain again."""
    await domains.unblock(svc, session, domain)


async def blocked_domains(session: AsyncSession) -> Sequence[DomainBlock]:
    """Every blocked domain, alphabetically."""
    return await domains.blocks(session)


async def report_received(
    svc: Services, session: AsyncSession, reporter: Actor, object_ap_ids: list[str], comment: str,
    *, ap_id: str | None = None,
) -> Report | None:  # fmt: skip
    """A report (a Flag from another server): the local account it names, and the posts it lists.
    None (nothing stored) when reports from the reporter's domain are rejected."""
    if reporter.domain is not None and await domains.reports_rejected(svc, reporter.ap_id):
        return None
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
