"""Persistence: engine and sessions, models, migrations, durable queues, and (later) media.

Exception tree::

    StorageError
    └── MigrationError   the database schema could not be brought up to date
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error raised by the storage package."""


class MigrationError(StorageError):
    """The database schema could not be brought up to date."""
