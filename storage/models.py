"""Every table, in one place: importing this module registers all of them on ``Base.metadata``
(create_all, alembic, copying a database need the whole schema, and a foreign key names its table).

``ap_id`` / ``ap_type`` are ActivityPub identifiers; ``id`` is ours. The tables live by concept:
:mod:`storage.accounts`, :mod:`storage.statuses`, :mod:`storage.emoji`, :mod:`storage.federation`,
:mod:`storage.pictures` and :mod:`storage.moderation` (their declarative base: :mod:`storage.base`);
the client-side and sign-up tables, in :mod:`storage.clients` and :mod:`storage.signup`, register
themselves when imported. The names below are imported from here across the code base.
"""

from __future__ import annotations

from storage.accounts import Actor, Block, Follow, Notification, RemoteKey, User
from storage.base import Base, BigId, UTCDateTime, utcnow
from storage.emoji import ActorEmoji, CustomEmoji, StatusEmoji
from storage.federation import Activity, Delivery, Host, InboxEntry, InboxItem
from storage.moderation import (
    AccountWarning,
    AuditLog,
    CanonicalEmailBlock,
    DomainAllow,
    DomainBlock,
    ModerationVersion,
    PromptRule,
    PromptRulesVersion,
    Refusal,
    Report,
    ReportNote,
)
from storage.pictures import GenerationJob, MediaAttachment
from storage.queue import QueueMixin
from storage.statuses import (
    AccountStatusCount,
    Favourite,
    Mention,
    Poll,
    PollVote,
    Reaction,
    Remix,
    Status,
    StatusCount,
    StatusPin,
    StatusTag,
    Tombstone,
)

# The durable queues, for the sweeps that purge their finished rows.
QUEUE_MODELS: tuple[type[QueueMixin], ...] = (InboxItem, Delivery, GenerationJob)

__all__ = [
    "AccountStatusCount",
    "AccountWarning",
    "Activity",
    "Actor",
    "ActorEmoji",
    "AuditLog",
    "Base",
    "BigId",
    "Block",
    "CanonicalEmailBlock",
    "CustomEmoji",
    "Delivery",
    "DomainAllow",
    "DomainBlock",
    "Favourite",
    "Follow",
    "GenerationJob",
    "Host",
    "InboxEntry",
    "InboxItem",
    "MediaAttachment",
    "Mention",
    "ModerationVersion",
    "Notification",
    "Poll",
    "PollVote",
    "PromptRule",
    "PromptRulesVersion",
    "QUEUE_MODELS",
    "QueueMixin",
    "Reaction",
    "Refusal",
    "Remix",
    "RemoteKey",
    "Report",
    "ReportNote",
    "Status",
    "StatusCount",
    "StatusEmoji",
    "StatusPin",
    "StatusTag",
    "Tombstone",
    "UTCDateTime",
    "User",
    "utcnow",
]
