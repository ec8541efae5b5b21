"""Every route of the Mastodon client API, the generation API and ActivityPub C2S, in one list.

Each module of this package exports its own ``routes``; this is where they are put together for the
app factory.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from fedigen.api import (
    accounts,
    c2s,
    generations,
    instance,
    media,
    moderation,
    notifications,
    polls,
    relationships,
    search,
    statuses,
    streaming,
    timelines,
)

routes: list[BaseRoute] = []
# Literal /api/v1/accounts/... paths before /api/v1/accounts/{id}.
routes += [*instance.routes, *accounts.routes, *relationships.routes, *accounts.id_routes]
routes += [*notifications.routes, *search.routes]
routes += polls.routes
routes += [*statuses.routes, *timelines.routes, *media.routes, *generations.routes, *streaming.routes]
routes += moderation.routes  # reports and the admin API (accounts, reports, audit log)
routes += c2s.routes  # POST outbox and GET inbox: fedigen.federation.routes has the other methods
