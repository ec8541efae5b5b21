"""HTTP routes: discovery (WebFinger, host-meta, NodeInfo), federation (actors, inboxes, objects), pages."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request

from fedigen.services import Services

AS2_TYPES = ("application/activity+json", "application/ld+json")


def services(request: HTTPConnection) -> Services:
    """The process's services, from the lifespan state."""
    svc: Services = request.app.state.services
    return svc


def wants_as2(request: Request) -> bool:
    """Content negotiation: does the client ask for ActivityStreams rather than HTML?"""
    accept = request.headers.get("accept", "")
    if any(t in accept for t in AS2_TYPES):
        return True
    # Plain JSON clients (bovine's C2S client among them) get the AS2 document too, as from Mastodon;
    # browsers name text/html first.
    return "application/json" in accept and "text/html" not in accept
