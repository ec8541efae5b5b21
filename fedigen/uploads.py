"""Asynchronous uploads (``POST /api/v2/media``): processed in the background, and never lost.

The uploaded bytes are written to the media store before the 202 answer, and the row remembers
where (``meta.upload_key``). This process then runs the image pipeline in a task; if the process dies
first, the worker finds the row still ``processing`` after a grace period and finishes it from the
stored bytes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select

from fedigen.services import Services
from storage import MediaError
from storage.attachments import fill_row, store_processed
from storage.images import EXT_BY_MEDIA_TYPE, process_image_async, sniff_media_type
from storage.models import MediaAttachment, utcnow

log = logging.getLogger(__name__)

PROCESSING = "processing"
# How long an upload may stay "processing" before the worker takes it over.
GRACE = timedelta(minutes=2)
_TASKS: set[asyncio.Task[None]] = set()


async def keep_upload(svc: Services, data: bytes) -> tuple[str, str]:
    """Store the raw upload (an allowed image type); returns (media type, store key)."""
    media_type = sniff_media_type(data)
    return media_type, await svc.media.store.aput(data, EXT_BY_MEDIA_TYPE[media_type])


def start_processing(svc: Services, media_id: int, data: bytes, focus: tuple[float, float]) -> None:
    """Process an upload in a task of this process."""
    task = asyncio.create_task(process_upload(svc, media_id, data, focus))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def process_upload(svc: Services, media_id: int, data: bytes, focus: tuple[float, float]) -> None:
    """Run the image pipeline for a processing row: ready when done, failed when the image is bad."""
    try:
        processed = await process_image_async(data, svc.media.limits, focus=focus)
        keys = await store_processed(svc.media, processed)
    except MediaError as exc:
        log.info("media %s could not be processed: %s", media_id, exc)
        async with svc.sessions() as session, session.begin():
            row = await session.get(MediaAttachment, media_id)
            if row is not None:
                row.state = "failed"
                row.meta = {**(row.meta or {}), "error": str(exc)}
        return
    async with svc.sessions() as session, session.begin():
        row = await session.get(MediaAttachment, media_id)
        if row is not None and row.state == PROCESSING:
            kept = (row.focus_x, row.focus_y)  # PUT may have changed it meanwhile
            upload_key = (row.meta or {}).get("upload_key")
            fill_row(row, processed, keys)
            row.focus_x, row.focus_y = kept
            row.meta = {**row.meta, "focus": {"x": kept[0], "y": kept[1]}, "upload_key": upload_key}


async def resume_uploads(svc: Services, limit: int = 10) -> int:
    """Finish uploads whose process died before processing them; returns how many were taken."""
    stale = utcnow() - GRACE
    async with svc.sessions() as session:
        rows = list(
            await session.scalars(
                select(MediaAttachment)
                .where(MediaAttachment.state == PROCESSING, MediaAttachment.created_at < stale)
                .limit(limit)
            )
        )
    for row in rows:
        key = (row.meta or {}).get("upload_key")
        try:
            data = await svc.media.store.aread(key) if isinstance(key, str) else None
        except MediaError:
            data = None
        if data is None:
            async with svc.sessions() as session, session.begin():
                lost = await session.get(MediaAttachment, row.id)
                if lost is not None and lost.state == PROCESSING:
                    lost.state = "failed"
            continue
        await process_upload(svc, row.id, data, (row.focus_x, row.focus_y))
    return len(rows)


async def wait_processing() -> None:
    """Wait for this process's uploads in progress (tests, shutdown)."""
    while _TASKS:
        await asyncio.gather(*list(_TASKS), return_exceptions=True)
