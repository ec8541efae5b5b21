"""What the account, settings and admin pages share: reading form fields, the signed-in viewer, form
errors from the use-cases' ValidationError, and the short notices shown after a change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedigen.errors import ConflictError, ForbiddenError, ValidationError
from fedigen.social.roles import Permission
from fedigen.web.pages import error_page, html_errors, render
from fedigen.web.session import Viewer, resolve_viewer, sign_in_redirect

MAX_TEXT = 10_000  # no field of these forms needs more; the use-cases check their own, smaller limits

Handler = Callable[[Request], Awaitable[Response]]

# What a page says after a change it redirected to (``?done=CODE``): fixed texts, never echoed input.
NOTICES: Mapping[str, str] = {
    "profile": "Your profile is saved.",
    "preferences": "Your preferences are saved.",
    "password": "Your password is changed. Other browsers and apps were signed out.",
    "revoked": "Access revoked.",
    "filter": "The filter is saved.",
    "filter_deleted": "The filter is deleted.",
    "unmuted": "Unmuted.",
    "unblocked": "Unblocked.",
    "domain_blocked": "The domain is blocked.",
    "domain_unblocked": "The domain is unblocked.",
    "report": "The report is updated.",
    "account": "The account is updated.",
    "domain": "The domain list is updated.",
    "invite": "The invite list is updated.",
    "pending": "The sign-up list is updated.",
}


def text(form: FormData, name: str, limit: int = MAX_TEXT) -> str:
    """A text field ('' when missing or a file), cut at ``limit``."""
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def flag(form: FormData, name: str) -> bool:
    """A checkbox: checked when sent with any value but "0"/"false"."""
    value = form.get(name)
    return isinstance(value, str) and value.lower() not in ("", "0", "false", "off")


def upload(form: FormData, name: str) -> UploadFile | None:
    """A chosen file (a file input left empty sends a nameless empty part: None)."""
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


def integer(form: FormData, name: str) -> int | None:
    """A whole number field; None when empty; ValidationError when it is not one."""
    value = text(form, name, 20).strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValidationError(name, "must be a whole number")
    return int(value)


def field_error(exc: ValidationError | ConflictError) -> dict[str, str]:
    """The error of a form field, as the page shows it next to the field (``form``: the whole form's)."""
    if isinstance(exc, ConflictError):
        return {"form": str(exc)}
    return {exc.field: str(exc).partition(": ")[2] or str(exc)}


def done(path: str, code: str) -> Response:
    """Back to ``path`` after a change, with its notice."""
    return RedirectResponse(f"{path}?done={code}", status_code=303)


def notice(request: Request) -> str | None:
    """The notice of ``?done=CODE``, if it is one of ours."""
    return NOTICES.get(request.query_params.get("done", ""))


def viewer(request: Request) -> Viewer:
    """The signed-in viewer of a page wrapped by :func:`account_page` or :func:`staff_page`."""
    found: Viewer | None = request.state.viewer
    assert found is not None
    return found


def account_page(handler: Handler) -> Handler:
    """A page of the signed-in account: others are sent to sign in."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if await resolve_viewer(request) is None:
            if request.method != "GET":
                return error_page(request, 403, "Sign in first.")
            return sign_in_redirect(request)
        return await handler(request)

    return wrapper


def staff_page(permission: Permission) -> Callable[[Handler], Handler]:
    """A moderation or admin page: signed in, with a role that holds ``permission`` (403 page otherwise)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            found = await resolve_viewer(request)
            if found is None:
                if request.method != "GET":
                    return error_page(request, 403, "Sign in first.")
                return sign_in_redirect(request)
            if not found.may(permission):
                raise ForbiddenError("Your role does not allow this page.")
            return await handler(request)

        return wrapper

    return decorate


def private_page(request: Request, name: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    """A page of the signed-in account's own data: the notice and form errors in its context, and never
    kept by a cache."""
    context = {"notice": notice(request), "errors": {}, **context}
    response = render(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # the account's own data: never kept by a cache
    return response


def account_route(path: str, endpoint: Any, method: str = "GET") -> Route:
    """A route to a signed-in page (account_page), with HTML error pages."""
    return Route(path, html_errors(account_page(endpoint)), methods=[method])
