"""The signed-in account's settings pages (Mastodon's paths): profile, preferences, password, authorised
apps, export, deletion, and the muted, blocked and domain-blocked lists (the filters:
fedigen/web/filter_pages.py).

Each form calls the same use-case as the client API does for the same change (``profiles``,
``registrations.set_password``, ``archive``, ``accounts.delete_local_account``, ``blocks``,
``user_domain_blocks``); errors come back on the form and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from activitypub.content import strip_html
from fedigen.api import grants
from fedigen.errors import ForbiddenError, NotFoundError, PayloadTooLargeError, ValidationError
from fedigen.http import services
from fedigen.languages import LANGUAGES
from fedigen.services import Services
from fedigen.social import accounts, archive, blocks, moves, profiles, registrations
from fedigen.social import user_domain_blocks as domain_blocks
from fedigen.web.forms import (
    account_route,
    done,
    field_error,
    flag,
    integer,
    private_page,
    text,
    upload,
    viewer,
)
from fedigen.web.pages import render
from fedigen.web.session import WEB_CLIENT_ID, checked_form, sign_in, sign_out
from storage.clients import AccountDomainBlock, Mute
from storage.models import Actor, Block, User

VISIBILITIES = {
    "public": "Public",
    "unlisted": "Unlisted (not on public timelines)",
    "followers": "Followers only",
    "direct": "Mentioned people only",
}


async def _me(session: AsyncSession, request: Request) -> Actor:
    actor = await session.get(Actor, viewer(request).account.id)
    if actor is None or actor.deleted_at is not None:
        raise NotFoundError("no such account")
    return actor


# ---- profile ----


def _profile_values(actor: Actor) -> dict[str, Any]:
    fields = [f for f in actor.fields or [] if isinstance(f, dict)]
    rows = [
        {"name": f.get("name", ""), "value": f.get("source") or strip_html(f.get("value", ""))}
        for f in fields
    ]
    rows += [{"name": "", "value": ""}] * (profiles.MAX_FIELDS - len(rows))
    return {
        "display_name": actor.display_name,
        "note": strip_html(actor.summary or ""),
        "fields": rows,
        "locked": actor.locked,
        "bot": actor.ap_type == "Service",
        "discoverable": actor.discoverable,
        "indexable": actor.indexable,
    }


async def profile_page(request: Request) -> Response:
    """GET /settings/profile."""
    async with services(request).reads() as session:
        actor = await _me(session, request)
    context = {"account": actor, "values": _profile_values(actor)}
    return private_page(request, "settings/profile.html", context)


async def _image(form: FormData, name: str, limit: int) -> bytes | None:
    file = upload(form, name)
    if file is None:
        return None
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise ValidationError(name, f"the file is over {limit // (1024 * 1024) or 1} MB")
    return data or None


async def profile_submit(request: Request) -> Response:
    """POST /settings/profile (multipart: the avatar and header files)."""
    form = await checked_form(request)
    svc = services(request)
    fields = [
        {"name": text(form, f"fields[{i}][name]", 1000), "value": text(form, f"fields[{i}][value]", 1000)}
        for i in range(profiles.MAX_FIELDS)
    ]
    values: dict[str, Any] = {
        "display_name": text(form, "display_name", 1000),
        "note": text(form, "note", 5000),
        "fields": fields,
        **{k: flag(form, k) for k in ("locked", "bot", "discoverable", "indexable")},
    }
    try:
        limit = svc.settings.media.max_upload_bytes
        changes = profiles.ProfileChanges(
            display_name=values["display_name"],
            note=values["note"],
            fields=fields,
            avatar=await _image(form, "avatar", limit),
            header=await _image(form, "header", limit),
            locked=values["locked"],
            bot=values["bot"],
            discoverable=values["discoverable"],
            indexable=values["indexable"],
        )
        changes = await profiles.with_stored_images(svc, changes)
        async with svc.sessions() as session, session.begin():
            await profiles.update_profile(svc, session, await _me(session, request), changes)
    except (ValidationError, PayloadTooLargeError) as exc:
        errors = field_error(exc) if isinstance(exc, ValidationError) else {"form": str(exc)}
        async with svc.reads() as session:
            actor = await _me(session, request)
        return private_page(
            request,
            "settings/profile.html",
            {"account": actor, "values": values, "errors": errors},
            status_code=422,
        )
    svc.work_queued()
    return done("/settings/profile", "profile")


# ---- preferences ----


async def _preferences(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    return {
        "default_visibility": user.default_visibility if user else "public",
        "private_prompts": bool(user and user.private_prompts),
        "allow_remixes": actor.allow_remixes,
        "ai_training_opt_out": actor.ai_training_opt_out,
        "language": actor.default_language or "",
    }


def _preferences_context(values: dict[str, Any], public_prompts: bool) -> dict[str, Any]:
    return {
        "values": values,
        "visibilities": VISIBILITIES,
        "languages": sorted(LANGUAGES.items(), key=lambda kv: kv[1]),
        "public_prompts": public_prompts,
    }


async def preferences_page(request: Request) -> Response:
    """GET /settings/preferences."""
    svc = services(request)
    async with svc.reads() as session:
        values = await _preferences(session, await _me(session, request))
    context = _preferences_context(values, svc.settings.generation.public_prompts)
    return private_page(request, "settings/preferences.html", context)


async def preferences_submit(request: Request) -> Response:
    """POST /settings/preferences."""
    form = await checked_form(request)
    svc = services(request)
    values: dict[str, Any] = {
        "default_visibility": text(form, "default_visibility", 20),
        "language": text(form, "language", 20),
        **{k: flag(form, k) for k in ("private_prompts", "allow_remixes", "ai_training_opt_out")},
    }
    try:
        async with svc.sessions() as session, session.begin():
            actor = await _me(session, request)
            await profiles.update_preferences(
                session,
                actor,
                default_visibility=values["default_visibility"],
                private_prompts=values["private_prompts"],
            )
            changes = profiles.ProfileChanges(
                language=values["language"],
                allow_remixes=values["allow_remixes"],
                ai_training_opt_out=values["ai_training_opt_out"],
            )
            await profiles.update_profile(svc, session, actor, changes)
    except ValidationError as exc:
        context = _preferences_context(values, svc.settings.generation.public_prompts)
        return private_page(
            request, "settings/preferences.html", {**context, "errors": field_error(exc)}, status_code=422
        )
    svc.work_queued()
    return done("/settings/preferences", "preferences")


# ---- password ----


async def password_page(request: Request) -> Response:
    """GET /settings/password (and Mastodon's /auth/edit)."""
    return private_page(request, "settings/password.html", {})


async def password_submit(request: Request) -> Response:
    """POST /settings/password: the current password, then the new one twice. Every other session and
    app token ends; this browser gets a new session."""
    form = await checked_form(request)
    svc = services(request)
    password = text(form, "password", 2000)
    errors: dict[str, str] = {}
    if password != text(form, "password_confirmation", 2000):
        errors = {"password_confirmation": "does not match the new password"}
    else:
        try:
            async with svc.sessions() as session, session.begin():
                actor = await _me(session, request)
                await moves.check_password(session, actor, text(form, "current_password", 2000))
                await registrations.set_password(session, actor, password)
        except ForbiddenError:
            errors = {"current_password": "is not your current password"}
        except ValidationError as exc:
            errors = field_error(exc)
    if errors:
        return private_page(request, "settings/password.html", {"errors": errors}, status_code=422)
    response = done("/settings/password", "password")
    await sign_in(request, response, actor)
    return response


# ---- authorised apps ----


async def apps_page(request: Request) -> Response:
    """GET /oauth/authorized_applications: the apps with access, their scopes and last use."""
    me = viewer(request)
    async with services(request).reads() as session:
        found = await grants.authorizations(session, me.account.id)
    web = [a for a in found if a.app.client_id == WEB_CLIENT_ID]
    others = [a for a in found if a.app.client_id != WEB_CLIENT_ID]
    context = {"apps": others, "web": web[0] if web else None, "current_token": me.token_id}
    return private_page(request, "settings/apps.html", context)


async def apps_revoke(request: Request) -> Response:
    """POST /oauth/authorized_applications/ID/revoke (``token_id``: one web session only)."""
    form = await checked_form(request)
    me = viewer(request)
    app_id = request.path_params["app_id"]
    token_id = integer(form, "token_id")
    async with services(request).sessions() as session, session.begin():
        ended = await grants.revoke_authorization(session, me.account.id, app_id, token_id=token_id)
    if not ended:
        raise NotFoundError("no such authorisation")
    async with services(request).reads() as session:
        live = await grants.authorizations(session, me.account.id)
    signed_out = not any(t.id == me.token_id for a in live for t in a.tokens)
    if signed_out:
        response = RedirectResponse("/", status_code=303)
        await sign_out(request, response)
        return response
    return done("/oauth/authorized_applications", "revoked")


# ---- export and deletion ----


async def export_page(request: Request) -> Response:
    """GET /settings/export: the archive and each CSV."""
    return private_page(request, "settings/export.html", {"csv_files": archive.CSV_FILES})


async def export_archive(request: Request) -> Response:
    """GET /settings/export/archive.zip."""
    svc = services(request)
    async with svc.reads() as session:
        actor = await _me(session, request)
        data = await archive.export_archive(svc, session, actor)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="archive-{actor.username}.zip"',
            "Cache-Control": "no-store",
        },
    )


async def export_csv(request: Request) -> Response:
    """GET /settings/export/NAME.csv (Mastodon's names)."""
    name = request.path_params["name"]
    if name not in archive.CSV_FILES:
        raise NotFoundError("no such export")
    svc = services(request)
    async with svc.reads() as session:
        body = await archive.export_csv(svc, session, await _me(session, request), name)
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


async def delete_page(request: Request) -> Response:
    """GET /settings/delete."""
    return private_page(request, "settings/delete.html", {})


async def delete_submit(request: Request) -> Response:
    """POST /settings/delete: with the password, the account is deleted for good (its Delete federated)."""
    form = await checked_form(request)
    svc = services(request)
    try:
        async with svc.sessions() as session, session.begin():
            actor = await _me(session, request)
            await moves.check_password(session, actor, text(form, "password", 2000))
            keys = await accounts.delete_local_account(svc, session, actor, by=actor)
    except ForbiddenError:
        errors = {"password": "is not your password"}
        return private_page(request, "settings/delete.html", {"errors": errors}, status_code=422)
    async with svc.reads() as session:
        await accounts.remove_media_files(svc, session, keys)
    svc.work_queued()
    response = render(
        request,
        "auth/message.html",
        {
            "title": "Your account is deleted",
            "link": "/",
            "link_text": "Back to the front page",
            "body": "Its posts and data are gone from this server; other servers were told to delete them.",
        },
    )
    await sign_out(request, response)
    return response


# ---- muted, blocked, domain-blocked ----


async def _accounts_list(
    request: Request, model: type[Mute] | type[Block], owner: Any, words: dict[str, str]
) -> Response:
    """The accounts the viewer muted or blocked, newest first, each with its undo button."""
    me = viewer(request).account.id
    async with services(request).reads() as session:
        query = (
            select(model, Actor)
            .join(Actor, Actor.id == model.target_id)
            .where(owner == me, Actor.deleted_at.is_(None))
            .order_by(model.id.desc())
        )
        rows = list((await session.execute(query)).all())
    return private_page(request, "settings/accounts.html", {"rows": rows, "list": words})


async def mutes_page(request: Request) -> Response:
    """GET /settings/mutes."""
    words = {"title": "Muted accounts", "path": "/settings/mutes", "empty": "You have muted nobody.",
             "undo": "unmute", "undo_label": "Unmute"}  # fmt: skip
    return await _accounts_list(request, Mute, Mute.account_id, words)


async def blocks_page(request: Request) -> Response:
    """GET /settings/blocks."""
    words = {"title": "Blocked accounts", "path": "/settings/blocks", "empty": "You have blocked nobody.",
             "undo": "unblock", "undo_label": "Unblock"}  # fmt: skip
    return await _accounts_list(request, Block, Block.actor_id, words)


async def _target(session: AsyncSession, raw: Any) -> Actor:
    target = await session.get(Actor, int(raw)) if str(raw).isdigit() and len(str(raw)) < 19 else None
    if target is None:
        raise NotFoundError("no such account")
    return target


async def unmute(request: Request) -> Response:
    """POST /settings/mutes/ID/unmute."""
    await checked_form(request)
    async with services(request).sessions() as session, session.begin():
        target = await _target(session, request.path_params["account_id"])
        await blocks.unmute(session, await _me(session, request), target)
    return done("/settings/mutes", "unmuted")


async def unblock(request: Request) -> Response:
    """POST /settings/blocks/ID/unblock (a remote account is sent Undo{Block})."""
    await checked_form(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        target = await _target(session, request.path_params["account_id"])
        await blocks.unblock(svc, session, await _me(session, request), target)
    svc.work_queued()
    return done("/settings/blocks", "unblocked")


async def _domain_rows(svc: Services, request: Request) -> list[str]:
    async with svc.reads() as session:
        return list(
            await session.scalars(
                select(AccountDomainBlock.domain)
                .where(AccountDomainBlock.account_id == viewer(request).account.id)
                .order_by(AccountDomainBlock.domain)
            )
        )


async def domain_blocks_page(request: Request) -> Response:
    """GET /settings/domain_blocks."""
    svc = services(request)
    return private_page(
        request, "settings/domain_blocks.html", {"domains": await _domain_rows(svc, request), "domain": ""}
    )


async def domain_block_add(request: Request) -> Response:
    """POST /settings/domain_blocks: hide a whole server (follows with it end)."""
    form = await checked_form(request)
    svc = services(request)
    domain = text(form, "domain", 300)
    try:
        async with svc.sessions() as session, session.begin():
            await domain_blocks.block_domain(svc, session, await _me(session, request), domain)
    except ValidationError as exc:
        context = {"domains": await _domain_rows(svc, request), "domain": domain, "errors": field_error(exc)}
        return private_page(request, "settings/domain_blocks.html", context, status_code=422)
    svc.work_queued()
    return done("/settings/domain_blocks", "domain_blocked")


async def domain_block_remove(request: Request) -> Response:
    """POST /settings/domain_blocks/remove (``domain``)."""
    form = await checked_form(request)
    async with services(request).sessions() as session, session.begin():
        await domain_blocks.unblock_domain(session, await _me(session, request), text(form, "domain", 300))
    return done("/settings/domain_blocks", "domain_unblocked")


async def settings_index(request: Request) -> Response:
    """GET /settings: the profile page is where settings start."""
    return RedirectResponse("/settings/profile", status_code=303)


routes: list[BaseRoute] = [
    account_route("/settings", settings_index),
    account_route("/settings/profile", profile_page),
    account_route("/settings/profile", profile_submit, "POST"),
    account_route("/settings/preferences", preferences_page),
    account_route("/settings/preferences", preferences_submit, "POST"),
    account_route("/settings/password", password_page),
    account_route("/auth/edit", password_page),
    account_route("/settings/password", password_submit, "POST"),
    account_route("/oauth/authorized_applications", apps_page),
    account_route("/oauth/authorized_applications/{app_id:int}/revoke", apps_revoke, "POST"),
    account_route("/settings/export", export_page),
    account_route("/settings/export/archive.zip", export_archive),
    account_route("/settings/export/{name}", export_csv),
    account_route("/settings/delete", delete_page),
    account_route("/settings/delete", delete_submit, "POST"),
    account_route("/settings/mutes", mutes_page),
    account_route("/settings/mutes/{account_id}/unmute", unmute, "POST"),
    account_route("/settings/blocks", blocks_page),
    account_route("/settings/blocks/{account_id}/unblock", unblock, "POST"),
    account_route("/settings/domain_blocks", domain_blocks_page),
    account_route("/settings/domain_blocks", domain_block_add, "POST"),
    account_route("/settings/domain_blocks/remove", domain_block_remove, "POST"),
]
