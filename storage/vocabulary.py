"""The words some columns are made of: typed string enums, stored as their values (no schema change)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect


class Visibility(StrEnum):
    """Who a post is for, in Mastodon's terms (Mastodon's API calls ``followers`` "private")."""

    PUBLIC = "public"  # everyone, in public timelines too
    UNLISTED = "unlisted"  # everyone, but left out of public timelines
    FOLLOWERS = "followers"  # the author's followers and the mentioned
    DIRECT = "direct"  # the mentioned only


#: Visibilities anyone may see, logged in or not, on any server.
PUBLIC_VISIBILITIES = frozenset({Visibility.PUBLIC, Visibility.UNLISTED})


class FollowState(StrEnum):
    """Where a follow stands: ``requested`` until the followed account (or its server) accepts."""

    REQUESTED = "requested"
    ACCEPTED = "accepted"


class QueueState(StrEnum):
    """Where a row of a durable queue stands (past participles, as every queue table spells them)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StrEnumColumn(TypeDecorator[StrEnum]):
    """A string column read back as a member of ``enum`` (no schema change: the values are the strings)."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: StrEnum | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)
