"""The AI-training reservation of accounts that opted out (docs/privacy.md), for files and crawlers:
which media files belong to such an account, and ``/.well-known/tdmrep.json`` (W3C TDMRep) listing
their pages, documents and files."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.http import services
from storage.models import Actor, MediaAttachment

# At most this many media files are named one by one in tdmrep.json (their own headers say it too).
MAX_LISTED_FILES = 5000


async def media_opted_out(session: AsyncSession, key: str) -> bool:
    """Whether a stored file is an image of a local account opted out of AI training."""
    found = await session.scalar(
        select(MediaAttachment.id)
        .join(Actor, Actor.id == MediaAttachment.account_id)
        .where(
            or_(
                MediaAttachment.original_key == key,
                MediaAttachment.federation_key == key,
                MediaAttachment.thumbnail_key == key,
            ),
            Actor.domain.is_(None),
            Actor.ai_training_opt_out.is_(True),
        )
        .limit(1)
    )
    return found is not None


async def tdmrep(request: Request) -> Response:
    """GET /.well-known/tdmrep.json: TDM rights reserved on every opted-out account's pages, actor and
    posts, and on its media files."""
    svc = services(request)
    rules: list[dict[str, Any]] = []
    async with svc.reads() as session:
        names = await session.scalars(
            select(Actor.username)
            .where(Actor.domain.is_(None), Actor.ai_training_opt_out.is_(True), Actor.deleted_at.is_(None),
                   Actor.ap_type != "Application")
            .order_by(Actor.id)
        )  # fmt: skip
        for name in names:
            for path in (f"/@{name}", f"/@{name}/*", f"/users/{name}", f"/users/{name}/*"):
                rules.append({"location": path, "tdm-reservation": 1})
        keys = await session.execute(
            select(
                MediaAttachment.original_key, MediaAttachment.federation_key, MediaAttachment.thumbnail_key
            )
            .join(Actor, Actor.id == MediaAttachment.account_id)
            .where(Actor.domain.is_(None), Actor.ai_training_opt_out.is_(True))
            .order_by(MediaAttachment.id)
            .limit(MAX_LISTED_FILES)
        )
        seen: set[str] = set()
        for row in keys:
            for key in row:
                if key and key not in seen:
                    seen.add(key)
                    rules.append({"location": f"/media/{key}", "tdm-reservation": 1})
    return JSONResponse(rules, headers={"Cache-Control": "public, max-age=300"})


routes = [Route("/.well-known/tdmrep.json", tdmrep, methods=["GET"])]
