"""Mastodon's media API (https://docs.joinmastodon.org/methods/media/): upload, check, describe.

``POST /api/v1/media`` runs the image pipeline before answering. ``POST /api/v2/media`` answers 202
with a row in state ``processing`` and runs the same pipeline in the background (:mod:`fedigen.social.media`,
which also finishes uploads whose process died); ``GET /api/v1/media/:id`` is 206 until the row is
ready. Anything refused (too large,
not an image) is refused before a row or a file is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import entities
from fedigen.api.auth import authenticate
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import account_of, path_id
from fedigen.errors import NotFoundError, PayloadTooLargeError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import image_checks
from fedigen.social.media import PROCESSING, keep_upload, start_processing
from generation.errors import BackendError
from storage.attachments import MAX_DESCRIPTION_CHARS, ingest
from storage.images import sniff_media_type
from storage.models import MediaAttachment

log = logging.getLogger(__name__)

# Room for the multipart boundaries and the other fields beside the file.
FORM_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Upload:
    """A checked upload: the bytes (an allowed image type), alt text and focal point."""

    data: bytes
    description: str
    focus: tuple[float, float]


def parse_focus(value: str | None) -> tuple[float, float] | None:
    """Mastodon's focus "x,y", each in [-1, 1]."""
    if value is None or not value.strip():
        return None
    try:
        x, y = (float(part) for part in value.split(","))
    except ValueError:
        raise ValidationError("focus", 'must be "x,y" with numbers between -1 and 1') from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise ValidationError("focus", 'must be "x,y" with numbers between -1 and 1')
    return x, y


def description_of(params: Params) -> str | None:
    """The alt text, bounded."""
    return params.get_str("description", max_chars=MAX_DESCRIPTION_CHARS)


async def read_upload(request: Request, svc: Services) -> Upload:
    """The multipart upload, refused (413, 422) before anything is stored."""
    limit = svc.settings.media.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise PayloadTooLargeError(f"the upload is over the limit of {limit} bytes")
    params = await read_params(request)
    upload = params.get_file("file")
    if upload is None:
        raise ValidationError("file", "can't be blank")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"the upload is over the limit of {limit} bytes")
    sniff_media_type(data)  # UnsupportedMediaError (422) for anything but JPEG, PNG, WebP, GIF
    return Upload(data, description_of(params) or "", parse_focus(params.get_str("focus")) or (0.0, 0.0))


async def upload_v1(request: Request) -> Response:
    """POST /api/v1/media: processed before the answer."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    upload = await read_upload(request, svc)
    async with svc.reads() as session:
        owner_id = (await account_of(session, auth)).id
    outcome = await image_checks.check_upload(svc, upload.data, owner_id)  # outside any transaction
    if outcome.action == image_checks.REFUSE:
        raise ValidationError("file", outcome.reason)
    if outcome.action == image_checks.HOLD:
        raise BackendError(f"{image_checks.UNCHECKED_MESSAGE}; try again later", transient=True)  # 503
    async with svc.sessions() as session:
        row = await ingest(session, svc.media, upload.data, account_id=owner_id,
                           description=upload.description, focus=upload.focus)  # fmt: skip
        row.meta = image_checks.with_verdict(row.meta, outcome)
        await session.commit()
    return JSONResponse(entities.media_attachment(svc, row))


async def upload_v2(request: Request) -> Response:
    """POST /api/v2/media: 202 with ``url`` null while the pipeline runs in the background."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    upload = await read_upload(request, svc)
    media_type, upload_key = await keep_upload(svc, upload.data)
    async with svc.sessions() as session:
        owner = await account_of(session, auth)
        row = MediaAttachment(account_id=owner.id, state=PROCESSING, description=upload.description,
                              focus_x=upload.focus[0], focus_y=upload.focus[1], media_type=media_type,
                              meta={"upload_key": upload_key})  # fmt: skip
        session.add(row)
        await session.commit()
    start_processing(svc, row.id, upload.data, upload.focus)
    return JSONResponse(entities.media_attachment(svc, row), status_code=202)


async def _mine(session: AsyncSession, request: Request, owner_id: int) -> MediaAttachment:
    row = await session.get(MediaAttachment, path_id(request))
    if row is None or row.account_id != owner_id:
        raise NotFoundError("Record not found")
    return row


async def show(request: Request) -> Response:
    """GET /api/v1/media/:id: 206 while processing, 200 when ready, 422 when processing failed."""
    auth = await authenticate(request, "write:media")
    svc = services(request)
    async with svc.reads() as session:
        row = await _mine(session, request, (await account_of(session, auth)).id)
    if row.state == "failed":
        return JSONResponse({"error": "Error processing thumbnail for uploaded media"}, status_code=422)
    return JSONResponse(
        entities.media_attachment(svc, row), status_code=206 if row.state == "processing" else 200
    )


async def update(request: Request) -> Response:
    """PUT /api/v1/media/:id: description and focus, by its owner, before it is on a post."""
    auth = await authenticate(request, "write:media")
    params = await read_params(request)
    description = description_of(params)
    focus = parse_focus(params.get_str("focus"))
    svc = services(request)
    async with svc.sessions() as session:
        row = await _mine(session, request, (await account_of(session, auth)).id)
        if row.status_id is not None:
            raise NotFoundError("Record not found")  # attached media is edited with the status
        if description is not None:
            row.description = description
        if focus is not None:
            row.focus_x, row.focus_y = focus
            if row.meta:
                row.meta = {**row.meta, "focus": {"x": focus[0], "y": focus[1]}}
        await session.commit()
    status_code = 206 if row.state == "processing" else 200
    return JSONResponse(entities.media_attachment(svc, row), status_code=status_code)


routes: list[BaseRoute] = [
    Route("/api/v1/media", upload_v1, methods=["POST"]),
    Route("/api/v2/media", upload_v2, methods=["POST"]),
    Route("/api/v1/media/{id}", show, methods=["GET"]),
    Route("/api/v1/media/{id}", update, methods=["PUT"]),
]
