"""Moderation and administration pages (Mastodon's ``/admin/...`` paths) for moderators and admins.

Each page checks the viewer's role for the permission the admin API asks for the same work (403 page
otherwise), and each form calls the same use-case as that API: ``reports``, ``account_moderation``,
``registrations`` (approval, confirmation, invites), ``accounts.set_role``, ``domains`` and ``audit``;
every change is written to the audit log by those use-cases.

The instance's name, description, rules and registration mode live in the configuration file, not the
database: ``/admin/rules`` and ``/admin/settings`` show them read-only with the key to edit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api.moderation import admin_accounts
from fedigen.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import account_moderation, accounts, audit, domains, registrations, reports
from fedigen.social.roles import Permission, Role, parse_role
from fedigen.web.forms import done, field_error, flag, integer, notice, staff_page, text, viewer
from fedigen.web.pages import attachments_of, html_errors, render
from fedigen.web.session import checked_form, safe_next
from storage.models import AccountWarning, Actor, Report, User

PAGE = 50
ACTIONS = {
    "none": "Warn only",
    "sensitive": "Mark media sensitive",
    "silence": "Limit",
    "disable": "Disable sign-in (local)",
    "suspend": "Suspend",
}
REVERSALS = {
    "unsuspend": "Unsuspend",
    "unsilence": "Lift the limit",
    "unsensitive": "Media no longer sensitive",
    "enable": "Enable sign-in",
}
INVITE_EXPIRIES = {
    "": "Never",
    "30m": "30 minutes",
    "1h": "1 hour",
    "12h": "12 hours",
    "1d": "1 day",
    "1w": "1 week",
}
ACCOUNT_STATUSES = ("active", "pending", "silenced", "suspended", "disabled", "sensitized")


def _page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    context = {"notice": notice(request), "errors": {}, **context}
    response = render(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _me(session: AsyncSession, request: Request) -> Actor:
    actor = await session.get(Actor, viewer(request).account.id)
    assert actor is not None
    return actor


async def _actors(session: AsyncSession, ids: set[int | None]) -> dict[int, Actor]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(wanted)))}


def _id(raw: Any) -> int:
    if not str(raw).isdigit() or len(str(raw)) > 18:
        raise NotFoundError("no such record")
    return int(raw)


# ---- reports ----


async def reports_page(request: Request) -> Response:
    """GET /admin/reports (``?resolved=1`` for the resolved ones)."""
    resolved = request.query_params.get("resolved") == "1"
    async with services(request).reads() as session:
        rows = await reports.listing(session, resolved=resolved, limit=PAGE)
        people = await _actors(
            session, {i for r in rows for i in (r.reporter_id, r.target_id, r.assigned_account_id)}
        )
    return _page(request, "admin/reports.html", {"reports": rows, "people": people, "resolved": resolved})


async def _report_context(svc: Services, session: AsyncSession, report: Report) -> dict[str, Any]:
    people = await _actors(
        session, {report.reporter_id, report.target_id, report.assigned_account_id, report.action_taken_by_id}
    )
    notes = await reports.notes_of(session, report)
    people |= await _actors(session, {n.account_id for n in notes})
    statuses = list(await reports.statuses_of(session, report))
    target = people.get(report.target_id or 0)
    return {
        "report": report,
        "people": people,
        "notes": notes,
        "statuses": statuses,
        "attachments": {s.id: attachments_of(s) for s in statuses},
        "target": target,
        "actions": ACTIONS,
        "rules": list(svc.settings.instance.rules),
    }


async def report_page(request: Request) -> Response:
    """GET /admin/reports/ID: the report, its posts with their images, notes and actions."""
    svc = services(request)
    async with svc.reads() as session:
        report = await reports.get(session, _id(request.path_params["report_id"]))
        context = await _report_context(svc, session, report)
    return _page(request, "admin/report.html", context)


async def report_change(request: Request) -> Response:
    """POST /admin/reports/ID/{assign,unassign,resolve,reopen,note,forward,action,delete_statuses}."""
    form = await checked_form(request)
    svc = services(request)
    kind = request.path_params["kind"]
    report_id = _id(request.path_params["report_id"])
    try:
        async with svc.sessions() as session, session.begin():
            by = await _me(session, request)
            report = await reports.get(session, report_id)
            if kind == "assign":
                await reports.assign(session, report, by, by=by)
            elif kind == "unassign":
                await reports.unassign(session, report, by=by)
            elif kind == "resolve":
                await reports.resolve(svc, session, report, by=by)
            elif kind == "reopen":
                await reports.reopen(session, report, by=by)
            elif kind == "note":
                await reports.add_note(session, report, text(form, "content", 5000), by=by)
            elif kind == "forward":
                await reports.forward(svc, session, report, by=by)
            elif kind in ("action", "delete_statuses"):
                if not viewer(request).may(Permission.MANAGE_USERS):
                    raise ForbiddenError("Your role may not act on accounts.")
                target = await session.get(Actor, report.target_id) if report.target_id else None
                if target is None:
                    raise NotFoundError("the reported account is gone")
                if kind == "action":
                    await account_moderation.act(
                        svc,
                        session,
                        target,
                        text(form, "type", 20) or "none",
                        by=by,
                        text=text(form, "text", 6000),
                        report=report,
                    )
                else:
                    ids = [int(v) for v in form.getlist("status_ids") if isinstance(v, str) and v.isdigit()]
                    await account_moderation.delete_statuses(
                        svc, session, target, ids, by=by, report=report, text=text(form, "text", 6000)
                    )
            else:
                raise NotFoundError("no such action")
    except (ValidationError, ConflictError) as exc:
        async with svc.reads() as session:
            report = await reports.get(session, report_id)
            context = await _report_context(svc, session, report)
        return _page(request, "admin/report.html", {**context, "errors": field_error(exc)}, status_code=422)
    svc.work_queued()
    return done(f"/admin/reports/{report_id}", "report")


# ---- accounts ----


def _account_filters(request: Request) -> tuple[dict[str, str], list[Any]]:
    params = request.query_params
    shown = {
        "q": params.get("q", "")[:255].strip(),
        "origin": params.get("origin", ""),
        "status": params.get("status", ""),
    }
    where: list[Any] = [Actor.ap_type != "Application"]
    query = shown["q"].lstrip("@")
    if query:
        user, _, domain = query.partition("@")
        if user:
            where.append(func.lower(Actor.username).startswith(user.lower(), autoescape=True))
        if domain:
            where.append(func.lower(Actor.domain).startswith(domain.lower(), autoescape=True))
    if shown["origin"] == "local":
        where.append(Actor.domain.is_(None))
    elif shown["origin"] == "remote":
        where.append(Actor.domain.is_not(None))
    status = shown["status"]
    if status == "active":
        where += [Actor.suspended_at.is_(None), Actor.disabled_at.is_(None), Actor.deleted_at.is_(None)]
    elif status == "pending":
        where.append(Actor.id.in_(registrations.waiting_ids()))
    elif status in ("silenced", "suspended", "disabled", "sensitized"):
        where.append(getattr(Actor, f"{status}_at").is_not(None))
    return shown, where


async def accounts_page(request: Request) -> Response:
    """GET /admin/accounts: search by name or domain, filter by origin and state."""
    shown, where = _account_filters(request)
    svc = services(request)
    async with svc.reads() as session:
        rows = list(await session.scalars(select(Actor).where(*where).order_by(Actor.id.desc()).limit(PAGE)))
        query = select(User.actor_id, User.role).where(User.actor_id.in_([a.id for a in rows]))
        roles = {actor_id: role for actor_id, role in await session.execute(query)}
    context = {"accounts": rows, "roles": roles, "filters": shown, "statuses": ACCOUNT_STATUSES}
    return _page(request, "admin/accounts.html", context)


async def _account_context(
    svc: Services, session: AsyncSession, request: Request, target: Actor
) -> dict[str, Any]:
    [entity] = await admin_accounts(svc, session, [target])
    warnings = list(
        await session.scalars(
            select(AccountWarning)
            .where(AccountWarning.target_id == target.id)
            .order_by(AccountWarning.id.desc())
            .limit(20)
        )
    )
    about = list(
        await session.scalars(
            select(Report).where(Report.target_id == target.id).order_by(Report.id.desc()).limit(20)
        )
    )
    signup = await registrations.signup_of(session, target)
    return {
        "target": target,
        "entity": entity,
        "warnings": warnings,
        "reports": about,
        "signup": signup,
        "actions": ACTIONS,
        "reversals": REVERSALS,
        "roles": [r.value for r in Role],
        "people": await _actors(session, {w.account_id for w in warnings}),
    }


async def _target(session: AsyncSession, svc: Services, request: Request) -> Actor:
    target = await session.get(Actor, _id(request.path_params["account_id"]))
    if target is None or target.ap_id == svc.urls.instance_actor or target.ap_type == "Application":
        raise NotFoundError("no such account")
    return target


async def account_page(request: Request) -> Response:
    """GET /admin/accounts/ID: the account's state, strikes, reports, and the actions on it."""
    svc = services(request)
    async with svc.reads() as session:
        target = await _target(session, svc, request)
        context = await _account_context(svc, session, request, target)
    return _page(request, "admin/account.html", context)


ACCOUNT_CHANGES = ("action", "force_cw", "role", "approve", "reject", "confirm", "delete_data", *REVERSALS)


async def account_change(request: Request) -> Response:
    """POST /admin/accounts/ID/{action,force_cw,role,approve,reject,confirm,delete_data,unsuspend,...}."""
    form = await checked_form(request)
    svc = services(request)
    kind = request.path_params["kind"]
    if kind not in ACCOUNT_CHANGES:
        raise NotFoundError("no such action")
    me = viewer(request)
    if kind == "delete_data" and not me.may(Permission.DELETE_USER_DATA):
        raise ForbiddenError("Your role may not delete account data.")
    back = safe_next(text(form, "back", 500), f"/admin/accounts/{request.path_params['account_id']}")
    try:
        async with svc.sessions() as session, session.begin():
            by = await _me(session, request)
            target = await _target(session, svc, request)
            if kind == "action":
                await account_moderation.act(
                    svc,
                    session,
                    target,
                    text(form, "type", 20) or "none",
                    by=by,
                    text=text(form, "text", 6000),
                )
            elif kind == "force_cw":
                await account_moderation.force_cw(svc, session, target, text(form, "text", 1000), by=by)
            elif kind == "role":
                await accounts.set_role(session, target, parse_role(text(form, "role", 20)), by=by)
            elif kind == "approve":
                await registrations.approve(session, target, by=by)
            elif kind == "reject":
                await registrations.reject(session, target, by=by)
                back = safe_next(text(form, "back", 500), "/admin/pending_accounts")
                if back.startswith(f"/admin/accounts/{target.id}"):
                    back = "/admin/pending_accounts"
            elif kind == "confirm":
                await registrations.confirm(session, target, by=by)
            elif kind == "delete_data":
                await account_moderation.delete_data(svc, session, target, by=by)
            else:
                await account_moderation.reverse(svc, session, target, kind, by=by)
    except (ValidationError, ConflictError) as exc:
        async with svc.reads() as session:
            target = await _target(session, svc, request)
            context = await _account_context(svc, session, request, target)
        return _page(request, "admin/account.html", {**context, "errors": field_error(exc)}, status_code=422)
    svc.work_queued()
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}done=account", status_code=303)


# ---- pending sign-ups ----


async def pending_page(request: Request) -> Response:
    """GET /admin/pending_accounts: who cannot sign in yet (awaiting approval or email confirmation)."""
    async with services(request).reads() as session:
        rows = list(await registrations.waiting(session))
        query = select(User.actor_id, User.email).where(User.actor_id.in_([a.id for a, _ in rows]))
        emails = {actor_id: email for actor_id, email in await session.execute(query)}
    return _page(request, "admin/pending.html", {"rows": rows, "emails": emails})


# ---- domains ----


async def _domains_context(session: AsyncSession, svc: Services) -> dict[str, Any]:
    return {
        "blocks": await domains.blocks(session),
        "allows": await domains.allows(session),
        "severities": domains.SEVERITIES,
        "allowlist": svc.settings.federation.mode == "allowlist",
        "values": {"domain": "", "severity": "suspend"},
        "block": None,
    }


async def domains_page(request: Request) -> Response:
    """GET /admin/domain_blocks (and /admin/instances): blocked and allowed domains, forms to add."""
    svc = services(request)
    async with svc.reads() as session:
        context = await _domains_context(session, svc)
    return _page(request, "admin/domains.html", context)


async def domain_block_edit(request: Request) -> Response:
    """GET /admin/domain_blocks/ID/edit."""
    svc = services(request)
    async with svc.reads() as session:
        row = await domains.get_block(session, _id(request.path_params["block_id"]))
    return _page(request, "admin/domain_block.html", {"block": row, "severities": domains.SEVERITIES})


def _block_settings(form: Any) -> dict[str, Any]:
    return {
        "severity": text(form, "severity", 20) or "suspend",
        "reject_media": flag(form, "reject_media"),
        "reject_reports": flag(form, "reject_reports"),
        "obfuscate": flag(form, "obfuscate"),
        "private_comment": text(form, "private_comment", 6000),
        "public_comment": text(form, "public_comment", 6000),
    }


def _domain_endpoint(kind: str) -> Any:
    async def endpoint(request: Request) -> Response:
        return await _domain_change(request, kind)

    endpoint.__doc__ = f"POST: {kind} a domain."
    return endpoint


async def _domain_change(request: Request, kind: str) -> Response:
    """POST /admin/domain_blocks (block), /admin/domain_blocks/ID (update), /admin/domain_blocks/ID/delete
    (unblock), /admin/domain_allows (allow), /admin/domain_allows/ID/delete (disallow)."""
    form = await checked_form(request)
    svc = services(request)
    settings = _block_settings(form)
    try:
        async with svc.sessions() as session, session.begin():
            by = await _me(session, request)
            if kind == "block":
                await domains.block(
                    svc, session, text(form, "domain", 300), create_only=True, by=by, **settings
                )
            elif kind == "update":
                row = await domains.get_block(session, _id(request.path_params["item_id"]))
                await domains.block(svc, session, row.domain, by=by, **settings)
            elif kind == "unblock":
                row = await domains.get_block(session, _id(request.path_params["item_id"]))
                await domains.unblock(svc, session, row, by=by)
            elif kind == "allow":
                await domains.allow(svc, session, text(form, "domain", 300), create_only=True, by=by)
            elif kind == "disallow":
                allowed = await domains.get_allow(session, _id(request.path_params["item_id"]))
                await domains.disallow(svc, session, allowed, by=by)
            else:
                raise NotFoundError("no such action")
    except (ValidationError, ConflictError) as exc:
        async with svc.reads() as session:
            context = await _domains_context(session, svc)
        context["values"] = {"domain": text(form, "domain", 300), "severity": settings["severity"]}
        return _page(request, "admin/domains.html", {**context, "errors": field_error(exc)}, status_code=422)
    return done("/admin/domain_blocks", "domain")


# ---- invites ----


async def invites_page(request: Request) -> Response:
    """GET /admin/invites: every invite (usable first), with its link."""
    svc = services(request)
    async with svc.reads() as session:
        rows = list(await registrations.list_invites(session, include_inactive=True))
        people = await _actors(session, {i.created_by_id for i in rows})
    context = {
        "invites": rows,
        "people": people,
        "expiries": INVITE_EXPIRIES,
        "url": lambda code: registrations.invite_url(svc.urls, code),
        "values": {},
    }
    return _page(request, "admin/invites.html", context)


async def invite_create(request: Request) -> Response:
    """POST /admin/invites: max uses (empty: no limit) and expiry."""
    form = await checked_form(request)
    svc = services(request)
    try:
        expiry = text(form, "expires_in", 10)
        if expiry not in INVITE_EXPIRIES:
            raise ValidationError("expires_in", "choose one of the offered durations")
        async with svc.sessions() as session, session.begin():
            await registrations.create_invite(
                session,
                by=await _me(session, request),
                max_uses=integer(form, "max_uses"),
                expires_in=registrations.parse_duration(expiry) if expiry else None,
            )
    except (ValidationError, ConflictError) as exc:
        async with svc.reads() as session:
            rows = list(await registrations.list_invites(session, include_inactive=True))
            people = await _actors(session, {i.created_by_id for i in rows})
        context = {
            "invites": rows,
            "people": people,
            "expiries": INVITE_EXPIRIES,
            "errors": field_error(exc),
            "url": lambda code: registrations.invite_url(svc.urls, code),
            "values": {"max_uses": text(form, "max_uses", 20)},
        }
        return _page(request, "admin/invites.html", context, status_code=422)
    return done("/admin/invites", "invite")


async def invite_revoke(request: Request) -> Response:
    """POST /admin/invites/CODE/revoke."""
    await checked_form(request)
    async with services(request).sessions() as session, session.begin():
        await registrations.revoke_invite(
            session, request.path_params["code"], by=await _me(session, request)
        )
    return done("/admin/invites", "invite")


# ---- instance settings, rules, audit log ----


async def rules_page(request: Request) -> Response:
    """GET /admin/rules: the instance's rules (from the configuration file, read-only)."""
    return _page(request, "admin/rules.html", {"rules": list(services(request).settings.instance.rules)})


async def settings_page(request: Request) -> Response:
    """GET /admin/settings: name, description, contact and sign-up settings (read-only)."""
    svc = services(request)
    instance = svc.settings.instance
    rows = [
        ("Name", "[instance] name", instance.name),
        ("Description", "[instance] description", instance.description),
        ("Contact email", "[instance] contact_email", instance.contact_email or "(none)"),
        ("Registrations", "[instance] registrations", registrations.mode(svc.settings)),
        ("Sign-up message", "[instance] registrations_message", instance.registrations_message or "(none)"),
        ("Email (SMTP)", "[smtp] host", svc.settings.smtp.host or "(no mail is sent)"),
        ("Federation mode", "[federation] mode", svc.settings.federation.mode),
    ]
    return _page(request, "admin/settings.html", {"rows": rows})


async def action_logs_page(request: Request) -> Response:
    """GET /admin/action_logs: the audit log, newest first."""
    async with services(request).reads() as session:
        rows = list(await audit.entries(session, limit=200))
        people = await _actors(session, {r.account_id for r in rows})
    return _page(request, "admin/action_logs.html", {"rows": rows, "people": people})


async def instances_redirect(request: Request) -> Response:
    """GET /admin/instances: Mastodon's federation page is the domain blocks page here."""
    return RedirectResponse("/admin/domain_blocks", status_code=303)


async def admin_index(request: Request) -> Response:
    """GET /admin: the reports queue."""
    return RedirectResponse("/admin/reports", status_code=303)


def _route(path: str, endpoint: Any, permission: Permission, method: str = "GET") -> Route:
    return Route(path, html_errors(staff_page(permission)(endpoint)), methods=[method])


P = Permission
routes: list[BaseRoute] = [
    _route("/admin", admin_index, P.MANAGE_REPORTS),
    _route("/admin/reports", reports_page, P.MANAGE_REPORTS),
    _route("/admin/reports/{report_id}", report_page, P.MANAGE_REPORTS),
    _route("/admin/reports/{report_id}/{kind}", report_change, P.MANAGE_REPORTS, "POST"),
    _route("/admin/accounts", accounts_page, P.MANAGE_USERS),
    _route("/admin/accounts/{account_id}", account_page, P.MANAGE_USERS),
    _route("/admin/accounts/{account_id}/{kind}", account_change, P.MANAGE_USERS, "POST"),
    _route("/admin/pending_accounts", pending_page, P.MANAGE_USERS),
    _route("/admin/instances", instances_redirect, P.MANAGE_FEDERATION),
    _route("/admin/domain_blocks", domains_page, P.MANAGE_FEDERATION),
    _route("/admin/domain_blocks/{block_id}/edit", domain_block_edit, P.MANAGE_FEDERATION),
    _route("/admin/domain_blocks", _domain_endpoint("block"), P.MANAGE_FEDERATION, "POST"),
    _route("/admin/domain_blocks/{item_id}", _domain_endpoint("update"), P.MANAGE_FEDERATION, "POST"),
    _route("/admin/domain_blocks/{item_id}/delete", _domain_endpoint("unblock"), P.MANAGE_FEDERATION, "POST"),
    _route("/admin/domain_allows", _domain_endpoint("allow"), P.MANAGE_FEDERATION, "POST"),
    _route(
        "/admin/domain_allows/{item_id}/delete", _domain_endpoint("disallow"), P.MANAGE_FEDERATION, "POST"
    ),
    _route("/admin/invites", invites_page, P.INVITE_USERS),
    _route("/admin/invites", invite_create, P.INVITE_USERS, "POST"),
    _route("/admin/invites/{code}/revoke", invite_revoke, P.INVITE_USERS, "POST"),
    _route("/admin/rules", rules_page, P.MANAGE_REPORTS),
    _route("/admin/settings", settings_page, P.MANAGE_REPORTS),
    _route("/admin/action_logs", action_logs_page, P.VIEW_AUDIT_LOG),
]
