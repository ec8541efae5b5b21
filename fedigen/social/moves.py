"""Account migration, for every origin (client API, CLI): a local account's aliases (the accounts it
was, its ``alsoKnownAs``) and its ``Move`` to an account on another server.

As on Mastodon, both ends must agree: a Move goes out only when the new account, fetched fresh, lists
this one in its ``alsoKnownAs``; and followers who move here come in by the ordinary Follow their
server sends once it believed the Move (it checks that the local account lists the old one as an
alias). The inbound side, a remote account moving, is :func:`fedigen.social.accounts.account_moved`.

Resolving the other account may wait on its server, so front doors call :func:`resolve_fresh` before
opening their transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import update_of_actor
from activitypub.errors import ActivityPubError
from activitypub.outbox import publish
from activitypub.vocab import AS_CONTEXT
from fedigen.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import lookup
from fedigen.social.accounts import account_moved, verify_password
from storage.models import Actor, User

# Mastodon keeps at most this many aliases (AccountAlias: one per old account, few in practice).
MAX_ALIASES = 16


async def resolve_fresh(svc: Services, handle: str) -> Actor:
    """The account a handle or URL names, its document fetched again now when it is remote (its
    ``alsoKnownAs`` may have changed a moment ago)."""
    try:
        found = await lookup.find_actor(svc, handle)
        if found.domain is not None:
            found = await svc.resolver.get_actor(found.ap_id, refresh=True)
    except ActivityPubError as exc:
        raise NotFoundError(f"could not find the account {handle}: {exc}") from None
    if found.deleted_at is not None:
        raise NotFoundError(f"the account {handle} was deleted")
    return found


def _check_local(actor: Actor) -> None:
    if actor.domain is not None or actor.deleted_at is not None:
        raise NotFoundError("no such local account")


async def check_password(session: AsyncSession, actor: Actor, password: str | None) -> None:
    """Refuse (403) unless ``password`` is the account's current password (Mastodon asks for it before
    a move or a deletion)."""
    password_hash = await session.scalar(select(User.password_hash).where(User.actor_id == actor.id))
    if not password or not await verify_password(password_hash, password):
        raise ForbiddenError("the password is not right")


async def add_alias(svc: Services, session: AsyncSession, actor: Actor, old: Actor) -> list[str]:
    """``actor`` says it was also ``old`` (so ``old`` may move here): kept in its ``alsoKnownAs`` and
    sent as an Update. Returns the aliases."""
    _check_local(actor)
    if old.id == actor.id:
        raise ValidationError("acct", "an account cannot be an alias of itself")
    aliases = list(actor.also_known_as or [])
    if old.ap_id in aliases:
        return aliases
    if len(aliases) >= MAX_ALIASES:
        raise ValidationError("acct", f"at most {MAX_ALIASES} aliases")
    actor.also_known_as = [*aliases, old.ap_id]
    await session.flush()
    await publish(session, actor, update_of_actor(actor, svc.urls))
    return list(actor.also_known_as)


async def remove_alias(svc: Services, session: AsyncSession, actor: Actor, ap_id: str) -> list[str]:
    """Drop an alias (by the old account's id); NotFoundError when it is not one."""
    _check_local(actor)
    aliases = list(actor.also_known_as or [])
    if ap_id not in aliases:
        raise NotFoundError("that account is not an alias of yours")
    actor.also_known_as = [a for a in aliases if a != ap_id]
    await session.flush()
    await publish(session, actor, update_of_actor(actor, svc.urls))
    return list(actor.also_known_as)


def move_of(svc: Services, actor: Actor, target: Actor) -> dict[str, object]:
    """Mastodon's Move: the account itself is the object, the new account the target; to its followers."""
    return {
        "@context": AS_CONTEXT,
        "id": svc.urls.new_activity(),
        "type": "Move",
        "actor": actor.ap_id,
        "object": actor.ap_id,
        "target": target.ap_id,
        "to": [actor.followers_url or svc.urls.followers(actor.username)],
    }


async def move_account(svc: Services, session: AsyncSession, actor: Actor, target: Actor) -> None:
    """Move a local account to ``target`` (fetched fresh by :func:`resolve_fresh`), which must list it
    in ``alsoKnownAs``: ``movedTo`` is set (an Update), followers are sent the Move (their servers
    make them follow ``target``), and local followers follow ``target`` here at once."""
    _check_local(actor)
    if target.id == actor.id:
        raise ValidationError("acct", "an account cannot move to itself")
    if target.moved_to_ap_id:
        raise ValidationError("acct", "that account has itself moved elsewhere")
    if actor.ap_id not in (target.also_known_as or []):
        raise ValidationError(
            "acct", f"{target.ap_id} does not name this account as an alias (add it there first)"
        )
    if actor.moved_to_ap_id == target.ap_id:
        raise ConflictError("the account has already moved there")
    actor.moved_to_ap_id = target.ap_id
    await session.flush()
    await publish(session, actor, update_of_actor(actor, svc.urls))
    await publish(session, actor, move_of(svc, actor, target))
    await account_moved(svc, session, actor, target)
