"""Media rows: every image (generated, uploaded, a remote avatar copy) goes through one ingest path.

The bytes pass the image pipeline (:mod:`storage.images`) off the event loop, its variants go into the
content-addressed store (:mod:`storage.media`), and a :class:`MediaAttachment` row records them with
the Mastodon ``meta`` block clients expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from storage.images import ImageLimits, ProcessedImage, Variant, process_image_async
from storage.media import MediaStore
from storage.models import MediaAttachment

MAX_DESCRIPTION_CHARS = 1500


@dataclass(frozen=True)
class MediaContext:
    """Where media goes and how it is processed: the store and the pipeline's limits."""

    store: MediaStore
    limits: ImageLimits
    # Unprocessed uploads waiting for the pipeline, outside the served directory.
    uploads: MediaStore

    @property
    def uploads_share_store(self) -> bool:
        """Whether the uploads are kept in the media store's own folder or bucket prefix (``[media]
        upload_dir`` set to the media directory): nothing may then be swept from either by what rows
        name, since the files of the one look unnamed to the other."""
        return self.uploads.location == self.store.location


def _size(variant: Variant) -> dict[str, Any]:
    return {
        "width": variant.width,
        "height": variant.height,
        "size": f"{variant.width}x{variant.height}",
        "aspect": round(variant.width / variant.height, 6) if variant.height else 1.0,
    }


def mastodon_meta(processed: ProcessedImage) -> dict[str, Any]:
    """The ``meta`` object of a Mastodon MediaAttachment: original and small sizes, and the focus."""
    x, y = processed.focus
    return {
        "original": _size(processed.original),
        "small": _size(processed.thumbnail),
        "federation": _size(processed.federation),
        "focus": {"x": x, "y": y},
    }


async def store_processed(media: MediaContext, processed: ProcessedImage) -> tuple[str, str, str]:
    """Write the three variants to the store; returns their keys (original, federation, thumbnail)."""
    original = await media.store.aput(processed.original.data, processed.original.ext)
    federation = await media.store.aput(processed.federation.data, processed.federation.ext)
    thumbnail = await media.store.aput(processed.thumbnail.data, processed.thumbnail.ext)
    return original, federation, thumbnail


def fill_row(row: MediaAttachment, processed: ProcessedImage, keys: tuple[str, str, str]) -> MediaAttachment:
    """Copy a processed image's keys, sizes, blurhash and focus onto a media row."""
    row.original_key, row.federation_key, row.thumbnail_key = keys
    row.media_type = processed.federation.media_type
    row.width, row.height = processed.original.width, processed.original.height
    row.blurhash = processed.blurhash
    row.focus_x, row.focus_y = processed.focus
    row.meta = mastodon_meta(processed)
    row.state = "ready"
    return row


@dataclass(frozen=True)
class StoredImage:
    """An image through the pipeline with its variants in the store, not yet recorded in a row: made
    before a transaction opens, so a slow store (an S3 bucket) never holds the database's write lock."""

    processed: ProcessedImage
    keys: tuple[str, str, str]


async def store_image(
    media: MediaContext, data: bytes, *, ai_generated: bool = False, focus: tuple[float, float] = (0.0, 0.0)
) -> StoredImage:
    """Process ``data`` and write its variants to the store. Raises :class:`storage.MediaError`
    (unsupported type, truncated, too large) before anything is written. A stored image no row comes
    to reference (its transaction rolled back) is swept by ``fedigen media prune``."""
    processed = await process_image_async(data, media.limits, ai_generated=ai_generated, focus=focus)
    return StoredImage(processed, await store_processed(media, processed))


class AttachmentFields(TypedDict, total=False):
    """What a new media row records beside its image: the keyword arguments of :func:`add_attachment`
    and :func:`ingest`."""

    description: str
    ai_generated: bool
    generation: dict[str, Any] | None
    job_id: int | None
    position: int
    remote_url: str | None


async def add_attachment(
    session: AsyncSession, stored: StoredImage, *, account_id: int | None, **fields: Unpack[AttachmentFields]
) -> MediaAttachment:
    """Add the ready MediaAttachment row of a :func:`store_image` result (caller commits)."""
    row = MediaAttachment(
        account_id=account_id,
        job_id=fields.get("job_id"),
        position=fields.get("position", 0),
        description=fields.get("description", "")[:MAX_DESCRIPTION_CHARS],
        ai_generated=fields.get("ai_generated", False),
        generation=dict(fields.get("generation") or {}),
        remote_url=fields.get("remote_url"),
    )
    fill_row(row, stored.processed, stored.keys)
    session.add(row)
    await session.flush()
    return row


async def ingest(
    session: AsyncSession,
    media: MediaContext,
    data: bytes,
    *,
    account_id: int | None,
    focus: tuple[float, float] = (0.0, 0.0),
    **fields: Unpack[AttachmentFields],
) -> MediaAttachment:
    """:func:`store_image` then :func:`add_attachment`, for a caller whose session has not begun its
    transaction yet (the store is written before the first statement takes a connection)."""
    stored = await store_image(media, data, ai_generated=fields.get("ai_generated", False), focus=focus)
    return await add_attachment(session, stored, account_id=account_id, **fields)
