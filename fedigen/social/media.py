"""Media of local accounts and copies of remote ones, always through the one image pipeline.

Uploads (``POST /api/v2/media``) are processed in the background and never lost: the uploaded bytes
are written to the private upload store (outside the served media directory: they still carry their
metadata, GPS included) before the 202 answer, and the row remembers where (``meta.upload_key``).
This process then runs the image pipeline in a task; if the process dies first, the worker finds the
row still ``processing`` after a grace period and finishes it from the kept bytes. Once processed, the
raw upload is deleted; only the pipeline's output is ever published.

Remote avatars are fetched through the guarded federation client (no private addresses, a size cap),
checked and re-encoded by :mod:`storage.images` (type from the bytes, pixel cap before decoding,
metadata stripped), and kept as media rows keyed by their source URL, so pages and the client API can
serve our copy instead of hot-linking another server. The work list is the database itself: actors
whose current icon URL has no row yet. A fetch that fails leaves a ``failed`` row, so a broken avatar
is not fetched again until its URL changes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.services import Services
from fedigen.social import domains, image_checks
from storage import MediaError
from storage.attachments import StoredImage, add_attachment, fill_row, store_image, store_processed
from storage.images import EXT_BY_MEDIA_TYPE, process_image_async, sniff_media_type
from storage.media_leftovers import LEFTOVER_GRACE, sweep_leftovers
from storage.models import Actor, MediaAttachment, utcnow
from storage.retry import backoff

log = logging.getLogger(__name__)

MAX_REMOTE_IMAGE_BYTES = 16_000_000

PROCESSING = "processing"
# How long an upload may stay "processing" before the worker takes it over.
GRACE = timedelta(minutes=2)
# A raw upload no row names is deleted once this old (forget_stale_uploads): far past GRACE, so the
# upload of a request still under way is never taken for one.
STALE_UPLOAD = timedelta(days=1)
_TASKS: set[asyncio.Task[None]] = set()


async def keep_upload(svc: Services, data: bytes) -> tuple[str, str]:
    """Keep the raw upload (an allowed image type) in the private upload store; returns (media type, key)."""
    media_type = sniff_media_type(data)
    return media_type, await svc.media.uploads.aput(data, EXT_BY_MEDIA_TYPE[media_type])


def start_processing(svc: Services, media_id: int, data: bytes, focus: tuple[float, float]) -> None:
    """Process an upload in a task of this process."""
    task = asyncio.create_task(process_upload(svc, media_id, data, focus))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def process_upload(svc: Services, media_id: int, data: bytes, focus: tuple[float, float]) -> None:
    """Run the image pipeline for a processing row: ready when done, failed when the image is bad or the
    image classifier's rules refuse it; still processing (tried again later) when the classifier holds it."""
    async with svc.reads() as session:
        owner = await session.scalar(select(MediaAttachment.account_id).where(MediaAttachment.id == media_id))
    outcome = await image_checks.check_upload(svc, data, owner)
    if outcome.action == image_checks.HOLD:
        # The raw upload stays; the worker's resume_uploads tries again once the backoff is over.
        async with svc.sessions() as session, session.begin():
            row = await session.get(MediaAttachment, media_id)
            if row is not None and row.state == PROCESSING:
                held = int((row.meta or {}).get("held_times") or 0) + 1
                until = utcnow() + max(GRACE, backoff(held))
                row.meta = {**(row.meta or {}), "held_times": held, "held_until": until.isoformat()}
        log.info("media %s held: %s", media_id, outcome.reason)
        return
    try:
        if outcome.action == image_checks.REFUSE:
            raise MediaError(outcome.reason)
        processed = await process_image_async(data, svc.media.limits, focus=focus)
        keys = await store_processed(svc.media, processed)
    except MediaError as exc:
        log.info("media %s could not be processed: %s", media_id, exc)
        async with svc.sessions() as session, session.begin():
            row = await session.get(MediaAttachment, media_id)
            meta = dict(row.meta or {}) if row is not None else {}
            if row is not None:
                row.state = "failed"
                row.meta = {k: v for k, v in meta.items() if k != "upload_key"} | {"error": str(exc)}
        await _forget_upload(svc, meta.get("upload_key"))
        return
    upload_key = None
    async with svc.sessions() as session, session.begin():
        row = await session.get(MediaAttachment, media_id)
        if row is not None and row.state == PROCESSING:
            kept = (row.focus_x, row.focus_y)  # PUT may have changed it meanwhile
            upload_key = (row.meta or {}).get("upload_key")
            fill_row(row, processed, keys)
            row.focus_x, row.focus_y = kept
            # upload_key no longer
            row.meta = image_checks.with_verdict({**row.meta, "focus": {"x": kept[0], "y": kept[1]}}, outcome)
            for key in ("held_times", "held_until"):
                row.meta.pop(key, None)
    await _forget_upload(svc, upload_key)


async def _forget_upload(svc: Services, key: object) -> None:
    """Delete a raw upload once the pipeline is done with it (its row no longer names it)."""
    if isinstance(key, str):
        try:
            await svc.media.uploads.adelete(key)
        except MediaError:
            pass


async def resume_uploads(svc: Services, limit: int = 10) -> int:
    """Finish uploads whose process died before processing them; returns how many were taken."""
    now = utcnow()
    async with svc.sessions() as session:
        candidates = await session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.state == PROCESSING, MediaAttachment.created_at < now - GRACE)
            .order_by(MediaAttachment.id)
            .limit(limit * 20)
        )
        # Uploads the image classifier held wait for their backoff (image_checks, on_error = "hold").
        rows = [row for row in candidates if not _held(row, now)][:limit]
    for row in rows:
        key = (row.meta or {}).get("upload_key")
        try:
            data = await svc.media.uploads.aread(key) if isinstance(key, str) else None
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


async def forget_stale_uploads(svc: Services, *, now: datetime | None = None) -> int:
    """Delete the raw uploads no processing row names that were written more than STALE_UPLOAD ago;
    returns how many went.

    A raw upload is the image as it was sent, its metadata (GPS position, camera) included, kept in the
    private upload store only until the image pipeline has made the stripped copies. One no row names
    is left by a crash between keeping it and committing its row, or by a row deleted while it was
    still processing (its account deleted): it would never go otherwise. Nothing is swept while the
    uploads share the media store's folder or bucket prefix (every media file would look unnamed)."""
    uploads = svc.media.uploads
    if svc.media.uploads_share_store:
        return 0
    cutoff = (now or utcnow()) - STALE_UPLOAD
    stale = [key for key, stored in (await uploads.alisting()).items() if stored.modified < cutoff]
    if not stale:
        return 0
    async with svc.reads() as session:  # read after the listing: a row committed since names its file
        named = {
            (meta or {}).get("upload_key")
            for meta in await session.scalars(
                select(MediaAttachment.meta).where(MediaAttachment.state == PROCESSING)
            )
        }
    removed = 0
    for key in stale:
        if key not in named and await uploads.adelete_older(key, cutoff) is not None:
            removed += 1
    if removed:
        log.info("deleted %d raw uploads no row named (older than %s)", removed, STALE_UPLOAD)
    return removed


async def sweep_media_leftovers(svc: Services, *, now: datetime | None = None) -> int:
    """Settle what killed writes and prunes left in the media and upload folders, once older than
    LEFTOVER_GRACE (:mod:`storage.media_leftovers`); returns how many files were removed or put back.

    Only names are read (no row): this runs whether or not the uploads share the media store."""
    before = (now or utcnow()) - LEFTOVER_GRACE
    stores = [svc.media.store] + ([] if svc.media.uploads_share_store else [svc.media.uploads])
    settled = 0
    for store in stores:
        swept = await asyncio.to_thread(sweep_leftovers, store, before)
        if swept.files or swept.restored:
            log.info(
                "%s: removed %d files left by interrupted writes or prunes, put %d back under their key",
                store.location, swept.files, swept.restored,
            )  # fmt: skip
        settled += swept.files + swept.restored
    return settled


def _held(row: MediaAttachment, now: datetime) -> bool:
    until = (row.meta or {}).get("held_until")
    try:
        return isinstance(until, str) and datetime.fromisoformat(until) > now
    except ValueError:
        return False


async def wait_processing() -> None:
    """Wait for this process's uploads in progress (tests, shutdown)."""
    while _TASKS:
        await asyncio.gather(*list(_TASKS), return_exceptions=True)


async def cache_remote_avatars(svc: Services, limit: int = 20) -> int:
    """Fetch and process up to ``limit`` remote avatars not yet copied; returns how many were tried."""
    if not svc.settings.media.cache_remote_avatars:
        return 0
    copied = exists().where(MediaAttachment.remote_url == Actor.icon_url)
    async with svc.reads() as session:  # only a read: never the write lock
        rows = list(
            await session.execute(
                select(Actor.id, Actor.icon_url)
                .where(Actor.domain.is_not(None), Actor.icon_url.is_not(None), Actor.deleted_at.is_(None))
                .where(~copied)
                .limit(limit)
            )
        )
    for actor_id, url in rows:
        async with svc.reads() as session:
            rejected = await domains.rejects_media_of(session, actor_id)
        data = None if rejected else await fetch_image(svc, str(url))
        stored: StoredImage | None = None
        failure = None
        try:  # into the store before the transaction opens (a slow bucket never holds the write lock)
            if rejected:
                raise MediaError("its domain's media is rejected here")
            if data is None:
                raise MediaError("could not be fetched as an allowed image")
            stored = await store_image(svc.media, data)
        except MediaError as exc:
            failure = str(exc)
        async with svc.sessions() as session, session.begin():
            if await session.scalar(select(MediaAttachment.id).where(MediaAttachment.remote_url == url)):
                continue  # another worker copied it meanwhile
            if stored is not None:
                await add_attachment(session, stored, account_id=actor_id, remote_url=url)
            else:
                log.info("avatar %s not copied: %s", url, failure)
                session.add(MediaAttachment(account_id=actor_id, remote_url=url, state="failed"))
    return len(rows)


async def avatar_url(svc: Services, session: AsyncSession, actor: Actor) -> str:
    """The URL to show for an account's avatar: our copy of a remote one when we have it."""
    if actor.domain is None or not actor.icon_url:
        return actor.icon_url or svc.urls.avatar(actor.username)
    copy = await session.scalar(
        select(MediaAttachment.thumbnail_key).where(
            MediaAttachment.remote_url == actor.icon_url, MediaAttachment.state == "ready"
        )
    )
    return media_url(svc, copy) if copy else actor.icon_url


def media_url(svc: Services, key: str | None) -> str:
    """Public URL of a stored media file."""
    return f"{svc.settings.media_url}/{key or ''}"


async def fetch_image(svc: Services, url: str, *, max_bytes: int = MAX_REMOTE_IMAGE_BYTES) -> bytes | None:
    """A remote image's bytes through the guarded federation client, if it is an allowed image type of
    at most ``max_bytes`` (the download stops as soon as it passes them)."""
    try:
        async with svc.http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code != 200:
                return None
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    return None
    except Exception as exc:  # network errors of every kind: the caller goes on without the image
        log.info("could not fetch %s: %s", url, exc)
        return None
    try:
        sniff_media_type(bytes(data))
    except MediaError:
        return None
    return bytes(data)
