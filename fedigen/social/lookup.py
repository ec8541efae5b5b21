"""Finding accounts and posts from what people type or paste: handles, URLs, ids.

Remote ones are fetched (and stored) when we do not know them yet: the CLI, search with
``resolve=true`` and remixes of a pasted URL all look things up here. These functions may wait on
other servers, so they are called before any transaction is opened, and they commit what they
store in short transactions of their own; the rows they return are then loaded again by id in the
caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import select

from activitypub.errors import ActivityPubError
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import posts
from fedigen.social.accounts import get_local
from storage.models import Actor, Status


async def find_actor(svc: Services, handle: str) -> Actor:
    """A local or remote actor by @user@host, user@host, a local username or an actor URL."""
    value = handle.strip()
    if value.startswith(("http://", "https://")):
        return await svc.resolver.get_actor(value)
    user, _, domain = value.lstrip("@").partition("@")
    if not user:
        raise ValidationError("account", f"not a handle: {handle!r}")
    if not domain or domain.lower() == svc.urls.host.lower():
        async with svc.reads() as session:
            return await get_local(session, user)
    return await svc.resolver.resolve_handle(f"{user}@{domain}")


async def find_status(svc: Services, ref: str) -> Status:
    """A status by our id, our URL / ActivityPub id, or a remote URL (fetched and stored)."""
    ref = ref.strip()
    status: Status | None = None
    async with svc.reads() as session:
        if ref.isdigit():
            status = await session.get(Status, int(ref))
        else:
            status = await session.scalar(select(Status).where((Status.ap_id == ref) | (Status.url == ref)))
    if status is None and not ref.isdigit() and not svc.urls.is_local(ref):
        try:
            status = await posts.fetch_post(svc, ref)
        except (ActivityPubError, ValueError) as exc:
            raise NotFoundError(f"could not fetch {ref}: {exc}") from None
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFoundError(f"no post {ref}")
    return status
