"""Reports and Mastodon's admin API for accounts and reports.

- ``POST /api/v1/reports`` (write:reports): a member reports an account and some of its posts
  (https://docs.joinmastodon.org/methods/reports/).
- ``/api/v1/admin/accounts`` (v1 filters), ``/api/v2/admin/accounts`` (v2 filters), ``GET :id``,
  ``POST :id/action``, ``POST :id/approve|reject``, ``POST :id/enable|unsilence|unsuspend|unsensitive``,
  ``DELETE :id``
  (https://docs.joinmastodon.org/methods/admin/accounts/): scopes ``admin:read:accounts`` /
  ``admin:write:accounts``, permission MANAGE_USERS (deleting data: DELETE_USER_DATA).
- ``/api/v1/admin/reports`` (https://docs.joinmastodon.org/methods/admin/reports/): list, show,
  update, assign_to_self, unassign, resolve, reopen; fedigen's own ``POST :id/forward`` and
  ``POST :id/notes`` (a moderator's note): ``admin:read:reports`` / ``admin:write:reports``,
  MANAGE_REPORTS.
- ``/api/v1/admin/canonical_email_blocks`` (https://docs.joinmastodon.org/methods/admin/canonical_email_blocks/):
  list, show, test, create, delete; ``admin:read:canonical_email_blocks`` / ``admin:write:...``,
  MANAGE_BLOCKS (an admin's).
- ``POST /api/v1/admin/measures`` (admin:read, VIEW_DASHBOARD): new_users, active_users, interactions,
  opened_reports, resolved_reports per day (fedigen.social.measures).
- ``GET /api/v1/admin/action_logs`` (fedigen's own, admin:read): the audit log, VIEW_AUDIT_LOG.

Every change goes through fedigen.social.account_moderation / fedigen.social.reports, which write the
audit log. Entities are Mastodon's Admin::Account, Admin::Report and Report.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api import entities, status_entities
from fedigen.api.auth import authenticate, authenticate_staff
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import account_of, as_id, ids_param, path_id
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import account_moderation, audit, email_blocks, measures, registrations, reports
from fedigen.social.roles import Permission, Role, role_entity
from storage.models import Actor, AuditLog, CanonicalEmailBlock, Report, User
from storage.signup import Signup

ADMIN_READ_ACCOUNTS, ADMIN_WRITE_ACCOUNTS = "admin:read:accounts", "admin:write:accounts"
ADMIN_READ_REPORTS, ADMIN_WRITE_REPORTS = "admin:read:reports", "admin:write:reports"
ROLE_BY_ID = {str(role_entity(r)["id"]): r for r in Role}


# --- entities --------------------------------------------------------------------------------------------


async def _users(session: AsyncSession, ids: Sequence[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.actor_id: u for u in await session.scalars(select(User).where(User.actor_id.in_(list(ids))))}


async def admin_accounts(
    svc: Services, session: AsyncSession, actors: Sequence[Actor]
) -> list[dict[str, Any]]:
    """Mastodon's Admin::Account entities."""
    ids = [a.id for a in actors]
    stats = await entities.account_stats(session, ids)
    users = await _users(session, ids)
    signups = {
        row.actor_id: row for row in await session.scalars(select(Signup).where(Signup.actor_id.in_(ids)))
    } if ids else {}  # fmt: skip
    out: list[dict[str, Any]] = []
    for actor in actors:
        user, signup = users.get(actor.id), signups.get(actor.id)
        out.append({
            "id": str(actor.id),
            "username": actor.username,
            "domain": actor.domain,
            "created_at": entities.iso(actor.published or actor.created_at),
            "email": (user.email or "") if user else "",
            "ip": None,
            "ips": [],
            "locale": actor.default_language or svc.settings.instance.default_language,
            "invite_request": (signup.reason or None) if signup is not None else None,
            "role": role_entity(user.role if user else None),
            # Accounts made at the CLI have no sign-up record: confirmed and approved by the operator.
            "confirmed": user is not None and (signup is None or signup.confirmed_at is not None),
            "approved": user is not None and (signup is None or signup.approved_at is not None),
            "disabled": actor.disabled_at is not None,
            "silenced": actor.silenced_at is not None,
            "suspended": actor.suspended_at is not None,
            "sensitized": actor.sensitized_at is not None,
            "account": entities.account(svc, actor, stats),
            "created_by_application_id": None,
            "invited_by_account_id": None,
            # fedigen's own: a forced content warning, and when a suspended account's data went.
            "forced_cw": actor.forced_cw,
            "deleted": actor.deleted_at is not None,
        })  # fmt: skip
    return out


def _report_base(report: Report) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "action_taken": report.resolved_at is not None,
        "action_taken_at": entities.iso(report.resolved_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": entities.iso(report.created_at),
        "rule_ids": [str(r) for r in report.rule_ids or []] or None,
    }


async def member_report(svc: Services, session: AsyncSession, report: Report) -> dict[str, Any]:
    """Mastodon's Report entity (what the reporter sees)."""
    target = await session.get(Actor, report.target_id) if report.target_id else None
    statuses = await reports.statuses_of(session, report)
    return {
        **_report_base(report),
        "status_ids": [str(s.id) for s in statuses] or None,
        "target_account": entities.account(svc, target, await entities.account_stats(session, [target.id]))
        if target else None,
    }  # fmt: skip


async def admin_report(svc: Services, session: AsyncSession, report: Report, viewer: Actor) -> dict[str, Any]:
    """Mastodon's Admin::Report entity (with fedigen's ``notes``)."""
    ids = [i for i in (report.reporter_id, report.target_id, report.assigned_account_id,
                       report.action_taken_by_id) if i is not None]  # fmt: skip
    actors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))}
    rendered = {a["id"]: a for a in await admin_accounts(svc, session, list(actors.values()))}

    def of(actor_id: int | None) -> dict[str, Any] | None:
        return rendered.get(str(actor_id)) if actor_id is not None else None

    statuses = await reports.statuses_of(session, report)
    notes = await reports.notes_of(session, report)
    return {
        **_report_base(report),
        "updated_at": entities.iso(report.updated_at or report.created_at),
        "account": of(report.reporter_id),
        "target_account": of(report.target_id),
        "assigned_account": of(report.assigned_account_id),
        "action_taken_by_account": of(report.action_taken_by_id),
        "statuses": await status_entities.statuses(svc, session, statuses, viewer) if statuses else [],
        "rules": [{"id": str(r), "text": "", "hint": ""} for r in report.rule_ids or []],
        "notes": [
            {"id": str(n.id), "content": n.content, "created_at": entities.iso(n.created_at),
             "account_id": str(n.account_id) if n.account_id else None}
            for n in notes
        ],
    }  # fmt: skip


# --- POST /api/v1/reports --------------------------------------------------------------------------------


async def file_report(request: Request) -> Response:
    """POST /api/v1/reports."""
    auth = await authenticate(request, "write:reports")
    params = await read_params(request)
    target_id = params.get_str("account_id")
    if not target_id:
        raise ValidationError("account_id", "can't be blank")
    if as_id(target_id) is None:
        raise NotFoundError("Record not found")
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        reporter = await account_of(session, auth)
        report = await reports.file_report(
            svc, session, reporter, int(target_id), status_ids=ids_param(params, "status_ids"),
            comment=params.get_str("comment", "") or "", forward=params.get_bool("forward"),
            category=params.get_str("category"), rule_ids=params.get_list("rule_ids"),
        )  # fmt: skip
        body = await member_report(svc, session, report)
    svc.work_queued()
    return JSONResponse(body)


# --- admin accounts --------------------------------------------------------------------------------------


def _filters_v1(params: Params) -> list[Any]:
    where: list[Any] = []
    if params.get_bool("local"):
        where.append(Actor.domain.is_(None))
    if params.get_bool("remote"):
        where.append(Actor.domain.is_not(None))
    where += _status_filter(
        next((s for s in ("active", "pending", "disabled", "silenced", "suspended", "sensitized")
              if params.get_bool(s)), None)
    )  # fmt: skip
    if params.get_bool("staff"):
        where.append(Actor.id.in_(select(User.actor_id).where(User.role != Role.MEMBER.value)))
    return where + _common_filters(params)


def _filters_v2(params: Params) -> list[Any]:
    where: list[Any] = []
    origin = params.get_str("origin")
    if origin not in (None, "", "local", "remote"):
        raise ValidationError("origin", "expected local or remote")
    if origin == "local":
        where.append(Actor.domain.is_(None))
    elif origin == "remote":
        where.append(Actor.domain.is_not(None))
    status = params.get_str("status")
    if status not in (None, "", "active", "pending", "disabled", "silenced", "suspended"):
        raise ValidationError("status", "expected active, pending, disabled, silenced or suspended")
    where += _status_filter(status or None)
    if params.get_str("permissions") == "staff":
        where.append(Actor.id.in_(select(User.actor_id).where(User.role != Role.MEMBER.value)))
    role_ids = params.get_list("role_ids")
    if role_ids:
        roles = [ROLE_BY_ID[r].value for r in role_ids if r in ROLE_BY_ID]
        where.append(Actor.id.in_(select(User.actor_id).where(User.role.in_(roles))))
    return where + _common_filters(params)


def _status_filter(status: str | None) -> list[Any]:
    if status == "active":
        return [Actor.suspended_at.is_(None), Actor.disabled_at.is_(None)]
    if status == "pending":  # signed up in approval mode and not approved yet (fedigen.social.registrations)
        return [Actor.id.in_(select(Signup.actor_id).where(Signup.approved_at.is_(None)))]
    if status in ("disabled", "silenced", "suspended", "sensitized"):
        return [getattr(Actor, f"{status}_at").is_not(None)]
    return []


def _common_filters(params: Params) -> list[Any]:
    where: list[Any] = [Actor.ap_type != "Application"]
    if username := params.get_str("username", max_chars=255):
        where.append(func.lower(Actor.username).startswith(username.lower(), autoescape=True))
    if display_name := params.get_str("display_name", max_chars=255):
        where.append(func.lower(Actor.display_name).contains(display_name.lower(), autoescape=True))
    if domain := params.get_str("by_domain", max_chars=255):
        where.append(func.lower(Actor.domain) == domain.lower())
    if email := params.get_str("email", max_chars=320):
        where.append(Actor.id.in_(select(User.actor_id).where(
            func.lower(User.email).contains(email.lower(), autoescape=True))))  # fmt: skip
    if params.get_str("ip"):
        where.append(Actor.id.is_(None))  # fedigen keeps no sign-in addresses
    return where


async def _list_accounts(request: Request, version: int) -> Response:
    auth, _ = await authenticate_staff(request, ADMIN_READ_ACCOUNTS, Permission.MANAGE_USERS)
    params = await read_params(request)
    where = _filters_v1(params) if version == 1 else _filters_v2(params)
    page = Page.from_params(params, default=100, most=200)
    svc = services(request)
    async with svc.reads() as session:
        rows = page.arrange(list(await session.scalars(page.apply(select(Actor).where(*where), Actor.id))))
        body = await admin_accounts(svc, session, rows)
    return JSONResponse(body, headers=link_header(request, [a.id for a in rows], page))


async def list_accounts_v1(request: Request) -> Response:
    """GET /api/v1/admin/accounts."""
    return await _list_accounts(request, 1)


async def list_accounts_v2(request: Request) -> Response:
    """GET /api/v2/admin/accounts."""
    return await _list_accounts(request, 2)


async def _target(session: AsyncSession, svc: Services, request: Request) -> Actor:
    actor = await session.get(Actor, path_id(request))
    if actor is None or actor.ap_id == svc.urls.instance_actor:
        raise NotFoundError("Record not found")
    return actor


async def show_account(request: Request) -> Response:
    """GET /api/v1/admin/accounts/:id."""
    await authenticate_staff(request, ADMIN_READ_ACCOUNTS, Permission.MANAGE_USERS)
    svc = services(request)
    async with svc.reads() as session:
        actor = await _target(session, svc, request)
        return JSONResponse((await admin_accounts(svc, session, [actor]))[0])


async def account_action(request: Request) -> Response:
    """POST /api/v1/admin/accounts/:id/action: type none|sensitive|disable|silence|suspend, report_id,
    text (warning_preset_id and send_email_notification are accepted and ignored: no presets or mail)."""
    auth, _ = await authenticate_staff(request, ADMIN_WRITE_ACCOUNTS, Permission.MANAGE_USERS)
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        target = await _target(session, svc, request)
        by = await account_of(session, auth)
        report = None
        if report_id := params.get_int("report_id", low=1, high=2**63 - 1):
            report = await reports.get(session, report_id)
        await account_moderation.act(svc, session, target, params.get_str("type", "none") or "none", by=by,
                                     text=params.get_str("text", "") or "", report=report)  # fmt: skip
    return JSONResponse({})


def _reversal(action: str) -> Any:
    async def endpoint(request: Request) -> Response:
        auth, _ = await authenticate_staff(request, ADMIN_WRITE_ACCOUNTS, Permission.MANAGE_USERS)
        svc = services(request)
        async with svc.sessions() as session, session.begin():
            target = await _target(session, svc, request)
            await account_moderation.reverse(svc, session, target, action, by=await account_of(session, auth))
            body = (await admin_accounts(svc, session, [target]))[0]
        return JSONResponse(body)

    endpoint.__doc__ = f"POST /api/v1/admin/accounts/:id/{action}."
    return endpoint


async def approve_account(request: Request) -> Response:
    """POST /api/v1/admin/accounts/:id/approve: let an applicant in (approval mode)."""
    auth, _ = await authenticate_staff(request, ADMIN_WRITE_ACCOUNTS, Permission.MANAGE_USERS)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        target = await _target(session, svc, request)
        await registrations.approve(session, target, by=await account_of(session, auth))
        body = (await admin_accounts(svc, session, [target]))[0]
    return JSONResponse(body)


async def reject_account(request: Request) -> Response:
    """POST /api/v1/admin/accounts/:id/reject: turn an applicant away (the account is deleted)."""
    auth, _ = await authenticate_staff(request, ADMIN_WRITE_ACCOUNTS, Permission.MANAGE_USERS)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        target = await _target(session, svc, request)
        body = (await admin_accounts(svc, session, [target]))[0]
        await registrations.reject(session, target, by=await account_of(session, auth))
    return JSONResponse(body)


async def delete_account(request: Request) -> Response:
    """DELETE /api/v1/admin/accounts/:id: delete a suspended account's data now."""
    auth, _ = await authenticate_staff(request, ADMIN_WRITE_ACCOUNTS, Permission.DELETE_USER_DATA)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        target = await _target(session, svc, request)
        await account_moderation.delete_data(svc, session, target, by=await account_of(session, auth))
        body = (await admin_accounts(svc, session, [target]))[0]
    return JSONResponse(body)


# --- admin reports ---------------------------------------------------------------------------------------


async def list_reports(request: Request) -> Response:
    """GET /api/v1/admin/reports: resolved, account_id, target_account_id, and pagination."""
    auth, _ = await authenticate_staff(request, ADMIN_READ_REPORTS, Permission.MANAGE_REPORTS)
    params = await read_params(request)
    page = Page.from_params(params, default=100, most=200)
    svc = services(request)
    async with svc.reads() as session:
        viewer = await account_of(session, auth)
        rows = await reports.listing(
            session, resolved=params.get_bool("resolved"), account_id=params.get_int("account_id"),
            target_account_id=params.get_int("target_account_id"), max_id=page.max_id, since_id=page.since_id,
            min_id=page.min_id, limit=page.limit,
        )  # fmt: skip
        body = [await admin_report(svc, session, r, viewer) for r in rows]
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def show_report(request: Request) -> Response:
    """GET /api/v1/admin/reports/:id."""
    auth, _ = await authenticate_staff(request, ADMIN_READ_REPORTS, Permission.MANAGE_REPORTS)
    svc = services(request)
    async with svc.reads() as session:
        report = await reports.get(session, path_id(request))
        return JSONResponse(await admin_report(svc, session, report, await account_of(session, auth)))


def _report_action(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        auth, _ = await authenticate_staff(request, ADMIN_WRITE_REPORTS, Permission.MANAGE_REPORTS)
        params = await read_params(request)
        svc = services(request)
        async with svc.sessions() as session, session.begin():
            by = await account_of(session, auth)
            report = await reports.get(session, path_id(request))
            if kind == "update":
                rule_ids = params.get_list("rule_ids") if "rule_ids" in params else None
                await reports.update(session, report, category=params.get_str("category"), rule_ids=rule_ids,
                                     by=by)  # fmt: skip
            elif kind == "assign_to_self":
                await reports.assign(session, report, by, by=by)
            elif kind == "unassign":
                await reports.unassign(session, report, by=by)
            elif kind == "resolve":
                await reports.resolve(svc, session, report, by=by)
            elif kind == "reopen":
                await reports.reopen(session, report, by=by)
            elif kind == "forward":
                await reports.forward(svc, session, report, by=by)
            elif kind == "notes":
                await reports.add_note(session, report, params.get_str("content", "") or "", by=by)
            await session.flush()
            body = await admin_report(svc, session, report, by)
        if kind == "forward":
            svc.work_queued()
        return JSONResponse(body)

    endpoint.__doc__ = f"/api/v1/admin/reports/:id ({kind})."
    return endpoint


# --- audit log -------------------------------------------------------------------------------------------


def audit_entity(row: AuditLog, by: Actor | None) -> dict[str, Any]:
    """One audit log entry (fedigen's shape; Mastodon has no API for its action log)."""
    return {
        "id": str(row.id),
        "action": row.action,
        "account_id": str(row.account_id) if row.account_id is not None else None,
        "account": (by.username if by is not None else None),
        "target_type": row.target_type,
        "target_id": str(row.target_id) if row.target_id is not None else None,
        "target": row.target_label,
        "detail": row.detail,
        "created_at": entities.iso(row.created_at),
    }


async def action_logs(request: Request) -> Response:
    """GET /api/v1/admin/action_logs: the audit log, newest first (limit up to 200)."""
    await authenticate_staff(request, "admin:read", Permission.VIEW_AUDIT_LOG)
    params = await read_params(request)
    limit = params.get_int("limit", 100, low=1, high=200) or 100
    svc = services(request)
    async with svc.reads() as session:
        rows = await audit.entries(session, limit=limit, account_id=params.get_int("account_id"))
        ids = {r.account_id for r in rows if r.account_id is not None}
        by = (
            {a.id: a for a in await session.scalars(select(Actor).where(or_(Actor.id.in_(ids))))}
            if ids
            else {}
        )
    return JSONResponse([audit_entity(r, by.get(r.account_id or 0)) for r in rows])


# --- canonical email blocks ------------------------------------------------------------------------------


def email_block_entity(row: CanonicalEmailBlock) -> dict[str, Any]:
    """Mastodon's Admin::CanonicalEmailBlock."""
    return {"id": str(row.id), "canonical_email_hash": row.canonical_email_hash}


async def list_email_blocks(request: Request) -> Response:
    """GET /api/v1/admin/canonical_email_blocks."""
    await authenticate_staff(request, "admin:read:canonical_email_blocks", Permission.MANAGE_BLOCKS)
    params = await read_params(request)
    page = Page.from_params(params, default=100, most=200)
    svc = services(request)
    async with svc.reads() as session:
        query = page.apply(select(CanonicalEmailBlock), CanonicalEmailBlock.id)
        rows = page.arrange(list(await session.scalars(query)))
    return JSONResponse(
        [email_block_entity(r) for r in rows], headers=link_header(request, [r.id for r in rows], page)
    )


async def show_email_block(request: Request) -> Response:
    """GET /api/v1/admin/canonical_email_blocks/:id."""
    await authenticate_staff(request, "admin:read:canonical_email_blocks", Permission.MANAGE_BLOCKS)
    svc = services(request)
    async with svc.reads() as session:
        return JSONResponse(email_block_entity(await email_blocks.get(session, path_id(request))))


async def test_email_block(request: Request) -> Response:
    """POST /api/v1/admin/canonical_email_blocks/test: the blocks an ``email`` falls under."""
    await authenticate_staff(request, "admin:read:canonical_email_blocks", Permission.MANAGE_BLOCKS)
    params = await read_params(request)
    svc = services(request)
    async with svc.reads() as session:
        rows = await email_blocks.matching(session, params.required("email", max_chars=320))
    return JSONResponse([email_block_entity(r) for r in rows])


async def create_email_block(request: Request) -> Response:
    """POST /api/v1/admin/canonical_email_blocks: ``email`` or ``canonical_email_hash``."""
    auth, _ = await authenticate_staff(
        request, "admin:write:canonical_email_blocks", Permission.MANAGE_BLOCKS
    )
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        row = await email_blocks.block(
            session, email=params.get_str("email", max_chars=320),
            canonical_email_hash=params.get_str("canonical_email_hash", max_chars=128),
            by=await account_of(session, auth),
        )  # fmt: skip
        body = email_block_entity(row)
    return JSONResponse(body)


async def delete_email_block(request: Request) -> Response:
    """DELETE /api/v1/admin/canonical_email_blocks/:id."""
    auth, _ = await authenticate_staff(
        request, "admin:write:canonical_email_blocks", Permission.MANAGE_BLOCKS
    )
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        row = await email_blocks.get(session, path_id(request))
        await email_blocks.unblock(session, row, by=await account_of(session, auth))
    return JSONResponse({})


# --- measures --------------------------------------------------------------------------------------------


def _day(params: Params, name: str) -> date:
    value = params.required(name, max_chars=40)
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ValidationError(name, "expected a date (YYYY-MM-DD)") from None


async def admin_measures(request: Request) -> Response:
    """POST /api/v1/admin/measures: keys[], start_at, end_at (Mastodon's dashboard numbers)."""
    await authenticate_staff(request, "admin:read", Permission.VIEW_DASHBOARD)
    params = await read_params(request)
    start, end = _day(params, "start_at"), _day(params, "end_at")
    svc = services(request)
    async with svc.reads() as session:
        body = await measures.measure(session, params.get_list("keys", max_items=20), start, end)
    return JSONResponse(body)


routes = [
    Route("/api/v1/reports", file_report, methods=["POST"]),
    Route("/api/v1/admin/accounts", list_accounts_v1, methods=["GET"]),
    Route("/api/v2/admin/accounts", list_accounts_v2, methods=["GET"]),
    Route("/api/v1/admin/accounts/{id}", show_account, methods=["GET"]),
    Route("/api/v1/admin/accounts/{id}", delete_account, methods=["DELETE"]),
    Route("/api/v1/admin/accounts/{id}/action", account_action, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/approve", approve_account, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/reject", reject_account, methods=["POST"]),
    *[Route(f"/api/v1/admin/accounts/{{id}}/{a}", _reversal(a), methods=["POST"])
      for a in ("enable", "unsilence", "unsuspend", "unsensitive")],
    Route("/api/v1/admin/reports", list_reports, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", show_report, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", _report_action("update"), methods=["PUT"]),
    *[Route(f"/api/v1/admin/reports/{{id}}/{k}", _report_action(k), methods=["POST"])
      for k in ("assign_to_self", "unassign", "resolve", "reopen", "forward", "notes")],
    Route("/api/v1/admin/action_logs", action_logs, methods=["GET"]),
    Route("/api/v1/admin/measures", admin_measures, methods=["POST"]),
    Route("/api/v1/admin/canonical_email_blocks", list_email_blocks, methods=["GET"]),
    Route("/api/v1/admin/canonical_email_blocks", create_email_block, methods=["POST"]),
    Route("/api/v1/admin/canonical_email_blocks/test", test_email_block, methods=["POST"]),
    Route("/api/v1/admin/canonical_email_blocks/{id}", show_email_block, methods=["GET"]),
    Route("/api/v1/admin/canonical_email_blocks/{id}", delete_email_block, methods=["DELETE"]),
]  # fmt: skip
