"""Every route of the Mastodon client API, the generation API and ActivityPub C2S, in one list.

Each module of this package exports its own ``routes``; this is where they are put together for the
app factory.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from fedigen.api import (
    accounts,
    admin_domains,
    c2s,
    filters,
    generations,
    image_moderation,
    instance,
    lists,
    media,
    moderation,
    notifications,
    polls,
    privacy,
    registrations,
    relationships,
    search,
    statuses,
    streaming,
    timelines,
    user_tools,
)

routes: list[BaseRoute] = []
routes += admin_domains.routes
# Literal /api/v1/accounts/... paths before /api/v1/accounts/{id}.
routes += [*instance.routes, *accounts.routes, *relationships.routes, *accounts.id_routes]
routes += [*notifications.routes, *search.routes]
routes += polls.routes
routes += [*statuses.routes, *timelines.routes, *media.routes, *generations.routes, *streaming.routes]
routes += registrations.routes  # sign-up, email confirmation, password resets, invite links
routes += [*filters.routes, *lists.routes, *user_tools.routes]  # users' own tools
routes += image_moderation.routes
routes += moderation.routes  # reports and the admin API (accounts, reports, audit log)
routes += c2s.routes  # POST outbox and GET inbox: fedigen.federation.routes has the other methods
routes += privacy.routes  # /api/fedigen/account/..., export and import (docs/privacy.md)
