"""An account's standing, as every front door asks it: may it sign in and act, are its posts shown.

The flags are set by fedigen.social.account_moderation; this module only reads them (no imports of the
use-cases, so posting, timelines and authentication can ask without import cycles).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fedigen.errors import ForbiddenError
from storage.models import Actor


def suspended() -> Any:
    """Ids of suspended accounts, as a subquery: their posts are shown to nobody."""
    return select(Actor.id).where(Actor.suspended_at.is_not(None))


def limited() -> Any:
    """Ids of accounts kept off public timelines: suspended or silenced (limited)."""
    # A union of two partial-index lookups (ix_actors_suspended, ix_actors_silenced), not an OR over
    # every account.
    return (
        select(Actor.id)
        .where(Actor.suspended_at.is_not(None))
        .union(select(Actor.id).where(Actor.silenced_at.is_not(None)))
    )


def is_hidden(actor: Actor | None) -> bool:
    """Whether the account's profile and posts are hidden from everyone (suspended)."""
    return actor is not None and actor.suspended_at is not None


def may_sign_in(actor: Actor | None) -> bool:
    """Whether a local account may sign in and act (not suspended, disabled or deleted)."""
    return actor is not None and actor.suspended_at is None and actor.disabled_at is None and (
        actor.deleted_at is None
    )  # fmt: skip


def require_active(actor: Actor) -> None:
    """ForbiddenError (403, Mastodon's words) unless the account may act."""
    if not may_sign_in(actor):
        raise ForbiddenError("Your login is currently disabled")
