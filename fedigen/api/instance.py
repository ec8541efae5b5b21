"""Instance information: /api/v1/instance and /api/v2/instance as Mastodon 4.3 shapes them, custom
emojis, rules, peers and the languages posts may be in (https://docs.joinmastodon.org/methods/instance/).

The v2 document carries a ``fedigen`` object describing the generation API, so clients discover it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.notes import MAX_ATTACHMENTS
from fedigen.api import entities
from fedigen.http import services
from fedigen.languages import LANGUAGES
from fedigen.languages import normalize as normalize_language
from fedigen.services import Services
from fedigen.social import polls, registrations
from fedigen.social.pins import MAX_PINNED
from fedigen.social.posts import MAX_TEXT_CHARS
from generation.backend import MAX_SIDE, MIN_SIDE
from storage.models import Actor, Status, User, utcnow

VERSION = "4.3.0 (compatible; fedigen 0.1)"
IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"]
CHARACTERS_RESERVED_PER_URL = 23
POLLS = polls.LIMITS
PUBLIC_CACHE = {"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"}


async def _counts(session: AsyncSession) -> dict[str, int]:
    users = await session.scalar(
        select(func.count()).select_from(User).where(User.actor_id.not_in(registrations.waiting_ids()))
    ) or 0  # fmt: skip
    statuses = await session.scalar(
        select(func.count()).select_from(Status).where(
            Status.local.is_(True), Status.deleted_at.is_(None), Status.reblog_of_id.is_(None))
    ) or 0  # fmt: skip
    domains = await session.scalar(
        select(func.count(distinct(Actor.domain))).where(Actor.domain.is_not(None))
    )
    active = await session.scalar(
        select(func.count(distinct(Status.actor_id))).where(
            Status.local.is_(True), Status.created_at >= utcnow() - timedelta(days=30))
    ) or 0  # fmt: skip
    return {"user_count": users, "status_count": statuses, "domain_count": domains or 0, "active": active}


async def _contact(svc: Services, session: AsyncSession) -> dict[str, Any] | None:
    # The owner, else the first admin: who the instance names as its contact.
    admin = await session.scalar(
        select(Actor).join(User, User.actor_id == Actor.id)
        .where(User.role.in_(("owner", "admin")), Actor.deleted_at.is_(None))
        .order_by(User.role != "owner", Actor.id).limit(1)
    )  # fmt: skip
    if admin is None:
        return None
    return entities.account(svc, admin, await entities.account_stats(session, [admin.id]))


def _media_configuration(svc: Services) -> dict[str, Any]:
    limit = svc.settings.media.max_upload_bytes
    return {"supported_mime_types": IMAGE_TYPES, "image_size_limit": limit,
            "image_matrix_limit": svc.settings.media.max_pixels, "video_size_limit": 0,
            "video_frame_rate_limit": 0, "video_matrix_limit": 0}  # fmt: skip


def _statuses_configuration() -> dict[str, Any]:
    return {"max_characters": MAX_TEXT_CHARS, "max_media_attachments": MAX_ATTACHMENTS,
            "characters_reserved_per_url": CHARACTERS_RESERVED_PER_URL}  # fmt: skip


def _languages(svc: Services) -> list[str]:
    """The instance's language (the default of posts), as Mastodon lists its own."""
    return [normalize_language(svc.settings.instance.default_language)]


def rules(svc: Services) -> list[dict[str, str]]:
    """The instance's rules as Mastodon's Rule entities, numbered from 1 in the order configured."""
    return [{"id": str(n), "text": text, "hint": ""} for n, text in enumerate(svc.settings.instance.rules, 1)]


def registrations_v2(svc: Services) -> dict[str, Any]:
    """v2's ``registrations``: anyone may sign up in open and approval modes (invite-only instances need
    a code, which apps send as ``invite_code``)."""
    mode = svc.settings.instance.registration_mode
    return {
        "enabled": mode in ("open", "approval"),
        "approval_required": mode == "approval",
        "reason_required": mode == "approval",
        "message": svc.settings.instance.registrations_message or None,
        "url": None,
        "min_age": None,
    }


def _thumbnail(svc: Services) -> str:
    return f"{svc.urls.base}/static/header.png"


def generation_api(svc: Services) -> dict[str, Any]:
    """What the generation API offers: its endpoints, backends, sizes and images per request."""
    g = svc.settings.generation
    base = svc.urls.base
    return {
        "endpoints": {
            "generations": f"{base}/api/v1/fedigen/generations",
            "generation": f"{base}/api/v1/fedigen/generations/:id",
            "remix": f"{base}/api/v1/fedigen/statuses/:id/remix",
            "upload_media": f"{base}/api/fedigen/upload",
        },
        "backends": list(dict.fromkeys([g.backend, *g.allowed_backends])),
        "default_backend": g.backend,
        "sizes": {"default": g.size, "min_side": MIN_SIDE, "max_side": MAX_SIDE},
        "max_images": g.max_images,
        "max_prompt_characters": g.max_prompt_chars,
    }


async def instance_v1(request: Request) -> Response:
    """GET /api/v1/instance."""
    svc = services(request)
    settings = svc.settings
    async with svc.reads() as session:
        counts = await _counts(session)
        contact = await _contact(svc, session)
    return JSONResponse({
        "uri": settings.host, "title": settings.instance.name,
        "short_description": settings.instance.description, "description": settings.instance.description,
        "email": settings.instance.contact_email, "version": VERSION,
        "urls": {"streaming_api": svc.urls.base.replace("http", "ws", 1)},
        "stats": {k: counts[k] for k in ("user_count", "status_count", "domain_count")},
        "thumbnail": _thumbnail(svc), "languages": _languages(svc),
        "registrations": registrations_v2(svc)["enabled"],
        "approval_required": registrations_v2(svc)["approval_required"],
        "invites_enabled": settings.instance.registration_mode == "invite",
        "configuration": {
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": MAX_PINNED},
            "statuses": _statuses_configuration(), "media_attachments": _media_configuration(svc),
            "polls": POLLS,
        },
        "contact_account": contact, "rules": rules(svc),
    }, headers=PUBLIC_CACHE)  # fmt: skip


async def instance_v2(request: Request) -> Response:
    """GET /api/v2/instance."""
    svc = services(request)
    settings = svc.settings
    async with svc.reads() as session:
        counts = await _counts(session)
        contact = await _contact(svc, session)
    return JSONResponse({
        "domain": settings.host, "title": settings.instance.name, "version": VERSION,
        "source_url": settings.instance.source_url or f"{svc.urls.base}/about",
        "description": settings.instance.description,
        "usage": {"users": {"active_month": counts["active"]}},
        "thumbnail": {"url": _thumbnail(svc), "blurhash": None, "versions": {}},
        "icon": [], "languages": _languages(svc),
        "configuration": {
            "urls": {"streaming": svc.urls.base.replace("http", "ws", 1), "status": None},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": MAX_PINNED},
            "statuses": _statuses_configuration(),
            "media_attachments": _media_configuration(svc),
            "polls": POLLS,
            "translation": {"enabled": False},
        },
        "registrations": registrations_v2(svc),
        "api_versions": {"mastodon": 2},
        "contact": {"email": settings.instance.contact_email, "account": contact},
        "rules": rules(svc),
        "fedigen": generation_api(svc),
    }, headers=PUBLIC_CACHE)  # fmt: skip


async def empty_list(request: Request) -> Response:
    """GET /api/v1/custom_emojis: none here."""
    return JSONResponse([], headers=PUBLIC_CACHE)


async def instance_rules(request: Request) -> Response:
    """GET /api/v1/instance/rules: the rules people agree to when they sign up."""
    return JSONResponse(rules(services(request)), headers=PUBLIC_CACHE)


async def languages(request: Request) -> Response:
    """GET /api/v1/instance/languages: every language a post may be given (ISO 639-1), for apps' pickers."""
    return JSONResponse([{"code": c, "name": n} for c, n in LANGUAGES.items()], headers=PUBLIC_CACHE)


async def peers(request: Request) -> Response:
    """GET /api/v1/instance/peers: the domains of every remote account we know."""
    async with services(request).reads() as session:
        domains = await session.scalars(
            select(Actor.domain).where(Actor.domain.is_not(None)).distinct().order_by(Actor.domain)
        )
        return JSONResponse([d for d in domains if d], headers=PUBLIC_CACHE)


routes = [
    Route("/api/v1/instance", instance_v1, methods=["GET"]),
    Route("/api/v2/instance", instance_v2, methods=["GET"]),
    Route("/api/v1/custom_emojis", empty_list, methods=["GET"]),
    Route("/api/v1/instance/rules", instance_rules, methods=["GET"]),
    Route("/api/v1/instance/peers", peers, methods=["GET"]),
    Route("/api/v1/instance/languages", languages, methods=["GET"]),
]
