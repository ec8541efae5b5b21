"""Every route of the Mastodon client API, the generation API and ActivityPub C2S, in one list.

Each module of this package exports its own ``routes``; this is where they are put together for the
app factory.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
