"""Domain moderation: the one home of blocking (suspend, silence, noop with reject media/reports),
allowing (allowlist mode), and importing and exporting block lists, for the CLI, the admin API and the
rest (docs/moderation-domains.md).

Every change bumps the moderation version in its transaction (see activitypub.domains): every process
applies it within a second of the commit, this one at once. Every change is written to the audit log
(fedigen.social.audit) with Mastodon's action names (create/update/destroy_domain_block,
create/destroy_domain_allow); ``by`` is the moderator's account, or None for the operator at the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, event, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from activitypub.domains import NOOP, SEVERITIES, SILENCE, SUSPEND
from fedigen import events
from fedigen.errors import ConflictError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import audit
from storage.models import Actor, DomainAllow, DomainBlock, Follow, ModerationVersion, utcnow

__all__ = ["NOOP", "SEVERITIES", "SILENCE", "SUSPEND"]

CSV_HEADER = ("#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate")
MAX_COMMENT = 1000


def normalise(domain: str) -> str:
    """A domain (or host:port) as stored: lower case, no scheme, no leading @ or trailing dot."""
    value = domain.strip().lower().lstrip("@").rstrip(".")
    if "://" in value:
        value = value.split("://", 1)[1].split("/", 1)[0]
    host, _, port = value.partition(":")
    if (
        not value
        or len(value) > 255
        or any(c in value for c in "/ \t,;\"'*?#")
        or ("." not in host and host != "localhost")
        or (port and not port.isdigit())
        or host.startswith(".")
        or ".." in host
    ):
        raise ValidationError("domain", f"not a domain: {domain!r}")
    return value


async def _bump(svc: Services, session: AsyncSession) -> None:
    """Tell every process the policies changed (in this transaction); this one re-reads after commit."""
    done = await session.execute(
        update(ModerationVersion).where(ModerationVersion.id == 1).values(value=ModerationVersion.value + 1)
    )
    if getattr(done, "rowcount", 1) == 0:
        await session.execute(insert(ModerationVersion).values(id=1, value=2))
    svc.resolver.forget_blocklist()
    events.later(session, events.DOMAINS)  # every other process re-reads the policies at once

    def forget(_: Session) -> None:
        svc.resolver.forget_blocklist()

    event.listen(session.sync_session, "after_commit", forget, once=True)


def on_domains(domain_column: Any, *severities: str) -> ColumnElement[bool]:
    """SQL: the actor domain in ``domain_column`` is covered by a block of one of these severities
    (the domain itself, a subdomain, or any port of a host blocked without a port)."""
    return exists().where(
        domain_column.is_not(None),
        DomainBlock.severity.in_(severities),
        or_(
            domain_column == DomainBlock.domain,
            domain_column.like("%." + DomainBlock.domain),
            domain_column.like(DomainBlock.domain + ":%"),
        ),
    )


def author_on_domains(actor_id_column: Any, *severities: str) -> ColumnElement[bool]:
    """SQL: the account with this id is on a domain blocked with one of these severities."""
    return exists().where(
        Actor.id == actor_id_column,
        Actor.domain.is_not(None),
        DomainBlock.severity.in_(severities),
        or_(
            Actor.domain == DomainBlock.domain,
            Actor.domain.like("%." + DomainBlock.domain),
            Actor.domain.like(DomainBlock.domain + ":%"),
        ),
    )


async def is_on_domains(session: AsyncSession, actor_id: int, *severities: str) -> bool:
    """Whether one account is on a domain blocked with one of these severities."""
    return bool(await session.scalar(select(author_on_domains(actor_id, *severities))))


async def rejects_media_of(session: AsyncSession, actor_id: int) -> bool:
    """Whether this account's media is neither fetched nor copied (its domain rejects media, or is
    suspended), read from the database (for the worker, inside its transaction)."""
    covering = author_on_domains(actor_id, SUSPEND, SILENCE, NOOP).where(
        or_(DomainBlock.reject_media.is_(True), DomainBlock.severity == SUSPEND)
    )
    return bool(await session.scalar(select(covering)))


def _remote_on(name: str) -> Any:
    return select(Actor.id).where(
        Actor.domain.is_not(None),
        or_(Actor.domain == name, Actor.domain.like(f"%.{name}"), Actor.domain.like(f"{name}:%")),
    )


async def _apply(session: AsyncSession, block: DomainBlock) -> None:
    """What the severity does at once: a suspension severs follows both ways, sending nothing."""
    if block.severity == SUSPEND:
        remote = _remote_on(block.domain)
        await session.execute(
            delete(Follow).where(Follow.follower_id.in_(remote) | Follow.followee_id.in_(remote))
        )


def _comment(value: str | None, name: str) -> str | None:
    if value is not None and len(value) > MAX_COMMENT:
        raise ValidationError(name, f"longer than {MAX_COMMENT} characters")
    return value


async def block(
    svc: Services, session: AsyncSession, domain: str, *, severity: str = SUSPEND,
    reject_media: bool | None = None, reject_reports: bool | None = None,
    private_comment: str | None = None, public_comment: str | None = None, obfuscate: bool | None = None,
    create_only: bool = False, by: Actor | None = None,
) -> DomainBlock:  # fmt: skip
    """Block a domain with a severity (created, or the existing block changed unless ``create_only``)."""
    name = normalise(domain)
    if severity not in SEVERITIES:
        raise ValidationError("severity", f"expected one of {', '.join(SEVERITIES)}, got {severity!r}")
    _comment(private_comment, "private_comment")
    _comment(public_comment, "public_comment")
    row = await session.scalar(select(DomainBlock).where(DomainBlock.domain == name))
    if row is not None and create_only:
        raise ConflictError(f"{name} is already blocked")
    created = row is None
    if row is None:
        row = DomainBlock(domain=name, reason="", public_comment="", reject_media=False, reject_reports=False,
                          obfuscate=False)  # fmt: skip
        session.add(row)
    row.severity = severity
    for attr, value in (("reject_media", reject_media), ("reject_reports", reject_reports),
                        ("reason", private_comment), ("public_comment", public_comment),
                        ("obfuscate", obfuscate)):  # fmt: skip
        if value is not None:
            setattr(row, attr, value)
    row.updated_at = utcnow()
    await session.flush()
    await _apply(session, row)
    await _bump(svc, session)
    action = "create_domain_block" if created else "update_domain_block"
    await audit.record(session, by, action, "domain_block", row.id, row.domain, _block_detail(row))
    return row


def _block_detail(row: DomainBlock) -> str:
    flags = [name for name, on in (("reject_media", row.reject_media), ("reject_reports", row.reject_reports),
                                   ("obfuscate", row.obfuscate)) if on]  # fmt: skip
    return " ".join([f"severity={row.severity}", *flags])


async def get_block(session: AsyncSession, block_id: int | str) -> DomainBlock:
    row = await session.get(DomainBlock, int(block_id)) if str(block_id).isdigit() else None
    if row is None:
        raise NotFoundError("Record not found")
    return row


async def unblock(
    svc: Services, session: AsyncSession, domain_or_block: str | DomainBlock, *, by: Actor | None = None
) -> None:
    """Federate with a domain again (follows severed by a suspension stay severed, as on Mastodon)."""
    if isinstance(domain_or_block, DomainBlock):
        row: DomainBlock | None = domain_or_block
    else:
        row = await session.scalar(
            select(DomainBlock).where(DomainBlock.domain == normalise(domain_or_block))
        )
    if row is None:
        raise NotFoundError(f"{domain_or_block} is not blocked")
    await audit.record(session, by, "destroy_domain_block", "domain_block", row.id, row.domain,
                       f"severity={row.severity}")  # fmt: skip
    await session.delete(row)
    await session.flush()
    await _bump(svc, session)


async def blocks(session: AsyncSession) -> Sequence[DomainBlock]:
    """Every domain block, alphabetically."""
    return list(await session.scalars(select(DomainBlock).order_by(DomainBlock.domain)))


async def allow(
    svc: Services, session: AsyncSession, domain: str, *, create_only: bool = False, by: Actor | None = None
) -> DomainAllow:
    """Let a domain federate in allowlist mode."""
    name = normalise(domain)
    row = await session.scalar(select(DomainAllow).where(DomainAllow.domain == name))
    if row is not None:
        if create_only:
            raise ConflictError(f"{name} is already allowed")
        return row
    row = DomainAllow(domain=name)
    session.add(row)
    await session.flush()
    await _bump(svc, session)
    await audit.record(session, by, "create_domain_allow", "domain_allow", row.id, row.domain)
    return row


async def get_allow(session: AsyncSession, allow_id: int | str) -> DomainAllow:
    row = await session.get(DomainAllow, int(allow_id)) if str(allow_id).isdigit() else None
    if row is None:
        raise NotFoundError("Record not found")
    return row


async def disallow(
    svc: Services, session: AsyncSession, domain_or_allow: str | DomainAllow, *, by: Actor | None = None
) -> None:
    """Take a domain off the allow list."""
    if isinstance(domain_or_allow, DomainAllow):
        row: DomainAllow | None = domain_or_allow
    else:
        row = await session.scalar(
            select(DomainAllow).where(DomainAllow.domain == normalise(domain_or_allow))
        )
    if row is None:
        raise NotFoundError(f"{domain_or_allow} is not allowed")
    await audit.record(session, by, "destroy_domain_allow", "domain_allow", row.id, row.domain)
    await session.delete(row)
    await session.flush()
    await _bump(svc, session)


async def allows(session: AsyncSession) -> Sequence[DomainAllow]:
    """Every allowed domain, alphabetically."""
    return list(await session.scalars(select(DomainAllow).order_by(DomainAllow.domain)))


async def follow_needs_approval(session: AsyncSession, follower: Actor) -> bool:
    """A follow from a silenced domain's account becomes a request."""
    return follower.domain is not None and await is_on_domains(session, follower.id, SILENCE)


async def media_rejected(svc: Services, url: str) -> bool:
    """Whether media of this URL's domain is neither fetched nor copied (reject_media, or refused)."""
    policy = await svc.resolver.domains.policy(url)
    return policy.reject_media or policy.refused


async def reports_rejected(svc: Services, url: str) -> bool:
    """Whether reports from this URL's domain are dropped."""
    policy = await svc.resolver.domains.policy(url)
    return policy.reject_reports or policy.refused


# Mastodon's CSV (Admin::ExportDomainBlocksController / DomainBlocksController#import)


@dataclass(frozen=True)
class Entry:
    """One line of a block list."""

    domain: str
    severity: str = SUSPEND
    reject_media: bool = False
    reject_reports: bool = False
    public_comment: str = ""
    obfuscate: bool = False


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def export_csv(rows: Sequence[DomainBlock]) -> str:
    """The block list in Mastodon's export format (its private comments stay here, as on Mastodon)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow([row.domain, row.severity, _flag(row.reject_media), _flag(row.reject_reports),
                         row.public_comment or "", _flag(row.obfuscate)])  # fmt: skip
    return out.getvalue()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _bool(value: str, line: int, column: str) -> bool:
    text = value.strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValidationError("file", f"line {line}: {column}: expected true or false, got {value!r}")


def parse_csv(text: str) -> list[Entry]:
    """Read a block list: Mastodon's export (header ``#domain,#severity,...``, columns in any order, only
    ``#domain`` required) or a plain list of domains (each suspended). ValidationError names the first bad
    line; nothing is read from a file with one."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rows = list(csv.reader(io.StringIO(text)))
    header: list[str] | None = None
    entries: dict[str, Entry] = {}
    for number, cells in enumerate(rows, start=1):
        if not cells or all(not c.strip() for c in cells):
            continue
        if header is None and number == 1 and cells[0].strip().startswith("#"):
            header = [c.strip().lower() for c in cells]
            unknown = [c for c in header if c not in CSV_HEADER]
            if "#domain" not in header or unknown:
                raise ValidationError(
                    "file", f"line 1: expected the columns {','.join(CSV_HEADER)}, got {','.join(cells)}"
                )
            continue
        names = header or ["#domain"]
        if len(cells) != len(names):
            raise ValidationError("file", f"line {number}: expected {len(names)} columns, got {len(cells)}")
        values = dict(zip(names, cells, strict=True))
        try:
            domain = normalise(values["#domain"])
        except ValidationError:
            raise ValidationError("file", f"line {number}: not a domain: {values['#domain']!r}") from None
        severity = (values.get("#severity") or SUSPEND).strip().lower()
        if severity not in SEVERITIES:
            raise ValidationError(
                "file", f"line {number}: severity: expected suspend, silence or noop, got {severity!r}"
            )
        comment = values.get("#public_comment", "")
        if len(comment) > MAX_COMMENT:
            raise ValidationError("file", f"line {number}: public_comment: longer than {MAX_COMMENT}")
        entries[domain] = Entry(
            domain, severity,
            _bool(values.get("#reject_media", ""), number, "reject_media"),
            _bool(values.get("#reject_reports", ""), number, "reject_reports"),
            comment,
            _bool(values.get("#obfuscate", ""), number, "obfuscate"),
        )  # fmt: skip
    return list(entries.values())


async def import_blocks(
    svc: Services,
    session: AsyncSession,
    entries: Sequence[Entry],
    *,
    dry_run: bool = False,
    by: Actor | None = None,
) -> ImportResult:
    """Apply a parsed block list: new domains blocked, existing blocks set to the file's values."""
    result = ImportResult()
    existing = {b.domain: b for b in await blocks(session)}
    for entry in entries:
        row = existing.get(entry.domain)
        same = row is not None and (
            row.severity,
            row.reject_media,
            row.reject_reports,
            row.public_comment,
            row.obfuscate,
        ) == (entry.severity, entry.reject_media, entry.reject_reports, entry.public_comment, entry.obfuscate)
        (result.unchanged if same else result.added if row is None else result.updated).append(entry.domain)
        if dry_run or same:
            continue
        await block(
            svc, session, entry.domain, severity=entry.severity, reject_media=entry.reject_media,
            reject_reports=entry.reject_reports, public_comment=entry.public_comment,
            obfuscate=entry.obfuscate, by=by,
        )  # fmt: skip
    return result


# What the world sees (GET /api/v1/instance/domain_blocks)


def obfuscated(domain: str) -> str:
    """Mastodon's DomainBlock#public_domain: the middle of the name starred, dots kept."""
    length = len(domain)
    visible = length // 4
    return "".join("*" if visible < i < length - visible and c != "." else c for i, c in enumerate(domain))


def digest(domain: str) -> str:
    return hashlib.sha256(domain.encode()).hexdigest()


def public_entity(row: DomainBlock) -> dict[str, Any]:
    """Mastodon's DomainBlock entity."""
    return {
        "domain": obfuscated(row.domain) if row.obfuscate else row.domain,
        "digest": digest(row.domain),
        "severity": row.severity,
        "comment": row.public_comment or None,
    }
