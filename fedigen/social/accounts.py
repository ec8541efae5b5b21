"""Accounts: local ones (creation with keys and password, the instance actor, listing), and what
happens to remote ones (they move, they are deleted)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub import signing
from activitypub.actors import USERNAME_RE
from activitypub.outbox import enqueue_deliveries, record
from activitypub.urls import LocalUrls
from activitypub.vocab import AS_CONTEXT, PUBLIC
from fedigen.errors import ConflictError, FedigenError, ForbiddenError, NotFoundError, ValidationError
from fedigen.languages import checked as checked_language
from fedigen.services import Services
from fedigen.social import audit, counts, follows
from fedigen.social.notifications import Kind, notify
from fedigen.social.roles import Permission, Role, allowed, may_assign, role_of
from storage.clients import (
    AccountDomainBlock,
    AccountList,
    Bookmark,
    CustomFilter,
    IdempotentRequest,
    ListAccount,
    Marker,
    Mute,
    OAuthCode,
    OAuthToken,
    TagFollow,
)
from storage.models import (
    Activity,
    Actor,
    Block,
    CustomEmoji,
    Delivery,
    Favourite,
    Follow,
    GenerationJob,
    InboxEntry,
    MediaAttachment,
    Notification,
    PollVote,
    Reaction,
    Status,
    StatusPin,
    User,
    utcnow,
)
from storage.vocabulary import FollowState, QueueState

if TYPE_CHECKING:  # argon2 loads with the first password hashed or checked
    from argon2 import PasswordHasher

RESERVED_USERNAMES = frozenset(
    {
        "actor",
        "inbox",
        "users",
        "api",
        "static",
        "about",
        "tags",
        "media",
        "avatars",
        "nodeinfo",
        "activities",
    }
)
MIN_PASSWORD_CHARS = 8


@functools.cache
def _hasher() -> PasswordHasher:
    """The one Argon2id hasher, made (and argon2 loaded) by the first password hashed or checked."""
    from argon2 import PasswordHasher

    return PasswordHasher()


async def hash_password(password: str) -> str:
    """Argon2id hash, computed off the event loop."""
    return await asyncio.to_thread(_hasher().hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash."""
    if not password_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return await asyncio.to_thread(_hasher().verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_username(username: str) -> None:
    """Refuse usernames peers or Bridgy Fed would not take."""
    if not USERNAME_RE.match(username):
        raise ValidationError(
            "username", "use 1-30 letters, digits, _ or -, starting and ending with a letter or digit"
        )
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError("username", f"{username!r} is reserved")


def _local_actor_row(
    urls: LocalUrls, username: str, ap_type: str, public_pem: str, private_pem: str
) -> Actor:
    now = utcnow()
    return Actor(
        ap_id=urls.actor(username), ap_type=ap_type, username=username, domain=None,
        display_name=username, summary="", url=urls.profile(username),
        inbox_url=urls.inbox(username), shared_inbox_url=urls.shared_inbox, outbox_url=urls.outbox(username),
        followers_url=urls.followers(username), following_url=urls.following(username),
        featured_url=urls.featured(username), icon_url=None,
        public_key_id=urls.key(username), public_key_pem=public_pem, private_key_pem=private_pem,
        fields=[], also_known_as=[], published=now, created_at=now,
    )  # fmt: skip


async def create_account(
    session: AsyncSession,
    urls: LocalUrls,
    username: str,
    *,
    password: str | None = None,
    admin: bool = False,
    role: Role | None = None,
    locked: bool = False,
    bot: bool = False,
    indexable: bool = False,
    language: str | None = None,
    password_hash: str | None = None,
    keypair: tuple[str, str] | None = None,
) -> Actor:
    """Create a local account with an RSA-2048 key (the caller commits).

    As on Mastodon, a new account is not ``indexable`` (its posts are not searchable by everyone) until
    its owner says so; ``language`` is its default posting language (None: the instance's). Its role
    is ``role``, else admin when ``admin``, else member. ``password_hash`` and ``keypair`` (private,
    public PEM) may be made beforehand, outside the transaction (sign-up does: both are slow).
    """
    check_username(username)
    default_language = checked_language("language", language)
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD_CHARS} characters")
    taken = await session.scalar(
        select(Actor.id).where(func.lower(Actor.username) == username.lower(), Actor.domain.is_(None))
    )
    if taken is not None:
        raise ConflictError(f"the username {username!r} is taken")
    if keypair is None:
        keypair = await asyncio.to_thread(signing.generate_rsa_keypair)
    private_pem, public_pem = keypair
    actor = _local_actor_row(urls, username, "Service" if bot else "Person", public_pem, private_pem)
    actor.locked, actor.indexable, actor.default_language = locked, indexable, default_language
    session.add(actor)
    await session.flush()
    if password_hash is None and password:
        password_hash = await hash_password(password)
    chosen = role or (Role.ADMIN if admin else Role.MEMBER)
    session.add(User(actor_id=actor.id, password_hash=password_hash, role=chosen.value))
    await session.flush()
    return actor


async def ensure_instance_actor(session: AsyncSession, urls: LocalUrls) -> Actor:
    """The instance's Application actor at /actor, created on first use."""
    # Its username is the host name, as Mastodon names its instance actor (without a port: peers
    # refuse a preferredUsername with a colon); it is not a login account.
    username = urlsplit(urls.base).hostname or urls.host
    actor = await session.scalar(select(Actor).where(Actor.ap_id == urls.instance_actor))
    if actor is not None:
        if actor.username != username:  # named host:port by earlier versions
            actor.username = username
        return actor
    private_pem, public_pem = await asyncio.to_thread(signing.generate_rsa_keypair)
    now = utcnow()
    actor = Actor(
        ap_id=urls.instance_actor, ap_type="Application", username=username, domain=None,
        display_name=urls.host, inbox_url=urls.instance_actor + "/inbox", shared_inbox_url=urls.shared_inbox,
        outbox_url=urls.instance_actor + "/outbox", public_key_id=urls.instance_actor + "#main-key",
        public_key_pem=public_pem, private_key_pem=private_pem, locked=True, discoverable=False,
        indexable=False, fields=[], also_known_as=[], published=now, created_at=now,
    )  # fmt: skip
    session.add(actor)
    await session.flush()
    return actor


async def get_local(session: AsyncSession, username: str, *, include_deleted: bool = False) -> Actor:
    """The local account with this username (case-insensitive), or NotFoundError; a deleted account
    (its tombstone row) only when ``include_deleted``."""
    actor = await session.scalar(
        select(Actor).where(
            func.lower(Actor.username) == username.lower().lstrip("@"),
            Actor.domain.is_(None),
            Actor.ap_type != "Application",
        )
    )
    if actor is None or (actor.deleted_at is not None and not include_deleted):
        raise NotFoundError(f"no local account named {username!r}")
    return actor


async def list_accounts(session: AsyncSession) -> Sequence[tuple[Actor, User]]:
    """Every local login account with its user row, oldest first."""
    rows = await session.execute(select(Actor, User).join(User, User.actor_id == Actor.id).order_by(Actor.id))
    return [(a, u) for a, u in rows]


async def remote_account_deleted(session: AsyncSession, actor: Actor) -> None:
    """A remote account deleted itself: it is marked deleted and its follows end both ways."""
    actor.deleted_at = utcnow()
    await session.execute(
        delete(Follow).where(or_(Follow.follower_id == actor.id, Follow.followee_id == actor.id))
    )


async def account_moved(svc: Services, session: AsyncSession, actor: Actor, target: Actor) -> None:
    """``actor`` moved to ``target`` (which names it as an alias): recorded, and its local followers
    told and moved with it, as Mastodon's MoveWorker does: each follows ``target`` (a Follow goes out
    when it is remote) and stops following ``actor`` (an Undo when it is remote). A follower ``target``
    blocks, or ``target`` itself, only gets the notification."""
    actor.moved_to_ap_id = target.ap_id
    followers = list(
        await session.scalars(
            select(Actor)
            .join(Follow, Follow.follower_id == Actor.id)
            .where(
                Follow.followee_id == actor.id, Follow.state == FollowState.ACCEPTED, Actor.domain.is_(None)
            )
            .order_by(Actor.id)
        )
    )
    for follower in followers:
        await notify(session, follower, Kind.MOVE, actor)
        if follower.id == target.id or follower.deleted_at is not None:
            continue
        try:  # refused (a block, following itself) before anything is written
            await follows.follow(svc, session, follower, target)
        except FedigenError:
            continue
        await follows.unfollow(svc, session, follower, actor)


async def set_role(session: AsyncSession, target: Actor, wanted: Role, *, by: Actor | None = None) -> Role:
    """Give a local account a role; ``by`` is the account doing it (None: the operator, at the CLI, who
    may do anything). An instance always keeps an owner. Returns the role it had."""
    user = await session.scalar(select(User).where(User.actor_id == target.id))
    if user is None or target.domain is not None:
        raise NotFoundError("no such local account")
    current = role_of(user.role)
    if by is not None:
        by_user = await session.scalar(select(User).where(User.actor_id == by.id))
        if by_user is None or by.id == target.id or not may_assign(by_user.role, current, wanted):
            raise ForbiddenError("your role may not give that role")
    if current == Role.OWNER and wanted != Role.OWNER:
        owners = await session.scalar(select(func.count(User.id)).where(User.role == Role.OWNER.value))
        if (owners or 0) <= 1:
            raise ValidationError(
                "role", "the instance's only owner keeps that role (make another owner first)"
            )
    user.role = wanted.value
    if wanted != current:
        await audit.record(session, by, "change_role_user", "account", target.id, audit.label_of(target),
                           f"role={current.value}->{wanted.value}")  # fmt: skip
    return current


async def known_inboxes(session: AsyncSession) -> list[str]:
    """Every inbox of every server we know: the shared inbox of each known remote actor (its own
    inbox when it has none), once each."""
    rows = await session.scalars(
        select(func.coalesce(Actor.shared_inbox_url, Actor.inbox_url))
        .where(Actor.domain.is_not(None), Actor.deleted_at.is_(None))
        .distinct()
    )
    return sorted({inbox for inbox in rows if inbox})


def actor_delete_of(actor: Actor) -> dict[str, object]:
    """Mastodon's Delete of an account: the object is the actor's id, addressed to the public."""
    return {
        "@context": AS_CONTEXT,
        "id": f"{actor.ap_id}#delete",
        "type": "Delete",
        "actor": actor.ap_id,
        "object": actor.ap_id,
        "to": [PUBLIC],
    }


async def delete_local_account(
    svc: Services, session: AsyncSession, actor: Actor, *, by: Actor | None
) -> list[str]:
    """Delete a local account: by itself (``by`` is the account), a member of staff who may delete user
    data, or the operator at the CLI (``by`` None). The caller commits, then removes the files named
    by the returned media keys with :func:`remove_media_files`.

    As Mastodon does, the account's ``Delete`` (signed with its key, which its tombstone keeps until the
    deliveries are over, so a delivery resumed after a crash can still be signed: then
    :func:`forget_deleted_keys` drops the private half) is queued for every inbox we know; its posts,
    media, follows both ways, blocks, mutes, bookmarks, favourites, notifications, tokens and login are
    removed; the actor row stays, emptied, so the username is never given to someone else.
    """
    if actor.domain is not None or actor.ap_type == "Application":
        raise NotFoundError("no such local account")
    if actor.deleted_at is not None:
        raise ConflictError("that account is already deleted")
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    if by is not None and by.id != actor.id:
        by_user = await session.scalar(select(User).where(User.actor_id == by.id))
        by_role = by_user.role if by_user else None
        if not allowed(by_role, Permission.DELETE_USER_DATA) or not may_assign(
            by_role, user.role if user else None, Role.MEMBER
        ):
            raise ForbiddenError("your role may not delete that account")
    if user is not None and role_of(user.role) == Role.OWNER:
        owners = await session.scalar(select(func.count(User.id)).where(User.role == Role.OWNER.value))
        if (owners or 0) <= 1:
            raise ValidationError(
                "account", "the instance's only owner cannot be deleted (make another owner first)"
            )
    inboxes = await known_inboxes(session)
    delete_activity = await record(session, actor, actor_delete_of(actor))
    await enqueue_deliveries(session, delete_activity, inboxes)
    media_rows = await session.execute(
        select(MediaAttachment.original_key, MediaAttachment.federation_key, MediaAttachment.thumbnail_key)
        .where(MediaAttachment.account_id == actor.id)
    )  # fmt: skip
    keys = sorted({key for row in media_rows for key in row if key})
    me = actor.id
    touched = await counts.touched_by_account(session, me)
    for statement in (
        delete(Notification).where(or_(Notification.recipient_id == me, Notification.from_actor_id == me)),
        delete(Follow).where(or_(Follow.follower_id == me, Follow.followee_id == me)),
        delete(Block).where(or_(Block.actor_id == me, Block.target_id == me)),
        delete(Mute).where(or_(Mute.account_id == me, Mute.target_id == me)),
        delete(Bookmark).where(Bookmark.account_id == me),
        delete(Favourite).where(Favourite.actor_id == me),
        delete(Reaction).where(Reaction.actor_id == me),
        delete(PollVote).where(PollVote.actor_id == me),
        delete(StatusPin).where(StatusPin.account_id == me),
        delete(InboxEntry).where(InboxEntry.account_id == me),
        delete(MediaAttachment).where(MediaAttachment.account_id == me),
        delete(GenerationJob).where(or_(GenerationJob.account_id == me, GenerationJob.requester_id == me)),
        delete(Status).where(Status.actor_id == me),
        delete(Activity).where(Activity.actor_id == me, Activity.id != delete_activity.id),
        delete(OAuthToken).where(OAuthToken.account_id == me),
        delete(OAuthCode).where(OAuthCode.account_id == me),
        delete(Marker).where(Marker.account_id == me),
        delete(IdempotentRequest).where(IdempotentRequest.account_id == me),
        # Its own tools (filters and their keywords, lists, domain blocks, followed tags), and its place
        # on others' lists; the database cascades to a filter's keywords and a list's members.
        delete(CustomFilter).where(CustomFilter.account_id == me),
        delete(AccountList).where(AccountList.account_id == me),
        delete(ListAccount).where(ListAccount.account_id == me),
        delete(AccountDomainBlock).where(AccountDomainBlock.account_id == me),
        delete(TagFollow).where(TagFollow.account_id == me),
        delete(User).where(User.actor_id == me),
    ):
        await session.execute(statement)
    await counts.recount(session, touched)
    actor.display_name, actor.summary, actor.fields, actor.also_known_as = "", "", [], []
    actor.icon_url = actor.image_url = actor.moved_to_ap_id = None
    actor.locked, actor.discoverable, actor.indexable = True, False, False
    actor.deleted_at = utcnow()
    await session.flush()
    svc.work_queued()
    return keys


async def forget_deleted_keys(session: AsyncSession) -> int:
    """Drop the private key of every deleted local account whose deliveries are all over (its Delete
    signed and sent, or given up): nothing will ever be signed for it again. Its public key stays, so
    peers can still verify what it sent. Returns how many keys went."""
    pending = (
        select(Delivery.id)
        .join(Activity, Activity.id == Delivery.activity_id)
        .where(Activity.actor_id == Actor.id, Delivery.state.in_((QueueState.QUEUED, QueueState.RUNNING)))
        .exists()
    )
    result = await session.execute(
        update(Actor)
        .where(
            Actor.domain.is_(None),
            Actor.deleted_at.is_not(None),
            Actor.private_key_pem.is_not(None),
            ~pending,
        )
        .values(private_key_pem=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def remove_media_files(svc: Services, session: AsyncSession, keys: Sequence[str]) -> int:
    """After a deletion committed: remove the stored files no other media row or custom emoji uses (files
    are named by their content, so two uploads of one image share them, and an emoji copy may be the
    same bytes as an upload). Returns how many were removed."""
    removed = 0
    for key in keys:
        media = select(MediaAttachment.id).where(
            or_(MediaAttachment.original_key == key, MediaAttachment.federation_key == key,
                MediaAttachment.thumbnail_key == key)
        )  # fmt: skip
        emoji = select(CustomEmoji.id).where(or_(CustomEmoji.image_key == key, CustomEmoji.static_key == key))
        used = await session.scalar(media.union_all(emoji).limit(1))
        if used is None and await svc.media.store.aexists(key):
            await svc.media.store.adelete(key)
            removed += 1
    return removed
