"""Signing up in the browser, the mailed links, and password resets (Mastodon's paths).

- ``/auth/sign_up`` (and ``/invite/CODE``, which prefills the invite): the form the instance's
  registration mode allows (open; approval, with a reason; invite; closed shows why). Every check is
  :func:`fedigen.social.registrations.sign_up`'s, as for ``POST /api/v1/accounts``; its errors are shown
  on the form, field by field, and nothing is stored.
- ``/auth/confirm?token=...``: the confirmation link of the welcome message.
- ``/auth/password/new``: ask for a reset link (only when the instance sends mail; otherwise the page
  says to ask the operator); ``/auth/password/edit?reset_password_token=...``: choose the new password.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fedigen import mail
from fedigen.errors import ForbiddenError, ValidationError
from fedigen.http import services
from fedigen.social import registrations
from fedigen.web.forms import field_error, flag, text
from fedigen.web.pages import html_errors, render
from fedigen.web.session import checked_form, resolve_viewer

NO_STORE = {"Cache-Control": "no-store"}
SIGN_UP_FIELDS = ("username", "email", "reason", "invite_code")


def _message(
    request: Request,
    title: str,
    body: str,
    *,
    status_code: int = 200,
    link: str | None = None,
    link_text: str = "",
) -> Response:
    """A page with one message (and a link on)."""
    context = {"title": title, "body": body, "link": link, "link_text": link_text}
    return render(request, "auth/message.html", context, status_code=status_code)


def _sign_up_context(request: Request, **extra: Any) -> dict[str, Any]:
    settings = services(request).settings
    context: dict[str, Any] = {
        "mode": registrations.mode(settings),
        "rules": list(settings.instance.rules),
        "registrations_message": settings.instance.registrations_message,
        "values": {name: "" for name in SIGN_UP_FIELDS},
        "errors": {},
        "invite": None,
        "smtp": bool(settings.smtp.host),
    }
    context.update(extra)
    return context


async def sign_up_page(request: Request) -> Response:
    """GET /auth/sign_up: the form, or the closed notice."""
    if await resolve_viewer(request) is not None:
        return _message(
            request,
            "You are signed in",
            "Sign out first to make another account.",
            link="/home",
            link_text="Go to your home feed",
        )
    return render(request, "auth/sign_up.html", _sign_up_context(request))


async def invite_page(request: Request) -> Response:
    """GET /invite/CODE: the sign-up form with the invite filled in (whatever the mode), or why not."""
    svc = services(request)
    code = request.path_params["code"]
    async with svc.reads() as session:
        invite = await registrations.usable_invite(session, code)
    if invite is None:
        return _message(
            request,
            "This invite does not work",
            "It is wrong, revoked, expired or used up.",
            status_code=404,
            link="/about",
            link_text=f"About {svc.settings.instance.name}",
        )
    values = {name: "" for name in SIGN_UP_FIELDS} | {"invite_code": invite.code}
    return render(request, "auth/sign_up.html", _sign_up_context(request, values=values, invite=invite.code))


def _details_as_errors(details: dict[str, list[dict[str, str]]]) -> dict[str, str]:
    return {name: "; ".join(e["description"] for e in errs) for name, errs in details.items()}


async def sign_up_submit(request: Request) -> Response:
    """POST /auth/sign_up: the account is made, or the form comes back with every field's errors."""
    form = await checked_form(request)
    svc = services(request)
    values = {name: text(form, name, 2000) for name in SIGN_UP_FIELDS}
    password = text(form, "password", 2000)
    fields: dict[str, Any] = {
        "username": values["username"],
        "email": values["email"],
        "password": password,
        "agreement": flag(form, "agreement"),
        "reason": values["reason"] or None,
        "invite_code": values["invite_code"].strip() or None,
    }

    async def again(errors: dict[str, str], status: int) -> Response:
        # A usable invite stays filled in (and hidden); a wrong code is shown in its field to correct.
        async with svc.reads() as session:
            invite = await registrations.usable_invite(session, fields["invite_code"])
        context = _sign_up_context(
            request, values=values, errors=errors, invite=invite.code if invite else None
        )
        return render(request, "auth/sign_up.html", context, status_code=status)

    if password != text(form, "password_confirmation", 2000):
        return await again({"password_confirmation": "does not match the password"}, 422)
    try:
        async with svc.reads() as session:
            checked = await registrations.check_sign_up(session, svc.settings, **fields)
        prepared = await registrations.prepare(checked.password)
        async with svc.sessions() as session, session.begin():
            signed = await registrations.sign_up(session, svc.settings, svc.urls, **fields, prepared=prepared)
            refusal = await registrations.login_refusal(session, signed.actor.id)
    except registrations.RegistrationInvalid as exc:
        return await again(_details_as_errors(exc.details), 422)
    except ForbiddenError:
        return await again({"form": "Sign-ups are closed here; you need an invite."}, 403)
    sent = await mail.send(svc.settings, signed.mail) if signed.mail is not None else False
    username = signed.actor.username
    if sent:
        body = f"Welcome, @{username}! We sent a link to {checked.email}: open it to confirm your address."
    elif signed.mail is not None:
        body = (
            f"Welcome, @{username}! The confirmation link could not be mailed just now: "
            "ask the server's admin to confirm your account."
        )
    else:
        body = (
            f"Welcome, @{username}! This server sends no email: an admin confirms your account, "
            "and you can sign in once they have."
        )
    if checked.needs_approval:
        body += " An admin or moderator also reviews your sign-up before you can sign in."
    elif refusal is None:
        body += " You can sign in now."
    return _message(request, "Almost there", body, link="/auth/sign_in", link_text="Sign in")


async def confirm_page(request: Request) -> Response:
    """GET /auth/confirm?token=...: the link of the confirmation message."""
    svc = services(request)
    try:
        async with svc.sessions() as session, session.begin():
            actor = await registrations.confirm_email(session, request.query_params.get("token", ""))
            waiting = await registrations.login_refusal(session, actor.id)
    except ValidationError:
        return _message(
            request, "This link does not work", "It is wrong, used already or expired.", status_code=400
        )
    body = f"Thank you, @{actor.username}: your email address is confirmed."
    if waiting == registrations.PENDING:
        body += " An admin still has to approve your sign-up; you can sign in once they have."
        return _message(request, "Email confirmed", body)
    body += " You can now sign in."
    return _message(request, "Email confirmed", body, link="/auth/sign_in", link_text="Sign in")


async def password_new_page(request: Request) -> Response:
    """GET /auth/password/new: ask for a reset link, or (no mail) whom to ask."""
    settings = services(request).settings
    context = {"smtp": bool(settings.smtp.host), "contact": settings.instance.contact_email, "error": None}
    return render(request, "auth/password_new.html", context)


async def password_new_submit(request: Request) -> Response:
    """POST /auth/password/new: mail a reset link when an account has the address (the same answer
    either way, so nobody learns which addresses have accounts)."""
    form = await checked_form(request)
    svc = services(request)
    email = text(form, "email", 320).strip()
    if not svc.settings.smtp.host:
        return await password_new_page(request)
    if not email:
        context = {"smtp": True, "contact": svc.settings.instance.contact_email, "error": "Give your email."}
        return render(request, "auth/password_new.html", context, status_code=422)
    async with svc.sessions() as session, session.begin():
        message = await registrations.request_password_reset(session, svc.settings, svc.urls, email)
    if message is not None:
        await mail.send(svc.settings, message)
    return _message(
        request,
        "Check your email",
        "If an account here has that address, a link to choose a new password is on its way. "
        "It works once, for one hour.",
    )


async def password_edit_page(request: Request) -> Response:
    """GET /auth/password/edit?reset_password_token=...: choose the new password."""
    token = request.query_params.get("reset_password_token", "")[:200]
    response = render(request, "auth/password_edit.html", {"token": token, "errors": {}})
    response.headers.update(NO_STORE)
    return response


async def password_edit_submit(request: Request) -> Response:
    """POST /auth/password: the new password takes effect; every session and app token ends."""
    form = await checked_form(request)
    svc = services(request)
    token, password = text(form, "reset_password_token", 200), text(form, "password", 2000)

    def again(errors: dict[str, str]) -> Response:
        return render(request, "auth/password_edit.html", {"token": token, "errors": errors}, status_code=422)

    if password != text(form, "password_confirmation", 2000):
        return again({"password_confirmation": "does not match the password"})
    try:
        async with svc.sessions() as session, session.begin():
            actor = await registrations.reset_password(session, token, password)
    except ValidationError as exc:
        return again(field_error(exc))
    return _message(
        request,
        "Password changed",
        f"@{actor.username}, your new password works now.",
        link="/auth/sign_in",
        link_text="Sign in",
    )


routes: list[BaseRoute] = [
    Route("/auth/sign_up", html_errors(sign_up_page), methods=["GET"]),
    Route("/auth/sign_up", html_errors(sign_up_submit), methods=["POST"]),
    Route("/invite/{code}", html_errors(invite_page), methods=["GET"]),
    Route("/auth/confirm", html_errors(confirm_page), methods=["GET"]),
    Route("/auth/password/new", html_errors(password_new_page), methods=["GET"]),
    Route("/auth/password/new", html_errors(password_new_submit), methods=["POST"]),
    Route("/auth/password/edit", html_errors(password_edit_page), methods=["GET"]),
    Route("/auth/password", html_errors(password_edit_submit), methods=["POST"]),
]
