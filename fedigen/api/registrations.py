"""Signing up from apps, as Mastodon's ``POST /api/v1/accounts`` does, the confirmation resend, and
password resets as JSON. The pages the mailed links open (``/auth/confirm``, ``/invite/CODE``,
``/auth/password/edit``) are in :mod:`fedigen.web.signup`.

https://docs.joinmastodon.org/methods/accounts/#create, https://docs.joinmastodon.org/methods/emails/
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen import mail
from fedigen.api import grants
from fedigen.api.auth import authenticate
from fedigen.api.params import read_params
from fedigen.http import services
from fedigen.social import registrations

NO_STORE = {"Cache-Control": "no-store"}
MAX_FIELD_CHARS = 2000
SIGN_UP_FIELDS = ("username", "email", "password", "locale", "reason", "invite_code")


async def create_account(request: Request) -> Response:
    """POST /api/v1/accounts: sign up with an app's token (client_credentials); answers a Token entity
    for the new account, which works once the email is confirmed (and the sign-up approved)."""
    auth = await authenticate(request, "write:accounts", user=False)
    params = await read_params(request)
    svc = services(request)

    def text(name: str) -> str | None:
        return params.get_str(name, max_chars=MAX_FIELD_CHARS)

    fields: dict[str, Any] = {name: text(name) for name in SIGN_UP_FIELDS}
    fields["agreement"] = params.get_bool("agreement")
    try:
        # Checked first without the write lock, then the slow parts (password hash, key pair) made
        # outside the transaction; the transaction checks again and stores.
        async with svc.reads() as session:
            checked = await registrations.check_sign_up(session, svc.settings, **fields)
        prepared = await registrations.prepare(checked.password)
        async with svc.sessions() as session, session.begin():
            signed = await registrations.sign_up(session, svc.settings, svc.urls, **fields, prepared=prepared)
            issued = await grants.issue_account_token(session, auth.app, signed.actor)
    except registrations.RegistrationInvalid as exc:
        return JSONResponse({"error": f"Validation failed: {exc}", "details": exc.details}, status_code=422)
    if signed.mail is not None:
        await mail.send(svc.settings, signed.mail)
    body = {"access_token": issued.access_token, "token_type": "Bearer", "scope": " ".join(issued.scopes),
            "created_at": int(issued.created_at.timestamp())}  # fmt: skip
    return JSONResponse(body, headers=NO_STORE)


async def resend_confirmation(request: Request) -> Response:
    """POST /api/v1/emails/confirmations: mail the confirmation link again (for the account of a token
    whose email awaits confirmation)."""
    auth = await authenticate(request, "write:accounts", pending_ok=True)
    assert auth.account is not None
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        message = await registrations.resend_confirmation(session, svc.settings, svc.urls, auth.account)
    await mail.send(svc.settings, message)
    return JSONResponse({})


async def password_reset(request: Request) -> Response:
    """POST /api/fedigen/password_reset {email}: mail a reset token, when the address has an account.
    The answer is the same either way."""
    params = await read_params(request)
    email = params.get_str("email", max_chars=320) or ""
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        message = await registrations.request_password_reset(session, svc.settings, svc.urls, email)
    if message is not None:
        await mail.send(svc.settings, message)
    return JSONResponse({}, headers=NO_STORE)


async def password_reset_confirm(request: Request) -> Response:
    """POST /api/fedigen/password_reset/confirm {token, password}: the new password takes effect and every
    token of the account stops working."""
    params = await read_params(request)
    token = params.get_str("token", max_chars=200) or ""
    password = params.get_str("password", max_chars=MAX_FIELD_CHARS) or ""
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        await registrations.reset_password(session, token, password)
    return JSONResponse({}, headers=NO_STORE)


routes = [
    Route("/api/v1/accounts", create_account, methods=["POST"]),
    Route("/api/v1/emails/confirmations", resend_confirmation, methods=["POST"]),
    Route("/api/fedigen/password_reset", password_reset, methods=["POST"]),
    Route("/api/fedigen/password_reset/confirm", password_reset_confirm, methods=["POST"]),
]
