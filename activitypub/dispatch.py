"""Handing each received activity to the handler registered for its kind.

The worker calls :meth:`Dispatcher.read` (which may fetch the sender, or an object sent by reference,
and runs the record's *preparer*, which may fetch what its handler will need) outside any
transaction, then :meth:`Dispatcher.apply` inside the transaction that also marks the queue row
done: no transaction ever waits on another server. The handlers are the composition root's: one per
record type of :mod:`activitypub.received`, registered when the process starts, each given the
composition root's context (its services), the transaction, and the record. A record type nobody
registered is logged and dropped, never an error.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub import received
from activitypub.jsonld import id_of
from activitypub.received import Received
from activitypub.resolver import Resolver
from storage.models import Actor, InboxItem

log = logging.getLogger(__name__)

C = TypeVar("C")
Handler = Callable[[C, AsyncSession, Any], Awaitable[None]]
Preparer = Callable[[C, Any], Awaitable[None]]


class Dispatcher(Generic[C]):
    """Reads queued activities into records and runs the handler registered for each record type."""

    def __init__(
        self, resolver: Resolver, context: C, handlers: Mapping[type[Received], Handler[C]],
        preparers: Mapping[type[Received], Preparer[C]] | None = None,
    ) -> None:  # fmt: skip
        self.resolver = resolver
        self.context = context
        self.handlers = dict(handlers)
        self.preparers = dict(preparers or {})

    async def read(self, item: InboxItem) -> Received | None:
        """The item's record; the sender is resolved (and fetched when unknown or stale)."""
        doc = item.document
        if item.ap_type == "Delete" and id_of(doc.get("object")) == item.actor_ap_id:
            # A deleted actor's document is gone (410): use what we have rather than fetching it.
            async with self.resolver.reads() as session:
                actor = await session.scalar(select(Actor).where(Actor.ap_id == item.actor_ap_id))
            if actor is None:
                return None
        else:
            actor = await self.resolver.get_actor(item.actor_ap_id)
        record = await received.read(self.resolver, actor, doc)
        prepare = self.preparers.get(type(record)) if record is not None else None
        if prepare is not None:
            await prepare(self.context, record)
        return record

    async def apply(self, session: AsyncSession, record: Received) -> None:
        """Run the record's handler in the caller's transaction."""
        handler = self.handlers.get(type(record))
        if handler is None:
            log.info("no handler for %s (%s)", type(record).__name__, record.ap_id)
            return
        # The sender was read in another session: give the handler this transaction's row.
        actor = await session.get(Actor, record.actor.id)
        if actor is None:
            return
        await handler(self.context, session, dataclasses.replace(record, actor=actor))
