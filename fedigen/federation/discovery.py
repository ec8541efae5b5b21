"""Being found: WebFinger (RFC 7033), host-meta (RFC 6415, XML and JSON) and NodeInfo 2.0 / 2.1."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.vocab import AS2_MEDIA_TYPE
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.social import registrations
from storage.models import Actor, Status, User, utcnow

JRD = "application/jrd+json"
NODEINFO_SCHEMAS = {
    "2.0": "http://nodeinfo.diaspora.software/ns/schema/2.0",
    "2.1": "http://nodeinfo.diaspora.software/ns/schema/2.1",
}
CORS = {"Access-Control-Allow-Origin": "*"}


def _resource_username(resource: str, host: str, base: str) -> str:
    """The local username a WebFinger resource names (acct:, or an actor/profile URL)."""
    if resource.startswith("acct:"):
        user, _, domain = resource[5:].lstrip("@").rpartition("@")
        if not user or domain.lower() != host.lower():
            raise NotFoundError("not an account of this server")
        return user
    if resource.startswith(("http://", "https://")):
        parts = urlsplit(resource)
        if f"{parts.scheme}://{parts.netloc}" != base:
            raise NotFoundError("not an account of this server")
        path = unquote(parts.path)
        if path == "/actor":
            return parts.hostname or host  # the instance actor is named after the host name
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                return path[len(prefix) :]
        raise NotFoundError("not an account of this server")
    raise ValidationError("resource", "expected acct:user@host or an actor URL")


async def webfinger(request: Request) -> Response:
    """WebFinger: the ``self`` link must equal the actor id exactly (Mastodon's round-trip check)."""
    svc = services(request)
    resource = request.query_params.get("resource")
    if not resource:
        raise ValidationError("resource", "missing")
    username = _resource_username(resource, svc.urls.host, svc.settings.base_url)
    async with svc.reads() as session:
        actor = await session.scalar(
            select(Actor).where(func.lower(Actor.username) == username.lower(), Actor.domain.is_(None))
        )
        if actor is not None and await registrations.hidden(session, actor):
            actor = None  # signed up, not confirmed or approved yet
    if actor is None or actor.deleted_at is not None:
        raise NotFoundError("no such account")
    links: list[dict[str, Any]] = [{"rel": "self", "type": AS2_MEDIA_TYPE, "href": actor.ap_id}]
    if actor.ap_type != "Application":
        links.insert(0, {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                         "href": svc.urls.profile(actor.username)})  # fmt: skip
        links.append({"rel": "http://webfinger.net/rel/avatar", "type": "image/png",
                      "href": actor.icon_url or svc.urls.avatar(actor.username)})  # fmt: skip
    body = {
        "subject": f"acct:{actor.username}@{svc.urls.host}",
        "aliases": [actor.ap_id, svc.urls.profile(actor.username)]
        if actor.ap_type != "Application"
        else [actor.ap_id],
        "links": links,
    }
    return JSONResponse(body, media_type=JRD, headers={**CORS, "Cache-Control": "max-age=3600"})


async def host_meta(request: Request) -> Response:
    """host-meta in XRD, pointing at the WebFinger template (some clients still start here)."""
    base = services(request).settings.base_url
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml", headers=CORS)


async def host_meta_json(request: Request) -> Response:
    """host-meta in JRD."""
    base = services(request).settings.base_url
    body = {"links": [{"rel": "lrdd", "template": f"{base}/.well-known/webfinger?resource={{uri}}"}]}
    return JSONResponse(body, media_type=JRD, headers=CORS)


async def nodeinfo_links(request: Request) -> Response:
    """The NodeInfo discovery document."""
    base = services(request).settings.base_url
    links = [
        {"rel": schema, "href": f"{base}/nodeinfo/{version}"} for version, schema in NODEINFO_SCHEMAS.items()
    ]
    return JSONResponse({"links": links}, headers=CORS)


async def nodeinfo(request: Request) -> Response:
    """NodeInfo 2.0 / 2.1 with real usage counts."""
    svc = services(request)
    version = request.path_params["version"]
    if version not in NODEINFO_SCHEMAS:
        raise NotFoundError("NodeInfo versions 2.0 and 2.1 are served")
    now = utcnow()
    async with svc.reads() as session:
        users = (
            select(func.count()).select_from(User).where(User.actor_id.not_in(registrations.waiting_ids()))
        )
        total = await session.scalar(users) or 0
        active: dict[str, int] = {}
        for label, days in (("activeMonth", 30), ("activeHalfyear", 180)):
            active[label] = (
                await session.scalar(
                    select(func.count(func.distinct(Status.actor_id))).where(
                        Status.local.is_(True), Status.created_at >= now - timedelta(days=days)
                    )
                )
                or 0
            )
        posts = (
            await session.scalar(
                select(func.count())
                .select_from(Status)
                .where(Status.local.is_(True), Status.deleted_at.is_(None), Status.reblog_of_id.is_(None))
            )
            or 0
        )
    software: dict[str, Any] = {"name": "fedigen", "version": "0.1.0"}
    if version == "2.1":
        software["homepage"] = svc.settings.base_url
    instance = svc.settings.instance
    body = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": instance.registration_mode in ("open", "approval"),
        "usage": {"users": {"total": total, **active}, "localPosts": posts},
        "metadata": {"nodeName": instance.name, "nodeDescription": instance.description},
    }
    profile = f'application/json; profile="{NODEINFO_SCHEMAS[version]}#"'
    return JSONResponse(body, media_type=profile, headers=CORS)


routes = [
    Route("/.well-known/webfinger", webfinger, methods=["GET"]),
    Route("/.well-known/host-meta", host_meta, methods=["GET"]),
    Route("/.well-known/host-meta.json", host_meta_json, methods=["GET"]),
    Route("/.well-known/nodeinfo", nodeinfo_links, methods=["GET"]),
    Route("/nodeinfo/{version}", nodeinfo, methods=["GET"]),
]
