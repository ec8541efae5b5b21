"""What the HTTP image backends share: error mapping, per-request timeouts, the job deadline, progress.

One mapping for ``openai``, ``automatic1111`` and ``comfyui``::

    connect/read failure, 408, 425, 429, 5xx  -> BackendError(transient=True), with Retry-After when sent
    other 4xx, malformed or unexpected body   -> BackendError(transient=False), with the server's message
    a request or the whole job out of time    -> BackendTimeoutError (after asking the server to stop)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import httpx

from generation.backend import Options, ProgressCallback
from generation.errors import BackendConfigError, BackendError, BackendTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({408, 425, 429})
# Seconds given to a best-effort "stop" request (interrupt) after a timeout or a cancellation.
ABORT_TIMEOUT = 5.0
_MESSAGE_LIMIT = 500


def positive_number(opts: Options, key: str, default: float) -> float:
    """A number option that must be above zero."""
    value = opts.get_float(key, default)
    if value <= 0:
        raise BackendConfigError(f"{opts.section}.{key}: must be above zero, got {value!r}")
    return value


def concurrency_option(opts: Options) -> int:
    """The ``concurrency`` option: jobs run at once, at least 1."""
    value = opts.get_int("concurrency", 1)
    if value < 1:
        raise BackendConfigError(f"{opts.section}.concurrency: must be at least 1, got {value!r}")
    return value


def request_timeout(seconds: float) -> httpx.Timeout:
    """A per-request timeout: the job's time to read, but a short connect (a down server fails fast)."""
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def _detail_text(detail: Any) -> str:
    # FastAPI validation errors (A1111) are a list of {"loc": [...], "msg": ...}.
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _node_errors_text(node_errors: Any) -> str:
    # ComfyUI: {"<node id>": {"errors": [{"message", "details"}], "class_type": ...}}.
    if not isinstance(node_errors, dict):
        return ""
    parts = []
    for node_id, entry in node_errors.items():
        if not isinstance(entry, dict):
            continue
        for err in entry.get("errors") or []:
            if isinstance(err, dict):
                text = ": ".join(str(err[k]) for k in ("message", "details") if err.get(k))
                parts.append(f"node {node_id} ({entry.get('class_type', '?')}): {text}")
    return "; ".join(parts)


def server_message(response: httpx.Response) -> str:
    """The error message a server put in its body, from any of the three APIs' shapes."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:_MESSAGE_LIMIT]
    if not isinstance(body, dict):
        return str(body)[:_MESSAGE_LIMIT]
    parts: list[str] = []
    error = body.get("error")
    if isinstance(error, dict):  # OpenAI {"error": {"message"}}; ComfyUI {"error": {"message", "details"}}
        parts += [str(error[k]) for k in ("message", "details") if error.get(k)]
    elif error:  # A1111 {"error": "<exception type>", "errors": "<message>"}
        parts.append(str(error))
    for key in ("errors", "detail", "message"):
        if body.get(key) and isinstance(body[key], str | list):
            parts.append(_detail_text(body[key]))
    if nodes := _node_errors_text(body.get("node_errors")):
        parts.append(nodes)
    return (": ".join(parts) or response.text.strip())[:_MESSAGE_LIMIT]


def raise_for_status(response: httpx.Response, service: str) -> None:
    """Raise the BackendError a non-2xx response stands for."""
    status = response.status_code
    if status < 400:
        return
    message = f"{service}: HTTP {status} from {response.request.url.path}"
    if detail := server_message(response):
        message += f": {detail}"
    if retry_after := response.headers.get("retry-after"):
        message += f" (Retry-After: {retry_after})"
    raise BackendError(message, transient=status >= 500 or status in TRANSIENT_STATUSES)


async def send(http: httpx.AsyncClient, method: str, url: str, service: str, **kwargs: Any) -> httpx.Response:
    """One request, with transport failures and error statuses mapped to BackendError."""
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise BackendTimeoutError(f"{service}: {method} {url} timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise BackendError(f"{service}: cannot reach {url}: {exc!r}", transient=True) from exc
    raise_for_status(response, service)
    return response


def json_object(response: httpx.Response, service: str) -> dict[str, Any]:
    """The response body as a JSON object, or a permanent error for anything else."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        snippet = response.text[:200]
        raise BackendError(f"{service}: expected a JSON object from {response.url.path}, got {snippet!r}")
    return body


def sniff_image(data: bytes, service: str) -> bytes:
    """``data`` when it starts like PNG, JPEG or WebP; a permanent error otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") or data.startswith(b"\xff\xd8\xff"):
        return data
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return data
    raise BackendError(f"{service}: returned data that is not a PNG, JPEG or WebP image ({data[:16]!r})")


def decode_image(value: object, service: str) -> bytes:
    """A base64 image from a JSON body (a bare string or a data: URL) as encoded image bytes."""
    if not isinstance(value, str):
        raise BackendError(f"{service}: expected a base64 image string, got {type(value).__name__}")
    if value.startswith("data:"):
        value = value.partition(",")[2]
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BackendError(f"{service}: returned an image that is not valid base64") from None
    return sniff_image(data, service)


def image_mime(data: bytes) -> tuple[str, str]:
    """(file extension, content type) of encoded image bytes, for multipart uploads."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return "png", "image/png"


def parse_json_text(value: object, service: str) -> dict[str, Any]:
    """A JSON object carried as a string inside a JSON body (A1111's ``info``); {} when absent."""
    if value is None or value == "":
        return {}
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise BackendError(f"{service}: returned an unreadable info field") from None
    return parsed if isinstance(parsed, dict) else {}


class ProgressReporter:
    """Passes percentages on to a ProgressCallback: clamped to 0-100, only when they rise."""

    def __init__(self, callback: ProgressCallback) -> None:
        self._callback = callback
        self.last = -1

    async def report(self, percent: float) -> None:
        """Report ``percent`` if it is higher than what was reported before."""
        value = max(0, min(100, int(percent)))
        if value > self.last:
            self.last = value
            await self._callback(value)

    async def working(self, fraction: float) -> None:
        """Report a fraction of the work done, held below 100 until the images are in hand."""
        await self.report(min(99.0, fraction * 100))


async def _abort_quietly(abort: Callable[[], Awaitable[None]] | None, service: str) -> None:
    if abort is None:
        return
    try:
        async with asyncio.timeout(ABORT_TIMEOUT):
            await abort()
    except (TimeoutError, BackendError) as exc:
        log.warning("%s: could not stop the abandoned job: %s", service, exc)


async def within_deadline(
    work: Coroutine[Any, Any, T],
    *,
    service: str,
    seconds: float,
    abort: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Await ``work`` for at most ``seconds``; on a timeout or a cancellation call ``abort`` first."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except (TimeoutError, BackendTimeoutError) as exc:
        await _abort_quietly(abort, service)
        detail = f" ({exc})" if str(exc) else ""
        raise BackendTimeoutError(f"{service}: no result within {seconds:g} s{detail}") from exc
    except asyncio.CancelledError:
        await _abort_quietly(abort, service)
        raise


async def while_running(
    work: Coroutine[Any, Any, T], tick: Callable[[], Awaitable[None]], interval: float
) -> T:
    """Await ``work``, calling ``tick`` every ``interval`` seconds until it finishes."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            await tick()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
