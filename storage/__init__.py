"""Persistence: engine and sessions, models, migrations, durable queues, the media store and the image
pipeline.

Exception tree::

    StorageError
    ├── MigrationError             the database schema could not be brought up to date
    ├── MediaStoreUnavailable      the media store (an S3-compatible bucket) did not answer as it should
    └── MediaError                 media could not be stored or read as asked (e.g. a malformed key)
        ├── UnsupportedMediaError  not an allowed image type (from the bytes), undecodable or truncated
        └── ImageTooLargeError     over the byte cap or the pixel cap (checked before a full decode)
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by the storage package."""


class MigrationError(StorageError):
    """The database schema could not be brought up to date."""


class MediaStoreUnavailable(StorageError):
    """The media store could not be reached or refused the request (not the media's fault: try again)."""


class MediaError(StorageError):
    """Media could not be stored, found or read as asked."""


class UnsupportedMediaError(MediaError):
    """The bytes are not an allowed image type (JPEG, PNG, WebP, GIF), cannot be decoded, or are truncated."""


class ImageTooLargeError(MediaError):
    """The image is over the byte cap or the pixel cap."""
