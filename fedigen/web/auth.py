"""Signing in and out of the web pages (``/auth/sign_in``, ``/auth/sign_out``, Mastodon's paths).

The password is checked by the same code as OAuth's password grant (:func:`check_login`: username,
@username or email; unknown names cost a hash check too), and the same refusals apply: an account whose
email is unconfirmed or whose sign-up awaits approval is told so rather than signed in. Sign-in attempts
are rate-limited per address like the API's (the middleware counts POSTs to ``/auth/sign_in``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api.grants import check_login, login_refusal
from fedigen.http import services
from fedigen.web.pages import html_errors, render
from fedigen.web.session import checked_form, resolve_viewer, safe_next, sign_in, sign_out

WRONG = "Wrong username, email or password."


async def sign_in_page(request: Request) -> Response:
    """GET /auth/sign_in: the form (a signed-in browser goes straight on)."""
    target = safe_next(request.query_params.get("next"))
    if await resolve_viewer(request) is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "auth/sign_in.html", {"next": target, "error": None, "username": ""})


async def sign_in_submit(request: Request) -> Response:
    """POST /auth/sign_in: check the password, start the session, go on to ``next``."""
    form = await checked_form(request)
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))
    svc = services(request)
    account = await check_login(svc.sessions, username, password, domain=svc.urls.host) if username else None
    error = WRONG if account is None else await login_refusal(svc.sessions, account)
    if error is not None:
        context = {"next": target, "error": error, "username": username}
        return render(request, "auth/sign_in.html", context, status_code=401 if account is None else 403)
    assert account is not None
    response = RedirectResponse(target, status_code=303)
    await sign_in(request, response, account)
    return response


async def sign_out_submit(request: Request) -> Response:
    """POST /auth/sign_out: end this browser's session and show the front page."""
    await checked_form(request)
    response = RedirectResponse("/", status_code=303)
    await sign_out(request, response)
    return response


routes: list[BaseRoute] = [
    Route("/auth/sign_in", html_errors(sign_in_page), methods=["GET"]),
    Route("/auth/sign_in", html_errors(sign_in_submit), methods=["POST"]),
    Route("/auth/sign_out", html_errors(sign_out_submit), methods=["POST"]),
]
