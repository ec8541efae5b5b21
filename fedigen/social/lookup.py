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
from fedigen.social import remote_posts
from fedigen.social.accounts import get_local
from storage.models import Actor, Status


async def find_actor(svc: Services, handle: str) -> Actor:
    """A local or remote actor by @user@host, user@host, a local username or an actor URL."""
    value = handle.strip()
    if value.startswith(("http://", "https://")):
        found = await find_by_url(svc, value)
        if not isinstance(found, Actor):
            raise ValidationError("account", f"{value} is a post, not an account")
        return found
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
            status = await remote_posts.fetch_post(svc, ref)
        except (ActivityPubError, ValueError) as exc:
            raise NotFoundError(f"could not fetch {ref}: {exc}") from None
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFoundError(f"no post {ref}")
    return status


async def find_by_url(svc: Services, url: str) -> Actor | Status:
    """The account or post a URL names: its id, or the page URL a browser shows (Mastodon's ``/@bob``
    and ``/@bob/123``), known here or fetched and stored. NotFoundError when it names neither, or a
    post that is not public."""
    url = url.strip()
    async with svc.reads() as session:
        status = await session.scalar(select(Status).where((Status.ap_id == url) | (Status.url == url)))
        if status is not None and status.deleted_at is None and status.reblog_of_id is None:
            return status
        actor = await session.scalar(select(Actor).where((Actor.ap_id == url) | (Actor.url == url)))
    if actor is not None:
        return actor if actor.local else await svc.resolver.get_actor(actor.ap_id)
    if svc.urls.is_local(url):
        raise NotFoundError(f"nothing here at {url}")
    try:
        found = await svc.resolver.fetch_url(url)
        if isinstance(found, Actor):
            return found
        stored = await remote_posts.store_fetched(svc, *found)
    except (ActivityPubError, ValueError) as exc:
        raise NotFoundError(f"could not fetch {url}: {exc}") from None
    if stored is None or stored.deleted_at is not None:
        raise NotFoundError(f"no post {url}")
    return stored
