"""The app factory: ``create_app(settings)`` wires routes, the lifespan's resources, and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler, Receive, Scope, Send

from activitypub import errors as ap
from fedigen import errors as fe
from fedigen.api import oauth, routing
from fedigen.api.ratelimit import RateLimitMiddleware
from fedigen.config import Settings
from fedigen.federation import discovery, inbox_path
from fedigen.federation import routes as federation
from fedigen.http import BodyLimitMiddleware, VaryAcceptMiddleware, accepts_html
from fedigen.services import Services, open_services, settle_heap
from fedigen.web import admin as web_admin
from fedigen.web import auth as web_auth
from fedigen.web import compose, feeds, filter_pages, media, pages
from fedigen.web import privacy as web_privacy
from fedigen.web import public as public_pages
from fedigen.web import settings as web_settings
from fedigen.web import signup as web_signup
from fedigen.web.session import NOT_PAGES, CsrfError, WebSessionMiddleware
from fedigen.worker import Worker
from generation import errors as ge
from storage import ImageTooLargeError, MediaStoreUnavailable, StorageError, UnsupportedMediaError

log = logging.getLogger(__name__)

# The one place protocol and use-case errors become HTTP statuses.
STATUS_OF: list[tuple[type[Exception], int]] = [
    (ap.SignatureError, 401),
    (ap.OriginError, 403),
    (ap.BlockedError, 403),
    (ap.PayloadTooLargeError, 413),
    (ap.UnsupportedMediaTypeError, 415),
    (ap.InvalidActivityError, 400),
    (ap.FetchError, 502),
    (ap.InboxUnavailableError, 503),
    (fe.ValidationError, 422),
    (fe.NotFoundError, 404),
    (fe.ConflictError, 409),
    (fe.ForbiddenError, 403),
    (CsrfError, 403),
    (fe.UnauthorizedError, 401),
    (fe.PayloadTooLargeError, 413),
    (fe.RateLimitedError, 429),
    (ge.PromptRefusedError, 422),
    (ge.QuotaExceededError, 429),
    (ge.UnknownBackendError, 422),
    (ge.BackendError, 503),
    (ImageTooLargeError, 413),
    (UnsupportedMediaError, 422),
    (MediaStoreUnavailable, 503),
]


def status_for(exc: Exception) -> int:
    """The HTTP status an error maps to."""
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return status
    return 500


async def _error_response(request: Request, exc: Exception) -> Response:
    status = status_for(exc)
    headers = {}
    if isinstance(exc, fe.UnauthorizedError):
        headers["WWW-Authenticate"] = (
            f'Bearer realm="fedigen", error="invalid_token", error_description="{exc}"'
        )
    elif isinstance(exc, fe.ScopeError):
        headers["WWW-Authenticate"] = (
            f'Bearer realm="fedigen", error="insufficient_scope", scope="{exc.needed}"'
        )
    elif status == 401:
        headers["WWW-Authenticate"] = 'Signature realm="fedigen", headers="(request-target) host date digest"'
    if isinstance(exc, fe.RateLimitedError):
        headers.update(exc.headers)
    if isinstance(exc, ge.QuotaExceededError):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
    message = str(exc) or type(exc).__name__
    if isinstance(exc, fe.ValidationError):
        message = f"Validation failed: {message}"  # Mastodon's wording for 422
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (no such route, method not allowed): JSON for the client API and
    federation, the styled error page for browsers."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    if request.url.path.startswith(NOT_PAGES) or not accepts_html(request):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    message = "There is nothing here." if exc.status_code == 404 else str(exc.detail)
    return pages.error_page(request, exc.status_code, message)


class FedigenApp(Starlette):
    """The app: inbox POSTs take their short way in (:mod:`fedigen.federation.inbox_path`), every
    other request the middleware stack and the router."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = inbox_path.inbox_post(scope)
        if match is not None and await inbox_path.handle(
            self, scope, receive, send, match.group(1), _error_response
        ):
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings, *, run_worker: bool | None = None, services: Services | None = None,
    settle: bool = False,
) -> FedigenApp:  # fmt: skip
    """Build the ASGI app. Nothing is opened until the lifespan starts (or ``services`` is given by tests).
    ``settle``: the app is its process's only one (``fedigen serve``): once started, the heap is settled
    (:func:`fedigen.services.settle_heap`)."""
    worker_enabled = settings.server.worker if run_worker is None else run_worker

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with contextlib.AsyncExitStack() as stack:
            svc = (
                services if services is not None else await stack.enter_async_context(open_services(settings))
            )
            if services is None:  # tests that bring their own services start their events themselves
                await svc.events.start()  # events from and to the other processes
            worker = Worker(svc)
            task = asyncio.create_task(worker.run()) if worker_enabled else None
            app.state.services = svc
            app.state.worker = worker
            if settle:
                settle_heap()
            try:
                yield {"services": svc, "worker": worker}
            finally:
                worker.stop()
                if task is not None:
                    await task

    handlers: dict[Any, ExceptionHandler] = {
        ap.ActivityPubError: _error_response,
        fe.FedigenError: _error_response,
        ge.GenerationError: _error_response,
        StorageError: _error_response,
        HTTPException: _http_error,
    }
    app = FedigenApp(
        routes=[
            *discovery.routes,
            *federation.routes,
            *media.routes,
            *web_privacy.routes,
            *oauth.routes,
            *routing.routes,
            *web_auth.routes,
            *feeds.routes,
            *compose.routes,
            *web_signup.routes,
            *web_settings.routes,
            *filter_pages.routes,
            *web_admin.routes,
            *public_pages.routes,
            *pages.routes,
        ],  # fmt: skip
        middleware=[
            Middleware(
                BodyLimitMiddleware,
                default=settings.api.max_body_bytes,
                uploads=2 * settings.media.max_upload_bytes + 64 * 1024,
                federation=settings.federation.inbox_max_bytes,
            ),
            # Browser-based clients (Elk, Phanpy, the Mastodon web app elsewhere) call the API
            # cross-origin with bearer tokens, never cookies, as Mastodon allows.
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"],
            ),
            Middleware(RateLimitMiddleware, settings=settings.api),
            Middleware(VaryAcceptMiddleware),
            Middleware(WebSessionMiddleware),
        ],  # fmt: skip
        lifespan=lifespan,
        exception_handlers=handlers,
    )
    app.state.settings = settings
    return app
